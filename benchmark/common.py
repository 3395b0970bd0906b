"""What the runner, the report and the speed comparison share: where things are, the one-line error exit,
CSV files and markdown tables, git provenance and package versions, the CPU, a run's status."""

import csv
import json
import os
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


def read_csv(path: Path) -> list[dict]:
    """The rows of a CSV file with a header, as dicts of strings; [] if there is no such file."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, columns: list[str], rows: list[dict]):
    """A CSV file with a header; a row's missing columns are left empty. Makes the parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)


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


# Environment variables that change which float kernels run (MKL, oneDNN, ATen's dispatch), or how many threads
FLOAT_ENV = ["ATEN_CPU_CAPABILITY", "MKL_CBWP", "MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE", "DNNL_MAX_CPU_ISA",
             "ONEDNN_MAX_CPU_ISA", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]
# CPU flags that decide the instruction-set level ATen and MKL dispatch to
ISA_FLAGS = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile"]
TORCH_CPU = (
    "import json, torch; print(json.dumps({'capability': torch.backends.cpu.get_cpu_capability(),"
    " 'mkl': torch.backends.mkl.is_available(), 'mkldnn': torch.backends.mkldnn.is_available()}))"
)


def cpu_info(env: Optional[dict] = None) -> dict:
    """What the floats depend on besides the code, as far as it can be read without privileges: the CPU model and
    its instruction-set flags (/proc/cpuinfo), the level torch dispatches to in a script's environment `env`, MKL
    and oneDNN availability, and the variables that override their choice. `kind` names the CPU kind in one line."""
    env = dict(os.environ if env is None else env)
    first = {}  # the first processor's fields: a VM's model name can be as vague as "AMD EPYC"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                first.setdefault(key.strip(), value.strip())
    except OSError:  # not Linux
        pass
    model = first.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in first:
        model += f" (family {first['cpu family']}, model {first.get('model')}, stepping {first.get('stepping')})"
    flags = set(first.get("flags", "").split())
    try:
        proc = subprocess.run([sys.executable, "-c", TORCH_CPU], env=env, capture_output=True, text=True, timeout=120)
        torch_cpu = json.loads(proc.stdout)
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        torch_cpu = {"capability": "unknown", "mkl": None, "mkldnn": None}
    return {
        "kind": f"{model}, {torch_cpu['capability']}",
        "model": model,
        "isa_flags": [flag for flag in ISA_FLAGS if flag in flags],
        "torch_capability": torch_cpu["capability"],
        "mkl": torch_cpu["mkl"],
        "mkldnn": torch_cpu["mkldnn"],
        "env": {name: env[name] for name in FLOAT_ENV if name in env},
    }
