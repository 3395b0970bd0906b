"""Helpers shared by the tests of the top-level scripts: run one as a user does, load one as a
module, extract its source regions, read its TensorBoard scalars."""

import functools
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ["ppo_clip.py", "ppo_per_sample_kl.py", "ppo_dual.py", "ppo_kl.py", "ppo_beta_shapes.py"]
# One gradient in several forms (ppo_beta_shapes.py at its default, the step gate)
IDENTICAL = ["ppo_clip.py", "ppo_per_sample_kl.py", "ppo_dual.py", "ppo_beta_shapes.py"]
# A few thousand steps: enough for several updates, episodes and checkpoints, seconds per run.
SHORT = ["--total-timesteps", "2048", "--num-steps", "512", "--num-minibatches", "8", "--update-epochs", "2"]

REGION = re.compile(r"^[ \t]*# >>> ALGO: .*?^[ \t]*# <<< ALGO\n", re.S | re.M)


def run_script(script, *flags, cwd, env=None, check=True):
    """Run `python script flags...` in `cwd` with one thread, as a user would."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, str(REPO / script), *map(str, flags)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} {' '.join(map(str, flags))} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


@functools.cache
def load_script(script):
    """Import a top-level script as a module (its main() does not run)."""
    name = "script_" + Path(script).stem
    spec = importlib.util.spec_from_file_location(name, REPO / script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def source(script):
    return (REPO / script).read_text()


def strip_docstring(text):
    assert text.startswith('"""'), "a script must open with its docstring"
    return text[text.index('"""', 3) + 3 :]


def strip_regions(text):
    return REGION.sub("", text)


def surrogate_source(script):
    """The script's own lines from the ratio to the end of its surrogate region (the region that sets
    pg_loss; the band's region comes before it), dedented."""
    text = source(script)
    start = text.index("                logratio = newlogprob - e_logprobs[mb]\n")
    end = text.index("# <<< ALGO\n", text.index("pg_loss = ", start)) + len("# <<< ALGO\n")
    return "\n".join(line[16:] for line in text[start:end].splitlines()) + "\n"


def run_dirs(runs_dir):
    return sorted(p for p in Path(runs_dir).iterdir() if p.is_dir())


def scalars(run_dir):
    """{tag: [(step, value), ...]} from the run's TensorBoard event files."""
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def hunks(a, b):
    """The output of `diff -u a b` (GNU diffutils) without its two file-header lines."""
    proc = subprocess.run(["diff", "-u", a, b], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr  # 1: the files differ
    return "\n".join(proc.stdout.splitlines()[2:])
