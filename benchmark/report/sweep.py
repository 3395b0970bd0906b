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
from benchmark.configs import ADAPTIVE_TARGET, FIXED_BETA, SWEEP
from benchmark.report.plots import BINS, binned, plt
from benchmark.report.stats import first_divergence, run_cpus, score
from benchmark.report.summary import Section, Summary
from benchmark.report.tables import row_iqm, score_markdown

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


# ---- the results README's sweep section and figures ----


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


def final_rows(table: list[dict], env: str, chosen: dict) -> list[dict]:
    """The score-table rows of PPO-Clip and each family's best on env (all their seeds)."""
    configs = ["ppo_clip", *(chosen[env, family][0] for family in FAMILIES if (env, family) in chosen)]
    return [row for config in configs for row in table if (row["env"], row["config"]) == (env, config)]


def edge_note(family: str, config: str) -> str:
    """Where a family's best is the grid's smallest or largest value: the optimum may lie beyond the grid."""
    values = FAMILIES[family]
    side = {min(values.values()): "smallest", max(values.values()): "largest"}.get(values[config])
    return f", the {side} value swept" if side else ""


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


def sweep_envs(s: Summary) -> list[str]:
    return sorted({env for env, config, _ in s.planned if config in SWEEP})


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
    return text


def draw_sweep(results, sec: Section, s: Summary) -> list:
    """Per env with runs of the sweep, sweep_ENV.png (shown in the section, so none for the Plots list)."""
    chosen = selection(s.runs, sweep_envs(s))
    for env in sorted({env for env, family in chosen}):
        clip = next((r for r in s.table if (r["env"], r["config"]) == (env, "ppo_clip")), None)
        sweep_figure(results / f"sweep_{env}.png", env, s.runs, clip)
    return []


def sweep_figure(path, env: str, runs: dict, clip_row: dict | None):
    """Score against β and against d_targ (log x, ticks at the values swept): seeds 0-2 as points and their mean as
    a line (what the selection compares), later seeds (3-4: the main grid's values, sweep_best's) as open points,
    stopped runs as × at the bottom, PPO-Clip's IQM and 95% CI a horizontal band."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, (family, values) in zip(axes, FAMILIES.items()):
        xs, means, stopped_at, later = [], [], [], []
        for config, value in values.items():
            seeds = {key[2]: series for key, series in runs.items() if key[:2] == (env, config)}
            scored = {seed: score(series) for seed, series in seeds.items() if not stopped(series)}
            stopped_at += [value] * (len(seeds) - len(scored))
            selected = [x for seed, x in scored.items() if seed in SELECT_SEEDS]
            later += [(value, x) for seed, x in scored.items() if seed not in SELECT_SEEDS]
            ax.scatter([value] * len(selected), selected, color="C0", s=18, alpha=0.7)
            if selected:
                xs.append(value)
                means.append(np.mean(selected))
        ax.plot(xs, means, color="C0", label="seeds 0-2 and their mean (the selection)")
        if later:
            ax.scatter(*zip(*later), facecolors="none", edgecolors="C0", s=18, label="seeds 3-4")
        if clip_row is not None:
            ax.axhspan(float(clip_row["iqm_lo"]), float(clip_row["iqm_hi"]), color="C1", alpha=0.2)
            ax.axhline(float(clip_row["iqm"]), color="C1", label=f"PPO-Clip IQM, 95% CI ({clip_row['n']} seeds)")
        if stopped_at:
            ax.scatter(stopped_at, [ax.get_ylim()[0]] * len(stopped_at), marker="x", color="C3", label="stopped early")
        ax.set_xscale("log")
        ax.set_xticks(list(values.values()), [f"{v:g}" for v in values.values()])
        ax.minorticks_off()
        ax.set(title=f"{env}: {family} {SYMBOL[family]}", xlabel=SYMBOL[family], ylabel="score")
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- the per-sample β_t of the clip (config beta_step, ppo_beta_shapes.py's step gate = PPO-Clip) ----

BETA_T = "beta_step"
BETA_COLUMNS = ["beta_nonzero_frac", "beta_negative_frac", "beta_p01", "beta_p50", "beta_p99", "beta_mean"]


def beta_t_envs(s: Summary) -> list[str]:
    """The envs whose beta_step seed-0 run is in and logged β_t's distribution."""
    envs = [env for env, config, seed in s.runs if (config, seed) == (BETA_T, "0")]
    return [env for env in envs if "beta_nonzero_frac" in s.runs[env, BETA_T, "0"]]


def beta_t_markdown(s: Summary, envs: list[str]) -> str:
    """Per env: medians over the run's updates of each β_t column, and whether its episodes are the clip's."""
    rows = []
    for env in envs:
        series = s.runs[env, BETA_T, "0"]
        med = {col: float(np.nanmedian(series[col][1])) for col in BETA_COLUMNS}
        rows.append([env, f"{100 * med['beta_nonzero_frac']:.1f}%", f"{100 * med['beta_negative_frac']:.1f}%",
                     *(f"{med[c]:.3g}" for c in ["beta_p01", "beta_p50", "beta_p99", "beta_mean"]), same_as_clip(s, env)])
    header = ["env", "β_t ≠ 0", "of those, β_t < 0", "β_t 1%", "β_t median", "β_t 99%", "mean β_t (all samples)",
              "episodes vs `ppo_clip` seed 0"]
    return markdown_table(header, rows)


def same_as_clip(s: Summary, env: str) -> str:
    """Are beta_step's seed-0 episodes bitwise the committed ppo_clip seed-0 run's, and on which CPU kinds?"""
    clip = s.runs.get((env, "ppo_clip", "0"))
    if clip is None:
        return "no ppo_clip run"
    cpus = run_cpus(s.manifest)
    kinds = f"CPU {cpus.get((env, BETA_T, '0')) or 'unknown'} vs {cpus.get((env, 'ppo_clip', '0')) or 'unknown'}"
    diverge = first_divergence(s.runs[env, BETA_T, "0"]["episodic_return"], clip["episodic_return"])
    return f"identical ({kinds})" if diverge is None else f"differ from step {diverge} ({kinds})"


def beta_t_section(sec: Section, s: Summary) -> list[str]:
    """What the scalar has to replace: the clip's β_t per env, its table and figure."""
    envs = beta_t_envs(s)
    text = [
        "## The per-sample β_t of the clip",
        "",
        "`ppo_beta_shapes.py --beta-shape step` (config `beta_step`, seed 0) is PPO-Clip bitwise and logs, per update,"
        " the quantiles of β_t = −w·Â over the samples where β_t ≠ 0 (the kill set), the fraction of samples with"
        " β_t ≠ 0, the share of those with β_t < 0 (where Â > 0: no positive scalar β has that sign), and the mean"
        " β_t over all samples. The table gives each column's median over the run's updates.",
        "",
    ]
    if not envs:
        return text + ["No runs yet (`python -m benchmark.run --phase beta_step`).", ""]
    return text + [beta_t_markdown(s, envs), "", "![The per-sample β_t of the clip](beta_t.png)", ""]


def draw_beta_t(results, sec: Section, s: Summary) -> list:
    """beta_t.png: a column per env with a beta_step run (shown in the section, so none for the Plots list)."""
    envs = beta_t_envs(s)
    if envs:
        best = {env: chosen[0] for (env, family), chosen in selection(s.runs, envs).items() if family == "fixed"}
        beta_t_figure(results / "beta_t.png", envs, s.runs, best)
    return []


def beta_t_figure(path, envs: list[str], runs: dict, best_fixed: dict):
    """Per env, each series averaged over 50 step bins (plots.binned): β_t's 1-99% and 10-90% quantile bands and its
    mean over all samples on a symmetric-log axis, the adaptive β of the ppo_kl_adaptive seed-0 run and the sweep's
    best fixed β; below, the fraction of samples with β_t ≠ 0 and the negative share of those. (β_t's median is left
    out: with about half of the nonzero β_t negative, it flips sign from one update to the next.)"""
    fig, axes = plt.subplots(2, len(envs), figsize=(4.2 * len(envs), 6.4), squeeze=False, sharex="col")
    for i, env in enumerate(envs):
        top, bottom = axes[0, i], axes[1, i]
        series = runs[env, BETA_T, "0"]
        edges = np.linspace(0, series["last_step"], BINS + 1)

        def smooth(column, run=series):
            return binned(*run[column], run["last_step"], edges)

        x = edges[1:]
        top.fill_between(x, smooth("beta_p01"), smooth("beta_p99"), color="C0", alpha=0.15, label="β_t 1-99%")
        top.fill_between(x, smooth("beta_p10"), smooth("beta_p90"), color="C0", alpha=0.3, label="β_t 10-90%")
        top.plot(x, smooth("beta_mean"), color="k", lw=1, label="mean β_t, all samples")
        adaptive = runs.get((env, "ppo_kl_adaptive", "0"), {})
        if "kl_coef" in adaptive:
            top.plot(x, smooth("kl_coef", adaptive), color="C1", lw=1, label="adaptive β (d_targ 0.01, seed 0)")
        if env in best_fixed:
            top.axhline(FIXED_BETA[best_fixed[env]], color="C3", ls="--", label="the sweep's best fixed β")
        top.axhline(0, color="gray", lw=0.5)
        top.set_yscale("symlog", linthresh=1e-2)
        top.set(title=env, ylabel="β")
        bottom.plot(x, smooth("beta_nonzero_frac"), color="C0", label="β_t ≠ 0, of all samples")
        bottom.plot(x, smooth("beta_negative_frac"), color="C3", label="β_t < 0, of those ≠ 0")
        bottom.set(xlabel="environment steps", ylabel="fraction", ylim=(0, 1))
        if i == 0:
            top.legend(fontsize="x-small")
            bottom.legend(fontsize="x-small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
