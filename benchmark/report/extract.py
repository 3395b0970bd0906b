"""The report's first step: the runner's TensorBoard files → one CSV per run, runs.csv, and the runs' checkpoints.

`csv/{env}/{config}/seed{N}.csv` has a row per finished episode (step, episodic_return) and a row per update
(step and the diagnostics of TAGS the script logged). Values are float32 as logged, written exactly; a column
only where its tag was logged. A CSV extracted before its column joined TAGS lacks it, even where its run logged
the tag (the main grid's approx_kl and entropy, the β_t slice's gate_mean).

runs.csv has a row per run: its provenance (commit, host, CPU kind, package versions) and its status:
"finished", or the one-line error (`SCRIPT.py: error: ...`, e.g. a non-finite loss) of a run that stopped early.
Such a run is extracted too, up to where it stopped: it counts as present, has no score, and the runner does not
run it again. Any other failure (a crash, a kill) is left for the runner to retry.

A finished run launched with --save-model leaves its checkpoint, copied to `checkpoints/{env}/{config}/seed{N}.pt`,
and its deterministic evaluation, as runs.csv's eval_mean and eval_std. A committed checkpoint is never
overwritten: one that differs from the run's stops the report; so does such a run without a checkpoint.
"""

import ast
import filecmp
import re
import shutil
from pathlib import Path
from typing import Optional

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from benchmark.common import FINISHED, fail, read_csv, write_csv
from benchmark.configs import run_key
from benchmark.job import CHECKPOINT, DONE, FAILED, LOG, META, PACKAGES, TB, checkpoints, read_json

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
    # ppo_beta_shapes.py's β_t per update: quantiles of its nonzero values, the fraction of samples with β_t ≠ 0,
    # and the share of those with β_t < 0
    **{f"beta_p{q}": f"beta/p{q}" for q in ("01", "10", "50", "90", "99")},
    "beta_nonzero_frac": "beta/nonzero_frac",
    "beta_negative_frac": "beta/negative_frac",
}
MANIFEST = ["env", "config", "seed", "total_timesteps", "wall_time_s", "status", "git_commit", "git_dirty", "host"]
MANIFEST += ["cpu", "python", *PACKAGES]  # cpu: meta.json's CPU kind; empty for a run whose meta.json has none
MANIFEST += ["eval_mean", "eval_std"]  # of the checkpoint's evaluation; empty for a run without one
EVAL_TAG = "eval/episodic_return"  # one event per evaluation episode, float32
EVAL_LINE = re.compile(r"^eval: episodic returns (\[.*\]), mean ([^,\s]+)", re.M)  # the scripts' print, float64


def fmt(value: float) -> str:
    return str(np.float32(value))  # the shortest text that reads back as the same float32


def stopped_early(run_dir: Path, marker: dict) -> bool:
    """Did the failed run stop with its script's own one-line error (deterministic: running it again stops
    the same way), rather than crash or get killed?"""
    meta = run_dir / META  # a job that died before its run started wrote none
    return meta.exists() and marker.get("error", "").startswith(f"{read_json(meta)['args'][0]}: error: ")


class Refused(Exception):
    """A run the report will not extract as it stands: the reason, in one line."""


def read_events(run_dir: Path):
    """The run's TensorBoard scalars (an EventAccumulator), None if it wrote none (a stopped run may not have)."""
    tb_dirs = list((run_dir / TB).glob("*"))  # a finished run wrote exactly one, a stopped one at most one
    if len(tb_dirs) > 1:
        raise Refused(f"{run_dir / TB} holds {len(tb_dirs)} TensorBoard runs; the runner writes one")
    for tb_dir in tb_dirs:
        acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
        acc.Reload()
        return acc
    return None


def csv_rows(acc) -> tuple[list[str], list[dict]]:
    """The run's CSV: its columns (TAGS it logged) and rows, an episode's before its update's at the same step."""
    present = [col for col, tag in TAGS.items() if acc and tag in acc.Tags()["scalars"]]
    rows = {}  # (step, 0 episode | 1 update, index) → row
    for index, event in enumerate(acc.Scalars(TAGS[RETURN]) if RETURN in present else []):
        rows[event.step, 0, index] = {"step": event.step, RETURN: fmt(event.value)}
    for col in (col for col in present if col != RETURN):
        for event in acc.Scalars(TAGS[col]):
            rows.setdefault((event.step, 1, 0), {"step": event.step})[col] = fmt(event.value)
    return ["step", *present], [rows[key] for key in sorted(rows)]


def evaluation(run_dir: Path, acc) -> dict:
    """eval_mean and eval_std of the run's deterministic evaluation (np.mean, np.std, as the script computes its
    printed mean), from the returns it printed: float64, exactly, where its eval/episodic_return events keep float32
    (they must agree). Written as repr, which reads back as the same float. {} for a run without an evaluation."""
    printed = EVAL_LINE.findall((run_dir / LOG).read_text(errors="replace")) if (run_dir / LOG).exists() else []
    logged = [event.value for event in acc.Scalars(EVAL_TAG)] if acc and EVAL_TAG in acc.Tags()["scalars"] else []
    if not printed and not logged:
        return {}
    if len(printed) != 1:
        raise Refused(f"{run_dir / LOG} has {len(printed)} evaluation lines; a run prints one")
    returns = ast.literal_eval(printed[0][0])
    if [np.float32(r) for r in returns] != [np.float32(v) for v in logged] or f"{np.mean(returns):.6f}" != printed[0][1]:
        raise Refused(f"{run_dir}: the evaluation printed in {LOG} is not the one in its {EVAL_TAG} events")
    return {"eval_mean": repr(float(np.mean(returns))), "eval_std": repr(float(np.std(returns)))}


def checkpoint(run_dir: Path, results: Path, key: tuple[str, str, str]) -> Optional[tuple[Path, Path]]:
    """(the finished run's checkpoint, where the results keep it), None for a run launched without --save-model."""
    if "--save-model" not in read_json(run_dir / META)["args"]:
        return None
    found = checkpoints(run_dir)
    if not found:
        raise Refused(f"{run_dir} finished with --save-model but holds no checkpoint ({TB}/*/{CHECKPOINT})")
    env, config, seed = key
    committed = results / "checkpoints" / env / config / f"seed{seed}.pt"
    if committed.exists() and not filecmp.cmp(found[0], committed, shallow=False):
        raise Refused(f"{found[0]} differs from the committed {committed}; a committed checkpoint is never overwritten")
    return found[0], committed


def extract(runs_dir: Path, results: Path) -> tuple[int, int]:
    """Write the CSV, the runs.csv row and the checkpoint of every finished run under runs_dir, and the CSV and row
    of every run that stopped early with its script's own error (it saved no checkpoint: the script saves none
    after such an error); return the two counts. Other failed runs are named and left alone. Every run is read
    before anything is written: a run refused (see Refused) stops the report with one line, having written nothing."""
    manifest = {(r["env"], r["config"], r["seed"]): r for r in read_csv(results / "runs.csv")}
    for row in manifest.values():
        row.setdefault("status", FINISHED)  # runs.csv from before the column: finished runs only
    extracted, refused = [], []  # (marker, key, csv columns and rows, runs.csv row, checkpoint); reasons
    for marker_path in sorted([*runs_dir.glob(f"*/*/seed*/{DONE}"), *runs_dir.glob(f"*/*/seed*/{FAILED}")]):
        run_dir, marker = marker_path.parent, read_json(marker_path)
        key = env, config, seed = run_dir.parts[-3], run_dir.parts[-2], run_dir.name.removeprefix("seed")
        if marker_path.name == FAILED and not stopped_early(run_dir, marker):
            print(f"not extracted: {env}/{config}/seed{seed} failed ({marker.get('error')}); the runner retries it")
            continue
        try:
            acc = read_events(run_dir)
            finished = marker_path.name == DONE
            evaluated, saved = (evaluation(run_dir, acc), checkpoint(run_dir, results, key)) if finished else ({}, None)
        except Refused as e:
            refused.append(str(e))
            continue
        meta = read_json(run_dir / META)
        args = meta["args"]
        row = {
            **{"env": env, "config": config, "seed": seed, "wall_time_s": marker["wall_time_s"]},
            **{"total_timesteps": args[args.index("--total-timesteps") + 1], "host": meta["host"]},
            "cpu": meta.get("cpu", {}).get("kind", ""),  # never guessed: the floats depend on it
            "status": FINISHED if finished else marker["error"],
            **{"git_commit": meta["git_commit"], "git_dirty": meta["git_dirty"], **meta["versions"], **evaluated},
        }
        extracted.append((marker_path.name, key, csv_rows(acc), row, saved))
    if refused:
        fail("benchmark.report", refused[0] + (f" (and {len(refused) - 1} more runs refused)" if len(refused) > 1 else ""))
    for _, (env, config, seed), (columns, rows), row, saved in extracted:
        write_csv(results / "csv" / env / config / f"seed{seed}.csv", columns, rows)
        manifest[env, config, seed] = row
        if saved and not saved[1].exists():
            saved[1].parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(*saved)
    if manifest:
        write_csv(results / "runs.csv", MANIFEST, [manifest[k] for k in sorted(manifest, key=run_key)])
    return sum(marker == DONE for marker, *_ in extracted), sum(marker == FAILED for marker, *_ in extracted)
