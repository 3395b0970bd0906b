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
    """Evaluation reads the statistics from the checkpoint: the saved ones reproduce the returns after
    training; the same networks with other saved statistics give other returns (ignored statistics
    would give the same returns for both)."""
    train = run_script("ppo_clip.py", *SHORT, "--save-model", "--eval-episodes", "2", "--seed", "5", cwd=tmp_path)
    (run_dir,) = run_dirs(tmp_path / "runs")
    ckpt = torch.load(run_dir / "model.pt", weights_only=True)
    saved = run_script("ppo_clip.py", "--eval-checkpoint", run_dir / "model.pt", "--eval-episodes", "2", "--seed", "5", cwd=tmp_path)
    assert eval_returns(saved.stdout) == eval_returns(train.stdout)
    ckpt["obs_rms"] = {**ckpt["obs_rms"], "mean": ckpt["obs_rms"]["mean"] + ckpt["obs_rms"]["var"].sqrt()}  # one σ off
    torch.save(ckpt, tmp_path / "shifted.pt")
    shifted = run_script("ppo_clip.py", "--eval-checkpoint", tmp_path / "shifted.pt", "--eval-episodes", "2", "--seed", "5", cwd=tmp_path)
    assert eval_returns(shifted.stdout) != eval_returns(saved.stdout)
