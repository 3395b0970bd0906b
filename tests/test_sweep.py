"""The β sweep's pre-registered selection (benchmark/sweep.py) and the runner's phase sweep_best, which runs seeds 3-4
of each family's best value where it is not the main grid's."""

import csv
import math

import pytest

from benchmark import report, run, sweep

FIXED = ["ppo_kl_fixed_0.1", "ppo_kl_fixed_0.3", "ppo_kl_fixed", "ppo_kl_fixed_3", "ppo_kl_fixed_10"]


def test_highest_mean_wins():
    scores = {c: [10.0, 20.0, 30.0] for c in FIXED}
    scores["ppo_kl_fixed_10"] = [100.0, -50.0, 40.0]  # mean 30: the best, though one seed is the worst
    assert sweep.best(scores, "fixed") == "ppo_kl_fixed_10"


def test_a_stopped_run_is_the_worst_score():
    scores = {c: [-1e6, -1e6, -1e6] for c in FIXED}
    scores["ppo_kl_fixed_0.1"] = [1e6, 1e6, sweep.WORST]  # two huge scores cannot make up for a stop
    assert sweep.best(scores, "fixed") != "ppo_kl_fixed_0.1"


@pytest.mark.parametrize(
    "tied, winner",
    [
        (["ppo_kl_fixed_0.1", "ppo_kl_fixed_3"], "ppo_kl_fixed_3"),  # log10 distance to β = 1: 1 vs 0.48
        (["ppo_kl_fixed_0.3", "ppo_kl_fixed_3"], "ppo_kl_fixed_3"),  # 0.52 vs 0.48
        (["ppo_kl_fixed_0.1", "ppo_kl_fixed_10"], "ppo_kl_fixed_0.1"),  # equal distance: the smaller value
        (["ppo_kl_fixed_10", "ppo_kl_fixed"], "ppo_kl_fixed"),  # the main grid's value itself
    ],
)
def test_a_tie_goes_to_the_value_nearer_the_main_grid(tied, winner):
    scores = {c: [0.0, 0.0, 0.0] for c in FIXED}
    for config in tied:
        scores[config] = [5.0, 6.0, 7.0]
    assert sweep.best(scores, "fixed") == winner


def write_results(results, scores, stopped=()):
    """A committed-results dir: one CSV per run whose last-10% episodes average its score; runs.csv with statuses."""
    rows = []
    for (env, config, seed), value in scores.items():
        path = results / "csv" / env / config / f"seed{seed}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"step,episodic_return\n100,-999.0\n1000000,{value}\n")
        status = "ppo_kl.py: error: non-finite loss in update 9" if (env, config, seed) in stopped else "finished"
        rows.append({"env": env, "config": config, "seed": seed, "total_timesteps": 1000000, "status": status})
    with open(results / "runs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["env", "config", "seed", "total_timesteps", "status"])
        writer.writeheader()
        writer.writerows(rows)


def sweep_scores(env, fixed, adaptive):
    """Seeds 0-2 of every value of both families on env, each value's seeds scoring as given."""
    families = {"fixed": fixed, "adaptive": adaptive}
    return {
        (env, config, str(seed)): families[family][config]
        for family, values in sweep.FAMILIES.items()
        for config in values
        for seed in range(3)
    }


def test_sweep_best_runs_seeds_3_4_of_a_best_value_other_than_the_main_grids(tmp_path, capsys):
    fixed = {c: float(i) for i, c in enumerate(sweep.FAMILIES["fixed"])}  # ppo_kl_fixed_10 scores highest
    adaptive = {c: 100.0 if c == "ppo_kl_adaptive" else 0.0 for c in sweep.FAMILIES["adaptive"]}  # the main value
    scores = sweep_scores("Ant-v4", fixed, adaptive)
    humanoid = sweep_scores("Humanoid-v4", fixed, adaptive)
    del humanoid["Humanoid-v4", "ppo_kl_fixed_0.3", "2"]  # Humanoid's fixed β not all in: no selection there yet
    write_results(tmp_path / "results", {**scores, **humanoid})
    runs = report.load_runs(tmp_path / "results")
    assert sweep.to_confirm(runs, "Ant-v4", report.score) == ["ppo_kl_fixed_10"]
    assert sweep.to_confirm(runs, "Humanoid-v4", report.score) == []
    flags = ["--dry-run", "--phase", "sweep_best", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "out")]
    assert run.main(flags) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "2 runs in the plan: 2 run (new)"
    assert [line.split()[2] for line in lines[:-1]] == ["Ant-v4/ppo_kl_fixed_10/seed3", "Ant-v4/ppo_kl_fixed_10/seed4"]
    assert all("--kl-mode fixed --kl-coef 10 --save-model" in line for line in lines[:-1])


def test_a_stopped_sweep_run_counts_as_worst_in_the_selection(tmp_path):
    fixed = {c: 0.0 for c in sweep.FAMILIES["fixed"]}
    fixed["ppo_kl_fixed_0.3"] = 50.0
    adaptive = {c: 0.0 for c in sweep.FAMILIES["adaptive"]}
    scores = sweep_scores("Ant-v4", fixed, adaptive)
    write_results(tmp_path, scores, stopped={("Ant-v4", "ppo_kl_fixed_0.3", "1")})
    runs = report.load_runs(tmp_path)
    chosen = sweep.selection(runs, ["Ant-v4"], report.score)
    assert chosen["Ant-v4", "fixed"][1]["ppo_kl_fixed_0.3"] == [50.0, -math.inf, 50.0]
    assert chosen["Ant-v4", "fixed"][0] == "ppo_kl_fixed"  # all others tie at 0: the main grid's value
    assert chosen["Ant-v4", "adaptive"][0] == "ppo_kl_adaptive"
