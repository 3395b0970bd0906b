"""The algorithm configurations the benchmark knows: a name → a top-level script and its flags.

To add one, add a row here and name it in a suite file (benchmark/suites/*.toml) or with `python -m benchmark.run --configs NAME`.
The report gives each group below its own section: the main grid, the β_t slice, the zoo.
"""

from typing import NamedTuple


class Config(NamedTuple):
    script: str  # a top-level script, run unmodified
    flags: tuple[str, ...] = ()  # its flags for this config (besides env, seed, steps, threads)
    label: str = ""  # the name in tables and plots


# The main grid: the three forms of the clip gradient and PPO-KL's scalar β.
MAIN = {
    "ppo_clip": Config("ppo_clip.py", (), "PPO-Clip"),
    "ppo_per_sample_kl": Config("ppo_per_sample_kl.py", (), "per-sample KL"),
    "ppo_dual": Config("ppo_dual.py", (), "dual"),
    "ppo_kl_fixed": Config("ppo_kl.py", ("--kl-mode", "fixed", "--kl-coef", "1.0"), "KL, fixed β=1"),
    "ppo_kl_adaptive": Config("ppo_kl.py", ("--kl-mode", "adaptive"), "KL, adaptive β"),
}
# The β_t knob: soft gates and an asymmetric band.
BETA_SLICE = {
    "beta_sigmoid": Config("ppo_beta_shapes.py", ("--beta-shape", "sigmoid", "--beta-softness", "0.05"), "β_t sigmoid, s=0.05"),
    "beta_linear": Config("ppo_beta_shapes.py", ("--beta-shape", "linear", "--beta-softness", "0.05"), "β_t linear, s=0.05"),
    "beta_asym": Config("ppo_beta_shapes.py", ("--clip-coef-low", "0.2", "--clip-coef-high", "0.28"), "β_t step, ε 0.2/0.28"),
}
# Two shapes first run with the family (phase family): KLip-PPO's third soft gate, and the position multiplier.
BETA_MORE = {
    "beta_soft_min": Config("ppo_beta_shapes.py", ("--beta-shape", "soft_min", "--beta-softness", "0.05"), "β_t soft-min, s=0.05"),
    "beta_position": Config("ppo_beta_shapes.py", ("--beta-shape", "step", "--position-rho", "0.999"), "β_t step, ρ=0.999"),
}
# The zoo: published clip variants as gates of β_t, each at its published defaults (the script's).
ZOO = {
    "zoo_dual_clip": Config("ppo_beta_shapes.py", ("--beta-shape", "dual_clip"), "dual-clip (Ye 2020)"),
    "zoo_rollback": Config("ppo_beta_shapes.py", ("--beta-shape", "rollback"), "PPO-RB (Wang 2019)"),
    "zoo_trppo": Config("ppo_beta_shapes.py", ("--beta-shape", "trppo"), "TR-PPO (Wang 2019)"),
    "zoo_spo": Config("ppo_beta_shapes.py", ("--beta-shape", "spo"), "SPO (Xie 2025)"),
    "zoo_cispo": Config("ppo_beta_shapes.py", ("--beta-shape", "cispo"), "CISPO (MiniMax 2025)"),
    "zoo_gppo": Config("ppo_beta_shapes.py", ("--beta-shape", "gppo"), "GPPO (Klear 2025)"),
    "zoo_sapo": Config("ppo_beta_shapes.py", ("--beta-shape", "sapo"), "SAPO (2025)"),
}
# The scalar-β sweep: PPO-KL's two families, the main grid's value (β = 1, d_targ = 0.01) and four around it.
FIXED_BETA = {"ppo_kl_fixed_0.1": 0.1, "ppo_kl_fixed_0.3": 0.3, "ppo_kl_fixed": 1.0, "ppo_kl_fixed_3": 3.0, "ppo_kl_fixed_10": 10.0}
ADAPTIVE_TARGET = {
    "ppo_kl_adaptive_0.003": 0.003, "ppo_kl_adaptive": 0.01, "ppo_kl_adaptive_0.02": 0.02,
    "ppo_kl_adaptive_0.03": 0.03, "ppo_kl_adaptive_0.1": 0.1,
}
SWEEP = {
    **{c: Config("ppo_kl.py", ("--kl-mode", "fixed", "--kl-coef", f"{b:g}"), f"KL, fixed β={b:g}") for c, b in FIXED_BETA.items() if c not in MAIN},
    **{
        c: Config("ppo_kl.py", ("--kl-mode", "adaptive", "--kl-adaptive-target", f"{d:g}"), f"KL, adaptive d_targ={d:g}")
        for c, d in ADAPTIVE_TARGET.items()
        if c not in MAIN
    },
}
# Past the sweep's grid, added after it (not in its pre-registered selection): fixed β above 10, for Humanoid.
FIXED_BETA_EDGE = {"ppo_kl_fixed_30": 30.0, "ppo_kl_fixed_100": 100.0}
SWEEP_EDGE = {c: Config("ppo_kl.py", ("--kl-mode", "fixed", "--kl-coef", f"{b:g}"), f"KL, fixed β={b:g}") for c, b in FIXED_BETA_EDGE.items()}
# The per-sample β_t that the clip applies, logged: ppo_beta_shapes.py's step gate is PPO-Clip bitwise.
BETA_T = {"beta_step": Config("ppo_beta_shapes.py", ("--beta-shape", "step"), "β_t step (= PPO-Clip)")}
CONFIGS = {**MAIN, **BETA_SLICE, **BETA_MORE, **ZOO, **SWEEP, **SWEEP_EDGE, **BETA_T}


def label(name: str) -> str:
    return CONFIGS[name].label if name in CONFIGS else name


def config_key(config: str):
    """CONFIGS order, then any other config by name: the order of the report's tables."""
    order = list(CONFIGS)
    return order.index(config) if config in order else len(order), config


def run_key(key: tuple[str, str, str]):
    """A run's (env, config, seed) in the report's order: by env, config (config_key), seed as a number."""
    env, config, seed = key
    return env, *config_key(config), int(seed)
