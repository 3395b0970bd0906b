"""--save-model writes a weights_only checkpoint with the normalization statistics; evaluating it
later, with the saved and frozen statistics, reproduces the returns logged after training."""

import ast
import re

from scripts import SHORT, run_dirs, run_script, scalars
import torch


def eval_returns(stdout):
    (match,) = re.findall(r"^eval.*: episodic returns (\[.*\]), mean", stdout, re.M)
    return ast.literal_eval(match)


def test_save_reload_eval_reproduces(tmp_path):
    train = run_script("ppo_dual.py", *SHORT, "--save-model", "--eval-episodes", "3", "--seed", "4", cwd=tmp_path)
    (run_dir,) = run_dirs(tmp_path / "runs")
    ckpt = torch.load(run_dir / "model.pt", weights_only=True)
    assert {"agent", "obs_rms", "return_rms", "args"} <= ckpt.keys()
    assert ckpt["args"]["env_id"] == "Hopper-v4" and ckpt["args"]["total_timesteps"] == 2048
    assert ckpt["obs_rms"]["count"] > 2048  # every training observation went into the statistics
    assert ckpt["obs_rms"]["mean"].shape == (11,) and (ckpt["obs_rms"]["var"] > 0).all()
    assert not torch.all(ckpt["obs_rms"]["mean"] == 0)

    logged = [v for _, v in scalars(run_dir)["eval/episodic_return"]]
    printed = eval_returns(train.stdout)
    assert len(printed) == 3 and [round(v, 3) for v in printed] == [round(v, 3) for v in logged]

    again = run_script("ppo_clip.py", "--eval-checkpoint", run_dir / "model.pt", "--eval-episodes", "3", "--seed", "4", cwd=tmp_path)
    assert eval_returns(again.stdout) == printed


def test_eval_uses_saved_statistics(tmp_path):
    """Fresh statistics would change the observations the policy sees, and so the returns."""
    train = run_script("ppo_clip.py", *SHORT, "--save-model", "--eval-episodes", "2", "--seed", "5", cwd=tmp_path)
    (run_dir,) = run_dirs(tmp_path / "runs")
    ckpt = torch.load(run_dir / "model.pt", weights_only=True)
    ckpt["obs_rms"] = {"mean": torch.zeros(11, dtype=torch.float64), "var": torch.ones(11, dtype=torch.float64), "count": 1e-4}
    torch.save(ckpt, tmp_path / "fresh.pt")
    fresh = run_script("ppo_clip.py", "--eval-checkpoint", tmp_path / "fresh.pt", "--eval-episodes", "2", "--seed", "5", cwd=tmp_path)
    assert eval_returns(fresh.stdout) != eval_returns(train.stdout)
