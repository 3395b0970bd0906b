"""What the runner, the report and the speed comparison share: where things are, the one-line error exit,
markdown tables, git provenance and package versions, a run's status."""

import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NoReturn, Optional

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "benchmark" / "suites" / "mujoco.toml"
RUNS = REPO / "benchmark" / "runs"  # the runner's output, not committed
RESULTS = REPO / "benchmark" / "results"  # committed: per-run CSVs, tables, figures, speed.md
FINISHED = "finished"  # runs.csv's status of a run that finished; else the error line the run stopped with


def stopped(series: dict) -> bool:
    """Did the run (its series as the report loads them, with its status) stop early with an error?"""
    return series.get("status", FINISHED) != FINISHED


def fail(prog: str, msg: str) -> NoReturn:
    """Bad arguments: one line on stderr, exit status 2 (as argparse does)."""
    print(f"{prog}: error: {msg}", file=sys.stderr)
    sys.exit(2)


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub markdown table, without a final newline."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def git(*args: str) -> Optional[str]:
    """git's stripped stdout, run in the repository; None when git fails or is not installed."""
    try:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def git_head(*paths: str) -> tuple[str, bool]:
    """The checked-out commit ("" if unknown) and whether the working tree differs from it, in `paths` (git
    pathspecs; default: anywhere)."""
    status = git("status", "--porcelain", "--", *paths)
    return git("rev-parse", "HEAD") or "", bool(status)


def package_versions(packages: list[str]) -> dict[str, str]:
    """{"python": version, package: version or "not installed"}."""

    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return {"python": platform.python_version(), **{name: installed(name) for name in packages}}
