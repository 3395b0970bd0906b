"""Benchmark report, in two steps, so that everything can be made again from the committed CSVs:

    python -m benchmark.report              # both steps (extract only where the runs dir exists), every phase
    python -m benchmark.report extract      # runs' TensorBoard files → results/csv/, runs.csv
    python -m benchmark.report summarize    # results/csv/ → results/README.md, scores.csv, identity.csv, *.png

One CSV per run, `csv/{env}/{config}/seed{N}.csv`: a row per finished episode (step, episodic_return)
and a row per update (step and that update's diagnostics: kill_frac, inband_frac, passthrough_frac, and
reversed_frac / amplified_frac / gate_mean / approx_kl / entropy / beta_mean / kl_coef where the script logs them). Values are float32
as logged, written exactly; a column only where its tag was logged, so older runs keep their CSVs. (gate_mean
joined the columns with the zoo: the β slice's runs logged it too, but their committed CSVs were extracted
before and lack it; approx_kl and entropy joined during the zoo, whose CSVs were all extracted again to have them.)

A run that stopped early with the script's own one-line error (`SCRIPT.py: error: ...`, e.g. a non-finite loss)
is extracted too: its CSV up to where it stopped, and its error line as its `status` in runs.csv (a finished
run's status is "finished"). Such a run counts as present, has no score (a partial run's last 10% is not the
others'), and the runner does not run it again. Any other failure (a crash, a kill) is left for the runner to
retry.

The planned runs are the suite's phases (all of them unless --phase names some). The main grid's aggregate, and
each slice's, covers the envs whose planned runs are all in, and names the others with their counts; it leaves
out a config with a run that stopped early on those envs (its surviving seeds would be a biased sample).
"""

import argparse
import csv
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np
from rliable import library as rly
from rliable import metrics
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from benchmark import plots
from benchmark.common import FINISHED, REPO, RESULTS, RUNS, SUITE, fail, git, markdown_table, stopped
from benchmark.configs import BETA_SLICE, CONFIGS, ZOO, label
from benchmark.job import DONE, FAILED, META, PACKAGES, TB, read_json
from benchmark.run import load_phase, suite_phases

RETURN = "episodic_return"
TAGS = {  # CSV column → TensorBoard tag
    RETURN: "charts/episodic_return",
    "kill_frac": "killset/kill_frac",
    "inband_frac": "killset/inband_frac",
    "passthrough_frac": "killset/passthrough_frac",
    # ppo_beta_shapes.py's gates G: fractions of samples with G > 1 (gradient reversed), G < 0 (amplified)
    "reversed_frac": "killset/reversed_frac",
    "amplified_frac": "killset/amplified_frac",
    "gate_mean": "losses/gate_mean",  # mean G: for a gate that is 0 or 1, the fraction of samples zeroed
    "approx_kl": "losses/approx_kl",  # mean over the update's minibatches of mean((w − 1) − log w), before each step
    "entropy": "losses/entropy",  # the policy's mean entropy over the update's minibatches (a collapsing σ shows here)
    "beta_mean": "losses/beta_mean",
    "kl_coef": "losses/kl_coef",
}
MANIFEST = ["env", "config", "seed", "total_timesteps", "wall_time_s", "status", "git_commit", "git_dirty", "host"]
MANIFEST += ["python", *PACKAGES]
LAST_FRACTION = 0.1  # a run's score: mean return of the episodes that ended in its last 10% of steps
IDENTICAL = ["ppo_clip", "ppo_per_sample_kl", "ppo_dual"]  # one gradient, three surrogates
# CleanRL ppo_continuous_action.py at 1M steps, 3 seeds, mean ± std of the episodic return
# (openrlbenchmark, tag pr-424). No Ant-v4 figure is published there.
REFERENCE_SOURCE = "https://docs.cleanrl.dev/rl-algorithms/ppo/#ppo_continuous_actionpy"
REFERENCE = {
    "HalfCheetah-v4": (1442.64, 46.03),
    "Walker2d-v4": (2287.95, 571.78),
    "Hopper-v4": (2382.86, 271.74),
    "Humanoid-v4": (716.11, 49.08),
}


# ---- step 1: runs → CSVs ----


def fmt(value: float) -> str:
    return str(np.float32(value))  # the shortest text that reads back as the same float32


def stopped_early(run_dir: Path, marker: dict) -> bool:
    """Did the failed run stop with its script's own one-line error (deterministic: running it again stops
    the same way), rather than crash or get killed?"""
    meta = run_dir / META  # a job that died before its run started wrote none
    return meta.exists() and marker.get("error", "").startswith(f"{read_json(meta)['args'][0]}: error: ")


def extract(runs_dir: Path, results: Path) -> tuple[int, int]:
    """Write the CSV and the runs.csv row of every finished run under runs_dir, and of every run that stopped
    early with its script's own error; return the two counts. Other failed runs are named and left alone."""
    manifest = {(r["env"], r["config"], r["seed"]): r for r in read_csv(results / "runs.csv")}
    for row in manifest.values():
        row.setdefault("status", FINISHED)  # runs.csv from before the column: finished runs only
    counts = {DONE: 0, FAILED: 0}
    for marker_path in sorted([*runs_dir.glob(f"*/*/seed*/{DONE}"), *runs_dir.glob(f"*/*/seed*/{FAILED}")]):
        run_dir, marker = marker_path.parent, read_json(marker_path)
        env, config, seed = run_dir.parts[-3], run_dir.parts[-2], run_dir.name.removeprefix("seed")
        if marker_path.name == FAILED and not stopped_early(run_dir, marker):
            print(f"not extracted: {env}/{config}/seed{seed} failed ({marker.get('error')}); the runner retries it")
            continue
        # rows: (step, 0 episode | 1 update, index) → row: an episode ends in the rollout, before its update
        rows, present = {}, []
        tb_dirs = list((run_dir / TB).glob("*"))  # a finished run wrote exactly one, a stopped one at most one
        if len(tb_dirs) > 1:
            fail("benchmark.report", f"{run_dir / TB} holds {len(tb_dirs)} TensorBoard runs; the runner writes one")
        for tb_dir in tb_dirs:
            acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
            acc.Reload()
            present = [col for col, tag in TAGS.items() if tag in acc.Tags()["scalars"]]
            for index, event in enumerate(acc.Scalars(TAGS[RETURN]) if RETURN in present else []):
                rows[event.step, 0, index] = {"step": event.step, RETURN: fmt(event.value)}
            for col in (col for col in present if col != RETURN):
                for event in acc.Scalars(TAGS[col]):
                    rows.setdefault((event.step, 1, 0), {"step": event.step})[col] = fmt(event.value)
        path = results / "csv" / env / config / f"seed{seed}.csv"
        write_csv(path, ["step", *present], [rows[key] for key in sorted(rows)])
        meta = read_json(run_dir / META)
        args = meta["args"]
        manifest[env, config, seed] = {
            **{"env": env, "config": config, "seed": seed, "wall_time_s": marker["wall_time_s"]},
            **{"total_timesteps": args[args.index("--total-timesteps") + 1], "host": meta["host"]},
            "status": FINISHED if marker_path.name == DONE else marker["error"],
            **{"git_commit": meta["git_commit"], "git_dirty": meta["git_dirty"], **meta["versions"]},
        }
        counts[marker_path.name] += 1
    if manifest:
        write_csv(results / "runs.csv", MANIFEST, [manifest[k] for k in sorted(manifest, key=run_key)])
    return counts[DONE], counts[FAILED]


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, columns: list[str], rows: list[dict]):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)


# ---- step 2, computing: CSVs → scores, aggregates, identity ----


def config_key(config: str):
    """CONFIGS order, then any other config by name."""
    order = list(CONFIGS)
    return order.index(config) if config in order else len(order), config


def run_key(key):
    env, config, seed = key
    return env, *config_key(config), int(seed)


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


SCORE_COLUMNS = ["env", "config", "n", "stopped", "mean", "std", "iqm", "iqm_lo", "iqm_hi"]


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


def identity_table(runs: dict) -> list[dict]:
    """Per env and seed with a ppo_clip run: each other form of the clip gradient vs ppo_clip."""
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
        rows.append(row)
    return rows


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


@dataclass
class Section:
    """Configs compared on the same envs: their score rows, their runs (for the figures), their aggregate."""

    configs: list[str]  # with runs, in CONFIGS order (PPO-Clip first)
    envs: list[str]  # the envs on which the section's own configs have runs
    rows: list[dict]  # their score table rows
    runs: dict
    agg: Aggregate
    waiting: dict[str, str]  # env with runs or planned runs but not in the aggregate → why not
    left_out: dict[str, str]  # config with runs that stopped early on the aggregate's envs → how many


def section(runs: dict, table: list[dict], reps: int, planned: set, own: list[str], beside=()) -> Section:
    """The configs of the group `own` (and `beside` them, on their envs) that have runs. The aggregate covers
    the envs whose planned runs of the group and of `beside` are all in: it never mixes in an env whose seeds
    or configs are still coming in. It leaves out a config with runs there that stopped early: scoring only
    the seeds that survived would flatter it."""
    scored = dict.fromkeys(row["config"] for row in table)
    configs = sorted((c for c in scored if c in own or c in beside), key=config_key)
    envs = list(dict.fromkeys(row["env"] for row in table if row["config"] in own))
    rows = [row for row in table if row["env"] in envs and row["config"] in configs]
    section_runs = {key: series for key, series in runs.items() if key[0] in envs and key[1] in configs}
    complete, waiting = [], {}
    coming = sorted({key[0] for key in planned if key[1] in own} - set(envs))  # planned, no runs yet
    for env in envs + coming:
        planned_here = {key for key in planned if key[0] == env and (key[1] in own or key[1] in beside)}
        if not planned_here:
            waiting[env] = "its runs are outside the plan"
        elif planned_here <= runs.keys():
            complete.append(env)
        else:
            waiting[env] = f"{len(planned_here & runs.keys())} of its {len(planned_here)} planned runs are in"
    left_out = {}
    for config in configs:
        there = [series for (e, c, _), series in runs.items() if c == config and e in complete]
        if n := sum(map(stopped, there)):
            left_out[config] = f"{n} of its {len(there)} runs there stopped early"
    agg = aggregate(runs, rows, reps, [c for c in configs if c not in left_out], complete)
    return Section(configs, envs, rows, section_runs, agg, waiting, left_out)


@dataclass
class Summary:
    """What the report says, computed from the CSVs and runs.csv; `write` renders it."""

    runs: dict  # {(env, config, seed): series}, as load_runs gives them
    table: list[dict]  # the score table: every env × config with a scored run
    main: Section  # the main grid
    beta: Optional[Section]  # the β_t slice; None when it has neither runs nor planned runs
    zoo: Optional[Section]  # the zoo of published variants; likewise
    identity: list[dict]
    plan: dict[str, set]  # suite phase → its planned {(env, config, seed)}
    suite: str  # the suite file's name
    manifest: list[dict]  # runs.csv
    versions: dict[str, dict[str, list]]  # config → script blob → its runs' (env, config, seed)
    reps: int

    @property
    def planned(self) -> set:
        return set().union(*self.plan.values())

    @property
    def present(self) -> set:
        return self.planned & self.runs.keys()

    @property
    def stopped(self) -> list:
        """The runs that stopped early, in the runs' order."""
        return [key for key, series in self.runs.items() if stopped(series)]


def in_main_grid(config: str) -> bool:
    """The β_t slice and the zoo have their own sections; every other config is the main grid's."""
    return config not in BETA_SLICE and config not in ZOO


def compute(runs: dict, manifest: list[dict], plan: dict[str, set], suite: str, reps: int) -> Summary:
    table = score_table(runs, reps)
    planned = set().union(*plan.values())
    main_configs = [c for c in dict.fromkeys([*CONFIGS, *(config for _, config, _ in runs)]) if in_main_grid(c)]
    known = {config for _, config, _ in planned | runs.keys()}  # planned, or with runs

    def beside_clip(group):
        return section(runs, table, reps, planned, list(group), beside=["ppo_clip"]) if known & set(group) else None

    return Summary(
        runs=runs,
        table=table,
        main=section(runs, table, reps, planned, main_configs),
        beta=beside_clip(BETA_SLICE),
        zoo=beside_clip(ZOO),
        identity=identity_table(runs),
        plan=plan,
        suite=suite,
        manifest=manifest,
        versions=script_versions(manifest),
        reps=reps,
    )


# ---- step 2, rendering: the summary → CSVs, figures and README.md ----


def pm(mean: float, std: float) -> str:
    return f"{mean:.1f} ± {std:.1f}" if not np.isnan(std) else f"{mean:.1f}"


def with_ci(value: float, lo: float, hi: float, digits: int = 1) -> str:
    return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def score_markdown(rows: list[dict]) -> str:
    """Score table rows (as in scores.csv) as markdown; a column of the runs that stopped early where there are
    some, and "—" for the scores of a cell without a scored run."""
    stops = any(int(r.get("stopped") or 0) for r in rows)

    def cells(r):
        if not int(r["n"]):
            return ["—", "—"]
        return [pm(float(r["mean"]), float(r["std"])), with_ci(float(r["iqm"]), float(r["iqm_lo"]), float(r["iqm_hi"]))]

    return markdown_table(
        ["env", "config", "n", *["stopped early"] * stops, "mean ± std", "IQM [95% CI]"],
        [[r["env"], label(r["config"]), r["n"], *[r.get("stopped") or 0] * stops, *cells(r)] for r in rows],
    )


def aggregate_markdown(agg: Aggregate) -> str:
    """Normalized IQM and mean with their CIs per config, as markdown."""
    return markdown_table(
        ["config", "n seeds", "IQM [95% CI]", "mean [95% CI]"],
        [
            [label(c), len(m), *(with_ci(agg.point[c][i], *agg.interval[c][:, i], digits=3) for i in (0, 1))]
            for c, m in agg.matrices.items()
        ],
    )


def aggregate_lines(sec: Section, whose: str) -> list[str]:
    """The aggregate's table, and which envs it covers: those whose planned runs are all in."""
    text = [
        "Scores divided by the PPO-Clip mean score on the same env (so PPO-Clip's mean is 1), over the envs whose"
        f" planned runs of {whose} are all in, with the seeds a config has on all of them:"
        f" {', '.join(sec.agg.envs) or 'none yet'}. IQM and mean with 95% stratified-bootstrap CIs (rliable).",
    ]
    if sec.waiting:
        text.append("**Not in the aggregate yet: " + ", ".join(f"{env} ({why})" for env, why in sec.waiting.items()) + ".**")
    if sec.left_out:
        text.append(
            "**Left out of the aggregate, for runs that stopped early (their surviving seeds alone would flatter"
            " them): " + ", ".join(f"{label(c)} ({why})" for c, why in sec.left_out.items()) + ".**"
        )
    return text + [""] + ([aggregate_markdown(sec.agg), ""] if sec.agg.matrices else [])


GATE_FRACTIONS = {
    "kill_frac": "kill set",
    "reversed_frac": "reversed (G > 1)",
    "amplified_frac": "amplified (G < 0)",
    "gate_mean": "mean G",
}


def fractions_markdown(sec: Section) -> str:
    """Per env × config: each gate fraction's (and mean G's) mean over a run's updates, averaged over seeds
    (min–max over seeds), in percent; the approximate KL's median over a run's updates, median over seeds
    (min–max); "—" where the config's CSVs lack the column."""
    cells = defaultdict(list)  # (env, config) → each seed's {column: mean over updates}
    kls = defaultdict(list)  # (env, config) → each seed's median approx KL over updates
    for (env, config, _), series in sec.runs.items():
        cells[env, config].append({col: series[col][1].mean() for col in GATE_FRACTIONS if col in series})
        if "approx_kl" in series:
            kls[env, config].append(np.median(series["approx_kl"][1]))

    def cell(seeds: list[dict], col: str) -> str:
        values = [seed[col] for seed in seeds if col in seed]
        if not values:
            return "—"
        if not np.isfinite(values).all():
            return f"not finite ({sum(not np.isfinite(v) for v in values)} of {len(values)} seeds)"
        return f"{100 * np.mean(values):.2f} ({100 * min(values):.2f}–{100 * max(values):.2f})"

    def kl(values: list) -> str:
        return f"{np.median(values):.3g} ({min(values):.3g}–{max(values):.3g})" if values else "—"

    rows = [[env, label(config), len(cells[env, config]), *(cell(cells[env, config], col) for col in GATE_FRACTIONS),
             kl(kls[env, config])] for env in sec.envs for config in sec.configs if (env, config) in cells]
    header = ["env", "config", "n", *(f"{name} %" for name in GATE_FRACTIONS.values()), "approx KL, median"]
    return markdown_table(header, rows)


def zoo_section(zoo: Section, planned: set) -> list[str]:
    """The results README's section on the zoo: published clip variants as gates of β_t."""
    own = [c for c in ZOO if c in zoo.configs]
    text = [
        "## The zoo: published clip variants as gates of β_t",
        "",
        "`ppo_beta_shapes.py --beta-shape NAME` at each variant's published defaults (the script's). With"
        " β_t = −w·Â·G_t a sample's gradient is −Â·(1 − G_t)·∇w: G = 0 leaves it unclipped, G = 1 zeroes it (the clip"
        " does so on the kill set), G > 1 reverses it, G < 0 amplifies it.",
        "",
    ]
    if not own:
        count = sum(key[1] in ZOO for key in planned)
        return text + [f"No runs yet ({count} planned: `python -m benchmark.run --phase zoo`).", ""]
    return text + [
        "Configs (" + ", ".join(f"`{c}`: {label(c)}" for c in own) + ") on " + ", ".join(zoo.envs)
        + ", beside the main grid's PPO-Clip runs on those envs. Scores as above.",
        "",
        score_markdown(zoo.rows),
        "",
        *aggregate_lines(zoo, "these configs"),
        "Fractions of each minibatch's samples on the kill set (Â > 0 and w > 1+ε, or Â < 0 and w < 1−ε, the"
        " clip's), with G > 1 (gradient reversed) and with G < 0 (gradient amplified): each run's mean over its"
        " updates, averaged over seeds (min–max over seeds), in percent; and mean G, likewise, in percent. Where G is"
        " 0 or 1 (dual-clip, TR-PPO), mean G is the fraction of samples whose gradient is zeroed, which need not be"
        " the kill set. CISPO's and GPPO's G = 1 − clip(w)/w is unbounded below as w → 0 (β_t = −w·Â·G stays"
        " bounded), so their mean G is not finite once one sample's w comes near 0 (float32). PPO-Clip logs no"
        " reversed or amplified fraction and no mean G: its G is 1 exactly on the kill set, so its mean G is its"
        " kill-set fraction. Approx KL: the scripts' `losses/approx_kl`, the mean over an update's minibatches of"
        " mean((w − 1) − log w), an estimate of KL(π_old‖π_θ) taken before each minibatch's step, so it measures how"
        " far the update's inner loop takes the policy; its median over a run's updates, then the median over seeds"
        " (min–max). PPO-Clip's runs logged it too, but their committed CSVs predate the column.",
        "",
        fractions_markdown(zoo),
        "",
    ]


def beta_section(beta: Section) -> list[str]:
    """The results README's section on the β_t slice."""
    text = ["## The β_t knob beside PPO-Clip", ""]
    if not beta.envs:
        return text + ["No runs yet (`python -m benchmark.run --phase beta`).", ""]
    return text + [
        "`ppo_beta_shapes.py` configs (" + ", ".join(f"`{c}`: {label(c)}" for c in beta.configs if c in BETA_SLICE)
        + ") on " + ", ".join(beta.envs) + ", beside the main grid's PPO-Clip runs on those envs. Scores as above.",
        "",
        score_markdown(beta.rows),
        "",
        *aggregate_lines(beta, "these configs"),
    ]


REPLAY_GUARD = "tests/test_replay.py"  # replays the first updates of committed runs with the checkout's scripts


def versions_text(config: str, blobs: dict[str, list]) -> str:
    """A config's script and its blob(s); with several, each blob's runs by env."""
    text = f"{label(config)} `{CONFIGS[config].script if config in CONFIGS else '?'}` "
    if len(blobs) == 1:
        return text + next(iter(blobs))
    return text + " + ".join(
        f"{blob} ({len(keys)} run{'s' * (len(keys) > 1)}: {', '.join(dict.fromkeys(env for env, _, _ in keys))})"
        for blob, keys in blobs.items()
    )


def provenance_lines(s: Summary) -> list[str]:
    """The commits the runs were made at, and the script versions (blobs) per config."""
    commits = sorted({(r["git_commit"][:10], r["git_dirty"]) for r in s.manifest})
    if not commits:
        return []
    code = ", ".join(f"commit {commit}" + (" (dirty tree)" if dirty == "True" else "") for commit, dirty in commits)
    text = [
        f"Code: {code} (see `runs.csv`).",
        "Script versions (git blob of the config's script at its runs' commits; one id: all its runs ran the same"
        " code): " + ", ".join(versions_text(c, blobs) for c, blobs in s.versions.items()) + ".",
    ]
    if any(len(blobs) > 1 for blobs in s.versions.values()):
        if (REPO / REPLAY_GUARD).exists():
            text.append(
                "Some configs' runs come from several versions of their script. The project holds that these versions"
                f" compute the same floats; where that is checked: `{REPLAY_GUARD}` replays the first two updates of"
                " each config's committed Hopper-v4 seed-0 run with the checkout's scripts and compares every episode"
                " with the committed CSV. That checks the checkout's scripts against those runs' versions, not every"
                " version listed here against every other."
            )
        else:
            text.append("**Some configs mix versions of their script and no test here checks that they compute the same"
                        " floats: compare their runs with care.**")
    return text


def plan_lines(s: Summary) -> list[str]:
    """How many planned runs are in, per suite phase, and which are missing where few are."""
    outside = s.runs.keys() - s.planned
    phases = ", ".join(f"{phase} {len(keys & s.runs.keys())} of {len(keys)}" for phase, keys in s.plan.items())
    text = [
        f"**{len(s.present)} of the {len(s.planned)} planned runs are present** ({s.suite}: {phases})"
        + (f"; {len(outside)} more runs outside the plan are included." if outside else "."),
    ]
    if s.stopped:
        text.append(f"{len(s.stopped)} of them stopped early with an error: no score (see \"Runs that stopped early\").")
    for phase, keys in s.plan.items():
        missing = sorted(keys - s.runs.keys(), key=run_key)
        if 0 < len(missing) <= 20:
            text.append(f"Missing ({phase}): " + ", ".join(f"{e}/{c}/seed{seed}" for e, c, seed in missing) + ".")
    return text


def stopped_lines(s: Summary) -> list[str]:
    """The runs that stopped early, each with its last logged step and its error."""
    if not s.stopped:
        return []
    rows = [[env, label(config), seed, f"{s.runs[env, config, seed]['last_step']:.0f}",
             s.runs[env, config, seed]["status"].split(": error: ", 1)[-1]] for env, config, seed in s.stopped]
    return [
        "## Runs that stopped early",
        "",
        "These runs stopped with their script's own error before their last step. Their CSVs end at their last"
        " logged update; they count as present, have no score, and the runner does not run them again.",
        "",
        markdown_table(["env", "config", "seed", "last logged step", "error"], rows),
        "",
    ]


def readme(s: Summary, figures: list[tuple[str, str]]) -> str:
    """The results README.md: counts and provenance, scores, aggregates, identity, figures."""
    text = [
        "# Benchmark results",
        "",
        "Made by `python -m benchmark.report` from the per-run CSVs in `csv/`; do not edit by hand.",
        "",
        *plan_lines(s),
        *provenance_lines(s),
        "",
        "## Scores",
        "",
        f"Score of a run: the mean raw episodic return of the episodes that ended in the last {LAST_FRACTION:.0%} of its"
        " training steps. Per env and config of the main grid: n seeds, mean ± std (sample std) over seeds, and the IQM"
        f" with its 95% stratified-bootstrap CI (rliable, {s.reps} reps). `scores.csv` has every config.",
        "",
        score_markdown(s.main.rows),
        "",
        "Reference lines in the plots: CleanRL `ppo_continuous_action.py`, 1M steps, 3 seeds, openrlbenchmark"
        f" ({REFERENCE_SOURCE}):",
        "",
        markdown_table(["env", "CleanRL return"], [[env, f"{m} ± {sd}"] for env, (m, sd) in REFERENCE.items()]),
        "",
        "No figure for Ant-v4 is published there.",
        "",
        "## Aggregate over envs",
        "",
        *aggregate_lines(s.main, "the main grid"),
        *(beta_section(s.beta) if s.beta else []),
        *(zoo_section(s.zoo, s.planned) if s.zoo else []),
        *stopped_lines(s),
        "## Identity of the three forms of the clip gradient",
        "",
        "Are the logged episodic returns (steps and values) of `ppo_per_sample_kl` and `ppo_dual` bitwise those of"
        " `ppo_clip` with the same seed? Where not, the first step at which they differ.",
        "",
        markdown_table(["env", "seed", "episodes", *IDENTICAL[1:]], [list(r.values()) for r in s.identity]),
        "",
        "## Plots",
        "",
    ]
    text += [f"{title}\n\n![{title}]({name})\n" for name, title in figures]
    return "\n".join(text)


def write(results: Path, s: Summary):
    """scores.csv, identity.csv, the figures and README.md, into results."""
    write_csv(results / "scores.csv", SCORE_COLUMNS, s.table)
    write_csv(results / "identity.csv", ["env", "seed", "episodes", *IDENTICAL[1:]], s.identity)
    figures = plots.draw(results, s.main.runs, REFERENCE, s.main.agg, s.main.configs)
    if s.beta and s.beta.envs:
        kill = [("kill_frac", "kill-set fraction")]
        figures += plots.draw_beside_clip(results, "beta", "β_t knob", s.beta, kill, "kill-set fraction")
    if s.zoo and s.zoo.envs:
        fractions = [("kill_frac", "kill-set fraction"), ("reversed_frac", "reversed fraction (G > 1)"),
                     ("amplified_frac", "amplified fraction (G < 0)"), ("gate_mean", "mean G")]
        what = "kill-set, reversed (G > 1) and amplified (G < 0) fractions and mean G"
        figures += plots.draw_beside_clip(results, "zoo", "The zoo", s.zoo, fractions, what)
    (results / "README.md").write_text(readme(s, figures))


def summarize(results: Path, plan: dict[str, set], suite: str, reps: int) -> str:
    s = compute(load_runs(results), read_csv(results / "runs.csv"), plan, suite, reps)
    write(results, s)
    return f"{len(s.present)} of {len(s.planned)} planned runs present; wrote {results / 'README.md'}"


# The top-level README's results section, between these markers, is rewritten from the committed data.
TOP_README = REPO / "README.md"
BEGIN, END = "<!-- benchmark results: written by python -m benchmark.report -->", "<!-- end of benchmark results -->"


def update_top_readme(readme: Path, results: Path, planned: set):
    """The headline figure, the main grid's score table and the identity count, from what summarize wrote."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        return
    scores, identity = read_csv(results / "scores.csv"), read_csv(results / "identity.csv")
    runs = load_runs(results)
    present = planned & runs.keys()
    stops = sum(stopped(runs[key]) for key in present)
    compared = [r for r in identity if "missing" not in (r[c] for c in IDENTICAL[1:])]
    same = [r for r in compared if all(r[c] == "identical" for c in IDENTICAL[1:])]
    rel = results.relative_to(readme.parent)
    complete = present == planned
    identity_complete = {key for key in planned if key[1] in IDENTICAL} <= present  # the slice doesn't count here
    count = f"All {len(planned)} planned 1M-step runs are in" if complete else (
        f"{len(present)} of the {len(planned)} planned 1M-step runs are in so far"
    )
    if stops:
        count += f", {stops} of them stopped early with an error"
    section = [
        f"{count} (details, all plots and the"
        f" identity table: [{rel}/README.md]({rel}/README.md)). Score: mean raw return of the episodes that ended"
        " in the last 10% of training; IQM with 95% stratified-bootstrap CI (rliable).",
        "",
        f"![PPO-Clip vs per-sample KL]({rel}/headline.png)",
        "",
        score_markdown([row for row in scores if in_main_grid(row["config"])]),
        "",
        f"Same-seed runs of {', '.join(IDENTICAL)} compared{'' if identity_complete else ' so far'}:"
        f" {len(compared)} env/seed pairs,"
        f" {len(same)} bitwise identical in every logged episodic return.",
    ]
    head, rest = text.split(BEGIN, 1)
    readme.write_text(head + BEGIN + "\n" + "\n".join(section) + "\n" + END + rest.split(END, 1)[1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark.report", description=__doc__.split("\n\n")[0])
    p.add_argument("step", nargs="?", choices=["all", "extract", "summarize"], default="all")
    p.add_argument("--runs", type=Path, default=RUNS, help="the runner's output directory (default: %(default)s)")
    p.add_argument("--results", type=Path, default=RESULTS, help="CSVs, tables and plots (default: %(default)s)")
    p.add_argument("--suite", type=Path, default=SUITE, help="for the planned runs (default: %(default)s)")
    p.add_argument("--phase", nargs="+", help="suite phase(s) planned (default: every phase of the suite)")
    p.add_argument("--reps", type=int, default=2000, help="bootstrap replications (default: %(default)s)")
    args = p.parse_args(argv)
    if args.step in ("all", "extract"):
        if args.runs.exists():
            finished, stops = extract(args.runs, args.results)
            print(f"extracted {finished} finished runs and {stops} that stopped early from {args.runs}")
        elif args.step == "extract":
            fail("benchmark.report", f"no runs directory {args.runs}")
    if args.step in ("all", "summarize"):
        plan = {}
        for phase in args.phase or suite_phases(args.suite):
            grid = load_phase(args.suite, phase)
            plan[phase] = {(e, c, str(s)) for e in grid["envs"] for c in grid["configs"] for s in grid["seeds"]}
        print(summarize(args.results, plan, args.suite.name, args.reps))
        if args.results.resolve() == RESULTS.resolve():  # the repository's own results
            update_top_readme(TOP_README, args.results, set().union(*plan.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
