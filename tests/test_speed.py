"""The speed comparison (python -m benchmark.speed): one short rep writes a row per contestant with
positive numbers; a crashing contestant makes it exit non-zero, named, and is not run again; the
targets' verdicts; SB3's configuration. No timing
assertions: the machines are noisy."""

import subprocess
import sys
from collections import Counter

import pytest
from scripts import REPO
from torch import nn

from benchmark import speed


def speed_cli(*flags, out):
    cmd = [sys.executable, "-m", "benchmark.speed", "--reps", "1", "--timesteps", "2048", "--out", str(out), *flags]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


def table_rows(markdown: str) -> dict[str, list[str]]:
    """{first cell: the other cells} of every markdown table row."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_one_rep_writes_a_row_per_contestant(tmp_path):
    names = ["ppo_clip", "sb3", "ceiling", "raw"]
    proc = speed_cli("--contestants", *names, out=tmp_path / "speed.md")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "speed.md").read_text()
    rows = table_rows(text)
    for name in names:
        median, span, x_sb3, x_clip, rss, extrapolated = rows[speed.LABELS[name]]
        low, high = map(float, span.split("–"))
        assert float(median) > 0 and 0 < low <= float(median) <= high, rows[speed.LABELS[name]]
        assert float(x_sb3) > 0 and float(x_clip) > 0 and float(rss) > 0
        assert extrapolated.endswith(" min")
    assert rows["`ppo_clip.py` ≥ 2.00× SB3"][1] in ("PASS", "FAIL")
    assert rows["`ppo_clip.py` peak RSS ≤ 600 MB"][1] in ("PASS", "FAIL")
    assert rows["`ppo_dual.py` ≥ 0.98× `ppo_clip.py`"] == ["—", "n/a (not measured)"]
    assert "command: `python -m benchmark.speed --reps 1 --timesteps 2048" in text
    assert rows[speed.LABELS["sb3"]][0] in proc.stdout  # the table is printed too


@pytest.mark.parametrize(
    "flag, why",
    # tyro's --help exits 0 without training
    [("--no-such-flag", "exit status 2"), ("--help", "exit status 0 but no SPS= line on stdout")],
)
def test_a_crash_is_named_and_fails_the_run(tmp_path, flag, why):
    out = tmp_path / "speed.md"
    proc = speed_cli("--reps", "2", "--contestants", "raw", "ppo_clip", "--flags", f"ppo_clip={flag}", out=out)
    assert proc.returncode == 1
    assert f"benchmark.speed: ppo_clip crashed: {why}" in proc.stderr
    rows = table_rows(out.read_text())
    assert rows[speed.LABELS["ppo_clip"]][0] == f"crashed: {why}"
    assert rows["`ppo_clip.py` peak RSS ≤ 600 MB"][1] == "FAIL (crashed)"
    assert float(rows[speed.LABELS["raw"]][0]) > 0
    assert rows["2"][1] == "not run" and rows["2"][0] != "not run"  # crashed once: not run again


def test_bad_arguments_exit_2():
    for flags in (["--timesteps", "1000"], ["--reps", "0"], ["--flags", "nobody=--x"], ["--contestants", "raw", "raw"]):
        with pytest.raises(SystemExit) as exc:
            speed.parse_args(flags)
        assert exc.value.code == 2, flags


def measurement(name, sps, rss_mb=300, returncode=0):
    return speed.Measurement(name, 1, returncode, sps, int(rss_mb * speed.MB / 1024), 1.0, False, "")


def test_target_verdicts():
    runs = [
        measurement("ppo_clip", 2000.0),
        measurement("sb3", 1000.0),
        measurement("ppo_per_sample_kl", 1959.0),  # 0.9795× ppo_clip: just under 0.98
        measurement("ppo_kl", 1900.0, rss_mb=601),  # 0.95× exactly: PASS; RSS over 600 MB
        measurement("ppo_dual", None, returncode=1),
        measurement("ppo_beta_shapes", 1899.0),  # 0.9495× ppo_clip: just under 0.95
    ]
    summaries = speed.summarize(runs, ["ppo_clip", "ppo_per_sample_kl", "ppo_kl", "ppo_dual", "ppo_beta_shapes", "sb3"])
    verdicts = {target: result for target, _, result in speed.targets(summaries)}
    assert verdicts["`ppo_clip.py` ≥ 2.00× SB3"] == "PASS"
    assert verdicts["`ppo_kl.py` ≥ 2.00× SB3"] == "FAIL"
    assert verdicts["`ppo_per_sample_kl.py` ≥ 0.98× `ppo_clip.py`"] == "FAIL"
    assert verdicts["`ppo_kl.py` ≥ 0.95× `ppo_clip.py`"] == "PASS"
    assert verdicts["`ppo_dual.py` ≥ 0.98× `ppo_clip.py`"] == "FAIL (crashed)"
    assert verdicts["`ppo_kl.py` peak RSS ≤ 600 MB"] == "FAIL"
    assert verdicts["`ppo_clip.py` peak RSS ≤ 600 MB"] == "PASS"
    assert verdicts["`ppo_beta_shapes.py` ≥ 0.95× `ppo_clip.py`"] == "FAIL"
    assert verdicts["`ppo_beta_shapes.py` ≥ 2.00× SB3"] == "FAIL"
    assert speed.summarize(runs[:1], ["ppo_clip"])["ppo_clip"].median == 2000.0
    only_clip = {target: result for target, _, result in speed.targets(speed.summarize(runs[:1], ["ppo_clip"]))}
    assert only_clip["`ppo_clip.py` ≥ 2.00× SB3"] == "n/a (not measured)"


def test_sb3_is_configured_as_the_scripts():
    from benchmark.sb3_ppo import make_model

    model = make_model("Hopper-v4", seed=1)
    assert (model.n_steps, model.batch_size, model.n_epochs) == (2048, 64, 10)
    assert (model.gamma, model.gae_lambda, model.clip_range(1.0), model.clip_range_vf(1.0), model.ent_coef) == (0.99, 0.95, 0.2, 0.2, 0.0)
    assert (model.vf_coef, model.max_grad_norm, model.lr_schedule(1.0), model.lr_schedule(0.0)) == (0.5, 0.5, 3e-4, 0.0)
    policy = model.policy
    assert policy.ortho_init and policy.log_std_init == 0.0 and policy.activation_fn is nn.Tanh
    assert policy.net_arch == dict(pi=[64, 64], vf=[64, 64]) and policy.optimizer.defaults["eps"] == 1e-5
    venv = model.get_vec_normalize_env()
    assert venv.norm_obs and venv.norm_reward and (venv.clip_obs, venv.clip_reward, venv.gamma) == (10.0, 10.0, 0.99)
    assert model.env.num_envs == 1 and str(model.device) == "cpu"


def test_beta_shapes_runs_at_its_default_shape():
    """ppo_beta_shapes.py is a contestant by default, launched as a user launches it: no --beta-shape, so the
    step gate, which trains bitwise as ppo_clip.py."""
    args = speed.parse_args([])
    args.runs_dir = "runs"
    assert "ppo_beta_shapes" in args.contestants
    cmd = speed.command("ppo_beta_shapes", args)
    assert cmd[1] == "ppo_beta_shapes.py" and cmd[2:] == speed.command("ppo_clip", args)[2:]


def test_order_rotates_so_every_contestant_runs_in_every_slot(tmp_path, monkeypatch, capsys):
    """The first slot of a rep runs faster on these machines: over a multiple of as many reps as contestants,
    each contestant has each slot equally often (a cyclic Latin square), and speed.md says which slot each
    run had. The processes are not launched: measure() is replaced."""
    names = ["ppo_clip", "ppo_dual", "sb3", "raw"]
    ran = []

    def fake_measure(name, rep, cmd, log_dir, timeout):
        ran.append((rep, name))
        return speed.Measurement(name, rep, 0, 1000.0 + rep, 1024, 1.0, False, "")

    monkeypatch.setattr(speed, "measure", fake_measure)
    out = tmp_path / "speed.md"
    assert speed.main(["--reps", "8", "--contestants", *names, "--out", str(out)]) == 0
    orders = [[name for r, name in ran if r == rep] for rep in range(1, 9)]
    assert orders[:2] == [names, ["ppo_dual", "sb3", "raw", "ppo_clip"]] and orders[4] == names
    slots = Counter((name, order.index(name)) for order in orders for name in order)
    assert slots == {(name, slot): 2 for name in names for slot in range(4)}
    rows = table_rows(out.read_text())
    assert rows["2"][0] == "1002 (slot 4, 1 MB, 1.0 s)" and rows["2"][1] == "1002 (slot 1, 1 MB, 1.0 s)"
    assert "over 8 reps every contestant ran in every slot 2 time(s)" in out.read_text()
    assert "warning" not in capsys.readouterr().err

    assert speed.parse_args(["--contestants", *names]).reps == 4  # default: one rotation
    ran.clear()
    assert speed.main(["--reps", "3", "--contestants", *names, "--out", str(out)]) == 0
    assert "3 reps are not a multiple of 4 contestants: the slots are not balanced" in capsys.readouterr().err
