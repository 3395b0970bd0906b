"""The β sweep's figure: per env, score against each family's values, beside PPO-Clip's IQM (sweep_ENV.png)."""

import numpy as np

from benchmark.common import stopped
from benchmark.report.plots import plt
from benchmark.report.stats import score
from benchmark.report.summary import Section, Summary
from benchmark.configs import FIXED_BETA_EDGE
from benchmark.report.sweep import EDGE, FAMILIES, SELECT_SEEDS, SYMBOL, selection, sweep_envs


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
        added = {value: [score(runs[env, c, seed]) for seed in SELECT_SEEDS if (env, c, seed) in runs]
                 for c, value in FIXED_BETA_EDGE.items() if family == "fixed" and (env, c, "0") in runs}
        if added:  # past the grid's edge, added after it: drawn apart from the selection
            for value, xs_added in added.items():
                ax.scatter([value] * len(xs_added), xs_added, color="C2", s=18, alpha=0.7)
            edge_x = [EDGE["ppo_kl_fixed_10"], *added]
            edge_y = [means[xs.index(EDGE["ppo_kl_fixed_10"])] if EDGE["ppo_kl_fixed_10"] in xs else np.nan,
                      *(np.nanmean(v) for v in added.values())]
            ax.plot(edge_x, edge_y, color="C2", ls="--", label="β added after the grid, seeds 0-2")
            values = {**values, **{c: v for c, v in FIXED_BETA_EDGE.items() if v in added}}
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
