"""One benchmark run: where it lives, its markers, and the job that executes it.

A run's directory `OUT/{env}/{config}/seed{N}/` holds
    meta.json     written at launch: script, config, command line, git commit, package versions, the CPU
    log.txt       the script's stdout and stderr
    tb/           the script's --runs-dir (its TensorBoard run directory goes inside)
    tb/*/model.pt the checkpoint, for a run launched with --save-model (the script evaluates it too)
    done.json     written atomically after the script exited 0: the run is finished
    failed.json   written atomically after it exited non-zero (exit code, last log line)
A directory with neither marker is an interrupted run: the next launch deletes it and starts over.
`OUT/{env}/{config}/.seed{N}.lock`, beside it, is held while a job runs it: no two jobs (two runners on one
`--out`, a requeued Slurm job beside its first) ever write one run directory.
`run_one` is the job; the local backend calls it in a thread, submitit pickles it to a process.
"""

import fcntl
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmark.common import REPO, cpu_info, package_versions
from benchmark.configs import CONFIGS

META, LOG, TB, DONE, FAILED = "meta.json", "log.txt", "tb", "done.json", "failed.json"
CHECKPOINT = "model.pt"  # what --save-model writes into the script's TensorBoard run directory


def checkpoints(run_dir: Path) -> list[Path]:
    """The checkpoints a run's script wrote (one, for a finished run launched with --save-model)."""
    return sorted((run_dir / TB).glob(f"*/{CHECKPOINT}"))


@dataclass(frozen=True)
class Run:
    env: str
    config: str
    seed: int
    total_timesteps: int
    out: Path  # the runner's output directory (absolute: a Slurm job may start elsewhere)
    extra: tuple[str, ...] = ()  # flags passed through to the script
    save_model: bool = False  # --save-model: the run leaves its checkpoint and evaluates it

    @property
    def name(self) -> str:
        return f"{self.env}/{self.config}/seed{self.seed}"

    @property
    def dir(self) -> Path:
        return self.out / self.env / self.config / f"seed{self.seed}"

    @property
    def args(self) -> list[str]:
        """The script and its flags, without the output path: what identifies the run's numbers."""
        config = CONFIGS[self.config]
        return [
            config.script,
            *config.flags,
            *(["--save-model"] if self.save_model else []),
            *("--env-id", self.env, "--seed", str(self.seed), "--total-timesteps", str(self.total_timesteps)),
            *("--threads", "1"),
            *self.extra,
        ]

    def command(self) -> list[str]:
        script, *flags = self.args
        return [sys.executable, str(REPO / script), *flags, "--runs-dir", str(self.dir / TB)]

    def status(self) -> str:
        """'done', 'failed', 'interrupted' (a directory without a marker) or 'new'."""
        for status, marker in (("done", DONE), ("failed", FAILED)):
            if (self.dir / marker).exists():
                return status
        return "interrupted" if self.dir.exists() else "new"


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def write_json(path: Path, data: dict):
    """Atomic: a reader sees the old file or the whole new one, never half of it."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else ""


PACKAGES = ["torch", "gymnasium", "mujoco", "numpy"]  # recorded in each run's meta.json


# The local backend stops its runs from the main thread: it sets _STOP and kills the live scripts.
# Under the lock no script starts after the stop, and a run stopped this way leaves no marker.
_LOCK, _STOP, _LIVE = threading.Lock(), threading.Event(), set()


def stop_local_runs():
    with _LOCK:
        _STOP.set()
        for proc in _LIVE:
            proc.kill()


def run_one(run: Run, provenance: dict) -> dict:
    """Run the script once, from a clean directory, holding the run's lock; return the marker's content and
    status ('busy', and nothing touched, if another job holds the lock)."""
    run.dir.parent.mkdir(parents=True, exist_ok=True)
    with open(run.dir.parent / f".{run.dir.name}.lock", "w") as lock:  # beside the directory, which is remade
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when the file closes, or the job dies
        except BlockingIOError:
            return {"status": "busy", "exit_code": None, "error": f"another job is running it (it holds {lock.name})"}
        return run_locked(run, provenance)


def run_locked(run: Run, provenance: dict) -> dict:
    if run.status() == "done":  # finished meanwhile (e.g. a requeued Slurm job)
        return {"status": "done", **read_json(run.dir / DONE)}
    shutil.rmtree(run.dir, ignore_errors=True)
    run.dir.mkdir(parents=True)
    command = run.command()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    write_json(
        run.dir / META,
        {
            "config": run.config,
            "script": run.args[0],
            "args": run.args,
            "command": shlex.join(command),
            "host": platform.node(),
            "launched_at": time.time(),
            "versions": package_versions(PACKAGES),
            "cpu": cpu_info(env),
            **provenance,  # git commit and dirty flag, the runner's command line
        },
    )
    start = time.time()
    with open(run.dir / LOG, "w") as log:
        with _LOCK:
            if _STOP.is_set():
                return {"status": "interrupted"}
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
            _LIVE.add(proc)
        try:
            exit_code = proc.wait()
        finally:  # interrupted (KeyboardInterrupt, a job's cancel): take the script down too
            proc.kill()
            proc.wait()
            with _LOCK:
                _LIVE.discard(proc)
    if _STOP.is_set():
        return {"status": "interrupted"}
    result = {"exit_code": exit_code, "wall_time_s": round(time.time() - start, 3), "args": run.args}
    if exit_code == 0:
        write_json(run.dir / DONE, result)
        return {"status": "done", **result}
    result["error"] = last_line(run.dir / LOG)
    write_json(run.dir / FAILED, result)
    return {"status": "failed", **result}
