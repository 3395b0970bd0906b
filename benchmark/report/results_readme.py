"""The results README (benchmark/results/README.md), rendered from the report's Summary: the count of planned
runs and their provenance, the scores, the aggregates, the slices beside PPO-Clip (SECTIONS), the runs that
stopped early, the identity of the three clip forms, and the figures.
"""

from typing import Callable, NamedTuple, Optional

from benchmark.common import REPO, markdown_table
from benchmark.configs import BETA_SLICE, CONFIGS, ZOO, label, run_key
from benchmark.report import beta_t, family, sweep_figure, sweep_tables
from benchmark.report.stats import LAST_FRACTION
from benchmark.report.summary import Section, Summary
from benchmark.report.tables import aggregate_markdown, fractions_markdown, identity_markdown, merge_identical, score_markdown

# CleanRL ppo_continuous_action.py at 1M steps, 3 seeds, mean ± std of the episodic return
# (openrlbenchmark, tag pr-424). No Ant-v4 figure is published there.
REFERENCE_SOURCE = "https://docs.cleanrl.dev/rl-algorithms/ppo/#ppo_continuous_actionpy"
REFERENCE = {
    "HalfCheetah-v4": (1442.64, 46.03),
    "Walker2d-v4": (2287.95, 571.78),
    "Hopper-v4": (2382.86, 271.74),
    "Humanoid-v4": (716.11, 49.08),
}
REPLAY_GUARD = "tests/test_replay.py"  # replays the first updates of committed runs with the checkout's scripts


def aggregate_lines(sec: Section, whose: str) -> list[str]:
    """The aggregate's table, and which envs it covers: those whose planned runs are all in."""
    text = [
        "Scores divided by the PPO-Clip mean score on the same env (so PPO-Clip's mean is 1), over the envs whose"
        f" planned runs of {whose} are all in, with the seeds a config has on all of them:"
        f" {', '.join(sec.agg.envs) or 'none yet'}. IQM and mean with 95% stratified-bootstrap CIs (rliable).",
    ]
    if sec.waiting:
        text.append("**Not in the aggregate yet: " + ", ".join(f"{env} ({why})" for env, why in sec.waiting.items()) + ".**")
    if sec.left_out:
        text.append(
            "**Left out of the aggregate, for runs that stopped early (their surviving seeds alone would flatter"
            " them): " + ", ".join(f"{label(c)} ({why})" for c, why in sec.left_out.items()) + ".**"
        )
    return text + [""] + ([aggregate_markdown(sec.agg), ""] if sec.agg.matrices else [])


def zoo_section(zoo: Section, s: Summary) -> list[str]:
    """The results README's section on the zoo: published clip variants as gates of β_t."""
    own = [c for c in ZOO if c in zoo.configs]
    text = [
        "## The zoo: published clip variants as gates of β_t",
        "",
        "`ppo_beta_shapes.py --beta-shape NAME` at each variant's published defaults (the script's); G_t is the"
        " variant's gate in β_t = −w·Â·G_t.",
        "",
    ]
    if not own:
        count = sum(key[1] in ZOO for key in s.planned)
        return text + [f"No runs yet ({count} planned: `python -m benchmark.run --phase zoo`).", ""]
    return text + [
        "Configs (" + ", ".join(f"`{c}`: {label(c)}" for c in own) + ") on " + ", ".join(zoo.envs)
        + ", beside the main grid's PPO-Clip runs on those envs. Scores as above.",
        "",
        score_markdown(zoo.rows),
        "",
        *aggregate_lines(zoo, "these configs"),
        "Fractions of each minibatch's samples on the kill set (Â > 0 and w > 1+ε, or Â < 0 and w < 1−ε, the"
        " clip's), with G > 1 (gradient reversed) and with G < 0 (gradient amplified), and mean G: each run's mean"
        " over its updates, averaged over seeds (min–max over seeds), in percent. Approx KL: `losses/approx_kl`, its"
        " median over a run's updates, then the median over seeds (min–max). \"—\": the runs' CSVs have no such"
        " column.",
        "",
        fractions_markdown(zoo.runs, zoo.envs, zoo.configs),
        "",
    ]


def beta_section(beta: Section, s: Summary) -> list[str]:
    """The results README's section on the β_t slice."""
    text = ["## The β_t knob beside PPO-Clip", ""]
    if not beta.envs:
        return text + ["No runs yet (`python -m benchmark.run --phase beta`).", ""]
    return text + [
        "`ppo_beta_shapes.py` configs (" + ", ".join(f"`{c}`: {label(c)}" for c in beta.configs if c in BETA_SLICE)
        + ") on " + ", ".join(beta.envs) + ", beside the main grid's PPO-Clip runs on those envs. Scores as above.",
        "",
        score_markdown(beta.rows),
        "",
        *aggregate_lines(beta, "these configs"),
    ]


class Slice(NamedTuple):
    """How the results README shows a slice beside PPO-Clip: its section, and its figures (plots.draw_beside_clip):
    their title, the per-update columns drawn beside the returns, and what those show."""

    section: Callable[[Section, Summary], list[str]]
    title: str
    columns: list[tuple[str, str]] = []  # CSV column → its axis label
    columns_title: str = ""
    draw: Optional[Callable] = None  # (results, section, summary) → figures; default: plots.draw_beside_clip


# The slices' sections, in the README's order (summary.SLICES names them). A slice without an entry has none yet.
SECTIONS = {
    "beta": Slice(beta_section, "β_t knob", [("kill_frac", "kill-set fraction")], "kill-set fraction"),
    "zoo": Slice(
        zoo_section,
        "The zoo",
        [("kill_frac", "kill-set fraction"), ("reversed_frac", "reversed fraction (G > 1)"),
         ("amplified_frac", "amplified fraction (G < 0)"), ("gate_mean", "mean G")],
        "kill-set, reversed (G > 1) and amplified (G < 0) fractions and mean G",
    ),
    "sweep": Slice(sweep_tables.sweep_section, "The β sweep", draw=sweep_figure.draw_sweep),
    "beta_step": Slice(beta_t.beta_t_section, "The clip's β_t", draw=beta_t.draw_beta_t),
}


def versions_text(config: str, blobs: dict[str, list]) -> str:
    """A config's script and its blob(s); with several, each blob's runs by env."""
    text = f"{label(config)} `{CONFIGS[config].script if config in CONFIGS else '?'}` "
    if len(blobs) == 1:
        return text + next(iter(blobs))
    return text + " + ".join(
        f"{blob} ({len(keys)} run{'s' * (len(keys) > 1)}: {', '.join(dict.fromkeys(env for env, _, _ in keys))})"
        for blob, keys in blobs.items()
    )


def provenance_lines(s: Summary) -> list[str]:
    """The commits the runs were made at, and the script versions (blobs) per config."""
    commits = sorted({(r["git_commit"][:10], r["git_dirty"]) for r in s.manifest})
    if not commits:
        return []
    code = ", ".join(f"commit {commit}" + (" (dirty tree)" if dirty == "True" else "") for commit, dirty in commits)
    text = [
        f"Code: {code} (see `runs.csv`).",
        "Script versions (git blob of the config's script at its runs' commits; one id: all its runs ran the same"
        " code): " + ", ".join(versions_text(c, blobs) for c, blobs in s.versions.items()) + ".",
    ]
    if any(len(blobs) > 1 for blobs in s.versions.values()):
        if (REPO / REPLAY_GUARD).exists():
            text.append(
                "Some configs' runs come from several versions of their script. The project holds that these versions"
                f" compute the same floats; where that is checked: `{REPLAY_GUARD}` replays the first two updates of"
                " each config's committed Hopper-v4 seed-0 run (or its first env's, for a config not run on Hopper)"
                " with the checkout's scripts and compares every episode"
                " with the committed CSV. That checks the checkout's scripts against those runs' versions, not every"
                " version listed here against every other."
            )
        else:
            text.append("**Some configs mix versions of their script and no test here checks that they compute the same"
                        " floats: compare their runs with care.**")
    return text


def checkpoint_lines(s: Summary) -> list[str]:
    """Where the runs' checkpoints are, and their evaluation, once there are some."""
    evaluated = [r for r in s.manifest if r.get("eval_mean")]
    if not evaluated:
        return []
    return [
        f"Checkpoints: {len(evaluated)} runs (launched with `--save-model`) have their final model in"
        " `checkpoints/ENV/CONFIG/seedN.pt`, and `runs.csv` its deterministic evaluation after training (`eval_mean`,"
        " `eval_std`: np.mean and np.std of the episodes' returns; `python SCRIPT.py --eval-checkpoint PATH --seed N`"
        " evaluates it again)."
    ]


def plan_lines(s: Summary) -> list[str]:
    """How many planned runs are in, per suite phase, and which are missing where few are."""
    outside = s.runs.keys() - s.planned
    phases = ", ".join(f"{phase} {len(keys & s.runs.keys())} of {len(keys)}" for phase, keys in s.plan.items())
    text = [
        f"**{len(s.present)} of the {len(s.planned)} planned runs are present** ({s.suite}: {phases})"
        + (f"; {len(outside)} more runs outside the plan are included." if outside else "."),
    ]
    if s.stopped:
        text.append(f"{len(s.stopped)} of them stopped early with an error: no score (see \"Runs that stopped early\").")
    for phase, keys in s.plan.items():
        missing = sorted(keys - s.runs.keys(), key=run_key)
        if 0 < len(missing) <= 20:
            text.append(f"Missing ({phase}): " + ", ".join(f"{e}/{c}/seed{seed}" for e, c, seed in missing) + ".")
    return text


def stopped_lines(s: Summary) -> list[str]:
    """The runs that stopped early, each with its last logged step and its error."""
    if not s.stopped:
        return []
    rows = [[env, label(config), seed, f"{s.runs[env, config, seed]['last_step']:.0f}",
             s.runs[env, config, seed]["status"].split(": error: ", 1)[-1]] for env, config, seed in s.stopped]
    return [
        "## Runs that stopped early",
        "",
        "These runs stopped with their script's own error before their last step. Their CSVs end at their last"
        " logged update; they count as present, have no score, and the runner does not run them again.",
        "",
        markdown_table(["env", "config", "seed", "last logged step", "error"], rows),
        "",
    ]


def readme(s: Summary, figures: list[tuple[str, str]]) -> str:
    """The results README.md: counts and provenance, scores, aggregates, identity, figures."""
    text = [
        "# Benchmark results",
        "",
        "Made by `python -m benchmark.report` from the per-run CSVs in `csv/`; do not edit by hand.",
        "",
        *plan_lines(s),
        *provenance_lines(s),
        *checkpoint_lines(s),
        "",
        "## Scores",
        "",
        f"Score of a run: the mean raw episodic return of the episodes that ended in the last {LAST_FRACTION:.0%} of its"
        " training steps. Per env and config of the main grid: n seeds, mean ± std (sample std) over seeds, and the IQM"
        f" with its 95% stratified-bootstrap CI (rliable, {s.reps} reps). `scores.csv` has every config. The three"
        " forms of the clip gradient share one row on an env where their scores are equal and every same-seed run of"
        " theirs is bitwise identical (see the identity table below).",
        "",
        score_markdown(merge_identical(s.main.rows, s.identity)),
        "",
        "Reference lines in the plots: CleanRL `ppo_continuous_action.py`, 1M steps, 3 seeds, openrlbenchmark"
        f" ({REFERENCE_SOURCE}):",
        "",
        markdown_table(["env", "CleanRL return"], [[env, f"{m} ± {sd}"] for env, (m, sd) in REFERENCE.items()]),
        "",
        "No figure for Ant-v4 is published there.",
        "",
        "## Aggregate over envs",
        "",
        *aggregate_lines(s.main, "the main grid"),
        *(line for name, sl in SECTIONS.items() if s.slices.get(name) for line in sl.section(s.slices[name], s)),
        *family.section(s),
        *stopped_lines(s),
        "## Identity of the three forms of the clip gradient",
        "",
        "Are the logged episodic returns (steps and values) of `ppo_per_sample_kl` and `ppo_dual` bitwise those of"
        " `ppo_clip` with the same seed? Where not, the first step at which they differ. CPU kind: `runs.csv`'s `cpu`"
        " of the runs compared, one kind where they share it; unknown where a run's meta.json does not record it."
        " The same code and seed give the same floats on one CPU kind: a pair whose runs ran on two kinds is marked.",
        "",
        identity_markdown(s.identity),
        "",
        "## Plots",
        "",
    ]
    text += [f"{title}\n\n![{title}]({name})\n" for name, title in figures]
    return "\n".join(text)
