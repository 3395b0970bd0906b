"""The results README's section on the per-sample β_t of the clip (config beta_step, ppo_beta_shapes.py's step
gate = PPO-Clip): what a scalar β has to stand in for. Its table and figure (beta_t.png), per env.
"""

import numpy as np

from benchmark.common import markdown_table
from benchmark.configs import FIXED_BETA
from benchmark.report.plots import BINS, binned, plt
from benchmark.report.stats import first_divergence, run_cpus
from benchmark.report.summary import Section, Summary
from benchmark.report.sweep import selection

BETA_T = "beta_step"
BETA_COLUMNS = ["beta_nonzero_frac", "beta_negative_frac", "beta_p01", "beta_p50", "beta_p99", "beta_mean"]


def beta_t_envs(s: Summary) -> list[str]:
    """The envs whose beta_step seed-0 run is in and logged β_t's distribution."""
    envs = [env for env, config, seed in s.runs if (config, seed) == (BETA_T, "0")]
    return [env for env in envs if "beta_nonzero_frac" in s.runs[env, BETA_T, "0"]]


def beta_t_markdown(s: Summary, envs: list[str]) -> str:
    """Per env: medians over the run's updates of each β_t column, and whether its episodes are the clip's."""
    rows = []
    for env in envs:
        series = s.runs[env, BETA_T, "0"]
        med = {col: float(np.nanmedian(series[col][1])) for col in BETA_COLUMNS}
        rows.append([env, f"{100 * med['beta_nonzero_frac']:.1f}%", f"{100 * med['beta_negative_frac']:.1f}%",
                     *(f"{med[c]:.3g}" for c in ["beta_p01", "beta_p50", "beta_p99", "beta_mean"]), same_as_clip(s, env)])
    header = ["env", "β_t ≠ 0", "of those, β_t < 0", "β_t 1%", "β_t median", "β_t 99%", "mean β_t (all samples)",
              "episodes vs `ppo_clip` seed 0"]
    return markdown_table(header, rows)


def same_as_clip(s: Summary, env: str) -> str:
    """Are beta_step's seed-0 episodes bitwise the committed ppo_clip seed-0 run's, and on which CPU kinds?"""
    clip = s.runs.get((env, "ppo_clip", "0"))
    if clip is None:
        return "no ppo_clip run"
    cpus = run_cpus(s.manifest)
    kinds = f"CPU {cpus.get((env, BETA_T, '0')) or 'unknown'} vs {cpus.get((env, 'ppo_clip', '0')) or 'unknown'}"
    diverge = first_divergence(s.runs[env, BETA_T, "0"]["episodic_return"], clip["episodic_return"])
    return f"identical ({kinds})" if diverge is None else f"differ from step {diverge} ({kinds})"


def beta_t_section(sec: Section, s: Summary) -> list[str]:
    """What the scalar has to replace: the clip's β_t per env, its table and figure."""
    envs = beta_t_envs(s)
    text = [
        "## The per-sample β_t of the clip",
        "",
        "`ppo_beta_shapes.py --beta-shape step` (config `beta_step`, seed 0) is PPO-Clip bitwise and logs, per update,"
        " the quantiles of β_t = −w·Â over the samples where β_t ≠ 0 (the kill set), the fraction of samples with"
        " β_t ≠ 0, the share of those with β_t < 0 (where Â > 0: no positive scalar β has that sign), and the mean"
        " β_t over all samples. The table gives each column's median over the run's updates.",
        "",
    ]
    if not envs:
        return text + ["No runs yet (`python -m benchmark.run --phase beta_step`).", ""]
    return text + [beta_t_markdown(s, envs), "", "![The per-sample β_t of the clip](beta_t.png)", ""]


def draw_beta_t(results, sec: Section, s: Summary) -> list:
    """beta_t.png: a column per env with a beta_step run (shown in the section, so none for the Plots list)."""
    envs = beta_t_envs(s)
    if envs:
        best = {env: chosen[0] for (env, family), chosen in selection(s.runs, envs).items() if family == "fixed"}
        beta_t_figure(results / "beta_t.png", envs, s.runs, best)
    return []


def beta_t_figure(path, envs: list[str], runs: dict, best_fixed: dict):
    """Per env, each series averaged over 50 step bins (plots.binned): β_t's 1-99% and 10-90% quantile bands and its
    mean over all samples on a symmetric-log axis, the adaptive β of the ppo_kl_adaptive seed-0 run and the sweep's
    best fixed β; below, the fraction of samples with β_t ≠ 0 and the negative share of those. (β_t's median is left
    out: with about half of the nonzero β_t negative, it flips sign from one update to the next.)"""
    fig, axes = plt.subplots(2, len(envs), figsize=(4.2 * len(envs), 6.4), squeeze=False, sharex="col")
    for i, env in enumerate(envs):
        top, bottom = axes[0, i], axes[1, i]
        series = runs[env, BETA_T, "0"]
        edges = np.linspace(0, series["last_step"], BINS + 1)

        def smooth(column, run=series):
            return binned(*run[column], run["last_step"], edges)

        x = edges[1:]
        top.fill_between(x, smooth("beta_p01"), smooth("beta_p99"), color="C0", alpha=0.15, label="β_t 1-99%")
        top.fill_between(x, smooth("beta_p10"), smooth("beta_p90"), color="C0", alpha=0.3, label="β_t 10-90%")
        top.plot(x, smooth("beta_mean"), color="k", lw=1, label="mean β_t, all samples")
        adaptive = runs.get((env, "ppo_kl_adaptive", "0"), {})
        if "kl_coef" in adaptive:
            top.plot(x, smooth("kl_coef", adaptive), color="C1", lw=1, label="adaptive β (d_targ 0.01, seed 0)")
        if env in best_fixed:
            top.axhline(FIXED_BETA[best_fixed[env]], color="C3", ls="--", label="the sweep's best fixed β")
        top.axhline(0, color="gray", lw=0.5)
        top.set_yscale("symlog", linthresh=1e-2)
        top.set(title=env, ylabel="β")
        bottom.plot(x, smooth("beta_nonzero_frac"), color="C0", label="β_t ≠ 0, of all samples")
        bottom.plot(x, smooth("beta_negative_frac"), color="C3", label="β_t < 0, of those ≠ 0")
        bottom.set(xlabel="environment steps", ylabel="fraction", ylim=(0, 1))
        if i == 0:
            top.legend(fontsize="x-small")
            bottom.legend(fontsize="x-small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
