"""Benchmark report, in two steps, so that everything can be made again from the committed CSVs:

    python -m benchmark.report              # both steps (extract only where the runs dir exists)
    python -m benchmark.report extract      # finished runs' TensorBoard files → results/csv/, runs.csv
    python -m benchmark.report summarize    # results/csv/ → results/README.md, scores.csv, identity.csv, *.png

One CSV per run, `csv/{env}/{config}/seed{N}.csv`: a row per finished episode (step, episodic_return)
and a row per update (step and that update's diagnostics: kill_frac, inband_frac, passthrough_frac,
and beta_mean / kl_coef where the script logs them). Values are float32 as logged, written exactly.
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
from benchmark.common import REPO, RESULTS, RUNS, SUITE, fail, git, markdown_table
from benchmark.configs import CONFIGS, label
from benchmark.job import DONE, META, TB, read_json
from benchmark.run import load_phase

RETURN = "episodic_return"
TAGS = {  # CSV column → TensorBoard tag
    RETURN: "charts/episodic_return",
    "kill_frac": "killset/kill_frac",
    "inband_frac": "killset/inband_frac",
    "passthrough_frac": "killset/passthrough_frac",
    "beta_mean": "losses/beta_mean",
    "kl_coef": "losses/kl_coef",
}
MANIFEST = ["env", "config", "seed", "total_timesteps", "wall_time_s", "git_commit", "git_dirty", "host"]
MANIFEST += ["python", "torch", "gymnasium", "mujoco", "numpy"]
LAST_FRACTION = 0.1  # a run's score: mean return of the episodes that ended in its last 10% of steps
IDENTICAL = ["ppo_clip", "ppo_per_sample_kl", "ppo_dual"]  # one gradient, three surrogates
# The β_t knob: configs of ppo_beta_shapes.py, run on fewer envs than the main grid. They get their
# own section beside PPO-Clip, so that the main aggregate keeps every env of the main grid.
BETA_SLICE = [name for name, config in CONFIGS.items() if config.script == "ppo_beta_shapes.py"]
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


def extract(runs_dir: Path, results: Path) -> int:
    """Write the CSV of every finished run under runs_dir and its row of runs.csv; return the count."""
    manifest = {(r["env"], r["config"], r["seed"]): r for r in read_csv(results / "runs.csv")}
    count = 0
    for done in sorted(runs_dir.glob(f"*/*/seed*/{DONE}")):
        run_dir = done.parent
        env, config, seed = run_dir.parts[-3], run_dir.parts[-2], run_dir.name.removeprefix("seed")
        (tb_dir,) = (run_dir / TB).iterdir()  # a finished run wrote exactly one
        acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
        acc.Reload()
        present = [col for col, tag in TAGS.items() if tag in acc.Tags()["scalars"]]
        rows = {}  # (step, 0 episode | 1 update, index) → row: an episode ends in the rollout, before its update
        for index, event in enumerate(acc.Scalars(TAGS[RETURN]) if RETURN in present else []):
            rows[event.step, 0, index] = {"step": event.step, RETURN: fmt(event.value)}
        for col in present[1:]:
            for event in acc.Scalars(TAGS[col]):
                rows.setdefault((event.step, 1, 0), {"step": event.step})[col] = fmt(event.value)
        path = results / "csv" / env / config / f"seed{seed}.csv"
        write_csv(path, ["step", *present], [rows[key] for key in sorted(rows)])
        meta, marker = read_json(run_dir / META), read_json(done)
        args = meta["args"]
        manifest[env, config, seed] = {
            **{"env": env, "config": config, "seed": seed, "wall_time_s": marker["wall_time_s"]},
            **{"total_timesteps": args[args.index("--total-timesteps") + 1], "host": meta["host"]},
            **{"git_commit": meta["git_commit"], "git_dirty": meta["git_dirty"], **meta["versions"]},
        }
        count += 1
    if manifest:
        write_csv(results / "runs.csv", MANIFEST, [manifest[k] for k in sorted(manifest, key=run_key)])
    return count


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


def run_key(key):
    env, config, seed = key
    order = list(CONFIGS)
    return env, order.index(config) if config in order else len(order), config, int(seed)


def load_runs(results: Path) -> dict:
    """{(env, config, seed): {column: (steps, values)}} from the CSVs."""
    runs = {}
    for path in (results / "csv").glob("*/*/seed*.csv"):
        rows = read_csv(path)
        series = {}
        for col in rows[0].keys() - {"step"} if rows else ():
            kept = np.array([(float(r["step"]), float(r[col])) for r in rows if r[col] != ""]).reshape(-1, 2)
            series[col] = (kept[:, 0], kept[:, 1])
        series["last_step"] = max((float(r["step"]) for r in rows), default=0.0)
        runs[path.parts[-3], path.parts[-2], path.stem.removeprefix("seed")] = series
    return dict(sorted(runs.items(), key=lambda item: run_key(item[0])))


def score(series: dict) -> float:
    """Mean raw return of the episodes that ended in the last 10% of the run's steps (nan if none)."""
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
    """Per env × config: n, mean ± std (sample std) over seeds, IQM and its 95% CI."""
    by_cell = {}
    for (env, config, seed), series in runs.items():
        if not np.isnan(s := score(series)):
            by_cell.setdefault((env, config), []).append(s)
    rows = []
    for env in dict.fromkeys(env for env, _ in by_cell):
        cells = {config: np.array(s) for (e, config), s in by_cell.items() if e == env}
        point, interval = iqm_with_ci({c: s.reshape(-1, 1) for c, s in cells.items()}, reps)
        for config, s in cells.items():
            rows.append(
                {
                    **{"env": env, "config": config, "n": len(s), "mean": s.mean()},
                    "std": s.std(ddof=1) if len(s) > 1 else float("nan"),
                    **{"iqm": point[config][0], "iqm_lo": interval[config][0, 0], "iqm_hi": interval[config][1, 0]},
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


def aggregate(runs: dict, table: list[dict], reps: int, configs=None) -> Aggregate:
    """Over the envs on which every config (of `configs`, default all in the table) has runs, the seeds a
    config has on all of them."""
    clip = {row["env"]: row["mean"] for row in table if row["config"] == "ppo_clip" and row["mean"] != 0}
    cells = {(row["env"], row["config"]) for row in table}
    present = dict.fromkeys(row["config"] for row in table)
    configs = [c for c in present if configs is None or c in configs]
    envs = [env for env in clip if all((env, c) in cells for c in configs)]
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


def script_versions(manifest: list[dict]) -> dict[str, list[str]]:
    """Config → the git blob ids of its script at its runs' commits ("?" where git cannot tell):
    one id means every run of the config ran the same code, even when the commits differ."""
    versions = defaultdict(set)
    for row in manifest:
        blob = None
        if row["config"] in CONFIGS:
            blob = git("rev-parse", "--short=10", f"{row['git_commit']}:{CONFIGS[row['config']].script}")
        versions[row["config"]].add(blob or "?")
    return {config: sorted(ids) for config, ids in versions.items()}


@dataclass
class Section:
    """Configs compared on the same envs: their score rows, their runs (for the figures), their aggregate."""

    configs: list[str]
    envs: list[str]
    rows: list[dict]
    runs: dict
    agg: Aggregate


def beta_slice(runs: dict, table: list[dict], reps: int) -> Optional[Section]:
    """The β_t configs beside PPO-Clip on the envs where the slice has runs; None if it has none."""
    configs = [c for c in ["ppo_clip", *BETA_SLICE] if any(row["config"] == c for row in table)]
    envs = sorted({row["env"] for row in table if row["config"] in BETA_SLICE})
    if configs == ["ppo_clip"] or not envs:
        return None
    rows = [row for row in table if row["env"] in envs and row["config"] in configs]
    slice_runs = {key: series for key, series in runs.items() if key[0] in envs and key[1] in configs}
    return Section(configs, envs, rows, slice_runs, aggregate(runs, rows, reps, configs))


@dataclass
class Summary:
    """What the report says, computed from the CSVs and runs.csv; `write` renders it."""

    runs: dict  # {(env, config, seed): series}, as load_runs gives them
    table: list[dict]  # the score table: every env × config with a scored run
    main: Section  # the main grid
    beta: Optional[Section]  # the β_t slice, None without runs
    identity: list[dict]
    planned: set  # {(env, config, seed)}
    plan_name: str
    manifest: list[dict]  # runs.csv
    versions: dict[str, list[str]]  # config → script blobs
    reps: int

    @property
    def present(self) -> set:
        return self.planned & self.runs.keys()


def compute(runs: dict, manifest: list[dict], planned: set, plan_name: str, reps: int) -> Summary:
    table = score_table(runs, reps)
    main_configs = [c for c in dict.fromkeys(row["config"] for row in table) if c not in BETA_SLICE]
    main_runs = {key: series for key, series in runs.items() if key[1] in main_configs}
    main = Section(
        main_configs,
        list(dict.fromkeys(env for env, _, _ in main_runs)),
        [row for row in table if row["config"] in main_configs],
        main_runs,
        aggregate(runs, table, reps, main_configs),
    )
    return Summary(
        runs=runs,
        table=table,
        main=main,
        beta=beta_slice(runs, table, reps),
        identity=identity_table(runs),
        planned=planned,
        plan_name=plan_name,
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
    """Score table rows (as in scores.csv) as markdown."""
    return markdown_table(
        ["env", "config", "n", "mean ± std", "IQM [95% CI]"],
        [
            [r["env"], label(r["config"]), r["n"], pm(float(r["mean"]), float(r["std"])),
             with_ci(float(r["iqm"]), float(r["iqm_lo"]), float(r["iqm_hi"]))]
            for r in rows
        ],
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


def beta_section(beta: Section) -> list[str]:
    """The results README's section on the β_t slice."""
    return [
        "## The β_t knob beside PPO-Clip",
        "",
        "`ppo_beta_shapes.py` configs (" + ", ".join(f"`{c}`: {label(c)}" for c in beta.configs[1:]) + ") on "
        + ", ".join(beta.envs) + ", beside the main grid's PPO-Clip runs on those envs. Scores as"
        " above.",
        "",
        score_markdown(beta.rows),
        "",
        "Normalized by the PPO-Clip mean score per env, over the envs on which every one of these configs has runs"
        f" ({', '.join(beta.agg.envs) or 'none'}); IQM and mean with 95% stratified-bootstrap CIs (rliable).",
        "",
        aggregate_markdown(beta.agg),
        "",
    ]


def provenance_lines(s: Summary) -> list[str]:
    """The commits the runs were made at, and the script versions (blobs) per config."""
    commits = sorted({(r["git_commit"][:10], r["git_dirty"]) for r in s.manifest})
    if not commits:
        return []
    code = ", ".join(f"commit {commit}" + (" (dirty tree)" if dirty == "True" else "") for commit, dirty in commits)
    text = [
        f"Code: {code} (see `runs.csv`).",
        "Script versions (git blob of the config's script at its runs' commits; one id: all its runs ran the same"
        " code): " + ", ".join(f"{label(c)} `{CONFIGS[c].script if c in CONFIGS else '?'}` {' + '.join(ids)}"
                                 for c, ids in s.versions.items()) + ".",
    ]
    if any(len(ids) > 1 for ids in s.versions.values()):
        text.append("**Some configs mix versions of their script: compare their runs with care.**")
    return text


def readme(s: Summary, figures: list[tuple[str, str]]) -> str:
    """The results README.md: counts and provenance, scores, aggregates, identity, figures."""
    missing = sorted(s.planned - s.runs.keys(), key=run_key)
    outside = s.runs.keys() - s.planned
    text = [
        "# Benchmark results",
        "",
        "Made by `python -m benchmark.report` from the per-run CSVs in `csv/`; do not edit by hand.",
        "",
        f"**{len(s.present)} of the {len(s.planned)} planned runs are present** ({s.plan_name})"
        + (f"; {len(outside)} more runs outside the plan are included." if outside else "."),
    ]
    if 0 < len(missing) <= 20:
        text.append("Missing: " + ", ".join(f"{e}/{c}/seed{seed}" for e, c, seed in missing) + ".")
    text += provenance_lines(s)
    text += [
        "",
        "## Scores",
        "",
        f"Score of a run: the mean raw episodic return of the episodes that ended in the last {LAST_FRACTION:.0%} of its"
        " training steps. Per env and config: n seeds, mean ± std (sample std) over seeds, and the IQM with its 95%"
        f" stratified-bootstrap CI (rliable, {s.reps} reps).",
        "",
        score_markdown(s.table),
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
        "Scores divided by the PPO-Clip mean score on the same env (so PPO-Clip's mean is 1), over the envs on which"
        f" every config of the main grid has runs ({', '.join(s.main.agg.envs) or 'none'}) and the seeds a config has"
        " on all of them; IQM and mean with 95% stratified-bootstrap CIs (rliable).",
        "",
        aggregate_markdown(s.main.agg),
        "",
        *(beta_section(s.beta) if s.beta else []),
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
    write_csv(results / "scores.csv", ["env", "config", "n", "mean", "std", "iqm", "iqm_lo", "iqm_hi"], s.table)
    write_csv(results / "identity.csv", ["env", "seed", "episodes", *IDENTICAL[1:]], s.identity)
    figures = plots.draw(results, s.main.runs, REFERENCE, s.main.agg.point, s.main.agg.interval, s.main.configs)
    if s.beta:
        figures += plots.draw_beta_slice(results, s.beta.runs, s.beta.configs, s.beta.agg.point, s.beta.agg.interval)
    (results / "README.md").write_text(readme(s, figures))


def summarize(results: Path, planned: set, plan_name: str, reps: int) -> str:
    s = compute(load_runs(results), read_csv(results / "runs.csv"), planned, plan_name, reps)
    write(results, s)
    return f"{len(s.present)} of {len(planned)} planned runs present; wrote {results / 'README.md'}"


# The top-level README's results section, between these markers, is rewritten from the committed data.
TOP_README = REPO / "README.md"
BEGIN, END = "<!-- benchmark results: written by python -m benchmark.report -->", "<!-- end of benchmark results -->"


def update_top_readme(readme: Path, results: Path, planned: set):
    """The headline figure, the score table and the identity count, from what summarize wrote."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        return
    scores, identity = read_csv(results / "scores.csv"), read_csv(results / "identity.csv")
    present = planned & load_runs(results).keys()
    compared = [r for r in identity if "missing" not in (r[c] for c in IDENTICAL[1:])]
    same = [r for r in compared if all(r[c] == "identical" for c in IDENTICAL[1:])]
    rel = results.relative_to(readme.parent)
    complete = present == planned
    identity_complete = {key for key in planned if key[1] in IDENTICAL} <= present  # the slice doesn't count here
    count = f"All {len(planned)} planned 1M-step runs are in" if complete else (
        f"{len(present)} of the {len(planned)} planned 1M-step runs are in so far"
    )
    section = [
        f"{count} (details, all plots and the"
        f" identity table: [{rel}/README.md]({rel}/README.md)). Score: mean raw return of the episodes that ended"
        " in the last 10% of training; IQM with 95% stratified-bootstrap CI (rliable).",
        "",
        f"![PPO-Clip vs per-sample KL]({rel}/headline.png)",
        "",
        score_markdown(scores),
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
    p.add_argument("--phase", nargs="+", default=["main"], help="suite phase(s) planned (default: main)")
    p.add_argument("--reps", type=int, default=2000, help="bootstrap replications (default: %(default)s)")
    args = p.parse_args(argv)
    if args.step in ("all", "extract"):
        if args.runs.exists():
            print(f"extracted {extract(args.runs, args.results)} finished runs from {args.runs}")
        elif args.step == "extract":
            fail("benchmark.report", f"no runs directory {args.runs}")
    if args.step in ("all", "summarize"):
        planned = set()
        for phase in args.phase:
            grid = load_phase(args.suite, phase)
            planned |= {(e, c, str(s)) for e in grid["envs"] for c in grid["configs"] for s in grid["seeds"]}
        print(summarize(args.results, planned, f"{args.suite.name}, phase {' + '.join(args.phase)}", args.reps))
        if args.results.resolve() == RESULTS.resolve():  # the repository's own results
            update_top_readme(TOP_README, args.results, planned)
    return 0


if __name__ == "__main__":
    sys.exit(main())
