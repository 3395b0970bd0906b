"""The committed benchmark runs stay this code's runs. For every config with committed runs, replay the
first two updates of its committed Hopper-v4 seed-0 run (a config with no Hopper run, as the β sweep's:
its first env's) with the current script, launched with the runner's own flags, and compare every episode that ended in those steps (step and return) with
benchmark/results/csv. The first rollout's episodes come from the initial policy; the second's from
the policy after one update of 320 minibatch steps, so a change to the update shows too.

The floats also depend on the CPU kind (runs.csv's `cpu`): the same code gives returns that differ in
the last bits on two kinds, and the same on one kind. So where the CSV does not match:
  - the committed run's CPU kind is this machine's: the test fails, naming the first differing episode.
  - another kind (or none recorded): the test replays the script as it was at the commit that made the
    committed run (from git history; its per-episode print made exact, nothing else changed) on this
    machine. current == committed code here: the code computes what it computed, and the test passes
    with a warning naming both CPU kinds and the first differing episode. current != committed code
    here: a change altered the floats, the committed 1M-step results are no longer this code's, and the
    test fails, naming the first differing episode."""

import csv
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from cpu_kind import run_kind, this_kind
from benchmark.configs import CONFIGS
from benchmark.job import REPO, Run

RESULTS = REPO / "benchmark" / "results"
ENV, SEED, UPDATES = "Hopper-v4", 0, 2
LAST_STEP = UPDATES * 2048  # the runner uses the scripts' default rollout: 2048 steps × 1 env


def committed_runs():
    """config → the runs.csv row of its committed seed-SEED run on ENV; for a config with none there (the β sweep
    runs on Ant-v4 and Humanoid-v4 only), of its first env by name that has one."""
    with open(RESULTS / "runs.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["seed"] == str(SEED)]
    rows = [r for r in rows if (RESULTS / "csv" / r["env"] / r["config"] / f"seed{SEED}.csv").exists()]
    chosen = {}
    for row in sorted(rows, key=lambda r: (r["env"] != ENV, r["env"])):
        chosen.setdefault(row["config"], row)
    return chosen


COMMITTED = committed_runs()


def committed_episodes(config, env):
    """[(step, return)] of the committed CSV up to LAST_STEP; the CSV holds float32 as logged, exactly."""
    with open(RESULTS / "csv" / env / config / f"seed{SEED}.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["episodic_return"] and int(r["step"]) <= LAST_STEP]
    return [(int(r["step"]), np.float32(r["episodic_return"])) for r in rows]


def replay(script_path, flags, cwd):
    """Run a script as the runner does and stop it at the first episode after LAST_STEP; return its
    episodes [(step, return as float64)], from its per-episode lines."""
    cmd = [sys.executable, str(script_path), *flags, "--runs-dir", str(cwd / "runs")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    episodes = []
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            for line in proc.stdout:
                match = re.match(r"global_step=(\d+), episodic_return=(\S+)$", line.strip())
                if match and int(match[1]) > LAST_STEP:
                    return episodes
                if match:
                    episodes.append((int(match[1]), float(match[2])))
            raise AssertionError(f"{script_path.name} ended before step {LAST_STEP}: {proc.stderr.read()[-2000:]}")
        finally:
            proc.kill()


def first_difference(a, b):
    """(index, a's episode, b's episode) of the first episode that differs, or None."""
    for i in range(max(len(a), len(b))):
        x, y = (a[i] if i < len(a) else None), (b[i] if i < len(b) else None)
        if x != y:
            return i, x, y
    return None


def committed_script(config, commit, tmp_path):
    """The config's script as it was at `commit`, its per-episode print made exact (old versions print
    the return to 2 decimals); nothing else changes."""
    script = CONFIGS[config].script
    text = subprocess.run(["git", "show", f"{commit}:{script}"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    text, n = re.subn(r"episodic_return=\{episodic_return:\.2f\}", "episodic_return={episodic_return}", text)
    assert n == 1 or "episodic_return={episodic_return}" in text, f"{script} at {commit}: no per-episode print found"
    path = tmp_path / f"committed_{script}"
    path.write_text(text)
    return path


def test_the_main_configs_are_guarded():
    assert {"ppo_clip", "ppo_per_sample_kl", "ppo_dual", "ppo_kl_fixed", "ppo_kl_adaptive"} <= COMMITTED.keys()
    assert all(COMMITTED[c]["env"] == ENV for c in ["ppo_clip", "ppo_kl_fixed"])


def test_every_committed_config_is_guarded():
    """A config committed only on other envs (the β sweep's, on Ant-v4) is replayed there."""
    with open(RESULTS / "runs.csv", newline="") as f:
        configs = {r["config"] for r in csv.DictReader(f) if r["seed"] == str(SEED)}
    assert configs == COMMITTED.keys()


@pytest.mark.parametrize("config", sorted(COMMITTED))
def test_replay_reproduces_committed_run(config, tmp_path):
    row = COMMITTED[config]
    run = Run(row["env"], config, SEED, int(row["total_timesteps"]), tmp_path)
    script, *flags = run.args
    expected = committed_episodes(config, row["env"])
    # many episodes (Hopper's end sooner than Ant's), from the updated policy too
    assert len(expected) > (50 if row["env"] == ENV else 20) and expected[-1][0] > 2048
    current = replay(REPO / script, flags, tmp_path)
    as_logged = [(step, np.float32(ret)) for step, ret in current]  # TensorBoard stores float32
    if as_logged == expected:
        return
    csv_diff = first_difference(as_logged, expected)
    committed_cpu, this_cpu = run_kind(row), this_kind()
    if committed_cpu == this_cpu:
        i, here, committed = csv_diff
        pytest.fail(
            f"{config}: {script} no longer reproduces its committed {row['env']} seed-{SEED} run on the CPU kind that "
            f"made it ({this_cpu}): episode {i} ends as (step, return) {here} here and {committed} in results/csv. The "
            "same kind gives the same floats: a change altered them (or the packages differ from the pins), so the "
            "committed 1M-step results are no longer this code's. Revert the change, or make it float-preserving, or "
            "re-run the benchmark."
        )
    (tmp_path / "old").mkdir()
    old = replay(committed_script(config, row["git_commit"], tmp_path), flags, tmp_path / "old")
    code_diff = first_difference(current, old)
    if code_diff is not None:
        i, now, then = code_diff
        pytest.fail(
            f"{config}: {script} no longer computes what it computed at {row['git_commit'][:10]}, the commit of its "
            f"committed {row['env']} seed-{SEED} run (CPU kind: {committed_cpu}): on this machine (CPU kind: {this_cpu}), "
            f"episode {i} ends as (step, return) {now} now and {then} "
            "with that commit's script. A change altered the floats: the committed 1M-step results are no longer this "
            "code's. Revert the change, or make it float-preserving, or re-run the benchmark."
        )
    i, here, committed = csv_diff
    warnings.warn(
        f"{config}: this machine's CPU/torch build (CPU kind: {this_cpu}) computes differently from the one that made "
        f"the committed run ({row['host']}, CPU kind: {committed_cpu}, torch {row['torch']}): episode {i} is {here} "
        f"here, {committed} in results/csv. The current "
        f"{script} and the one at {row['git_commit'][:10]} agree bit for bit here, so the code is unchanged.",
        stacklevel=1,
    )
