"""The β_t family section of the report (benchmark/report/family.py): the verdicts pre-registered in the suite file
(phase family), the best scalar each shape is judged against, the aggregate over Ant-v4 and Humanoid-v4, and the
top README's line, on synthetic runs whose scores are set."""

import numpy as np
import pytest

from benchmark.report import family, summary
from benchmark.report.sweep import FAMILIES

SEEDS = [str(s) for s in range(5)]


def row(iqm, lo, hi, n=5, stopped=0, config="x", env="Ant-v4"):
    return {"env": env, "config": config, "n": n, "stopped": stopped, "iqm": iqm, "iqm_lo": lo, "iqm_hi": hi}


CLIP, SCALAR = row(2000, 1800, 2400), row(80, 50, 170)


@pytest.mark.parametrize(
    "shape, expected",
    [
        (row(2600, 2401, 2900), "above the clip"),  # wholly above the clip's CI
        (row(2600, 2400, 2900), "with the clip"),  # touching is overlapping
        (row(1000, 600, 1800), "with the clip"),
        (row(1000, 600, 1799), "between"),  # wholly below the clip's, wholly above the scalar's
        (row(300, 171, 1000), "between"),
        (row(300, 170, 1000), "with the scalar"),  # touching the scalar's CI
        (row(20, 5, 40), "with the scalar"),  # below it
        (row(2600, 2401, 2900, n=4, stopped=1), "stops"),  # a stopped seed decides, whatever the others score
        (row(float("nan"), float("nan"), float("nan"), n=0, stopped=5), "stops"),
        (row(2600, 2401, 2900, n=3), "pending (3 of 5 seeds)"),  # no verdict before all seeds are in
    ],
)
def test_verdicts_follow_the_pre_registered_rule(shape, expected):
    assert family.verdict(shape, CLIP, SCALAR, planned=5) == expected


def series(value, stopped=False):
    """A run whose score (mean return of the episodes in its last 10% of steps) is `value`."""
    return {"episodic_return": (np.array([100.0, 1e6]), np.array([-999.0, value])), "last_step": 1e6,
            "status": "ppo_beta_shapes.py: error: non-finite loss in update 9" if stopped else "finished"}


def synthetic_summary(shape_scores: dict, stopped=(), easy=()):
    """Ant-v4 and Humanoid-v4 with PPO-Clip (about 2000), the whole β sweep (fixed β = 3 best, about 100; adaptive
    d_targ = 0.01 best, about 60) and the shapes' seeds scoring as given; the family phase planned. `easy` envs: the
    clip and the shapes only (no sweep), as Hopper, Walker2d and HalfCheetah."""
    spread = [-20.0, -10.0, 0.0, 10.0, 20.0]
    runs, plan = {}, {"family": set()}
    for env in [*family.HARD, *easy]:
        runs.update({(env, "ppo_clip", s): series(2000 + d) for s, d in zip(SEEDS, spread)})
        for fam, values in (FAMILIES.items() if env in family.HARD else ()):
            for config in values:
                best = config in ("ppo_kl_fixed_3", "ppo_kl_adaptive")
                base = {"ppo_kl_fixed_3": 100.0, "ppo_kl_adaptive": 60.0}.get(config, 10.0)
                runs.update({(env, config, s): series(base + d) for s, d in zip(SEEDS if best else SEEDS[:3], spread)})
        for config, value in shape_scores.items():
            plan["family"] |= {(env, config, s) for s in SEEDS}
            runs.update({(env, config, s): series(value + d, (env, config, s) in stopped) for s, d in zip(SEEDS, spread)})
    return summary.compute(runs, [], plan, "mujoco.toml", reps=200)


def test_section_and_readme_line_sort_and_judge_each_shape():
    scores = {"beta_sigmoid": 2100.0, "beta_linear": 2010.0, "zoo_rollback": 500.0, "zoo_spo": 90.0, "zoo_cispo": 2000.0}
    s = synthetic_summary(scores, stopped={("Humanoid-v4", "zoo_cispo", "3")})
    best, tuned = family.best_scalar(s, "Ant-v4")
    assert best["config"] == "ppo_kl_fixed_3" and tuned  # the better of the sweep's two selected values
    assert family.verdicts(s, "Ant-v4") == {
        "beta_sigmoid": "above the clip", "beta_linear": "with the clip", "zoo_rollback": "between", "zoo_spo": "with the scalar", "zoo_cispo": "with the clip",
    }
    assert family.verdicts(s, "Humanoid-v4")["zoo_cispo"] == "stops"
    text = "\n".join(family.section(s))
    ant = text.split("**Ant-v4**")[1].split("**Humanoid-v4**")[0]
    order = [line.split(" | ")[0].strip("| ") for line in ant.splitlines() if line.startswith("| ") and "IQM" not in line]
    assert order == ["β_t sigmoid, s=0.05", "β_t linear, s=0.05", "CISPO (MiniMax 2025)", "PPO-RB (Wang 2019)", "SPO (Xie 2025)"]
    assert "best scalar, KL, fixed β=3: 100.0 [" in ant
    # the aggregate leaves out CISPO, stopped on Humanoid; it has the tuned scalars as one row each
    agg = family.family_aggregate(s, family.HARD)
    assert "zoo_cispo" not in agg.matrices and {"beta_linear", "ppo_clip", *family.TUNED.values()} <= agg.matrices.keys()
    assert agg.point["ppo_clip"][1] == pytest.approx(1.0)
    line = family.readme_line(s, "LINK")
    assert "Ant-v4: above the clip: β_t sigmoid, s=0.05; with the clip: β_t linear, s=0.05, CISPO (MiniMax 2025);" \
           " between: PPO-RB (Wang 2019); with the scalar: SPO (Xie 2025)." in line
    assert "Humanoid-v4: above the clip: β_t sigmoid, s=0.05; with the clip: β_t linear, s=0.05; between: PPO-RB (Wang 2019); with the scalar: SPO" \
           " (Xie 2025); stops: CISPO (MiniMax 2025)" in line


def test_readme_line_waits_for_all_runs_of_an_env():
    s = synthetic_summary({"beta_linear": 2010.0})
    del s.runs["Ant-v4", "beta_linear", "4"]
    s = summary.compute(s.runs, [], s.plan, "mujoco.toml", reps=200)
    line = family.readme_line(s, "LINK")
    assert "Ant-v4: 4 of 5 runs in, verdicts when all are" in line and "Humanoid-v4: with the clip" in line
    assert family.family_aggregate(s, family.HARD) is None


def test_the_five_env_aggregate_has_the_tuned_scalars_only_where_every_env_has_them():
    s = synthetic_summary({"beta_linear": 2010.0, "zoo_rollback": 500.0}, stopped={("Hopper-v4", "zoo_rollback", "0")},
                          easy=("Hopper-v4",))
    envs = ["Hopper-v4", *family.HARD]
    agg = family.family_aggregate(s, envs)
    assert agg.envs == envs and set(agg.matrices) == {"ppo_clip", "beta_linear"}  # PPO-RB stopped on Hopper
    assert set(family.family_aggregate(s, family.HARD).matrices) == {"ppo_clip", "beta_linear", "zoo_rollback",
                                                                   *family.TUNED.values()}
    text = "\n".join(family.section(s))
    assert "Over Hopper-v4, Ant-v4 and Humanoid-v4, scores divided by PPO-Clip's mean score on the same env; the shapes" \
           " with no stopped run there, PPO-Clip. IQM" in text


def test_readme_line_names_the_shapes_by_their_ci_over_all_tasks_against_the_clips():
    # normalized IQM CIs: the clip's [0.9955, 1.004]; linear's [0.9915, 1.0] and asym's [1.003, 1.0115] overlap it
    scores = {"beta_sigmoid": 2100.0, "beta_linear": 1992.0, "beta_asym": 2015.0, "zoo_rollback": 500.0, "zoo_cispo": 2000.0}
    s = synthetic_summary(scores, stopped={("Hopper-v4", "zoo_cispo", "1")}, easy=("Hopper-v4", "Walker2d-v4"))
    assert family.planned_envs(s) == ["Hopper-v4", "Walker2d-v4", *family.HARD]
    line = family.readme_line(s, "LINK")
    assert line.endswith(" Over all 4 tasks (IQM of scores over PPO-Clip's mean per env; each shape's 95% CI against the clip's):"
                         " above: β_t sigmoid, s=0.05; overlapping: β_t linear, s=0.05, β_t step, ε 0.2/0.28; below: PPO-RB (Wang 2019);"
                         " left out (a run stopped): CISPO (MiniMax 2025).")
    del s.runs["Walker2d-v4", "zoo_rollback", "2"]
    s = summary.compute(s.runs, [], s.plan, "mujoco.toml", reps=200)
    assert family.readme_line(s, "LINK").endswith(" Over all 4 tasks: 99 of 100 runs in, the comparison when all are.")
    # the hard envs alone: no line over all tasks
    assert "Over all" not in family.readme_line(synthetic_summary(scores), "LINK")


@pytest.mark.parametrize("n, shape", [(1, (1, 1)), (2, (1, 2)), (3, (1, 3)), (4, (2, 2)), (5, (2, 3)), (7, (3, 3))])
def test_the_figure_has_at_most_three_panels_a_row(n, shape):
    assert family.grid(n) == shape


def test_the_figure_draws_a_panel_per_env(tmp_path):
    s = synthetic_summary({"beta_linear": 2010.0, "zoo_cispo": 2000.0}, stopped={("Hopper-v4", "zoo_cispo", "1")},
                          easy=("Hopper-v4", "Walker2d-v4", "HalfCheetah-v4"))
    family.draw(tmp_path, s)
    width, height = family.plt.imread(tmp_path / "family.png").shape[1::-1]
    assert (width, height) == (round(5.2 * 3 * 110), round(5.0 * 2 * 110))
