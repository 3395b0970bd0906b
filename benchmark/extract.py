"""The report's first step: the runner's TensorBoard files → one CSV per run, and runs.csv.

`csv/{env}/{config}/seed{N}.csv` has a row per finished episode (step, episodic_return) and a row per update
(step and the diagnostics of TAGS the script logged). Values are float32 as logged, written exactly; a column
only where its tag was logged. A CSV extracted before its column joined TAGS lacks it, even where its run logged
the tag (the main grid's approx_kl and entropy, the β_t slice's gate_mean).

runs.csv has a row per run: its provenance (commit, host, CPU kind, package versions) and its status:
"finished", or the one-line error (`SCRIPT.py: error: ...`, e.g. a non-finite loss) of a run that stopped early.
Such a run is extracted too, up to where it stopped: it counts as present, has no score, and the runner does not
run it again. Any other failure (a crash, a kill) is left for the runner to retry.
"""

from pathlib import Path

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from benchmark.common import FINISHED, fail, read_csv, write_csv
from benchmark.configs import run_key
from benchmark.job import DONE, FAILED, META, PACKAGES, TB, read_json

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
MANIFEST += ["cpu", "python", *PACKAGES]  # cpu: meta.json's CPU kind; empty for a run whose meta.json has none


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
            "cpu": meta.get("cpu", {}).get("kind", ""),  # never guessed: the floats depend on it
            "status": FINISHED if marker_path.name == DONE else marker["error"],
            **{"git_commit": meta["git_commit"], "git_dirty": meta["git_dirty"], **meta["versions"]},
        }
        counts[marker_path.name] += 1
    if manifest:
        write_csv(results / "runs.csv", MANIFEST, [manifest[k] for k in sorted(manifest, key=run_key)])
    return counts[DONE], counts[FAILED]
