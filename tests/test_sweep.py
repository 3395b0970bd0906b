"""The β sweep's pre-registered selection (benchmark/report/sweep.py) and the runner's phase sweep_best, which runs
seeds 3-4 of each family's best value where it is not the main grid's."""

import csv
import math
import re

import pytest
from torch.utils.tensorboard import SummaryWriter

from benchmark import run
from benchmark.common import read_csv
from benchmark.job import write_json
from benchmark.report import __main__ as report
from benchmark.report import stats, sweep, sweep_answer

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
        rows.append({"env": env, "config": config, "seed": seed, "total_timesteps": 1000000, "status": status,
                     "git_commit": "", "git_dirty": "False"})
    with open(results / "runs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["env", "config", "seed", "total_timesteps", "status", "git_commit", "git_dirty"])
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
    runs = stats.load_runs(tmp_path / "results")
    assert sweep.to_confirm(runs, "Ant-v4") == ["ppo_kl_fixed_10"]
    assert sweep.to_confirm(runs, "Humanoid-v4") == []
    flags = ["--dry-run", "--phase", "sweep_best", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "out")]
    assert run.main(flags) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "2 runs in the plan: 2 run (new)"
    assert [line.split()[2] for line in lines[:-1]] == ["Ant-v4/ppo_kl_fixed_10/seed3", "Ant-v4/ppo_kl_fixed_10/seed4"]
    assert all("--kl-mode fixed --kl-coef 10 --save-model" in line for line in lines[:-1])


@pytest.mark.parametrize(
    "means, stops, best",
    [
        ({10: 500.0, 30: 600.0, 100: 550.0}, (), "ppo_kl_fixed_30"),  # peaks inside: bracketed
        ({10: 500.0, 30: 600.0, 100: 700.0}, (), "ppo_kl_fixed_100"),  # still rising at the last value
        ({10: 650.0, 30: 600.0, 100: 550.0}, (), "ppo_kl_fixed_10"),  # β = 10 stays best: nothing more runs
        ({10: 600.0, 30: 600.0, 100: 600.0}, (), "ppo_kl_fixed_10"),  # a tie goes to the smaller β
        ({10: 500.0, 30: 900.0, 100: 550.0}, (("ppo_kl_fixed_30", "1"),), "ppo_kl_fixed_100"),  # a stop is the worst
        ({10: 900.0, 30: 600.0, 100: 550.0}, (("ppo_kl_fixed_10", "0"),), "ppo_kl_fixed_30"),
    ],
)
def test_the_extended_grid_rule_past_humanoids_edge(tmp_path, capsys, means, stops, best):
    """Phase sweep_edge's pre-registered rule: among β ∈ {10, 30, 100}, the highest mean over seeds 0-2 (a stopped run
    the worst, a tie to the smaller β) is the extended best; phase sweep_edge_best runs its seeds 3-4 unless it is 10."""
    env = "Humanoid-v4"
    scores = {(env, f"ppo_kl_fixed_{b}", str(seed)): m + seed for b, m in means.items() for seed in range(3)}
    write_results(tmp_path / "results", scores, stopped={(env, c, seed) for c, seed in stops})
    runs = stats.load_runs(tmp_path / "results")
    assert sweep.edge_selection(runs, env)[0] == best
    flags = ["--dry-run", "--phase", "sweep_edge_best", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "out")]
    assert run.main(flags) == 0
    lines = capsys.readouterr().out.splitlines()
    planned = [line.split()[2] for line in lines[:-1]]
    assert planned == ([] if best == "ppo_kl_fixed_10" else [f"{env}/{best}/seed3", f"{env}/{best}/seed4"]), lines
    del runs[env, "ppo_kl_fixed_100", "2"]  # not all in: no selection yet
    assert sweep.edge_selection(runs, env) is None and sweep.edge_to_confirm(runs, env) == []


def test_a_stopped_sweep_run_counts_as_worst_in_the_selection(tmp_path):
    fixed = {c: 0.0 for c in sweep.FAMILIES["fixed"]}
    fixed["ppo_kl_fixed_0.3"] = 50.0
    adaptive = {c: 0.0 for c in sweep.FAMILIES["adaptive"]}
    scores = sweep_scores("Ant-v4", fixed, adaptive)
    write_results(tmp_path, scores, stopped={("Ant-v4", "ppo_kl_fixed_0.3", "1")})
    runs = stats.load_runs(tmp_path)
    chosen = sweep.selection(runs, ["Ant-v4"])
    assert chosen["Ant-v4", "fixed"][1]["ppo_kl_fixed_0.3"] == [50.0, -math.inf, 50.0]
    assert chosen["Ant-v4", "fixed"][0] == "ppo_kl_fixed"  # all others tie at 0: the main grid's value
    assert chosen["Ant-v4", "adaptive"][0] == "ppo_kl_adaptive"


SWEEP_SUITE = """seeds = [0, 1, 2]
total_timesteps = 1000000
[phases.sweep]
envs = ["Ant-v4"]
configs = ["ppo_kl_fixed_0.1", "ppo_kl_fixed_0.3", "ppo_kl_fixed_3", "ppo_kl_fixed_10",
           "ppo_kl_adaptive_0.003", "ppo_kl_adaptive_0.02", "ppo_kl_adaptive_0.03", "ppo_kl_adaptive_0.1"]
[phases.sweep_best]
envs = ["Ant-v4"]
seeds = [3, 4]
select = "sweep"
[phases.beta_step]
envs = ["Ant-v4"]
configs = ["beta_step"]
seeds = [0]
"""


def test_the_report_shows_the_selection_and_the_tuned_scalars_beside_the_clip(tmp_path):
    fixed = {c: float(i) for i, c in enumerate(sweep.FAMILIES["fixed"])}  # β = 10 best
    adaptive = {c: 100.0 if c == "ppo_kl_adaptive" else 0.0 for c in sweep.FAMILIES["adaptive"]}
    scores = sweep_scores("Ant-v4", fixed, adaptive)
    scores.update({("Ant-v4", "ppo_clip", str(seed)): 2000.0 + seed for seed in range(5)})
    scores.update({("Ant-v4", "ppo_kl_fixed_10", str(seed)): 4.0 for seed in (3, 4)})  # sweep_best's runs
    results = tmp_path / "results"
    write_results(results, scores)
    (results / "csv/Ant-v4/beta_step").mkdir(parents=True)
    columns = ["beta_p01", "beta_p10", "beta_p50", "beta_p90", "beta_p99", "beta_nonzero_frac", "beta_negative_frac", "beta_mean"]
    values = ["-3", "-1", "-0.1", "1", "2", "0.2", "0.6", "-0.05"]
    (results / "csv/Ant-v4/beta_step/seed0.csv").write_text(
        "step,episodic_return," + ",".join(columns) + "\n100,-999.0" + "," * len(columns) + "\n"
        + "2048,," + ",".join(values) + "\n1000000,2000.0" + "," * len(columns) + "\n"
    )
    (tmp_path / "suite.toml").write_text(SWEEP_SUITE)
    assert report.main(["summarize", "--results", str(results), "--suite", str(tmp_path / "suite.toml"), "--reps", "50"]) == 0
    readme = (results / "README.md").read_text()
    section = readme.split("### The β sweep on Ant-v4")[1].split("## The per-sample β_t")[0]
    assert "| fixed | β = 10 | 4.0 | 4.0 | 4.0 | 4.0 **best**, the largest value swept |" in section
    assert "| adaptive | d_targ = 0.01 (main grid) | 100.0 | 100.0 | 100.0 | 100.0 **best** |" in section
    tuned = section.split("Each family's best beside PPO-Clip")[1]
    assert tuned.startswith(", over its seeds in so far (5 once phase `sweep_best` has run):")  # adaptive: 3 seeds
    assert [line.split(" | ")[1] for line in tuned.splitlines() if line.startswith("| Ant-v4")] == [
        "PPO-Clip", "KL, fixed β=10", "KL, adaptive β"]
    assert "| Ant-v4 | KL, fixed β=10 | 5 |" in tuned  # seeds 0-2 of the sweep and 3-4 of sweep_best
    assert (results / "sweep_Ant-v4.png").exists() and (results / "beta_t.png").exists()
    beta_t = readme.split("## The per-sample β_t of the clip")[1]
    assert "| Ant-v4 | 20.0% | 60.0% | -3 | -0.1 | 2 | -0.05 | identical (CPU unknown vs unknown) |" in beta_t
    answer = sweep_answer.readme_answer(read_csv(results / "scores.csv"), stats.load_runs(results), "LINK").splitlines()
    assert answer[0].startswith("**The β sweep** ([the rule and every value](LINK)): `ppo_kl.py` with fixed β and"
                                " adaptive d_targ over 5 values each;")
    assert len(answer) == 3 and re.fullmatch(
        r"- Ant-v4: PPO-Clip 2002\.0 \[200\d\.\d, 200\d\.\d\] \(5 seeds\); best fixed β = 10, the largest value swept:"
        r" 4\.0 \[4\.0, 4\.0\] \(5 seeds\), below the clip's CI; best adaptive d_targ = 0\.01: 100\.0 \[100\.0, 100\.0\]"
        r" \(3 seeds so far\), below the clip's CI\.", answer[2])


def test_the_readme_answer_waits_for_a_selection_and_names_a_family_not_selected(tmp_path):
    fixed = {c: 0.0 for c in sweep.FAMILIES["fixed"]}
    fixed["ppo_kl_fixed_0.1"] = 3000.0  # the smallest value, above the clip
    adaptive = {c: 0.0 for c in sweep.FAMILIES["adaptive"]}
    scores = sweep_scores("Ant-v4", fixed, adaptive)
    scores.update({("Ant-v4", "ppo_clip", str(seed)): 2000.0 + seed for seed in range(5)})
    del scores["Ant-v4", "ppo_kl_adaptive_0.1", "1"]
    write_results(tmp_path, scores)
    scores_csv = [{"env": "Ant-v4", "config": c, "n": "3", "iqm": "3000", "iqm_lo": "3000", "iqm_hi": "3000"}
                  for c in ("ppo_kl_fixed_0.1",)] + [
        {"env": "Ant-v4", "config": "ppo_clip", "n": "5", "iqm": "2002", "iqm_lo": "2001", "iqm_hi": "2003"}]
    answer = sweep_answer.readme_answer(scores_csv, stats.load_runs(tmp_path), "LINK")
    assert answer.splitlines()[-1] == (
        "- Ant-v4: PPO-Clip 2002.0 [2001.0, 2003.0] (5 seeds); best fixed β = 0.1, the smallest value swept:"
        " 3000.0 [3000.0, 3000.0] (3 seeds so far), above the clip's CI; adaptive d_targ not selected yet.")
    (tmp_path / "csv/Ant-v4/ppo_kl_fixed_3/seed0.csv").unlink()  # neither family complete: no answer yet
    assert sweep_answer.readme_answer(scores_csv, stats.load_runs(tmp_path), "LINK") == ""


@pytest.mark.parametrize("lo, hi, where", [(1.0, 1999.0, "below"), (1.0, 2001.5, "overlapping"),
                                            (2001.5, 2500.0, "overlapping"), (2003.5, 3000.0, "above")])
def test_where_a_ci_lies_against_the_clips(lo, hi, where):
    clip = {"iqm_lo": "2001", "iqm_hi": "2003"}
    assert sweep_answer.versus_clip({"iqm_lo": str(lo), "iqm_hi": str(hi)}, clip) == f"{where} the clip's CI"


def test_the_report_plans_sweep_best_from_the_runs_it_just_extracted(tmp_path):
    """`python -m benchmark.report` extracts, then plans: a run that completes a family's seeds 0-2 puts that family's
    best into sweep_best's plan in the same call (a plan made before the extract would miss it)."""
    fixed = {c: 0.0 for c in sweep.FAMILIES["fixed"]}
    adaptive = {c: 0.0 for c in sweep.FAMILIES["adaptive"]}
    scores = sweep_scores("Ant-v4", fixed, adaptive)
    del scores["Ant-v4", "ppo_kl_fixed_3", "2"]  # comes in through the runs directory, scoring 500
    write_results(tmp_path / "results", scores)
    run_dir = tmp_path / "runs" / "Ant-v4" / "ppo_kl_fixed_3" / "seed2"
    writer = SummaryWriter(run_dir / "tb" / "Ant-v4__ppo_kl__2__1700000000")
    writer.add_scalar("charts/episodic_return", -999.0, 100)
    writer.add_scalar("charts/episodic_return", 500.0, 1000000)
    writer.close()
    args = ["ppo_kl.py", "--kl-mode", "fixed", "--kl-coef", "3", "--env-id", "Ant-v4", "--seed", "2", "--total-timesteps", "1000000"]
    meta = {"args": args, "host": "h", "git_commit": "c0ffee" * 6 + "abcd", "git_dirty": False, "versions": {}}
    write_json(run_dir / "meta.json", meta)
    write_json(run_dir / "done.json", {"exit_code": 0, "wall_time_s": 1.5, "args": args})
    (tmp_path / "suite.toml").write_text(SWEEP_SUITE)
    flags = ["--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "results"), "--suite", str(tmp_path / "suite.toml")]
    assert report.main([*flags, "--reps", "50"]) == 0
    assert "sweep_best 0 of 2," in (tmp_path / "results" / "README.md").read_text()
    assert "Missing (sweep_best): Ant-v4/ppo_kl_fixed_3/seed3, Ant-v4/ppo_kl_fixed_3/seed4." in (
        tmp_path / "results" / "README.md").read_text()


def test_the_report_shows_the_extended_grid_beside_the_answer_not_in_its_place(tmp_path):
    """Past Humanoid's edge: the extended grid's table and best (seeds 3-4 of sweep_edge_best), what the rule says of the
    fixed family, and the README line's pre-registered best unchanged, the extended one beside it."""
    fixed = {c: float(i) for i, c in enumerate(sweep.FAMILIES["fixed"])}  # β = 10 best, the grid's edge
    adaptive = {c: 100.0 if c == "ppo_kl_adaptive" else 0.0 for c in sweep.FAMILIES["adaptive"]}
    scores = sweep_scores("Humanoid-v4", fixed, adaptive)
    scores.update({("Humanoid-v4", "ppo_clip", str(seed)): 2000.0 + seed for seed in range(5)})
    scores.update({("Humanoid-v4", c, str(seed)): 4.0 for c in ("ppo_kl_fixed_10", "ppo_kl_adaptive") for seed in (3, 4)})
    scores.update({("Humanoid-v4", "ppo_kl_fixed_30", str(seed)): 9.0 for seed in range(5)})  # the extended best
    scores.update({("Humanoid-v4", "ppo_kl_fixed_100", str(seed)): 6.0 for seed in range(3)})
    results = tmp_path / "results"
    write_results(results, scores)
    suite = SWEEP_SUITE.replace('envs = ["Ant-v4"]', 'envs = ["Humanoid-v4"]') + (
        '[phases.sweep_edge]\nenvs = ["Humanoid-v4"]\nconfigs = ["ppo_kl_fixed_30", "ppo_kl_fixed_100"]\n'
        '[phases.sweep_edge_best]\nenvs = ["Humanoid-v4"]\nseeds = [3, 4]\nselect = "sweep_edge"\n')
    (tmp_path / "suite.toml").write_text(suite)
    assert report.main(["summarize", "--results", str(results), "--suite", str(tmp_path / "suite.toml"), "--reps", "50"]) == 0
    readme = (results / "README.md").read_text()
    assert "sweep_edge 6 of 6, sweep_edge_best 2 of 2" in readme
    section = readme.split("### The β sweep on Humanoid-v4")[1].split("## ")[0]
    assert "| fixed | β = 10 | 4.0 | 4.0 | 4.0 | 4.0 **best**, the largest value swept |" in section  # as registered
    assert "the fixed family is bracketed: its score peaks at β = 30. The extended best stands beside" in section
    assert "| β = 30 (added) | 9.0 | 9.0 | 9.0 | 9.0 **extended best** |" in section
    assert "| Humanoid-v4 | KL, fixed β=30 | 5 |" in section
    answer = sweep_answer.readme_answer(read_csv(results / "scores.csv"), stats.load_runs(results), "LINK").splitlines()[2]
    assert "best fixed β = 10, the largest value swept: 4.0 [4.0, 4.0] (5 seeds), below the clip's CI;" in answer
    assert answer.endswith("; extended grid (β ∈ {10, 30, 100}, added after the first): best fixed β = 30: 9.0 [9.0, 9.0]"
                           " (5 seeds), below the clip's CI; the fixed family is bracketed: its score peaks at β = 30.")
