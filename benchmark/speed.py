"""Env steps per second of the five scripts and of SB3 PPO configured identically, side by side.

    python -m benchmark.speed                          # 8 reps (one per contestant) × 8192 steps, Hopper-v4
    python -m benchmark.speed --reps 3 --timesteps 4096 --contestants ppo_clip sb3 ceiling
    python -m benchmark.speed --flags "ppo_kl=--kl-mode adaptive"    # extra flags for one contestant

Every contestant is a separate process launched as a user launches it (`python ppo_clip.py --env-id
Hopper-v4 --total-timesteps T --seed 1 --threads 1 --runs-dir TMP`, `python -m benchmark.sb3_ppo
...`), with OMP_NUM_THREADS=1, one at a time. Repetitions are interleaved, so that a slow spell of the
machine hits every contestant alike, and each rep rotates the order by one (A B C, B C A, C A B, …: a
cyclic Latin square), so that over a multiple of as many reps as contestants each one runs in each
slot of a rep equally often: the first slot of a rep has run faster on these machines. Each prints
`SPS=` lines; the last one counts: env steps over wall seconds from the first env reset to the end
of the last update (process start-up, imports and construction excluded; see benchmark/sb3_ppo.py
for exactly what each timer covers). Besides the learners:
- ceiling: random actions, N(0, 1) as the untrained policy's, drawn before the timer, through the
  scripts' training env (ppo_clip.py's own make_env, in the vector env its main builds), no policy:
  the most a script could reach;
- raw: the unwrapped MuJoCo env stepped directly, reset by hand at termination or the time limit:
  a reference for the simulator's own cost.
Peak RSS is each process's ru_maxrss from wait4.

Writes --out (default benchmark/results/speed.md: the tables, the targets, the machine, the command)
and prints the tables. Exit status: 0 when every contestant ran (targets may still FAIL), 1 when one
crashed (non-zero exit, no `SPS=` line, or over --timeout; named on stderr), 2 for bad arguments.
`--worker ceiling|raw` is the measurement process of those two contestants.
"""

import argparse
import importlib.util
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple, Optional

import gymnasium as gym
import numpy as np

from benchmark.common import REPO, RESULTS, fail, git_head, markdown_table, package_versions

OUT = RESULTS / "speed.md"
ROLLOUT = 2048  # env steps per update: the scripts' num_steps × num_envs, SB3's n_steps
GAMMA = 0.99
SPS_LINE = re.compile(r"\bSPS=(\d+(?:\.\d+)?)")
PACKAGES = ["torch", "gymnasium", "mujoco", "stable-baselines3", "numpy"]

# ppo_beta_shapes at its default (--beta-shape step) trains bitwise as ppo_clip: its speed is what a user of the
# knob pays for it.
SCRIPTS = ["ppo_clip", "ppo_per_sample_kl", "ppo_dual", "ppo_kl", "ppo_beta_shapes"]
LABELS = {
    **{name: f"`{name}.py`" for name in SCRIPTS},
    "sb3": "SB3 PPO, same configuration",
    "ceiling": "ceiling: scripts' env stack, random actions, no policy",
    "raw": "reference: the raw env, unwrapped",
}
CONTESTANTS = list(LABELS)
SHORT = {**{name: f"`{name}.py`" for name in SCRIPTS}, "sb3": "SB3", "ceiling": "ceiling", "raw": "raw"}
# (contestant, baseline, at least this × the baseline's median SPS)
RATIO_TARGETS = [*((name, "sb3", 2.0) for name in SCRIPTS)] + [
    ("ppo_per_sample_kl", "ppo_clip", 0.98),
    ("ppo_dual", "ppo_clip", 0.98),
    ("ppo_kl", "ppo_clip", 0.95),
    ("ppo_beta_shapes", "ppo_clip", 0.95),  # the gate, the band and their statistics, per minibatch
]
RSS_TARGET_MB = 600  # peak RSS of each script's process
MB = 1e6


def bad(msg: str):
    fail("benchmark.speed", msg)


# ---- the ceiling and raw workers (run in their own process: python -m benchmark.speed --worker ...)


def scripts_envs(env_id: str, gamma: float = GAMMA):
    """The scripts' training env: ppo_clip.py's own make_env and running statistics, in the vector
    env its main() builds (SyncVectorEnv, copy=False, SAME_STEP)."""
    spec = importlib.util.spec_from_file_location("ppo_clip", REPO / "ppo_clip.py")
    clip = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(clip)  # defines the script's functions; its main() does not run
    obs_dim, _ = clip.check_env(env_id)
    obs_rms, return_rms = clip.SingleSampleRunningMeanStd(shape=(obs_dim,)), clip.SingleSampleRunningMeanStd(shape=())
    return gym.vector.SyncVectorEnv(
        [clip.make_env(env_id, gamma, obs_rms, return_rms)],
        copy=False,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )


def random_actions(timesteps: int, shape: tuple, seed: int):
    """N(0, 1) actions, as the untrained policy's (mean ≈ 0, log-std 0)."""
    return np.random.default_rng(seed).standard_normal((timesteps, *shape), dtype=np.float32)


def print_sps(steps: int, start_time: float):
    print(f"global_step={steps}, SPS={int(steps / (time.time() - start_time))}", flush=True)


def ceiling_worker(env_id: str, timesteps: int, seed: int):
    envs = scripts_envs(env_id)
    actions = random_actions(timesteps, envs.action_space.shape, seed)
    start_time = time.time()  # as the scripts: from just before the first reset
    envs.reset(seed=seed)
    for action in actions:
        envs.step(action)
    print_sps(timesteps, start_time)
    envs.close()


def raw_worker(env_id: str, timesteps: int, seed: int):
    env = gym.make(env_id)
    max_steps = env.spec.max_episode_steps or sys.maxsize
    env = env.unwrapped  # no TimeLimit, OrderEnforcing or PassiveEnvChecker: the simulator alone
    space = env.action_space
    actions = np.clip(random_actions(timesteps, space.shape, seed), space.low, space.high)
    start_time = time.time()
    env.reset(seed=seed)
    episode_steps = 0
    for action in actions:
        terminated = env.step(action)[2]
        episode_steps += 1
        if terminated or episode_steps == max_steps:
            env.reset()
            episode_steps = 0
    print_sps(timesteps, start_time)
    env.close()


WORKERS = {"ceiling": ceiling_worker, "raw": raw_worker}


# ---- the measurement


class Measurement(NamedTuple):
    name: str
    rep: int
    returncode: int
    sps: Optional[float]  # the last SPS= line of stdout; None if there was none
    rss_kib: int  # ru_maxrss of the process (KiB on Linux)
    wall_s: float  # the whole process, start-up included
    timed_out: bool
    stderr_tail: str
    slot: int = 0  # its place in its rep's order (1: ran first)

    @property
    def crashed(self) -> bool:
        return self.returncode != 0 or self.sps is None or self.timed_out

    def why(self) -> str:
        if self.timed_out:
            return f"killed after {self.wall_s:.0f} s (--timeout)"
        if self.returncode != 0:
            return f"exit status {self.returncode}"
        return "exit status 0 but no SPS= line on stdout"


def command(name: str, args) -> list[str]:
    common = ["--env-id", args.env_id, "--seed", str(args.seed)]
    if name in SCRIPTS:
        cmd = [sys.executable, f"{name}.py", *common, "--total-timesteps", str(args.timesteps)]
        cmd += ["--threads", "1", "--runs-dir", str(args.runs_dir)]
    elif name == "sb3":
        cmd = [sys.executable, "-m", "benchmark.sb3_ppo", *common, "--total-timesteps", str(args.timesteps)]
    else:
        cmd = [sys.executable, "-m", "benchmark.speed", "--worker", name, *common, "--timesteps", str(args.timesteps)]
    return cmd + args.extra.get(name, [])


def rotated(contestants: list[str], rep: int) -> list[str]:
    """Rep `rep` (from 1) runs the contestants rotated left by rep − 1: a cyclic Latin square, every
    contestant in every slot once per len(contestants) reps."""
    shift = (rep - 1) % len(contestants)
    return contestants[shift:] + contestants[:shift]


def measure(name: str, rep: int, cmd: list[str], log_dir: Path, timeout: float) -> Measurement:
    """Run one contestant to its end, alone; its peak RSS from wait4's rusage."""
    out_path, err_path = log_dir / f"{name}.{rep}.out", log_dir / f"{name}.{rep}.err"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    killed = threading.Event()

    def kill():
        killed.set()
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # Ctrl-C: leave no contestant running
        proc.kill()
        proc.wait()
        raise
    finally:
        timer.cancel()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    sps_values = [float(m.group(1)) for line in out_path.read_text().splitlines() if (m := SPS_LINE.search(line))]
    tail = "\n".join(err_path.read_text().strip().splitlines()[-15:])
    sps = sps_values[-1] if sps_values else None
    return Measurement(name, rep, proc.returncode, sps, usage.ru_maxrss, wall, killed.is_set(), tail)


class Summary(NamedTuple):
    name: str
    sps: list[float]
    rss_mb: float  # the largest peak over the reps
    crash: Optional[Measurement]

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.sps) if self.sps and not self.crash else None


def summarize(measurements: list[Measurement], names: list[str]) -> dict[str, Summary]:
    summaries = {}
    for name in names:
        runs = [m for m in measurements if m.name == name]
        crash = next((m for m in runs if m.crashed), None)
        sps = [m.sps for m in runs if not m.crashed]
        rss = max((m.rss_kib * 1024 / MB for m in runs), default=0.0)
        summaries[name] = Summary(name, sps, rss, crash)
    return summaries


def targets(summaries: dict[str, Summary]) -> list[tuple[str, str, str]]:
    """(target, measured, PASS / FAIL / n/a) for each target."""
    rows = []

    def verdict(names, ok):
        if any(n not in summaries for n in names):
            return "n/a (not measured)"
        if any(summaries[n].crash for n in names):
            return "FAIL (crashed)"
        return "PASS" if ok() else "FAIL"

    for name, base, factor in RATIO_TARGETS:
        have = all(n in summaries and summaries[n].median for n in (name, base))
        ratio = summaries[name].median / summaries[base].median if have else None
        rows.append(
            (
                f"{SHORT[name]} ≥ {factor:.2f}× {SHORT[base]}",
                f"{ratio:.3f}×" if ratio else "—",
                verdict((name, base), lambda: ratio >= factor),
            )
        )
    for name in SCRIPTS:
        s = summaries.get(name)
        rows.append(
            (
                f"{SHORT[name]} peak RSS ≤ {RSS_TARGET_MB} MB",
                f"{s.rss_mb:.0f} MB" if s and s.rss_mb else "—",
                verdict((name,), lambda: s.rss_mb <= RSS_TARGET_MB),
            )
        )
    return rows


def results_table(summaries: dict[str, Summary]) -> str:
    def ratio(name, base):
        a, b = summaries[name].median, summaries.get(base) and summaries[base].median
        return f"{a / b:.2f}" if a and b else "—"

    rows = []
    for name, s in summaries.items():
        if s.crash:
            rows.append([LABELS[name], f"crashed: {s.crash.why()}", "—", "—", "—", f"{s.rss_mb:.0f}", "—"])
            continue
        minutes = 1e6 / s.median / 60
        rows.append(
            [
                LABELS[name],
                f"{s.median:.0f}",
                f"{min(s.sps):.0f}–{max(s.sps):.0f}",
                ratio(name, "sb3"),
                ratio(name, "ppo_clip"),
                f"{s.rss_mb:.0f}",
                f"{minutes:.1f} min",
            ]
        )
    header = ["contestant", "median SPS", "min–max SPS", "× SB3", "× ppo_clip.py", "peak RSS (MB)"]
    return markdown_table(header + ["1M steps (extrapolated: 1e6 / median SPS)"], rows) + "\n"


def targets_table(summaries: dict[str, Summary]) -> str:
    return markdown_table(["target", "measured", "result"], targets(summaries)) + "\n"


def raw_table(measurements: list[Measurement], names: list[str], reps: int) -> str:
    cell = {(m.name, m.rep): m for m in measurements}
    rows = []
    for rep in range(1, reps + 1):
        row = [str(rep)]
        for name in names:
            m = cell.get((name, rep))
            if m is None:
                row.append("not run")
            else:
                sps = "crashed" if m.crashed else f"{m.sps:.0f}"
                row.append(f"{sps} (slot {m.slot}, {m.rss_kib * 1024 / MB:.0f} MB, {m.wall_s:.1f} s)")
        rows.append(row)
    return markdown_table(["rep", *(SHORT[n] for n in names)], rows) + "\n"


def git_commit() -> str:
    commit, dirty = git_head()
    return (commit or "unknown") + (" (with uncommitted changes)" if dirty else "")


def machine() -> list[str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        cpu = platform.processor() or cpu
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = package_versions(PACKAGES)
    return [
        f"CPU: {cpu} (/proc/cpuinfo), {os.cpu_count()} logical CPUs, {usable} usable by this process",
        f"OS: {platform.platform()}",
        f"Python {versions['python']}, " + ", ".join(f"{p} {versions[p]}" for p in PACKAGES),
    ]


def balance(contestants: int, reps: int) -> str:
    if reps % contestants == 0:
        return f"over {reps} reps every contestant ran in every slot {reps // contestants} time(s)"
    return f"{reps} reps are not a multiple of {contestants} contestants: the slots are not balanced"


def write_report(path: Path, args, argv, measurements, summaries, info) -> str:
    names = list(summaries)
    tables = f"{results_table(summaries)}\n{targets_table(summaries)}"
    text = f"""# Speed: env steps per second on {args.env_id}

{tables}
SPS: env steps / wall seconds from the first env reset to the end of the last update (each
process's last `SPS=` line); median and range over {args.reps} rep(s) of {args.timesteps} steps
({args.timesteps // ROLLOUT} updates of {ROLLOUT} steps), seed {args.seed}, one process at a time,
reps interleaved, the order rotated from rep to rep. Ratios are of medians. Peak RSS: the largest `ru_maxrss` of the contestant's
processes (wait4), 1 MB = 10⁶ bytes. The 1M-step time is an extrapolation from these short runs,
not a measurement. SB3: `benchmark/sb3_ppo.py`; what each timer covers is written there.

## Every run

SPS (slot in its rep, peak RSS, process wall time including start-up). Rep r runs
{", ".join(SHORT[n] for n in names)} rotated left by r − 1 (slot 1 runs first);
{balance(len(names), args.reps)}.

{raw_table(measurements, names, args.reps)}
## Machine and command

- {info["machine"][0]}
- {info["machine"][1]}
- {info["machine"][2]}
- load average (1, 5, 15 min): {info["load_start"]} at the start, {info["load_end"]} at the end
- date: {info["start"]} to {info["end"]} (UTC)
- git commit: {info["commit"]}
- command: `{shlex.join(["python", "-m", "benchmark.speed", *argv])}`
- every contestant with OMP_NUM_THREADS=1; the scripts with `--threads 1 --runs-dir <temporary directory>`
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return tables


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmark.speed", description=__doc__.split("\n\n")[0])
    p.add_argument("--env-id", default="Hopper-v4")
    p.add_argument("--timesteps", type=int, default=4 * ROLLOUT,
                   help=f"env steps per run, a multiple of {ROLLOUT} (default: %(default)s)")
    p.add_argument("--reps", type=int,
                   help="repetitions of each contestant, interleaved; rep r runs the contestants rotated by r − 1, so"
                   " make it a multiple of the number of contestants for every one to run in every slot equally often"
                   " (default: that number)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--contestants", nargs="+", choices=CONTESTANTS, default=CONTESTANTS, metavar="NAME",
                   help=f"a subset, in this order in the first rep (default: all: {' '.join(CONTESTANTS)})")
    p.add_argument("--flags", action="append", default=[], metavar="NAME=FLAGS",
                   help="extra flags for one contestant, e.g. 'ppo_kl=--kl-mode adaptive' (repeatable)")
    p.add_argument("--out", type=Path, default=OUT, help="the markdown report (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds one run may take (default: %(default)s)")
    p.add_argument("--worker", choices=list(WORKERS), help="internal: be the measurement process of this contestant")
    args = p.parse_args(argv)
    if args.timesteps <= 0 or args.timesteps % ROLLOUT:
        bad(f"--timesteps must be a positive multiple of {ROLLOUT} (one update), got {args.timesteps}")
    if len(set(args.contestants)) != len(args.contestants):
        bad("--contestants names one contestant twice")
    if args.reps is None:
        args.reps = len(args.contestants)
    if args.reps < 1:
        bad(f"--reps must be at least 1, got {args.reps}")
    args.extra = {}
    for item in args.flags:
        name, sep, flags = item.partition("=")
        if not sep or name not in CONTESTANTS:
            bad(f"--flags wants NAME=FLAGS with NAME one of {', '.join(CONTESTANTS)}, got {item!r}")
        args.extra[name] = args.extra.get(name, []) + shlex.split(flags)
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.worker:
        WORKERS[args.worker](args.env_id, args.timesteps, args.seed)
        return 0
    if args.timesteps < 3 * ROLLOUT:
        print(f"benchmark.speed: warning: {args.timesteps // ROLLOUT} update(s) a run; 3 or more give steadier numbers",
              file=sys.stderr)
    if args.reps % len(args.contestants):
        print(f"benchmark.speed: warning: {balance(len(args.contestants), args.reps)}", file=sys.stderr)

    info = {"start": datetime.now(timezone.utc).isoformat(timespec="seconds"), "load_start": os.getloadavg()}
    measurements, crashed = [], {}
    with tempfile.TemporaryDirectory(prefix="benchmark-speed-") as tmp:
        args.runs_dir = Path(tmp) / "runs"
        for rep in range(1, args.reps + 1):
            slot = 0
            for name in rotated(args.contestants, rep):
                if name in crashed:  # once is enough
                    continue
                slot += 1
                cmd = command(name, args)
                m = measure(name, rep, cmd, Path(tmp), args.timeout)._replace(slot=slot)
                measurements.append(m)
                if m.crashed:
                    crashed[name] = m
                    print(f"[{rep}/{args.reps}] {name} CRASHED: {m.why()}\n  {shlex.join(cmd)}\n{m.stderr_tail}",
                          file=sys.stderr)
                else:
                    print(f"[{rep}/{args.reps}] {name}: SPS={m.sps:.0f}, peak RSS {m.rss_kib * 1024 / MB:.0f} MB, "
                          f"{m.wall_s:.1f} s", file=sys.stderr, flush=True)
    info.update(end=datetime.now(timezone.utc).isoformat(timespec="seconds"), load_end=os.getloadavg())
    info.update(machine=machine(), commit=git_commit())
    info["load_start"], info["load_end"] = (", ".join(f"{x:.2f}" for x in info[k]) for k in ("load_start", "load_end"))

    summaries = summarize(measurements, args.contestants)
    print(write_report(args.out, args, argv, measurements, summaries, info))
    print(f"written to {args.out}")
    if crashed:
        for name, m in crashed.items():
            print(f"benchmark.speed: {name} crashed: {m.why()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
