"""The scalar-β sweep and the per-sample β_t it has to stand in for.

The selection rule is pre-registered in benchmark/suites/mujoco.toml (phase sweep): per env and per family
(fixed β, adaptive d_targ), the value with the highest mean score over seeds 0-2 is "best"; a run that stopped
early scores -inf there; a tie goes to the value nearer the main grid's (in log10), then to the smaller value.
A best value other than the main grid's runs seeds 3-4 too (phase sweep_best). The final comparison is each
family's best against PPO-Clip, 5 seeds each.
"""

import math

import numpy as np

from benchmark.common import markdown_table, stopped
from benchmark.configs import ADAPTIVE_TARGET, FIXED_BETA, label

FAMILIES = {"fixed": FIXED_BETA, "adaptive": ADAPTIVE_TARGET}  # family → {config: its β or d_targ}
MAIN_VALUE = {"fixed": "ppo_kl_fixed", "adaptive": "ppo_kl_adaptive"}  # the main grid's config of each family
SYMBOL = {"fixed": "β", "adaptive": "d_targ"}
SELECT_SEEDS = ("0", "1", "2")
CONFIRM_SEEDS = ("3", "4")
WORST = -math.inf  # a run that stopped early, in the selection


def selection_scores(runs: dict, env: str, family: str, score) -> dict | None:
    """{config: [its seeds 0-2 scores]} of the family on env, a stopped run (or one without a score) as WORST;
    None while any of these runs is missing. `score` is the report's score of a run's series."""
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


def selection(runs: dict, envs: list[str], score) -> dict:
    """{(env, family): (best config, its selection scores)} for every env and family whose seeds 0-2 are all in."""
    out = {}
    for env in envs:
        for family in FAMILIES:
            if (scores := selection_scores(runs, env, family, score)) is not None:
                out[env, family] = best(scores, family), scores
    return out


def to_confirm(runs: dict, env: str, score) -> list[str]:
    """The configs that phase sweep_best runs on env (seeds 3-4): each family's best, where it is not the main
    grid's value (whose seeds 3-4 are committed); none while the env's seeds 0-2 are not all in."""
    chosen = selection(runs, [env], score)
    return [config for (_, family), (config, _) in chosen.items() if config != MAIN_VALUE[family]]


# ---- rendering ----


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
            mean = float(np.mean(scores[config]))
            mark = " **best**" if config == winner else ""
            main = " (main grid)" if config == MAIN_VALUE[family] else ""
            rows.append([family, f"{SYMBOL[family]} = {value:g}{main}", *map(fmt_score, scores[config]), fmt_score(mean) + mark])
    return markdown_table(["family", "value", *(f"seed {s}" for s in SELECT_SEEDS), "mean"], rows)


def final_rows(table: list[dict], env: str, chosen: dict) -> list[dict]:
    """The score-table rows of PPO-Clip and each family's best on env (all their seeds)."""
    configs = ["ppo_clip", *(chosen[env, family][0] for family in FAMILIES if (env, family) in chosen)]
    return [row for config in configs for row in table if (row["env"], row["config"]) == (env, config)]


def sweep_section(envs: list[str], runs: dict, table: list[dict], score, score_markdown, waiting: dict) -> list[str]:
    """The results README's sweep section: the rule, per env the selection table and the tuned scalars beside
    PPO-Clip. `waiting`: env → why its selection is not made yet."""
    chosen = selection(runs, envs, score)
    text = [
        "## Is there a scalar β that does what the clip does? The β sweep",
        "",
        "PPO-KL (`ppo_kl.py`) with fixed β ∈ {" + ", ".join(f"{v:g}" for v in FIXED_BETA.values()) + "} and adaptive"
        " d_targ ∈ {" + ", ".join(f"{v:g}" for v in ADAPTIVE_TARGET.values()) + "}, seeds 0-2, on " + ", ".join(envs) + ";"
        " β = 1 and d_targ = 0.01 are the main grid's runs. The rule, pre-registered in the suite file before the"
        " first run:",
        "",
        "- per env and family, **best** is the value with the highest mean score over seeds 0-2; a run that stopped"
        " early counts as the worst score; a tie goes to the value nearer the main grid's (log scale);",
        "- a best value other than the main grid's runs seeds 3-4 too (phase `sweep_best`);",
        "- the comparison: each family's best against PPO-Clip, 5 seeds each, IQM with 95% CIs.",
        "- Selecting on seeds 0-2 and reusing them favours the scalar: the bias runs against the claim that a"
        " per-sample β_t beats any scalar, not for it.",
        "",
    ]
    for env in envs:
        text += [f"### {env}", ""]
        if env in waiting:
            text += [f"Selection not made yet: {waiting[env]}.", ""]
            continue
        text += [selection_markdown(env, chosen), "", score_markdown(final_rows(table, env, chosen)), ""]
        text += [f"![The β sweep on {env}](sweep_{env}.png)", ""]
    return text


def sweep_figure(path, env: str, runs: dict, clip_row: dict | None, score, plt):
    """Score against β and against d_targ (log x): each seed a point (stopped runs at the bottom, marked ×), the
    mean of the seeds present a line, PPO-Clip's 5-seed IQM and 95% CI a horizontal band."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, (family, values) in zip(axes, FAMILIES.items()):
        xs, means, stopped_at = [], [], []
        for config, value in values.items():
            seeds = [runs[key] for key in runs if key[:2] == (env, config)]
            scores = [score(s) for s in seeds if not stopped(s)]
            stopped_at += [value] * (len(seeds) - len(scores))
            ax.scatter([value] * len(scores), scores, color="C0", s=18, alpha=0.7)
            if scores:
                xs.append(value)
                means.append(np.mean(scores))
        ax.plot(xs, means, color="C0", label="mean over seeds")
        if clip_row is not None:
            ax.axhspan(float(clip_row["iqm_lo"]), float(clip_row["iqm_hi"]), color="C1", alpha=0.2)
            ax.axhline(float(clip_row["iqm"]), color="C1", label=f"PPO-Clip IQM, 95% CI (n={clip_row['n']})")
        if stopped_at:
            ax.scatter(stopped_at, [ax.get_ylim()[0]] * len(stopped_at), marker="x", color="C3", label="stopped early")
        ax.set_xscale("log")
        ax.set(title=f"{env}: {family} {SYMBOL[family]}", xlabel=SYMBOL[family], ylabel="score")
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- the per-sample β_t of the clip (config beta_step) ----

BETA_T = "beta_step"
QUANTILES = ["beta_p01", "beta_p10", "beta_p50", "beta_p90", "beta_p99"]


def beta_t_rows(runs: dict, envs: list[str]) -> list[dict]:
    """Per env with a beta_step run (seed 0): medians over its updates of the nonzero fraction, the negative share
    of the nonzero β_t, the 1% and 99% quantiles and the mean β_t over all samples."""
    rows = []
    for env in envs:
        series = runs.get((env, BETA_T, "0"))
        if series is None or "beta_nonzero_frac" not in series:
            continue
        med = {col: float(np.nanmedian(series[col][1])) for col in ["beta_nonzero_frac", "beta_negative_frac", "beta_p01", "beta_p99", "beta_mean"]}
        rows.append({"env": env, **med})
    return rows


def beta_t_markdown(rows: list[dict]) -> str:
    return markdown_table(
        ["env", "β_t ≠ 0 (kill set)", "of those, β_t < 0", "β_t 1% quantile", "β_t 99% quantile", "mean β_t, all samples"],
        [[r["env"], f"{100 * r['beta_nonzero_frac']:.1f}%", f"{100 * r['beta_negative_frac']:.1f}%",
          f"{r['beta_p01']:.3g}", f"{r['beta_p99']:.3g}", f"{r['beta_mean']:.3g}"] for r in rows],
    )


def beta_t_figure(path, envs: list[str], runs: dict, best_fixed: dict, plt):
    """A column per env: β_t's quantiles over training on a symmetric-log axis, its mean over all samples, the
    adaptive β of the committed ppo_kl_adaptive seed-0 run and the sweep's best fixed β; below, the fraction of
    samples with β_t ≠ 0 and the negative share of those."""
    fig, axes = plt.subplots(2, len(envs), figsize=(4.2 * len(envs), 6.4), squeeze=False, sharex="col")
    for i, env in enumerate(envs):
        top, bottom = axes[0, i], axes[1, i]
        series = runs[env, BETA_T, "0"]
        steps = series["beta_p50"][0]
        top.fill_between(steps, series["beta_p01"][1], series["beta_p99"][1], color="C0", alpha=0.15, label="β_t 1-99%")
        top.fill_between(steps, series["beta_p10"][1], series["beta_p90"][1], color="C0", alpha=0.3, label="β_t 10-90%")
        top.plot(steps, series["beta_p50"][1], color="C0", lw=1, label="β_t median")
        top.plot(*series["beta_mean"], color="k", lw=1, label="mean β_t, all samples")
        if (env, "ppo_kl_adaptive", "0") in runs and "kl_coef" in runs[env, "ppo_kl_adaptive", "0"]:
            top.plot(*runs[env, "ppo_kl_adaptive", "0"]["kl_coef"], color="C1", lw=1, label="adaptive β (d_targ 0.01, seed 0)")
        if env in best_fixed:
            config = best_fixed[env]
            top.axhline(FIXED_BETA[config], color="C3", ls="--", label=f"best fixed β = {FIXED_BETA[config]:g}")
        top.set_yscale("symlog", linthresh=1e-2)
        top.set(title=env, ylabel="β")
        bottom.plot(*series["beta_nonzero_frac"], color="C0", label="β_t ≠ 0 (of all samples)")
        bottom.plot(*series["beta_negative_frac"], color="C3", label="β_t < 0 (of those ≠ 0)")
        bottom.set(xlabel="environment steps", ylabel="fraction", ylim=(0, 1))
        if i == 0:
            top.legend(fontsize="x-small")
            bottom.legend(fontsize="x-small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
