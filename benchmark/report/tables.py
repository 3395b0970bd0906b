"""The report's Markdown tables, shared by the results README and the top README's generated block: scores
(mean ± std, IQM with its CI; the three clip forms as one row where they are identical), normalized aggregates,
the zoo's gate fractions, and the identity of the clip forms with the CPU kind of each run.
"""

from collections import defaultdict

import numpy as np

from benchmark.common import markdown_table
from benchmark.configs import label
from benchmark.report.stats import IDENTICAL, SCORE_COLUMNS, Aggregate


def pm(mean: float, std: float) -> str:
    return f"{mean:.1f} ± {std:.1f}" if not np.isnan(std) else f"{mean:.1f}"


def with_ci(value: float, lo: float, hi: float, digits: int = 1) -> str:
    return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def row_iqm(row: dict) -> str:
    """A score row's (as in scores.csv) IQM with its 95% CI, as the score tables render it."""
    return with_ci(float(row["iqm"]), float(row["iqm_lo"]), float(row["iqm_hi"]))


def merge_identical(rows: list[dict], identity: list[dict]) -> list[dict]:
    """Score rows (as in scores.csv) with an env's rows of the three clip forms as one, in PPO-Clip's place, where
    the three rows' scores are equal and the identity table finds every same-seed run of theirs bitwise identical;
    elsewhere the rows as they are."""
    merged = []
    for env in dict.fromkeys(r["env"] for r in rows):
        here = [r for r in rows if r["env"] == env]
        forms = [r for r in here if r["config"] in IDENTICAL]
        compared = [r for r in identity if r["env"] == env]
        equal = len({tuple(str(r[col]) for col in SCORE_COLUMNS[2:]) for r in forms}) == 1
        bitwise = all(r[c] == "identical" for r in compared for c in IDENTICAL[1:])
        if len(forms) == len(IDENTICAL) and equal and compared and bitwise:
            name = ", ".join(label(c) for c in IDENTICAL) + f" (×{len(IDENTICAL)}, bitwise identical)"
            here = [{**r, "label": name} if r["config"] == IDENTICAL[0] else r for r in here if r not in forms[1:]]
        merged += here
    return merged


def score_markdown(rows: list[dict]) -> str:
    """Score table rows (as in scores.csv; a row's "label" names its config) as markdown; a column of the runs that stopped early where there are
    some, and "—" for the scores of a cell without a scored run."""
    stops = any(int(r.get("stopped") or 0) for r in rows)

    def cells(r):
        if not int(r["n"]):
            return ["—", "—"]
        return [pm(float(r["mean"]), float(r["std"])), row_iqm(r)]

    return markdown_table(
        ["env", "config", "n", *["stopped early"] * stops, "mean ± std", "IQM [95% CI]"],
        [[r["env"], r.get("label") or label(r["config"]), r["n"], *[r.get("stopped") or 0] * stops, *cells(r)] for r in rows],
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


GATE_FRACTIONS = {
    "kill_frac": "kill set",
    "reversed_frac": "reversed (G > 1)",
    "amplified_frac": "amplified (G < 0)",
    "gate_mean": "mean G",
}


def fractions_markdown(runs: dict, envs: list[str], configs: list[str]) -> str:
    """Per env × config: each gate fraction's (and mean G's) mean over a run's updates, averaged over seeds
    (min–max over seeds), in percent; the approximate KL's median over a run's updates, median over seeds
    (min–max); "—" where the config's CSVs lack the column."""
    cells = defaultdict(list)  # (env, config) → each seed's {column: mean over updates}
    kls = defaultdict(list)  # (env, config) → each seed's median approx KL over updates
    for (env, config, _), series in runs.items():
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
             kl(kls[env, config])] for env in envs for config in configs if (env, config) in cells]
    header = ["env", "config", "n", *(f"{name} %" for name in GATE_FRACTIONS.values()), "approx KL, median"]
    return markdown_table(header, rows)


def identity_markdown(rows: list[dict]) -> str:
    """Identity rows (as in identity.csv) as markdown: each form against ppo_clip, marked where the two runs ran on
    different CPU kinds, and the CPU kind of the runs compared (one where they share it, else each run's)."""

    def cpu(r):
        kinds = {c: r[f"cpu_{c}"] for c in IDENTICAL if r[f"cpu_{c}"]}
        return kinds[IDENTICAL[0]] if len(set(kinds.values())) == 1 else "; ".join(f"{c}: {k}" for c, k in kinds.items())

    def cell(r, form):
        return r[form] + (" (different CPU kinds)" if form in r["cpu_differs"].split() else "")

    return markdown_table(
        ["env", "seed", "episodes", *IDENTICAL[1:], "CPU kind"],
        [[r["env"], r["seed"], r["episodes"], *(cell(r, form) for form in IDENTICAL[1:]), cpu(r)] for r in rows],
    )
