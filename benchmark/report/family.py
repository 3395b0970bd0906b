"""The β_t family beside PPO-Clip and the best scalar β: per env, every shape's IQM [95% CI] and its verdict by the
rule pre-registered in benchmark/suites/mujoco.toml (phase family), the figure, the aggregate over Ant-v4 and
Humanoid-v4, and the top README's line.

A verdict is given once all of a shape's planned seeds on the env are in (or at once, if one of them stopped):
    stops            any of its seeds stopped early
    above the clip   its CI lies wholly above PPO-Clip's
    with the clip    its CI overlaps PPO-Clip's
    between          its CI lies wholly below PPO-Clip's and wholly above the best scalar's
    with the scalar  otherwise: its CI overlaps the best scalar's, or lies below it
The best scalar, per env: where the β sweep ran (Ant, Humanoid), the better by IQM of its two selected values
(best fixed β, best adaptive d_targ, 5 seeds each); elsewhere the better of the main grid's two, not tuned.
"""

import numpy as np

from benchmark.common import markdown_table, stopped
from benchmark.configs import BETA_MORE, BETA_SLICE, ZOO, label
from benchmark.report.plots import plt
from benchmark.report.stats import Aggregate, aggregate
from benchmark.report.summary import Summary
from benchmark.report.sweep import FINAL_SEEDS, selection
from benchmark.report.tables import aggregate_markdown, row_iqm

SHAPES = [*BETA_SLICE, *BETA_MORE, *ZOO]  # every gate config run beside the clip
HARD = ["Ant-v4", "Humanoid-v4"]  # where one scalar β collapses: the family phase's envs
VERDICTS = ["above the clip", "with the clip", "between", "with the scalar", "stops"]
UNTUNED = ["ppo_kl_fixed", "ppo_kl_adaptive"]  # the main grid's scalars
TUNED = {"fixed": "best fixed β (tuned)", "adaptive": "best adaptive d_targ (tuned)"}


def rows_by_cell(s: Summary) -> dict:
    return {(row["env"], row["config"]): row for row in s.table}


def best_scalar(s: Summary, env: str) -> tuple[dict, bool] | None:
    """(the best scalar's score row on env, whether it is tuned), or None where neither kind has its 5 seeds."""
    rows = rows_by_cell(s)
    tuned = [rows.get((env, config)) for (_, _), (config, _) in selection(s.runs, [env]).items()]
    tuned = [r for r in tuned if r is not None and int(r["n"]) == FINAL_SEEDS]
    untuned = [rows[env, c] for c in UNTUNED if (env, c) in rows and int(rows[env, c]["n"])]
    for candidates, is_tuned in ((tuned, True), (untuned, False)):
        if candidates:
            return max(candidates, key=lambda r: float(r["iqm"])), is_tuned
    return None


def planned_seeds(s: Summary, env: str, config: str) -> int:
    return sum(1 for e, c, _ in s.planned if (e, c) == (env, config))


def verdict(row: dict, clip: dict, scalar: dict | None, planned: int) -> str:
    """The pre-registered verdict of a shape's score row, or how many seeds it still waits for."""
    if int(row["stopped"]):
        return "stops"
    if int(row["n"]) < planned:
        return f"pending ({row['n']} of {planned} seeds)"
    lo, hi = float(row["iqm_lo"]), float(row["iqm_hi"])
    if lo > float(clip["iqm_hi"]):
        return "above the clip"
    if hi >= float(clip["iqm_lo"]):
        return "with the clip"
    if scalar is not None and lo > float(scalar["iqm_hi"]):
        return "between"
    return "with the scalar"


def family_envs(s: Summary) -> list[str]:
    """The envs with a run of some shape, the hard ones first."""
    envs = {env for env, config, _ in s.runs if config in SHAPES}
    return [env for env in HARD if env in envs] + sorted(envs - set(HARD))


def verdicts(s: Summary, env: str) -> dict[str, str]:
    """{shape: its verdict (or pending)} on env, for the shapes with runs there; {} without PPO-Clip's row."""
    rows = rows_by_cell(s)
    clip, scalar = rows.get((env, "ppo_clip")), best_scalar(s, env)
    if clip is None:
        return {}
    return {c: verdict(rows[env, c], clip, scalar and scalar[0], planned_seeds(s, env, c)) for c in SHAPES if (env, c) in rows}


def scalar_label(scalar: tuple[dict, bool]) -> str:
    return f"{label(scalar[0]['config'])}" + ("" if scalar[1] else ", not tuned")


def env_markdown(s: Summary, env: str) -> list[str]:
    rows = rows_by_cell(s)
    clip, scalar, judged = rows[env, "ppo_clip"], best_scalar(s, env), verdicts(s, env)
    order = sorted(judged, key=lambda c: -float(rows[env, c]["iqm"]) if int(rows[env, c]["n"]) else np.inf)
    table = [[label(c), rows[env, c]["n"], rows[env, c]["stopped"], row_iqm(rows[env, c]) if int(rows[env, c]["n"]) else "—",
              judged[c]] for c in order]
    head = f"**{env}**: PPO-Clip {row_iqm(clip)} ({clip['n']} seeds)"
    if scalar is not None:
        head += f"; best scalar, {scalar_label(scalar)}: {row_iqm(scalar[0])} ({scalar[0]['n']} seeds)"
    return [head + ".", "", markdown_table(["shape", "n", "stopped early", "IQM [95% CI]", "verdict"], table), ""]


def progress(s: Summary, envs: list[str]) -> str:
    """How many of the planned family runs on envs are in: "k of n"."""
    planned = [key for key in s.planned if key[0] in envs and key[1] in SHAPES]
    return f"{sum(key in s.runs for key in planned)} of {len(planned)}"


def family_aggregate(s: Summary, envs: list[str]) -> Aggregate | None:
    """Over envs, once every planned family run there is in: the shapes without a stopped run there, PPO-Clip, and the
    tuned scalars (each env's best fixed β, and best adaptive d_targ, as one row each; only where every env has one)."""
    planned = {key for key in s.planned if key[0] in envs and key[1] in SHAPES}
    if not planned or not planned <= s.runs.keys():
        return None
    stops = {c for (e, c, _), series in s.runs.items() if e in envs and c in SHAPES and stopped(series)}
    runs = dict(s.runs)
    table = [row for row in s.table if row["env"] in envs]
    for (env, family), (config, _) in selection(s.runs, envs).items():  # a tuned row: each env's own best value
        runs.update({(env, TUNED[family], seed): series for (e, c, seed), series in s.runs.items() if (e, c) == (env, config)})
        table += [{**row, "config": TUNED[family]} for row in s.table if (row["env"], row["config"]) == (env, config)]
    configs = ["ppo_clip", *(c for c in SHAPES if c not in stops), *TUNED.values()]
    return aggregate(runs, table, s.reps, configs, envs)


def aggregate_text(s: Summary, envs: list[str]) -> list[str]:
    """The aggregate over envs, or how many of their planned family runs are in."""
    name = ", ".join(envs[:-1]) + " and " + envs[-1]
    agg = family_aggregate(s, envs)
    if agg is None:
        return [f"The aggregate over {name} waits for all their planned family runs ({progress(s, envs)} in).", ""]
    tuned = " and the tuned scalars (each env's own best value)" if set(TUNED.values()) & agg.matrices.keys() else ""
    return [
        f"Over {name}, scores divided by PPO-Clip's mean score on the same env; the shapes with no stopped run there,"
        f" PPO-Clip{tuned}. IQM and mean with 95% stratified-bootstrap CIs (rliable).",
        "",
        aggregate_markdown(agg),
        "",
    ]


def section(s: Summary) -> list[str]:
    """The results README's family section; none while no shape is planned or run."""
    if not any(config in SHAPES for _, config, _ in s.planned | s.runs.keys()):
        return []
    text = [
        "## The β_t family: which shape keeps the clip's edge",
        "",
        "Every gate config (`ppo_beta_shapes.py`: the β_t knob and the zoo) beside PPO-Clip and the best scalar β,"
        " with the verdicts pre-registered in the suite file (phase family): **above the clip** (CI wholly above"
        " PPO-Clip's), **with the clip** (CIs overlap), **between** (wholly below the clip's, wholly above the best"
        " scalar's), **with the scalar** (overlapping or below the best scalar's), **stops** (a seed stopped early)."
        " The best scalar is the better by IQM of the β sweep's two selected values where the sweep ran (Ant-v4,"
        " Humanoid-v4), elsewhere of the main grid's two, not tuned. Scores as above; shapes sorted by IQM.",
        "",
    ]
    envs = family_envs(s)
    if not envs:
        return text + ["No runs yet (`python -m benchmark.run --phase family`).", ""]
    for env in envs:
        if (env, "ppo_clip") in rows_by_cell(s):
            text += env_markdown(s, env)
    text += ["![Each shape's IQM and 95% CI per env, beside PPO-Clip's CI and the best scalar's](family.png)", ""]
    every = planned_envs(s)
    return text + aggregate_text(s, HARD) + (aggregate_text(s, every) if set(every) > set(HARD) else [])


def grid(n: int) -> tuple[int, int]:
    """(rows, columns) of n panels: at most 3 a row, the rows as even as they can be (4: 2 × 2, 5: 2 × 3)."""
    nrows = -(-n // 3)
    return nrows, -(-n // nrows)


def draw(results, s: Summary) -> list:
    """family.png: a panel per env, at most 3 a row; each shape's IQM (point) and 95% CI (bar), best at the top; a shape with a
    stopped seed in red, one with every seed stopped as a red x at 0; PPO-Clip's CI as a band, the best scalar's IQM
    as a dashed line and its CI as a lighter band. (Shown in the section, so none for the Plots list.)"""
    envs = [env for env in family_envs(s) if (env, "ppo_clip") in rows_by_cell(s)]
    if not envs:
        return []
    rows = rows_by_cell(s)
    nrows, ncols = grid(len(envs))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 5.0 * nrows), squeeze=False)
    for ax in axes.flat[len(envs):]:
        ax.axis("off")
    for ax, env in zip(axes.flat, envs):
        judged = verdicts(s, env)
        unscored = [c for c in judged if not int(rows[env, c]["n"])]
        scored = sorted((c for c in judged if int(rows[env, c]["n"])), key=lambda c: float(rows[env, c]["iqm"]))
        clip, scalar = rows[env, "ppo_clip"], best_scalar(s, env)
        ax.axvspan(float(clip["iqm_lo"]), float(clip["iqm_hi"]), color="C0", alpha=0.25, label="PPO-Clip, 95% CI")
        if scalar is not None:
            r = scalar[0]
            ax.axvspan(float(r["iqm_lo"]), float(r["iqm_hi"]), color="C3", alpha=0.08)
            ax.axvline(float(r["iqm"]), color="C3", ls="--", label=f"best scalar ({scalar_label(scalar)}), IQM and CI")
        labels = []
        for y, c in enumerate(unscored):
            ax.plot([0], [y], "x", color="C3")
            labels.append(f"{label(c)} (all stopped)")
        for y, c in enumerate(scored, start=len(unscored)):
            r, color = rows[env, c], "C3" if judged[c] == "stops" else "k"
            iqm, lo, hi = float(r["iqm"]), float(r["iqm_lo"]), float(r["iqm_hi"])
            ax.errorbar(iqm, y, xerr=[[iqm - lo], [hi - iqm]], fmt="o", color=color, ms=4, capsize=2)
            labels.append(label(c) + (f" ({r['stopped']} stopped)" if judged[c] == "stops" else ""))
        ax.set_yticks(range(len(labels)), labels, fontsize="small")
        for tick, c in zip(ax.get_yticklabels(), [*unscored, *scored]):
            tick.set_color("C3" if judged[c] == "stops" else "k")
        ax.set(title=env, xlabel="score: IQM with 95% CI")
        ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1, frameon=False)
    fig.tight_layout()
    fig.savefig(results / "family.png", dpi=110)
    plt.close(fig)
    return []


def readme_line(s: Summary, link: str) -> str:
    """The top README's line: per hard env, each verdict with the shapes that earned it; progress while pending."""
    parts = []
    for env in HARD:
        judged = verdicts(s, env)
        planned = [c for c in SHAPES if planned_seeds(s, env, c)]
        if not planned:
            continue
        if len(judged) < len(planned) or any(v.startswith("pending") for v in judged.values()):
            parts.append(f"{env}: {progress(s, [env])} runs in, verdicts when all are")
            continue
        by_verdict = {v: [label(c) for c in SHAPES if judged.get(c) == v] for v in VERDICTS}
        parts.append(f"{env}: " + "; ".join(f"{v}: {', '.join(cs)}" for v, cs in by_verdict.items() if cs))
    if not parts:
        return ""
    line = (f"**The β_t family** ([every shape, pre-registered verdicts]({link})), 5 seeds each against PPO-Clip and"
            " the best tuned scalar: " + ". ".join(parts) + ".")
    every = planned_envs(s)
    return line + (f" {across(s, every)}." if set(every) > set(HARD) else "")


def planned_envs(s: Summary) -> list[str]:
    """Every env with planned family runs, the easy ones first (the order of the aggregate over all of them)."""
    return sorted({env for env, config, _ in s.planned if config in SHAPES}, key=lambda e: (e in HARD, e))


def across(s: Summary, envs: list[str]) -> str:
    """Over envs (once all their planned family runs are in): the shapes whose IQM CI of normalized scores lies above,
    overlaps, or lies below PPO-Clip's, and those left out for a stopped run."""
    agg = family_aggregate(s, envs)
    where = f"Over all {len(envs)} tasks"
    if agg is None:
        return f"{where}: {progress(s, envs)} runs in, the comparison when all are"
    clip_lo, clip_hi = agg.interval["ppo_clip"][:, 0]
    groups = {"above": [], "overlapping": [], "below": [], "left out (a run stopped)": []}
    planned = {c for e, c, _ in s.planned if e in envs}
    for c in (c for c in SHAPES if c in planned):
        if c not in agg.matrices:
            groups["left out (a run stopped)"].append(label(c))
            continue
        lo, hi = agg.interval[c][:, 0]
        groups["above" if lo > clip_hi else "overlapping" if hi >= clip_lo else "below"].append(label(c))
    return (f"{where} (IQM of scores over PPO-Clip's mean per env; each shape's 95% CI against the clip's): "
            + "; ".join(f"{g}: {', '.join(cs)}" for g, cs in groups.items() if cs))
