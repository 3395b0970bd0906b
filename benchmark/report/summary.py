"""What the report says, computed before anything is written: the runs grouped into the main grid and the
slices beside PPO-Clip, each with its score rows and its aggregate, and the plan (the suite's phases) they are
counted against.
"""

from dataclasses import dataclass
from typing import Optional

from benchmark.common import stopped
from benchmark.configs import BETA_MORE, BETA_SLICE, BETA_T, CONFIGS, SWEEP, SWEEP_EDGE, ZOO, config_key
from benchmark.report.stats import Aggregate, aggregate, identity_table, run_cpus, score_table, script_versions

# The slices: groups of configs that are not the main grid's, each compared with PPO-Clip on its own envs (the
# results README renders those in results_readme.SECTIONS; beta_more, with the rest of the β_t family, in family.py).
# Every other config is the main grid's.
SLICES = {"beta": BETA_SLICE, "beta_more": BETA_MORE, "zoo": ZOO, "beta_step": BETA_T, "sweep": {**SWEEP, **SWEEP_EDGE}}


@dataclass
class Section:
    """Configs compared on the same envs: their score rows, their runs (for the figures), their aggregate."""

    configs: list[str]  # with runs, in CONFIGS order (PPO-Clip first)
    envs: list[str]  # the envs on which the section's own configs have runs
    rows: list[dict]  # their score table rows
    runs: dict
    agg: Aggregate
    waiting: dict[str, str]  # env with runs or planned runs but not in the aggregate → why not
    left_out: dict[str, str]  # config with runs that stopped early on the aggregate's envs → how many


def section(runs: dict, table: list[dict], reps: int, planned: set, own: list[str], beside=()) -> Section:
    """The configs of the group `own` (and `beside` them, on their envs) that have runs. The aggregate covers
    the envs whose planned runs of the group and of `beside` are all in: it never mixes in an env whose seeds
    or configs are still coming in. It leaves out a config with runs there that stopped early: scoring only
    the seeds that survived would flatter it."""
    scored = dict.fromkeys(row["config"] for row in table)
    configs = sorted((c for c in scored if c in own or c in beside), key=config_key)
    envs = list(dict.fromkeys(row["env"] for row in table if row["config"] in own))
    rows = [row for row in table if row["env"] in envs and row["config"] in configs]
    section_runs = {key: series for key, series in runs.items() if key[0] in envs and key[1] in configs}
    complete, waiting = [], {}
    coming = sorted({key[0] for key in planned if key[1] in own} - set(envs))  # planned, no runs yet
    for env in envs + coming:
        planned_here = {key for key in planned if key[0] == env and (key[1] in own or key[1] in beside)}
        if not planned_here:
            waiting[env] = "its runs are outside the plan"
        elif planned_here <= runs.keys():
            complete.append(env)
        else:
            waiting[env] = f"{len(planned_here & runs.keys())} of its {len(planned_here)} planned runs are in"
    left_out = {}
    for config in configs:
        there = [series for (e, c, _), series in runs.items() if c == config and e in complete]
        if n := sum(map(stopped, there)):
            left_out[config] = f"{n} of its {len(there)} runs there stopped early"
    agg = aggregate(runs, rows, reps, [c for c in configs if c not in left_out], complete)
    return Section(configs, envs, rows, section_runs, agg, waiting, left_out)


@dataclass
class Summary:
    """What the report says, computed from the CSVs and runs.csv; `write` renders it."""

    runs: dict  # {(env, config, seed): series}, as load_runs gives them
    table: list[dict]  # the score table: every env × config with a scored run
    main: Section  # the main grid
    slices: dict[str, Optional[Section]]  # SLICES' names → each beside PPO-Clip; None without runs or planned runs
    identity: list[dict]
    plan: dict[str, set]  # suite phase → its planned {(env, config, seed)}
    suite: str  # the suite file's name
    manifest: list[dict]  # runs.csv
    versions: dict[str, dict[str, list]]  # config → script blob → its runs' (env, config, seed)
    reps: int

    @property
    def planned(self) -> set:
        return set().union(*self.plan.values())

    @property
    def present(self) -> set:
        return self.planned & self.runs.keys()

    @property
    def stopped(self) -> list:
        """The runs that stopped early, in the runs' order."""
        return [key for key, series in self.runs.items() if stopped(series)]


def in_main_grid(config: str) -> bool:
    return not any(config in group for group in SLICES.values())


def compute(runs: dict, manifest: list[dict], plan: dict[str, set], suite: str, reps: int) -> Summary:
    table = score_table(runs, reps)
    planned = set().union(*plan.values())
    main_configs = [c for c in dict.fromkeys([*CONFIGS, *(config for _, config, _ in runs)]) if in_main_grid(c)]
    known = {config for _, config, _ in planned | runs.keys()}  # planned, or with runs

    def beside_clip(group):
        return section(runs, table, reps, planned, list(group), beside=["ppo_clip"]) if known & set(group) else None

    return Summary(
        runs=runs,
        table=table,
        main=section(runs, table, reps, planned, main_configs),
        slices={name: beside_clip(group) for name, group in SLICES.items()},
        identity=identity_table(runs, run_cpus(manifest)),
        plan=plan,
        suite=suite,
        manifest=manifest,
        versions=script_versions(manifest),
        reps=reps,
    )
