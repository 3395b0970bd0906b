"""Run a benchmark suite: configs × envs × seeds, each run the unmodified top-level script launched
as a user runs it (`python SCRIPT.py --threads 1 ...`, OMP_NUM_THREADS=1). Resumable: a finished
run is skipped, and so is one whose results are committed in benchmark/results (a fresh clone has no
runs directory), a run committed as stopped early by its script's own error included; an interrupted or
failed one is done again. Each run once: a repeat in the plan is dropped (and said so), and a run's lock keeps
a second job out of its directory. See benchmark/job.py for the layout.

    python -m benchmark.run                           # phase "main" of benchmark/suites/mujoco.toml
    python -m benchmark.run --dry-run                 # the plan: what would run, what is skipped
    python -m benchmark.run --phase humanoid
    python -m benchmark.run --envs Hopper-v4 --configs ppo_clip ppo_dual --seeds 0 1 \\
        --total-timesteps 4096 --out /tmp/bench -- --num-steps 512   # after --: flags for the scripts
    python -m benchmark.run --backend slurm --slurm-partition cpu --slurm-time 300 --slurm-mem 4G

Exit status: 0 when every run of the plan finished, 1 when some failed (listed on stderr),
2 for bad arguments, 130 when interrupted (Ctrl-C or SIGTERM; run the same command to resume).
"""

import argparse
import csv
import fcntl
import importlib
import os
import shlex
import shutil
import signal
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gymnasium as gym
from tqdm import tqdm

from benchmark.common import FINISHED, REPO, RESULTS, RUNS, SUITE, fail, git_head
from benchmark.configs import CONFIGS
from benchmark.job import DONE, FAILED, LOG, Run, read_json, run_one, stop_local_runs, write_json

POLL_S = {"local": 0.2, "submitit-local": 0.5, "slurm": 30.0}  # how often to look for finished runs
SEED_LIMIT = 2**32  # NumPy seeds its generators with 0 ≤ seed < 2**32


def bad(msg: str):
    fail("benchmark.run", msg)


def suite_phases(suite: Path) -> list[str]:
    with open(suite, "rb") as f:
        return list(tomllib.load(f).get("phases", {}))


def load_phase(suite: Path, phase: str) -> dict:
    """The phase's table, over the suite's top-level keys: envs, configs, seeds, total_timesteps."""
    with open(suite, "rb") as f:
        data = tomllib.load(f)
    phases = data.pop("phases", {})
    if phase not in phases:
        bad(f"{suite}: no phase {phase!r} (phases: {', '.join(phases)})")
    return {**data, **phases[phase]}


def check_seeds(seeds: list[int], where: str):
    wrong = [seed for seed in seeds if not 0 <= seed < SEED_LIMIT]
    if wrong:
        bad(f"{where}: {', '.join(map(str, wrong))} not in [0, 2**32), the seeds NumPy accepts")


def check_steps(steps: int, where: str):
    if steps <= 0:
        bad(f"{where} must be positive, got {steps}")


def phase_configs(grid: dict, envs: list[str], results: Path) -> dict[str, list[str]]:
    """env → the phase's configs there. A phase with `select = "sweep"` has, per env, the β sweep's best values that
    still need seeds 3-4 (benchmark/report/sweep.py, from the committed results), none until the env's sweep is all in;
    `select = "sweep_edge"`, the extended grid's best fixed β where it is not 10."""
    if grid.get("select") in ("sweep", "sweep_edge"):
        from benchmark.report import stats, sweep  # the report's scores: imported here, other phases need neither

        runs = stats.load_runs(results)
        to_confirm = sweep.to_confirm if grid["select"] == "sweep" else sweep.edge_to_confirm
        return {env: to_confirm(runs, env) for env in envs}
    return {env: grid["configs"] for env in envs}


def check_envs(envs: list[str], where: str):
    """Each id is in gymnasium's registry (looked up, not made: fast, and no MuJoCo needed to plan)."""
    for env in envs:
        module, _, name = env.rpartition(":")
        try:
            if module:  # "module:Env-v0": gym.make imports the module, which registers its envs
                importlib.import_module(module)
            gym.spec(name)
        except (gym.error.Error, ImportError) as e:
            bad(f"{where}: {env!r} is not a registered gymnasium env id ({str(e).strip().splitlines()[0]})")


def plan(args) -> list[Run]:
    runs = []
    for phase in args.phase:
        grid = load_phase(args.suite, phase)
        envs = args.envs or grid["envs"]
        check_envs(envs, "--envs" if args.envs else f"{args.suite.name}, phase {phase}")
        by_env = phase_configs(grid, envs, args.results)
        if args.configs:
            by_env = {env: args.configs for env in by_env}
        unknown = [c for c in dict.fromkeys(c for configs in by_env.values() for c in configs) if c not in CONFIGS]
        if unknown:
            bad(f"unknown config(s) {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
        seeds = args.seeds if args.seeds is not None else grid["seeds"]
        check_seeds(seeds, f"{args.suite.name}, phase {phase}")
        steps = args.total_timesteps if args.total_timesteps is not None else grid["total_timesteps"]
        check_steps(steps, f"{args.suite.name}, phase {phase}: total_timesteps")
        for env, configs in by_env.items():
            for config in configs:
                for seed in seeds:
                    runs.append(Run(env, config, seed, steps, args.out, tuple(args.extra), grid.get("save_model", False)))
    runs = once_each(runs)
    for run in runs:  # a finished run is kept only if it is the run asked for
        if run.status() == "done" and read_json(run.dir / DONE)["args"] != run.args:
            bad(
                f"{run.dir} finished with other flags ({shlex.join(read_json(run.dir / DONE)['args'])}); "
                "use another --out, or delete it"
            )
    return runs


def once_each(runs: list[Run]) -> list[Run]:
    """The plan with each run directory once: a repeated env, config, seed or phase would have two workers run
    one run at once into one directory. Says which repeats it dropped; refuses one run planned with two sets of flags."""
    first_of, repeats = {}, []
    for run in runs:
        first = first_of.setdefault(run.dir, run)
        if first is not run:
            if first.args != run.args:
                bad(f"{run.name} is planned twice with different flags ({shlex.join(first.args)} and {shlex.join(run.args)})")
            repeats.append(run.name)
    if repeats:
        print(f"dropped {len(repeats)} repeat(s) from the plan, so that each run runs once: {', '.join(dict.fromkeys(repeats))}")
    return list(first_of.values())


def committed_runs(results: Path) -> dict:
    """{(env, config, seed, total_timesteps): status in runs.csv} of the runs whose results are committed
    (results/runs.csv and their CSV): a fresh clone has no runs directory, and these need not run again."""
    path = results / "runs.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        (r["env"], r["config"], int(r["seed"]), int(r["total_timesteps"])): r.get("status") or FINISHED
        for r in rows
        if (results / "csv" / r["env"] / r["config"] / f"seed{r['seed']}.csv").exists()
    }


def status(run: Run, committed: dict) -> str:
    """The run's own status; or, for a run whose results are committed (only runs without extra flags:
    runs.csv does not record them), 'committed' if it has no directory, and 'stopped' if it was committed as
    stopped early and has no directory or one where it failed: its script stops it the same way every time."""
    own = run.status()
    key = run.env, run.config, run.seed, run.total_timesteps
    if run.extra or key not in committed:
        return own
    if committed[key] != FINISHED and own in ("new", "failed"):
        return "stopped"
    return "committed" if own == "new" else own


def print_plan(runs: list[Run], committed: dict, verbose: bool):
    actions = {"done": "skip (finished)", "failed": "retry (failed)", "interrupted": "redo (interrupted)"}
    actions.update(new="run (new)", committed="skip (committed)", stopped="skip (committed, stopped early)")
    counts = {}
    for run in runs:
        status_ = status(run, committed)
        counts[status_] = counts.get(status_, 0) + 1
        if verbose:
            print(f"{actions[status_]:20} {run.name}   {shlex.join(run.args)}")
    summary = ", ".join(f"{n} {actions[s]}" for s, n in counts.items())
    print(f"{len(runs)} runs in the plan" + (f": {summary}" if summary else ""), flush=True)


def provenance(argv: list[str]) -> dict:
    # dirty: the scripts that produce the numbers differ from the commit (work elsewhere doesn't count)
    commit, dirty = git_head("ppo_*.py")
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "runner_command": shlex.join([sys.executable, "-m", "benchmark.run", *argv]),
    }


def make_submit(args):
    """A function (fn, *args) → a job with .done() and .result(), for the chosen backend."""
    if args.backend == "local":
        return ThreadPoolExecutor(args.workers).submit
    import submitit

    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    cluster = "local" if args.backend == "submitit-local" else "slurm"
    executor = submitit.AutoExecutor(folder=args.out / ".submitit" / "%j", cluster=cluster)
    slurm = {"slurm_partition": args.slurm_partition, "slurm_mem": args.slurm_mem}
    executor.update_parameters(
        name="ppo-benchmark",
        timeout_min=args.slurm_time,
        cpus_per_task=1,
        **{key: value for key, value in slurm.items() if value is not None},
    )
    return executor.submit


def execute(runs: list[Run], args) -> list[tuple[Run, dict]]:
    """Run them, at most --workers at a time, with a progress bar; return the failures."""
    submit = make_submit(args)
    pending, active, failures = list(runs), {}, []
    bar = tqdm(total=len(runs), unit="run", bar_format="{l_bar}{bar}| {n}/{total} runs [{elapsed}<{remaining}]{postfix}")
    bar.set_postfix_str(f"failed 0, left {len(runs)}")
    try:
        while pending or active:
            while pending and len(active) < args.workers:
                run = pending.pop(0)
                # provenance at each launch: the scripts may change while a long runner goes on
                active[submit(run_one, run, provenance(args.argv))] = run
            finished = [job for job in active if job.done()]
            if not finished:
                time.sleep(POLL_S[args.backend])
            for job in finished:
                run = active.pop(job)
                try:
                    result = job.result()
                except Exception as e:  # the job itself died (Slurm timeout, node failure, ...)
                    result = {"status": "failed", "exit_code": None, "error": f"{type(e).__name__}: {e}".splitlines()[0]}
                    run.dir.mkdir(parents=True, exist_ok=True)
                    write_json(run.dir / FAILED, result)
                if result["status"] != "done":
                    failures.append((run, result))
                    bar.write(f"FAILED {run.name}: exit {result['exit_code']}: {result['error']}")
                bar.set_postfix_str(f"failed {len(failures)}, left {len(pending) + len(active)}", refresh=False)
                bar.update()
    except KeyboardInterrupt:
        stop_local_runs()
        if args.backend != "local":
            for job in active:
                job.cancel(check=False)
        bar.close()
        print(f"interrupted: {len(active)} runs stopped; run the same command again to resume", file=sys.stderr)
        sys.exit(130)
    bar.close()
    return failures


def parse_args(argv: list[str]):
    own, extra = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    p = argparse.ArgumentParser(
        prog="python -m benchmark.run",
        description=__doc__.split("\n\n")[0],
        epilog="Flags after `--` are passed to every script, e.g. `-- --num-steps 512`.",
    )
    p.add_argument("--suite", type=Path, default=SUITE, help="suite file (default: %(default)s)")
    p.add_argument("--phase", nargs="+", default=["main"], help="suite phase(s) to run (default: main)")
    p.add_argument("--envs", nargs="+", help="override the suite's env ids")
    p.add_argument("--configs", nargs="+", help=f"override the suite's configs (known: {', '.join(CONFIGS)})")
    p.add_argument("--seeds", nargs="+", type=int, help="override the suite's seeds")
    p.add_argument("--total-timesteps", type=int, help="override the suite's steps per run")
    p.add_argument("--out", type=Path, default=RUNS, help="output directory (default: %(default)s)")
    p.add_argument(
        "--results", type=Path, default=RESULTS, help="committed results: runs listed there are skipped (default: %(default)s)"
    )
    p.add_argument(
        "--backend",
        choices=["local", "submitit-local", "slurm"],
        default="local",
        help="local: scripts as subprocesses here (default); slurm: a Slurm job per run, through submitit;"
        " submitit-local: the Slurm code path, jobs run here by submitit's LocalExecutor",
    )
    p.add_argument("--workers", type=int, help="runs at a time (default: CPU cores; slurm: all)")
    p.add_argument("--slurm-partition", help="(default: the cluster's)")
    p.add_argument("--slurm-time", type=int, default=360, help="time limit per run in minutes, slurm and submitit-local (default: %(default)s)")
    p.add_argument("--slurm-mem", help="memory per run, e.g. 4G")
    p.add_argument("--dry-run", action="store_true", help="print the plan, launch nothing")
    args = p.parse_args(own)
    args.argv, args.extra, args.out = argv, extra, args.out.resolve()
    if args.workers is None:
        args.workers = 10**9 if args.backend == "slurm" else len(os.sched_getaffinity(0))
    # each bad value gets one line and exit status 2 before anything is written or submitit is imported
    if args.workers < 1:
        bad(f"--workers must be at least 1, got {args.workers}")
    if args.seeds is not None:
        check_seeds(args.seeds, "--seeds")
    if args.total_timesteps is not None:
        check_steps(args.total_timesteps, "--total-timesteps")
    if args.backend == "slurm" and shutil.which("sbatch") is None:
        bad("--backend slurm needs Slurm's sbatch on PATH, and there is none here"
            " (--backend submitit-local runs the same code path on this machine)")
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    runs = plan(args)
    committed = committed_runs(args.results)
    print_plan(runs, committed, verbose=args.dry_run)
    if args.dry_run:
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / ".runner.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            bad(f"another runner is using {args.out}")
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops runs like Ctrl-C
        try:
            failures = execute([run for run in runs if status(run, committed) not in ("done", "committed", "stopped")], args)
        finally:
            signal.signal(signal.SIGTERM, previous)
    finished = sum(status(run, committed) in ("done", "committed") for run in runs)
    stops = sum(status(run, committed) == "stopped" for run in runs)
    print(f"{finished}/{len(runs)} runs finished, " + (f"{stops} stopped early (committed), " if stops else "")
          + f"{len(failures)} failed")
    for run, result in failures:
        print(f"failed: {run.name} (exit {result['exit_code']}): {result['error']}  log: {run.dir / LOG}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
