"""The scalar-β sweep's selection: per env and family, the best value, and the values phase sweep_best runs.

The selection rule is pre-registered in benchmark/suites/mujoco.toml (phase sweep): per env and per family
(fixed β, adaptive d_targ), the value with the highest mean score over seeds 0-2 is "best"; a run that stopped
early scores -inf there; a tie goes to the value nearer the main grid's (in log10), then to the smaller value.
A best value other than the main grid's runs seeds 3-4 too (phase sweep_best). The final comparison is each
family's best against PPO-Clip, 5 seeds each. Past the grid's edge (phase sweep_edge), fixed β ∈ {10, 30, 100} on
Humanoid: its extended best runs seeds 3-4 (phase sweep_edge_best) and is shown beside the answer, never in its place.
"""

import math

import numpy as np

from benchmark.common import stopped
from benchmark.configs import ADAPTIVE_TARGET, FIXED_BETA, FIXED_BETA_EDGE, SWEEP
from benchmark.report.stats import score
from benchmark.report.summary import Summary

FAMILIES = {"fixed": FIXED_BETA, "adaptive": ADAPTIVE_TARGET}  # family → {config: its β or d_targ}
MAIN_VALUE = {"fixed": "ppo_kl_fixed", "adaptive": "ppo_kl_adaptive"}  # the main grid's config of each family
SYMBOL = {"fixed": "β", "adaptive": "d_targ"}
SELECT_SEEDS = ("0", "1", "2")
FINAL_SEEDS = 5  # the comparison: seeds 0-4 (the main grid's, or the sweep's 0-2 and sweep_best's 3-4)
WORST = -math.inf  # a run that stopped early, in the selection


def selection_scores(runs: dict, env: str, family: str) -> dict | None:
    """{config: [its seeds 0-2 scores]} of the family on env, a stopped run (or one without a score) as WORST;
    None while any of these runs is missing."""
    out = {}
    for config in FAMILIES[family]:
        if any((env, config, seed) not in runs for seed in SELECT_SEEDS):
            return None
        series = [runs[env, config, seed] for seed in SELECT_SEEDS]
        scores = [WORST if stopped(s) else score(s) for s in series]
        out[config] = [WORST if math.isnan(x) else x for x in scores]
    return out


def best(scores: dict, family: str) -> str:
    """The config with the highest mean; a tie → nearer the main grid's value in log10, then the smaller value."""
    values, main = FAMILIES[family], FAMILIES[family][MAIN_VALUE[family]]

    def key(config):
        return float(np.mean(scores[config])), -abs(math.log10(values[config] / main)), -values[config]

    return max(scores, key=key)


def selection(runs: dict, envs: list[str]) -> dict:
    """{(env, family): (best config, its selection scores)} for every env and family whose seeds 0-2 are all in."""
    out = {}
    for env in envs:
        for family in FAMILIES:
            if (scores := selection_scores(runs, env, family)) is not None:
                out[env, family] = best(scores, family), scores
    return out


def to_confirm(runs: dict, env: str) -> list[str]:
    """The configs that phase sweep_best runs on env (seeds 3-4): each family's best, where it is not the main
    grid's value (whose seeds 3-4 are committed); none while the env's seeds 0-2 are not all in."""
    chosen = selection(runs, [env])
    return [config for (_, family), (config, _) in chosen.items() if config != MAIN_VALUE[family]]


# Past the grid's edge (phase sweep_edge, its rule pre-registered in the suite file): fixed β = 10, Humanoid's best,
# was the largest value swept; 30 and 100 were added after the grid. The extended best never replaces the answer.
EDGE = {"ppo_kl_fixed_10": FIXED_BETA["ppo_kl_fixed_10"], **FIXED_BETA_EDGE}


def edge_selection(runs: dict, env: str) -> tuple[str, dict] | None:
    """(the extended best among fixed β ∈ {10, 30, 100}, {config: its seeds 0-2 scores}): the highest mean over
    seeds 0-2, a stopped run as WORST, a tie to the smaller β; None while any of these runs is missing."""
    if any((env, config, seed) not in runs for config in EDGE for seed in SELECT_SEEDS):
        return None
    scores = {}
    for config in EDGE:
        series = [runs[env, config, seed] for seed in SELECT_SEEDS]
        scores[config] = [WORST if stopped(x) or math.isnan(score(x)) else score(x) for x in series]
    return max(EDGE, key=lambda c: (float(np.mean(scores[c])), -EDGE[c])), scores


def edge_shape(best: str) -> str:
    """What the extended grid says of the fixed family, by the pre-registered rule."""
    if best == max(EDGE, key=EDGE.get):
        return f"the score still rises at β = {EDGE[best]:g}, where the extended grid stops"
    return f"the fixed family is bracketed: its score peaks at β = {EDGE[best]:g}"


def edge_to_confirm(runs: dict, env: str) -> list[str]:
    """The config that phase sweep_edge_best runs on env (seeds 3-4): the extended best, where it is not β = 10
    (whose seeds 3-4 are committed); none while its seeds 0-2 are not all in."""
    chosen = edge_selection(runs, env)
    return [chosen[0]] if chosen and chosen[0] != "ppo_kl_fixed_10" else []


def edge_note(family: str, config: str) -> str:
    """Where a family's best is the grid's smallest or largest value: the optimum may lie beyond the grid."""
    values = FAMILIES[family]
    side = {min(values.values()): "smallest", max(values.values()): "largest"}.get(values[config])
    return f", the {side} value swept" if side else ""


def sweep_envs(s: Summary) -> list[str]:
    """The envs with planned runs of the sweep: those its section and figure cover."""
    return sorted({env for env, config, _ in s.planned if config in SWEEP})
