"""The report's numbers, from the per-run CSVs: each run's score, the score table (mean, std, IQM with its
bootstrap CI), the aggregates normalized by PPO-Clip, the identity of the three forms of the clip gradient,
and the script versions each config's runs ran.

A run's score is the mean return of the episodes that ended in its last 10% of steps; a run that stopped
early has none (a partial run's last 10% is not the others'). An aggregate covers the envs whose planned runs
are all in, and leaves out a config with a run that stopped early there (its surviving seeds would be a biased
sample).
"""

from collections import defaultdict
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np
from rliable import library as rly
from rliable import metrics

from benchmark.common import FINISHED, git, read_csv, stopped
from benchmark.configs import CONFIGS, run_key
from benchmark.report.extract import RETURN

LAST_FRACTION = 0.1  # a run's score: mean return of the episodes that ended in its last 10% of steps
IDENTICAL = ["ppo_clip", "ppo_per_sample_kl", "ppo_dual"]  # one gradient, three surrogates
SCORE_COLUMNS = ["env", "config", "n", "stopped", "mean", "std", "iqm", "iqm_lo", "iqm_hi"]


def load_runs(results: Path) -> dict:
    """{(env, config, seed): {column: (steps, values), "last_step": ..., "status": ...}} from the CSVs, with each
    run's status from runs.csv ("finished" where runs.csv has none)."""
    statuses = {(r["env"], r["config"], r["seed"]): r.get("status") for r in read_csv(results / "runs.csv")}
    runs = {}
    for path in (results / "csv").glob("*/*/seed*.csv"):
        rows = read_csv(path)
        series = {}
        for col in rows[0].keys() - {"step"} if rows else ():
            kept = np.array([(float(r["step"]), float(r[col])) for r in rows if r[col] != ""]).reshape(-1, 2)
            series[col] = (kept[:, 0], kept[:, 1])
        series["last_step"] = max((float(r["step"]) for r in rows), default=0.0)
        key = path.parts[-3], path.parts[-2], path.stem.removeprefix("seed")
        series["status"] = statuses.get(key) or FINISHED
        runs[key] = series
    return dict(sorted(runs.items(), key=lambda item: run_key(item[0])))


def score(series: dict) -> float:
    """Mean raw return of the episodes that ended in the last 10% of the run's steps (nan if none, or if the
    run stopped early)."""
    if stopped(series):
        return float("nan")
    steps, returns = series.get(RETURN, (np.zeros(0), np.zeros(0)))
    last = returns[steps > (1 - LAST_FRACTION) * series["last_step"]]
    return float(last.mean()) if last.size else float("nan")


def iqm_with_ci(score_dict: dict, reps: int, funcs=(metrics.aggregate_iqm,)) -> tuple[dict, dict]:
    """rliable point estimates and 95% stratified-bootstrap CIs of each func. Each key gets its own
    seeded bootstrap: the same numbers every time, whatever other keys there are."""
    point, interval, state = {}, {}, np.random.get_state()
    for key, scores in score_dict.items():
        np.random.seed(0)  # rliable 1.2 resamples with the global NumPy generator (not its random_state)
        p, i = rly.get_interval_estimates({key: scores}, lambda x: np.array([f(x) for f in funcs]), reps=reps)
        point[key], interval[key] = p[key], i[key]
    np.random.set_state(state)
    return point, interval


def score_table(runs: dict, reps: int) -> list[dict]:
    """Per env × config with a scored or a stopped run: n scored seeds, how many runs stopped early, mean ± std
    (sample std) over the scored seeds, IQM and its 95% CI (nan without a scored seed)."""
    by_cell, stops = {}, defaultdict(int)
    for (env, config, seed), series in runs.items():
        if not np.isnan(s := score(series)):
            by_cell.setdefault((env, config), []).append(s)
        elif stopped(series):
            by_cell.setdefault((env, config), [])
            stops[env, config] += 1
    rows, nan = [], float("nan")
    for env in dict.fromkeys(env for env, _ in by_cell):
        cells = {config: np.array(s) for (e, config), s in by_cell.items() if e == env}
        point, interval = iqm_with_ci({c: s.reshape(-1, 1) for c, s in cells.items() if len(s)}, reps)
        for config, s in cells.items():
            iqm = (point[config][0], interval[config][0, 0], interval[config][1, 0]) if len(s) else (nan, nan, nan)
            rows.append(
                {
                    **{"env": env, "config": config, "n": len(s), "stopped": stops[env, config]},
                    "mean": s.mean() if len(s) else nan,
                    "std": s.std(ddof=1) if len(s) > 1 else nan,
                    **dict(zip(["iqm", "iqm_lo", "iqm_hi"], iqm)),
                }
            )
    return rows


class Aggregate(NamedTuple):
    """Scores normalized per env by that env's PPO-Clip mean: the envs covered, {config: seeds × envs matrix},
    and per config rliable's point estimates and 95% CIs of [IQM, mean]."""

    envs: list[str]
    matrices: dict
    point: dict
    interval: dict


def aggregate(runs: dict, table: list[dict], reps: int, configs=None, envs=None) -> Aggregate:
    """Of `configs` (default: all in the table), over `envs` (default: those on which every config has runs)
    where PPO-Clip has a score, the seeds a config has on all of them."""
    clip = {row["env"]: row["mean"] for row in table if row["config"] == "ppo_clip" and np.isfinite(row["mean"])}
    clip = {env: mean for env, mean in clip.items() if mean != 0}
    cells = {(row["env"], row["config"]) for row in table}
    present = dict.fromkeys(row["config"] for row in table)
    configs = list(present) if configs is None else [c for c in configs if c in present]
    if envs is None:
        envs = [env for env in clip if all((env, c) in cells for c in configs)]
    envs = [env for env in envs if env in clip]
    if not envs:
        return Aggregate(envs, {}, {}, {})
    matrices = {}
    for config in configs:
        scored = {(e, c, s) for (e, c, s), series in runs.items() if c == config and not np.isnan(score(series))}
        common = sorted({s for e, _, s in scored if all((env, config, s) in scored for env in envs)}, key=int)
        if common:
            matrices[config] = np.array([[score(runs[env, config, s]) / clip[env] for env in envs] for s in common])
    point, interval = iqm_with_ci(matrices, reps, funcs=(metrics.aggregate_iqm, metrics.aggregate_mean))
    return Aggregate(envs, matrices, point, interval)


def first_divergence(a: tuple, b: tuple):
    """None if the two (steps, returns) series are equal, else the first step at which they differ."""
    n = min(len(a[0]), len(b[0]))
    differ = np.flatnonzero((a[0][:n] != b[0][:n]) | (a[1][:n] != b[1][:n]))
    if differ.size:
        return int(min(a[0][differ[0]], b[0][differ[0]]))
    if len(a[0]) != len(b[0]):
        return int((a if len(a[0]) > n else b)[0][n])
    return None


def run_cpus(manifest: list[dict]) -> dict:
    """{(env, config, seed): its CPU kind} from runs.csv's rows; empty or missing where the run did not record it."""
    return {(r["env"], r["config"], r["seed"]): r.get("cpu") for r in manifest}


def identity_table(runs: dict, cpus: Optional[dict] = None) -> list[dict]:
    """Per env and seed with a ppo_clip run: each other form of the clip gradient vs ppo_clip, the CPU kind of each
    run compared (`cpus`: {(env, config, seed): kind}; "unknown" where not recorded), and the forms whose run ran
    on another CPU kind than ppo_clip's (both known): same seed, same code gives the same floats on one kind only."""
    cpus = cpus or {}
    rows = []
    for env, config, seed in runs:
        if config != "ppo_clip":
            continue
        ref = runs[env, config, seed][RETURN]
        row = {"env": env, "seed": seed, "episodes": len(ref[0])}
        for other in IDENTICAL[1:]:
            if (env, other, seed) not in runs:
                row[other] = "missing"
            else:
                step = first_divergence(ref, runs[env, other, seed][RETURN])
                row[other] = "identical" if step is None else f"diverges at step {step}"
        kinds = {c: cpus.get((env, c, seed)) or "unknown" for c in IDENTICAL if (env, c, seed) in runs}
        row.update({f"cpu_{c}": kinds.get(c, "") for c in IDENTICAL})
        clip = kinds[IDENTICAL[0]]
        differ = [c for c in IDENTICAL[1:] if clip != "unknown" and kinds.get(c, "unknown") not in ("unknown", clip)]
        row["cpu_differs"] = " ".join(differ)
        rows.append(row)
    return rows


IDENTITY_COLUMNS = ["env", "seed", "episodes", *IDENTICAL[1:], *(f"cpu_{c}" for c in IDENTICAL), "cpu_differs"]


def script_versions(manifest: list[dict]) -> dict[str, dict[str, list]]:
    """Config → the git blob id of its script at a run's commit ("?" where git cannot tell) → those runs'
    (env, config, seed). One blob: every run of the config ran the same code, even when the commits differ."""
    versions = defaultdict(lambda: defaultdict(list))
    for row in manifest:
        blob = None
        if row["config"] in CONFIGS:
            blob = git("rev-parse", "--short=10", f"{row['git_commit']}:{CONFIGS[row['config']].script}")
        versions[row["config"]][blob or "?"].append((row["env"], row["config"], row["seed"]))
    return {config: dict(sorted(blobs.items(), key=lambda item: (item[0] == "?", item[0]))) for config, blobs in versions.items()}
