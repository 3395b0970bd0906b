"""Benchmark report, in two steps, so that everything can be made again from the committed CSVs:

    python -m benchmark.report              # both steps (extract only where the runs dir exists), every phase
    python -m benchmark.report extract      # runs → results/csv/, runs.csv, checkpoints/
    python -m benchmark.report summarize    # results/csv/ → results/README.md, scores.csv, identity.csv, *.png

The planned runs are the suite's phases (all of them unless --phase names some); the report counts the runs
in against them. The steps live in the package's other modules, listed in its __init__.py.
"""

import argparse
import sys
import tomllib
from pathlib import Path

from benchmark.report import family, plots
from benchmark.common import RESULTS, RUNS, SUITE, fail, read_csv, write_csv
from benchmark.report.extract import extract
from benchmark.report.results_readme import REFERENCE, SECTIONS, readme
from benchmark.run import load_phase, phase_configs, suite_phases
from benchmark.report.stats import IDENTITY_COLUMNS, SCORE_COLUMNS, load_runs
from benchmark.report.summary import Summary, compute
from benchmark.report.top_readme import TOP_README, update_top_readme


def write(results: Path, s: Summary):
    """scores.csv, identity.csv, the figures and README.md, into results."""
    write_csv(results / "scores.csv", SCORE_COLUMNS, s.table)
    write_csv(results / "identity.csv", IDENTITY_COLUMNS, s.identity)
    figures = plots.draw(results, s.main.runs, REFERENCE, s.main.agg, s.main.configs)
    for name, sl in SECTIONS.items():
        if s.slices.get(name) and s.slices[name].envs:
            if sl.draw is not None:  # a slice with figures of its own
                figures += sl.draw(results, s.slices[name], s)
            else:
                figures += plots.draw_beside_clip(results, name, sl.title, s.slices[name], sl.columns, sl.columns_title)
    figures += family.draw(results, s)
    (results / "README.md").write_text(readme(s, figures))


def summarize(results: Path, plan: dict[str, set], suite: str, reps: int) -> Summary:
    s = compute(load_runs(results), read_csv(results / "runs.csv"), plan, suite, reps)
    write(results, s)
    print(f"{len(s.present)} of {len(s.planned)} planned runs present; wrote {results / 'README.md'}")
    return s


def bad(msg: str):
    fail("benchmark.report", msg)


def check_paths(args) -> dict[str, set]:
    """Refuse a bad path or suite with one line (exit 2); return the plan: suite phase → its {(env, config, seed)}."""
    if args.reps < 1:
        bad(f"--reps must be at least 1, got {args.reps}")
    if args.step in ("all", "extract"):
        if args.runs.exists() and not args.runs.is_dir():
            bad(f"--runs {args.runs} is not a directory")
        if args.step == "extract" and not args.runs.exists():
            bad(f"no runs directory {args.runs}")
    existing = next(path for path in [args.results, *args.results.parents] if path.exists())
    if not existing.is_dir():
        bad(f"--results {args.results}: {existing} is not a directory")
    plan = {}
    if args.step in ("all", "summarize"):
        if not args.suite.is_file():
            bad(f"--suite {args.suite}: {'not a file' if args.suite.exists() else 'no such file'}")
        try:
            phases = suite_phases(args.suite)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            bad(f"--suite {args.suite}: not a TOML file ({e})")
        for phase in args.phase or phases:
            if phase not in phases:
                bad(f"{args.suite}: no phase {phase!r} (phases: {', '.join(phases)})")
            grid = load_phase(args.suite, phase)
            try:
                by_env = phase_configs(grid, grid["envs"], args.results)
                plan[phase] = {(e, c, str(s)) for e, configs in by_env.items() for c in configs for s in grid["seeds"]}
            except KeyError as e:
                bad(f"{args.suite}: phase {phase!r} has no {e.args[0]!r}")
    return plan


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark.report", description=__doc__.split("\n\n")[0])
    p.add_argument("step", nargs="?", choices=["all", "extract", "summarize"], default="all")
    p.add_argument("--runs", type=Path, default=RUNS, help="the runner's output directory (default: %(default)s)")
    p.add_argument("--results", type=Path, default=RESULTS, help="CSVs, tables and plots (default: %(default)s)")
    p.add_argument("--suite", type=Path, default=SUITE, help="for the planned runs (default: %(default)s)")
    p.add_argument("--phase", nargs="+", help="suite phase(s) planned (default: every phase of the suite)")
    p.add_argument("--reps", type=int, default=2000, help="bootstrap replications (default: %(default)s)")
    args = p.parse_args(argv)
    plan = check_paths(args)  # every bad argument is refused before anything is written
    if args.step in ("all", "extract") and args.runs.exists():
        finished, stops = extract(args.runs, args.results)
        print(f"extracted {finished} finished runs and {stops} that stopped early from {args.runs}")
        plan = check_paths(args)  # again: a select phase's plan (sweep_best) reads the results just extracted
    if args.step in ("all", "summarize"):
        if not (args.results / "csv").is_dir():
            bad(f"no run CSVs in {args.results / 'csv'}: nothing to summarize (extract first, or check --results)")
        s = summarize(args.results, plan, args.suite.name, args.reps)
        if args.results.resolve() == RESULTS.resolve():  # the repository's own results
            update_top_readme(TOP_README, args.results, s.planned, s)
    return 0

if __name__ == "__main__":
    sys.exit(main())
