"""What a user sees: --help, the TensorBoard scalars every script shares, the scalar-β rule of
ppo_kl.py, and one clear line for bad input."""

import dataclasses
import math
from typing import Optional

import pytest
import torch
from scripts import REPO, SCRIPTS, SHORT, load_script, run_dirs, run_script, scalars

SHARED = {
    "charts/episodic_return",
    "charts/episodic_length",
    "charts/SPS",
    "charts/learning_rate",
    "losses/policy_loss",
    "losses/value_loss",
    "losses/entropy",
    "losses/approx_kl",
    "losses/clipfrac",
    "losses/explained_variance",
    "killset/kill_frac",
    "killset/inband_frac",
    "killset/passthrough_frac",
}
OWN = {
    "ppo_clip.py": set(),
    "ppo_per_sample_kl.py": {"losses/beta_mean", "losses/kl_penalty"},
    "ppo_dual.py": {"losses/dual_penalty"},
    "ppo_kl.py": {"losses/kl", "losses/kl_coef", "losses/kl_after_update"},
    "ppo_beta_shapes.py": {"losses/beta_mean", "losses/kl_penalty", "losses/gate_mean", "beta/nonzero_frac", "beta/p50"},
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(script, tmp_path):
    out = run_script(script, "--help", cwd=tmp_path).stdout
    for flag in ("--env-id", "--seed", "--save-model", "--eval-checkpoint", "--track", "--clip-coef"):
        assert flag in out
    if script == "ppo_kl.py":
        assert "--kl-mode" in out and "--kl-estimator" in out and "--kl-adaptive-target" in out
    assert "--target-kl" in out and "--capture-video" in out  # CleanRL's flags, in every script


@pytest.mark.parametrize("script", SCRIPTS)
def test_short_run_writes_shared_scalars(script, tmp_path):
    run_script(script, *SHORT, cwd=tmp_path)
    (run_dir,) = run_dirs(tmp_path / "runs")
    assert run_dir.name.startswith(f"Hopper-v4__{script[:-3]}__1__")
    logged = scalars(run_dir)
    assert SHARED | OWN[script] <= logged.keys(), sorted(SHARED | OWN[script] - logged.keys())
    updates = len(logged["losses/policy_loss"])
    assert updates == 4  # 2048 steps / 512 per rollout
    for u in range(updates):  # three fractions, each measured from its own mask: together, every sample once
        parts = [logged[f"killset/{k}_frac"][u][1] for k in ("kill", "inband", "passthrough")]
        assert all(0 <= p <= 1 for p in parts) and math.isclose(sum(parts), 1, abs_tol=1e-5), parts
        assert math.isclose(logged["losses/clipfrac"][u][1], 1 - parts[1], abs_tol=1e-5)
    assert all(math.isfinite(v) for _, v in logged["charts/episodic_return"])
    if script in ("ppo_per_sample_kl.py", "ppo_beta_shapes.py"):  # the penalty term is ≥ 0 per sample
        assert all(v >= 0 for _, v in logged["losses/kl_penalty"])


def test_kl_adaptive_rule(tmp_path):
    """β halves when the measured KL is below d_targ/1.5 and doubles above 1.5·d_targ."""
    run_script("ppo_kl.py", *SHORT, "--kl-mode", "adaptive", "--kl-coef", "3", "--kl-adaptive-target", "0.002", cwd=tmp_path)
    logged = scalars(run_dirs(tmp_path / "runs")[0])
    betas = [v for _, v in logged["losses/kl_coef"]]
    kls = [v for _, v in logged["losses/kl_after_update"]]
    assert betas[0] == 3
    for beta, d, next_beta in zip(betas, kls, betas[1:]):
        expected = beta / 2 if d < 0.002 / 1.5 else beta * 2 if d > 0.002 * 1.5 else beta
        assert math.isclose(next_beta, min(max(expected, 1e-4), 1e4), rel_tol=1e-6), (beta, d, next_beta)
    assert len(set(betas)) > 1  # the rule acted


def test_kl_fixed_keeps_beta_and_uses_the_estimator_asked_for(tmp_path):
    """Same seed, two estimators: β stays 1, and the KL the penalty used differs (the flag is not ignored);
    the closed form is ≥ 0 in every minibatch, the sampled mean of −log w need not be."""
    logged = {}
    for estimator in ("sample", "analytic"):
        run_script("ppo_kl.py", *SHORT, "--kl-estimator", estimator, "--runs-dir", estimator, cwd=tmp_path)
        logged[estimator] = scalars(run_dirs(tmp_path / estimator)[0])
        assert {v for _, v in logged[estimator]["losses/kl_coef"]} == {1.0}
    sample, analytic = ([v for _, v in logged[e]["losses/kl"]] for e in ("sample", "analytic"))
    assert all(v >= 0 for v in analytic)
    assert sample != analytic and all(math.isfinite(v) for v in sample)


ANT_CHECKPOINT = str(REPO / "benchmark" / "results" / "checkpoints" / "Ant-v4" / "beta_step" / "seed0.pt")
BAD = [
    (["--env-id", "CartPole-v1"], "continuous"),
    (["--env-id", "NoSuchEnv-v0"], "NoSuchEnv"),
    (["--num-minibatches", "7"], "divisible"),
    (["--total-timesteps", "1000"], "smaller than one batch"),
    (["--learning-rate", "0"], "--learning-rate"),
    (["--learning-rate", "-1e-3"], "--learning-rate"),
    (["--clip-coef", "0"], "--clip-coef"),
    (["--num-steps", "0"], "--num-steps"),
    (["--eval-checkpoint", "missing.pt"], "missing.pt"),
    (["--eval-checkpoint", "garbage.pt"], "garbage.pt"),
    (["--eval-checkpoint", "wrong.pt"], "wrong.pt"),
    (["--eval-checkpoint", "wrong.pt", "--eval-episodes", "0"], "--eval-episodes"),
    # torch's own message would advise weights_only=False (running the file's code): the reason only, no advice
    (["--eval-checkpoint", "random.pt"], "'random.pt' is not a checkpoint of these scripts: torch.load refuses it"),
    # a typed --env-id is used, unless the checkpoint's networks do not fit it: then both envs are named
    (["--eval-checkpoint", ANT_CHECKPOINT, "--env-id", "Hopper-v5"],
     "was trained on Ant-v4 (27 observations, 8 actions); --env-id Hopper-v5 has 11 and 3"),
    (["--seed", "-1"], "--seed"),
    (["--seed", "4294967296"], "--seed"),
    (["--gamma", "1.5"], "--gamma"),
    (["--gae-lambda", "-0.1"], "--gae-lambda"),
    (["--max-grad-norm", "-1"], "--max-grad-norm"),
    (["--target-kl", "0"], "--target-kl"),
    (["--env-id", "Hopper-v5", "--runs-dir", "a_file/runs"], "a_file/runs"),  # -v5: no deprecation warning
    (["--vf-coef", "-1"], "--vf-coef must be non-negative, got -1.0"),
    (["--ent-coef", "-0.01"], "--ent-coef must be non-negative, got -0.01"),
    (["--learning-rate", "inf"], "--learning-rate must be finite, got inf"),
    (["--ent-coef", "nan"], "--ent-coef must be finite, got nan"),
    (["--target-kl", "inf"], "--target-kl must be finite, got inf"),  # an Optional float, set
    (["--num-minibatches", "2048"], "--num-minibatches 2048 leaves one sample per minibatch; --norm-adv needs at least 2"),
    (["--threads", "0"], "--threads must be at least 1, got 0"),
    (["--threads", "-1"], "--threads must be at least 1, got -1"),
    (["--exp-name", "a/b"], "--exp-name must be a non-empty name without a path separator, got 'a/b'"),
    (["--exp-name", ""], "--exp-name must be a non-empty name without a path separator, got ''"),
    (["--clip-coef", "1.5"], "--clip-coef must be in (0, 1), got 1.5"),
    (["--capture-video"], "--capture-video records the evaluation: it needs --save-model"),
    (["--capture-video", "--save-model", "--eval-episodes", "0"], "--capture-video records the evaluation"),
]


@pytest.mark.parametrize("script", ["ppo_clip.py", "ppo_kl.py"])
@pytest.mark.parametrize("flags, needle", BAD, ids=[" ".join(f) for f, _ in BAD])
def test_bad_input_one_line(script, flags, needle, tmp_path):
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint\n")
    (tmp_path / "random.pt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "a_file").write_text("a file where --runs-dir wants a directory\n")  # unwritable even as root
    torch.save({"agent": {"weights": torch.zeros(3)}}, tmp_path / "wrong.pt")
    proc = run_script(script, *flags, cwd=tmp_path, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "weights_only" not in proc.stderr, proc.stderr
    assert needle in lines[0] and lines[0].startswith(f"{script}: error: "), lines[0]
    assert not (tmp_path / "runs").exists(), "a run directory was left behind"
    assert not list(tmp_path.glob("*/runs")), "a run directory was left behind"


OWN_FLOATS = {
    "ppo_kl.py": {"kl_coef", "kl_adaptive_target"},
    "ppo_beta_shapes.py": {"beta_softness", "clip_coef_low", "clip_coef_high", "position_rho", "dual_clip_c"},
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_float_flag_must_be_finite(script):
    """Every float field of the script's Args, its own knobs and the Optional ones included: inf, -inf and
    nan get their one line from check_args, before any other check can misname them (nan fails every
    comparison). In-process: check_args is what a run calls first; test_bad_input_one_line runs a few."""
    module = load_script(script)
    floats = [f.name for f in dataclasses.fields(module.Args) if f.type in (float, Optional[float])]
    shared = {"learning_rate", "gamma", "clip_coef", "ent_coef", "vf_coef", "target_kl"}
    assert shared | OWN_FLOATS.get(script, set()) <= set(floats), floats
    for name in floats:
        for value in (math.inf, -math.inf, math.nan):
            with pytest.raises(SystemExit) as exit_:
                module.check_args(module.Args(**{name: value}))
            assert str(exit_.value.code).endswith(f": error: --{name.replace('_', '-')} must be finite, got {value}")


def test_nan_loss_stops_without_checkpoint(tmp_path):
    proc = run_script("ppo_clip.py", *SHORT, "--learning-rate", "1e30", "--save-model", cwd=tmp_path, check=False)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "non-finite loss in update 1 " in last and "no checkpoint" in last, last
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "runs").rglob("model.pt"))


def test_target_kl_stops_epochs_early_and_only_then(tmp_path):
    """CleanRL's --target-kl: never reached, the run is the run without it, bit for bit; reached at once,
    each update stops after its first epoch, so what the update logs and learns changes."""
    logs = {}
    for name, flags in [("off", []), ("never", ["--target-kl", "1e9"]), ("always", ["--target-kl", "1e-12"])]:
        proc = run_script("ppo_clip.py", *SHORT, *flags, "--runs-dir", name, cwd=tmp_path)
        logs[name] = scalars(run_dirs(tmp_path / name)[0])
        logs[name].pop("charts/SPS")  # wall clock
        assert "mean_return(last " in proc.stdout and ", ETA " in proc.stdout  # the progress line
    assert logs["never"] == logs["off"]
    first_update = [v for _, v in logs["off"]["losses/approx_kl"]][0], [v for _, v in logs["always"]["losses/approx_kl"]][0]
    assert first_update[0] != first_update[1]  # 2 epochs' minibatches averaged vs the first epoch's only
    assert logs["always"]["charts/episodic_return"] != logs["off"]["charts/episodic_return"]


def test_save_model_without_evaluation(tmp_path):
    """--save-model --eval-episodes 0: the checkpoint, and no evaluation (no NaN mean, no warning)."""
    proc = run_script("ppo_clip.py", *SHORT, "--save-model", "--eval-episodes", "0", cwd=tmp_path)
    (run_dir,) = run_dirs(tmp_path / "runs")
    assert (run_dir / "model.pt").exists()
    assert "eval" not in proc.stdout and "nan" not in proc.stdout.lower() and "RuntimeWarning" not in proc.stderr
    assert "eval/episodic_return" not in scalars(run_dir)
