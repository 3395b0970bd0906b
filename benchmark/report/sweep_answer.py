"""The β sweep's answer in the top-level README: a line per env, each family's best beside PPO-Clip."""

from benchmark.configs import FIXED_BETA, SWEEP
from benchmark.report.sweep import EDGE, FAMILIES, FINAL_SEEDS, SYMBOL, edge_note, edge_selection, edge_shape, selection
from benchmark.report.tables import row_iqm


def versus_clip(row: dict, clip: dict) -> str:
    """Where a score row's 95% CI lies against PPO-Clip's."""
    if float(row["iqm_hi"]) < float(clip["iqm_lo"]):
        return "below the clip's CI"
    if float(row["iqm_lo"]) > float(clip["iqm_hi"]):
        return "above the clip's CI"
    return "overlapping the clip's CI"


def readme_answer(scores: list[dict], runs: dict, link: str) -> str:
    """The top README's answer, a line per env: each family's best (chosen on seeds 0-2) beside PPO-Clip, IQM
    [95% CI] and seeds, with where its CI lies against the clip's; empty while nothing is selected."""
    envs = sorted({env for env, config, _ in runs if config in SWEEP})
    chosen = selection(runs, envs)
    row = {(r["env"], r["config"]): r for r in scores}
    sentences = []
    for env in envs:
        clip = row.get((env, "ppo_clip"))
        if clip is None or not any((env, family) in chosen for family in FAMILIES):
            continue
        parts = []
        for family in FAMILIES:
            if (env, family) not in chosen:
                parts.append(f"{family} {SYMBOL[family]} not selected yet")
                continue
            config = chosen[env, family][0]
            r = row[env, config]
            seeds = f"{r['n']} seeds" + (" so far" if int(r["n"]) < FINAL_SEEDS else "")
            parts.append(
                f"best {family} {SYMBOL[family]} = {FAMILIES[family][config]:g}{edge_note(family, config)}:"
                f" {row_iqm(r)} ({seeds}), {versus_clip(r, clip)}"
            )
        if (extended := edge_selection(runs, env)) is not None:  # beside the answer, never in its place
            r = row[env, extended[0]]
            seeds = f"{r['n']} seeds" + (" so far" if int(r["n"]) < FINAL_SEEDS else "")
            parts.append(
                f"extended grid (β ∈ {{{', '.join(f'{v:g}' for v in EDGE.values())}}}, added after the first): best fixed"
                f" β = {EDGE[extended[0]]:g}: {row_iqm(r)} ({seeds}), {versus_clip(r, clip)}; {edge_shape(extended[0])}"
            )
        sentences.append(
            f"- {env}: PPO-Clip {row_iqm(clip)}"
            f" ({clip['n']} seeds); " + "; ".join(parts) + "."
        )
    if not sentences:
        return ""
    return "\n".join([
        f"**The β sweep** ([the rule and every value]({link})): `ppo_kl.py` with fixed β and adaptive d_targ over"
        f" {len(FIXED_BETA)} values each; each family's best is chosen on seeds 0-2 by a rule fixed before the runs."
        " IQM [95% CI]:",
        "",
        *sentences,
    ])
