"""The report's figures (matplotlib, Agg): learning curves per env, the kill set, the rliable aggregate."""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from rliable import plot_utils  # noqa: E402

from benchmark.common import stopped  # noqa: E402
from benchmark.configs import label  # noqa: E402

BINS = 50  # points per learning curve
STYLE = {"ppo_clip": {"lw": 2.5}, "ppo_per_sample_kl": {"ls": "--"}}  # the identical pair stays visible


def binned(steps, values, last_step, edges):
    """The mean of the values in each step bin; an empty bin repeats the previous one; nan past the run."""
    which = np.clip(np.searchsorted(edges, steps) - 1, 0, BINS - 1)
    counts = np.bincount(which, minlength=BINS)
    means = np.bincount(which, values, minlength=BINS) / np.maximum(counts, 1)
    for i in range(BINS):
        if counts[i] == 0:
            means[i] = means[i - 1] if i else np.nan
    means[edges[:-1] >= last_step] = np.nan
    return means


def curves(path, runs, configs, panels, reference=None):
    """A column per env, a row per (column, ylabel) of `panels`: mean ± std over seeds of that column against
    steps, a line per config."""
    envs = list(dict.fromkeys(env for env, _, _ in runs))
    fig, axes = plt.subplots(len(panels), len(envs), figsize=(4.2 * len(envs), 3.4 * len(panels)), squeeze=False)
    for row, (column, ylabel) in zip(axes, panels):
        for ax, env in zip(row, envs):
            edges = np.linspace(0, max(s["last_step"] for (e, _, _), s in runs.items() if e == env), BINS + 1)
            for i, config in enumerate(configs):  # a config keeps its colour in every panel
                seeds = [s for (e, c, _), s in runs.items() if (e, c) == (env, config) and len(s.get(column, [[]])[0])]
                if not seeds:
                    continue
                ys = np.array([binned(*s[column], s["last_step"], edges) for s in seeds])
                with warnings.catch_warnings():  # all-nan bins (before a first episode) stay nan
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean = np.nanmean(ys, axis=0)
                    std = np.nanstd(ys, axis=0, ddof=1) if len(seeds) > 1 else np.zeros(BINS)
                style = {"color": f"C{i % 10}", **STYLE.get(config, {})}
                stops = sum(map(stopped, seeds))  # their curves end where they stopped
                n = f"n={len(seeds)}" + (f", {stops} stopped early" if stops else "")
                line = ax.plot(edges[1:], mean, label=f"{label(config)} ({n})", **style)[0]
                ax.fill_between(edges[1:], mean - std, mean + std, color=line.get_color(), alpha=0.2)
            if reference and env in reference:
                ax.axhline(reference[env][0], color="gray", ls=":", label="CleanRL, 1M steps")
            ax.set(title=env, xlabel="environment steps", ylabel=ylabel)
            if ax.get_legend_handles_labels()[0]:  # a panel may have no runs of these configs yet
                ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def intervals(path, point, interval):
    """rliable's interval plot of normalized IQM and mean per config."""
    fig, _ = plot_utils.plot_interval_estimates(
        {label(c): p for c, p in point.items()},
        {label(c): i for c, i in interval.items()},
        metric_names=["IQM", "Mean"],
        xlabel="score / PPO-Clip mean score",
        row_height=0.6,
        xlabel_y_coordinate=-0.6 / len(point),
    )
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


RETURNS = [("episodic_return", "episodic return")]


def draw(results, runs, reference, agg, configs):
    """Write the main grid's PNGs (`configs` of `runs`, the report's Aggregate `agg`) into results; return
    [(file name, title)] of those written."""
    runs = {key: series for key, series in runs.items() if key[1] in configs}
    figures = []
    if runs:
        figures.append(("headline.png", "PPO-Clip vs per-sample KL: episodic return, mean ± std over seeds"))
        curves(results / figures[-1][0], runs, ["ppo_clip", "ppo_per_sample_kl"], RETURNS, reference)
        figures.append(("configs.png", "All configs: episodic return, mean ± std over seeds"))
        curves(results / figures[-1][0], runs, configs, RETURNS, reference)
        figures.append(("killset.png", "Kill-set fraction per update (mean over minibatches), mean ± std over seeds"))
        curves(results / figures[-1][0], runs, configs, [("kill_frac", "kill-set fraction")])
    return figures + aggregate_figure(results, "aggregate.png", "Aggregate over", agg)


def aggregate_figure(results, name, what, agg):
    if not agg.point:
        return []
    intervals(results / name, agg.point, agg.interval)
    return [(name, f"{what} {', '.join(agg.envs)}: normalized score, 95% stratified-bootstrap CIs")]


def draw_beside_clip(results, name, what, sec, fractions, fractions_title):
    """A section of configs beside PPO-Clip (the report's Section `sec`): returns, the fractions per update
    (a row per (column, ylabel) of `fractions`), the normalized aggregate."""
    figures = [(f"{name}.png", f"{what} beside PPO-Clip: episodic return, mean ± std over seeds")]
    curves(results / figures[-1][0], sec.runs, sec.configs, RETURNS)
    figures.append((f"{name}_killset.png", f"{what} beside PPO-Clip: {fractions_title} per update, mean ± std over seeds"))
    curves(results / figures[-1][0], sec.runs, sec.configs, fractions)
    return figures + aggregate_figure(results, f"{name}_aggregate.png", f"{what} beside PPO-Clip, over", sec.agg)
