"""The results README's section on the β sweep: the rule, then per env the selection's scores (a table per env)
and each family's best beside PPO-Clip (its score table and its figure, sweep_figure.py)."""

import numpy as np

from benchmark.common import markdown_table
from benchmark.configs import ADAPTIVE_TARGET, FIXED_BETA
from benchmark.report.summary import Section, Summary
from benchmark.report.sweep import (
    EDGE, FAMILIES, FINAL_SEEDS, MAIN_VALUE, SELECT_SEEDS, SYMBOL, WORST, edge_note, edge_selection, edge_shape, selection,
    sweep_envs,
)
from benchmark.report.tables import score_markdown


def fmt_score(x: float) -> str:
    return "stopped" if x == WORST else f"{x:.1f}"


def selection_markdown(env: str, chosen: dict) -> str:
    """Per family and value on env: the three selection scores, their mean, and which is best."""
    rows = []
    for family, values in FAMILIES.items():
        if (env, family) not in chosen:
            continue
        winner, scores = chosen[env, family]
        for config, value in values.items():
            mark = " **best**" if config == winner else ""
            main = " (main grid)" if config == MAIN_VALUE[family] else ""
            mark += edge_note(family, config) if mark else ""
            cells = [*map(fmt_score, scores[config]), fmt_score(float(np.mean(scores[config]))) + mark]
            rows.append([family, f"{SYMBOL[family]} = {value:g}{main}", *cells])
    return markdown_table(["family", "value", *(f"seed {s}" for s in SELECT_SEEDS), "mean"], rows)


def extended_markdown(env: str, extended: tuple[str, dict], table: list[dict]) -> list[str]:
    """Past the grid's edge on env: the seeds 0-2 scores of fixed β ∈ {10, 30, 100}, the extended best, what it says
    of the fixed family, and its row over all its seeds beside the pre-registered answer."""
    best, scores = extended
    rows = [[f"β = {value:g}" + ("" if config == "ppo_kl_fixed_10" else " (added)"), *map(fmt_score, scores[config]),
             fmt_score(float(np.mean(scores[config]))) + (" **extended best**" if config == best else "")]
            for config, value in EDGE.items()]
    own = [row for row in table if (row["env"], row["config"]) == (env, best)]
    return [
        f"Past the grid's edge (phase `sweep_edge`, added after the first grid, its rule pre-registered in the suite"
        f" file): fixed β ∈ {{{', '.join(f'{v:g}' for v in EDGE.values())}}}, seeds 0-2; {edge_shape(best)}. The"
        " extended best stands beside the answer above, not in its place.",
        "",
        markdown_table(["fixed β", *(f"seed {s}" for s in SELECT_SEEDS), "mean"], rows),
        "",
        *([score_markdown(own), ""] if own and best != "ppo_kl_fixed_10" else []),
    ]


def final_rows(table: list[dict], env: str, chosen: dict) -> list[dict]:
    """The score-table rows of PPO-Clip and each family's best on env (all their seeds)."""
    configs = ["ppo_clip", *(chosen[env, family][0] for family in FAMILIES if (env, family) in chosen)]
    return [row for config in configs for row in table if (row["env"], row["config"]) == (env, config)]


def sweep_section(sec: Section, s: Summary) -> list[str]:
    """The rule, then per env the selection table, and each family's best beside PPO-Clip."""
    envs = sweep_envs(s)
    chosen = selection(s.runs, envs)
    text = [
        "## Is there a scalar β that does what the clip does? The β sweep",
        "",
        "PPO-KL (`ppo_kl.py`) with fixed β ∈ {" + ", ".join(f"{v:g}" for v in FIXED_BETA.values()) + "} and adaptive"
        " d_targ ∈ {" + ", ".join(f"{v:g}" for v in ADAPTIVE_TARGET.values()) + "}, seeds 0-2, on " + ", ".join(envs)
        + "; β = 1 and d_targ = 0.01 are the main grid's runs. The rule, pre-registered in the suite file before the"
        " first run:",
        "",
        "- per env and family, **best** is the value with the highest mean score over seeds 0-2; a run that stopped"
        " early counts as the worst score; a tie goes to the value nearer the main grid's (log scale);",
        "- a best value other than the main grid's runs seeds 3-4 too (phase `sweep_best`);",
        "- the comparison is each family's best against PPO-Clip, 5 seeds each, IQM with 95% CIs;",
        "- selecting on seeds 0-2 and reusing them favours the scalar: the bias runs against the claim that a"
        " per-sample β_t does better than any scalar, not for it.",
        "",
    ]
    for env in envs:
        text += [f"### The β sweep on {env}", ""]
        made = [family for family in FAMILIES if (env, family) in chosen]
        for family in FAMILIES:
            if family not in made:
                n = sum((env, c, seed) in s.runs for c in FAMILIES[family] for seed in SELECT_SEEDS)
                text.append(f"{family} {SYMBOL[family]}: not selected yet, {n} of its {3 * len(FAMILIES[family])} runs"
                            " (seeds 0-2) are in.")
        if len(made) < len(FAMILIES):
            text.append("")
        if made:
            rows = final_rows(s.table, env, chosen)
            seeds = (f"its {FINAL_SEEDS} seeds" if all(int(r["n"]) == FINAL_SEEDS for r in rows)
                     else f"its seeds in so far ({FINAL_SEEDS} once phase `sweep_best` has run)")
            text += [
                selection_markdown(env, chosen),
                "",
                f"Each family's best beside PPO-Clip, over {seeds}:",
                "",
                score_markdown(rows),
                "",
                f"![The β sweep on {env}](sweep_{env}.png)",
                "",
            ]
        if (extended := edge_selection(s.runs, env)) is not None:
            text += extended_markdown(env, extended, s.table)
    return text
