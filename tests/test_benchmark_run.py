"""The benchmark runner (python -m benchmark.run) on tiny real runs of the real scripts: a grid through
the local backend and through submitit's local executor, resume after a kill, an isolated failure,
the dry run."""

import fcntl
import os
import signal
import subprocess
import sys
import time
import typing

import pytest
import torch
from scripts import REPO, load_script

from benchmark import run
from benchmark.configs import CONFIGS, Config
from benchmark.job import Run, read_json, run_one
from benchmark.report import __main__ as report
from benchmark.report import stats

TORCH_CAPABILITY = torch.backends.cpu.get_cpu_capability()

# Two updates of 256 steps: about 3 s a run, most of it imports.
TINY = ["--total-timesteps", "512", "--", "--num-steps", "256", "--num-minibatches", "4", "--update-epochs", "1"]
GRID = ["--envs", "Hopper-v4", "Walker2d-v4", "--configs", "ppo_clip", "ppo_per_sample_kl", "--seeds", "0", "1"]


def runner(*flags, out, wait=True, **popen):
    cmd = [sys.executable, "-m", "benchmark.run", "--out", str(out), *map(str, flags)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    if wait:
        proc.stdout_text, proc.stderr_text = proc.communicate(timeout=300)
    return proc


def run_dirs(out):
    return sorted(p.parent for p in out.glob("*/*/seed*/meta.json"))


@pytest.mark.parametrize("backend", ["local", "submitit-local"])
def test_grid_finishes_then_is_skipped(tmp_path, capsys, backend):
    out = tmp_path / "out"
    proc = runner(*GRID, "--backend", backend, "--workers", "2", *TINY, out=out)
    assert proc.returncode == 0, proc.stderr_text
    assert "8/8 runs finished, 0 failed" in proc.stdout_text
    dirs = run_dirs(out)
    assert [d.relative_to(out).as_posix() for d in dirs] == [
        f"{env}/{config}/seed{seed}"
        for env in ("Hopper-v4", "Walker2d-v4")
        for config in ("ppo_clip", "ppo_per_sample_kl")
        for seed in (0, 1)
    ]
    for d in dirs:
        done, meta = read_json(d / "done.json"), read_json(d / "meta.json")
        assert done["exit_code"] == 0 and done["wall_time_s"] > 0 and not (d / "failed.json").exists()
        assert meta["config"] == d.parent.name and meta["script"] == CONFIGS[d.parent.name].script
        assert len(meta["git_commit"]) == 40 and isinstance(meta["git_dirty"], bool)
        assert meta["command"].startswith(sys.executable) and f"--runs-dir {d / 'tb'}" in meta["command"]
        assert f"--seed {d.name[4:]} --total-timesteps 512 --threads 1 --num-steps 256" in meta["command"]
        assert set(meta["versions"]) == {"python", "torch", "gymnasium", "mujoco", "numpy"}
        assert meta["cpu"]["torch_capability"] == TORCH_CAPABILITY and meta["cpu"]["kind"].endswith(TORCH_CAPABILITY)
        assert meta["cpu"]["env"]["OMP_NUM_THREADS"] == "1"  # the script's environment, not the runner's
        assert "--save-model" in meta["args"]  # the suite's save_model: every run leaves its checkpoint
        assert [p.parent for p in (d / "tb").glob("*/model.pt")] == list((d / "tb").iterdir())
        (tb_run,) = (d / "tb").iterdir()
        assert tb_run.name.startswith(f"{d.parts[-3]}__{meta['script'][:-3]}__{d.name[4:]}__")
        assert "update 2/2" in (d / "log.txt").read_text()

    # launched again: every run skipped, none touched; with other flags: refused, not mixed in
    stamps = {d: (d / "done.json").stat().st_mtime_ns for d in dirs}
    assert run.main([*GRID, "--out", str(out), *TINY]) == 0
    assert "8 runs in the plan: 8 skip (finished)" in capsys.readouterr().out
    assert {d: (d / "done.json").stat().st_mtime_ns for d in run_dirs(out)} == stamps
    with pytest.raises(SystemExit) as exc:
        run.main(["--dry-run", *GRID, "--out", str(out), *TINY, "--update-epochs", "2"])
    assert exc.value.code == 2 and "finished with other flags" in capsys.readouterr().err

    # the report reads the real event files; same-seed clip and per-sample KL are bitwise identical
    assert report.extract(out, tmp_path / "results") == (8, 0)
    runs = report.load_runs(tmp_path / "results")
    assert len(runs) == 8 and all(len(series["episodic_return"][0]) > 5 for series in runs.values())
    identity = stats.identity_table(runs)
    assert [(r["env"], r["seed"], r["ppo_per_sample_kl"]) for r in identity] == [
        (env, seed, "identical") for env in ("Hopper-v4", "Walker2d-v4") for seed in ("0", "1")
    ]


def live_scripts(out):
    """Processes whose command line names the output directory (the scripts' --runs-dir)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            found += [pid] if str(out) in open(f"/proc/{pid}/cmdline").read() else []
        except OSError:
            pass
    return found


@pytest.mark.parametrize("how", ["SIGKILL to the process group", "SIGTERM to the runner"])
def test_killed_runner_resumes(tmp_path, how):
    flags = ["--envs", "Hopper-v4", "--configs", "ppo_clip", "--seeds", "0", "1", "2", "--workers", "1", *TINY]
    proc = runner(*flags, out=tmp_path, wait=False, start_new_session=True)
    first, second = (tmp_path / "Hopper-v4" / "ppo_clip" / f"seed{seed}" for seed in (0, 1))
    deadline = time.time() + 120
    while not ((first / "done.json").exists() and (second / "meta.json").exists()):  # one done, one running
        assert time.time() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    if how.startswith("SIGKILL"):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    else:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130 and "interrupted: 1 runs stopped" in stderr
        assert not live_scripts(tmp_path)  # the runner took its script down with it
    assert not (second / "done.json").exists() and not (second / "failed.json").exists()
    first_done, first_meta = (first / "done.json").stat().st_mtime_ns, read_json(first / "meta.json")
    killed_meta = read_json(second / "meta.json")

    plan = runner("--dry-run", *flags, out=tmp_path)
    assert "1 skip (finished), 1 redo (interrupted), 1 run (new)" in plan.stdout_text
    resumed = runner(*flags, out=tmp_path)
    assert resumed.returncode == 0, resumed.stderr_text
    assert "3/3 runs finished, 0 failed" in resumed.stdout_text
    assert (first / "done.json").stat().st_mtime_ns == first_done  # not redone
    assert read_json(first / "meta.json") == first_meta
    assert read_json(second / "meta.json")["launched_at"] > killed_meta["launched_at"]  # redone
    for d in run_dirs(tmp_path):  # redone from a clean directory: one TensorBoard run each
        assert (d / "done.json").exists() and len(list((d / "tb").iterdir())) == 1


def test_failing_run_is_isolated_and_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(CONFIGS, "bad_lr", Config("ppo_clip.py", ("--learning-rate=-1",)))
    flags = ["--envs", "Hopper-v4", "--configs", "ppo_clip", "bad_lr", "--seeds", "0", "--out", str(tmp_path), *TINY]
    assert run.main(flags) == 1
    out = capsys.readouterr()
    assert "1/2 runs finished, 1 failed" in out.out
    bad = tmp_path / "Hopper-v4" / "bad_lr" / "seed0"
    message = "ppo_clip.py: error: --learning-rate must be positive, got -1.0"
    assert f"failed: Hopper-v4/bad_lr/seed0 (exit 1): {message}  log: {bad / 'log.txt'}" in out.err
    assert read_json(bad / "failed.json")["exit_code"] == 1 and not (bad / "done.json").exists()
    assert message in (bad / "log.txt").read_text()
    assert (tmp_path / "Hopper-v4" / "ppo_clip" / "seed0" / "done.json").exists()
    assert run.main(["--dry-run", *flags]) == 0
    assert "1 skip (finished), 1 retry (failed)" in capsys.readouterr().out


def test_repeats_in_the_plan_run_once(tmp_path, capsys):
    """A repeated env, config or seed (or phase) plans the run once, and says so: two workers never run one run
    into one directory (which ended with both done.json and failed.json). One run asked with two sets of flags is refused."""
    out = tmp_path / "out"
    repeated = ["--envs", "Hopper-v4", "Hopper-v4", "--configs", "ppo_clip", "ppo_clip", "--seeds", "13", "13"]
    proc = runner(*repeated, "--workers", "2", *TINY, out=out)
    assert proc.returncode == 0, proc.stderr_text
    assert "dropped 3 repeat(s) from the plan, so that each run runs once: Hopper-v4/ppo_clip/seed13" in proc.stdout_text
    assert "1/1 runs finished, 0 failed" in proc.stdout_text
    (d,) = run_dirs(out)
    assert (d / "done.json").exists() and not (d / "failed.json").exists()
    twice = [Run("Hopper-v4", "ppo_clip", 0, steps, out) for steps in (512, 1024)]
    with pytest.raises(SystemExit):
        run.once_each(twice)
    assert "Hopper-v4/ppo_clip/seed0 is planned twice with different flags" in capsys.readouterr().err


def test_a_run_whose_lock_is_held_is_left_alone(tmp_path):
    """The per-run lock: while another job holds it (another runner on the same --out, a requeued Slurm job), a job
    for the same run touches nothing in its directory and reports it busy."""
    job = Run("Hopper-v4", "ppo_clip", 0, 512, tmp_path, tuple(TINY[3:]))
    job.dir.mkdir(parents=True)
    (job.dir / "log.txt").write_text("the other job's log\n")
    with open(job.dir.parent / ".seed0.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run_one(job, {})
    assert result["status"] == "busy" and "another job is running it" in result["error"], result
    assert sorted(p.name for p in job.dir.iterdir()) == ["log.txt"]
    assert (job.dir / "log.txt").read_text() == "the other job's log\n"


def test_dry_run_launches_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    nothing = ["--results", str(tmp_path / "no-results")]  # not the repository's committed results
    assert run.main(["--dry-run", "--out", str(out), *nothing]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "100 runs in the plan: 100 run (new)"
    first = "run (new)            Hopper-v4/ppo_clip/seed0   ppo_clip.py --save-model --env-id Hopper-v4 --seed 0"
    assert lines[0] == first + " --total-timesteps 1000000 --threads 1"
    assert sum("ppo_kl.py --kl-mode fixed --kl-coef 1.0" in line for line in lines) == 20
    assert not out.exists()
    assert run.main(["--dry-run", "--phase", "humanoid", "--seeds", "0", "--out", str(out), *nothing]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "5 runs in the plan: 5 run (new)"


def test_zoo_phase_plans_the_published_variants(tmp_path, capsys):
    """Seven ppo_beta_shapes.py gates at their published defaults (no flag but the shape) × Hopper-v4 and
    HalfCheetah-v4 × seeds 0-4 × 1M steps; every shape name is one the script accepts."""
    shapes = ["dual_clip", "rollback", "trppo", "spo", "cispo", "gppo", "sapo"]
    for shape in shapes:
        config = CONFIGS[f"zoo_{shape}"]
        assert (config.script, config.flags) == ("ppo_beta_shapes.py", ("--beta-shape", shape)) and config.label
    accepted = typing.get_args(typing.get_type_hints(load_script("ppo_beta_shapes.py").Args)["beta_shape"])
    assert set(shapes) <= set(accepted), accepted
    nothing = ["--results", str(tmp_path / "no-results")]
    assert run.main(["--dry-run", "--phase", "zoo", "--out", str(tmp_path / "out"), *nothing]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "70 runs in the plan: 70 run (new)"
    expected = "run (new)            Hopper-v4/zoo_dual_clip/seed0   ppo_beta_shapes.py --beta-shape dual_clip"
    assert lines[0] == expected + " --save-model --env-id Hopper-v4 --seed 0 --total-timesteps 1000000 --threads 1"
    for shape in shapes:
        for env in ("Hopper-v4", "HalfCheetah-v4"):
            assert sum(f"{env}/zoo_{shape}/seed" in line for line in lines) == 5


def test_sweep_phase_plans_the_scalar_values(tmp_path, capsys):
    """The β sweep: ppo_kl.py at fixed β ∈ {0.1, 0.3, 3, 10} and adaptive d_targ ∈ {0.003, 0.02, 0.03, 0.1} × Ant-v4
    and Humanoid-v4 × seeds 0-2, each saving its checkpoint; the main grid's β = 1 and d_targ = 0.01 are not in it.
    beta_step: the clip's β_t logged on the five envs, seed 0."""
    nothing = ["--results", str(tmp_path / "no-results")]
    assert run.main(["--dry-run", "--phase", "sweep", "beta_step", "--out", str(tmp_path / "out"), *nothing]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "53 runs in the plan: 53 run (new)"
    for value in ("0.1", "0.3", "3", "10"):
        flags = f"ppo_kl.py --kl-mode fixed --kl-coef {value} --save-model --env-id"
        assert sum(flags in line for line in lines) == 6, value
    for value in ("0.003", "0.02", "0.03", "0.1"):
        flags = f"ppo_kl.py --kl-mode adaptive --kl-adaptive-target {value} --save-model --env-id"
        assert sum(flags in line for line in lines) == 6, value
    assert not any("--kl-coef 1.0" in line or "--kl-adaptive-target 0.01 " in line for line in lines)
    assert sum("ppo_beta_shapes.py --beta-shape step --save-model" in line and "--seed 0 " in line for line in lines) == 5


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--configs", "nope"], "unknown config(s) nope"),
        (["--phase", "nope"], "no phase 'nope'"),
        (["--envs", "Nope-v0"], "--envs: 'Nope-v0' is not a registered gymnasium env id (Environment `Nope` doesn't exist."),
        (["--envs", "Hopper-v4", "Hopper-v9"], "--envs: 'Hopper-v9' is not a registered gymnasium env id"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, capsys, flags, message):
    """At plan time, so a dry run shows them too."""
    with pytest.raises(SystemExit) as exc:
        run.main([*flags, "--dry-run", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and message in err, err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--seeds", "-1"], "--seeds: -1 not in [0, 2**32), the seeds NumPy accepts"),
        (["--seeds", "0", "4294967296"], "--seeds: 4294967296 not in [0, 2**32), the seeds NumPy accepts"),
        (["--total-timesteps", "0"], "--total-timesteps must be positive, got 0"),
        (["--total-timesteps", "-512"], "--total-timesteps must be positive, got -512"),
        (["--workers", "0"], "--workers must be at least 1, got 0"),
        (["--backend", "slurm"], "--backend slurm needs Slurm's sbatch on PATH, and there is none here"),
    ],
)
def test_bad_values_one_line_exit_2_nothing_written(tmp_path, monkeypatch, capsys, flags, message):
    """Not a dry run: had the value got through, runs would start (and write into --out). On a machine
    without Slurm, submitit is never imported (an import would raise here)."""
    monkeypatch.setenv("PATH", str(tmp_path / "bin-without-sbatch"))
    monkeypatch.setitem(sys.modules, "submitit", None)
    out, nothing = tmp_path / "out", tmp_path / "no-results"
    grid = ["--envs", "Hopper-v4", "--configs", "ppo_clip", "--seeds", "0"]
    with pytest.raises(SystemExit) as exc:
        run.main([*grid, "--out", str(out), "--results", str(nothing), *TINY[:2], *flags, *TINY[2:]])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f"benchmark.run: error: {message}")
    assert not out.exists()


def test_bad_seeds_in_a_suite_are_refused(tmp_path, capsys):
    suite = tmp_path / "suite.toml"
    suite.write_text('configs = ["ppo_clip"]\nseeds = [0, -3]\ntotal_timesteps = 512\n[phases.main]\nenvs = ["Hopper-v4"]\n')
    with pytest.raises(SystemExit) as exc:
        run.main(["--suite", str(suite), "--dry-run", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert capsys.readouterr().err == "benchmark.run: error: suite.toml, phase main: -3 not in [0, 2**32), the seeds NumPy accepts\n"


def test_committed_results_are_not_run_again(tmp_path):
    """A fresh clone has no runs directory: runs whose results are committed (runs.csv + CSV) are
    skipped; a run with extra flags is not matched (runs.csv does not record flags)."""
    results = tmp_path / "results"
    (results / "csv" / "Hopper-v4" / "ppo_clip").mkdir(parents=True)
    (results / "csv" / "Hopper-v4" / "ppo_clip" / "seed0.csv").write_text("step,episodic_return\n")
    (results / "runs.csv").write_text("env,config,seed,total_timesteps\nHopper-v4,ppo_clip,0,2048\n")
    grid = ["--envs", "Hopper-v4", "--configs", "ppo_clip", "--seeds", "0", "1", "--total-timesteps", "2048"]
    plan = runner(*grid, "--results", results, "--dry-run", out=tmp_path / "out")
    assert "skip (committed)     Hopper-v4/ppo_clip/seed0" in plan.stdout_text
    assert "run (new)            Hopper-v4/ppo_clip/seed1" in plan.stdout_text
    with_flags = runner(*grid, "--results", results, "--dry-run", "--", "--num-steps", "1024", out=tmp_path / "out")
    assert "2 run (new)" in with_flags.stdout_text
    proc = runner(*grid, "--results", results, out=tmp_path / "out")
    assert proc.returncode == 0 and "2/2 runs finished, 0 failed" in proc.stdout_text, proc.stderr_text
    assert [d.name for d in run_dirs(tmp_path / "out")] == ["seed1"]  # seed0 was not launched


def test_a_run_committed_as_stopped_early_is_not_run_again(tmp_path, capsys):
    """A run committed with its script's error as its status stops the same way every time: skipped, even where
    its own directory says it failed. A run committed as finished whose directory says it failed is retried, as
    before: its directory is the newer word."""
    results, out = tmp_path / "results", tmp_path / "out"
    error = "ppo_clip.py: error: non-finite loss in update 3 (global_step=6144); stopped, no checkpoint saved"
    rows = ["env,config,seed,total_timesteps,status", f'Hopper-v4,ppo_clip,0,2048,"{error}"']
    rows += ["Hopper-v4,ppo_clip,1,2048,finished", "Hopper-v4,ppo_clip,2,2048,finished", f'Hopper-v4,ppo_clip,3,2048,"{error}"']
    (results / "csv" / "Hopper-v4" / "ppo_clip").mkdir(parents=True)
    for seed in range(4):
        (results / "csv" / "Hopper-v4" / "ppo_clip" / f"seed{seed}.csv").write_text("step,episodic_return\n")
    (results / "runs.csv").write_text("\n".join(rows) + "\n")
    for seed in (2, 3):  # failed here, after (or before) its results were committed
        (out / "Hopper-v4" / "ppo_clip" / f"seed{seed}").mkdir(parents=True)
        (out / "Hopper-v4" / "ppo_clip" / f"seed{seed}" / "failed.json").write_text("{}")
    grid = ["--envs", "Hopper-v4", "--configs", "ppo_clip", "--seeds", "0", "1", "2", "3", "4", "--total-timesteps", "2048"]
    assert run.main([*grid, "--results", str(results), "--out", str(out), "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert "skip (committed, stopped early) Hopper-v4/ppo_clip/seed0" in plan
    assert "skip (committed)     Hopper-v4/ppo_clip/seed1" in plan
    assert "retry (failed)       Hopper-v4/ppo_clip/seed2" in plan
    assert "skip (committed, stopped early) Hopper-v4/ppo_clip/seed3" in plan
    assert "run (new)            Hopper-v4/ppo_clip/seed4" in plan
    assert "5 runs in the plan: 2 skip (committed, stopped early), 1 skip (committed), 1 retry (failed), 1 run (new)" in plan
