"""The benchmark report (python -m benchmark.report) on a fake runs tree: TensorBoard event files
with known values, written here with SummaryWriter, in the runner's layout."""

import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
from scripts import REPO
from torch.utils.tensorboard import SummaryWriter

from benchmark import report
from benchmark.job import write_json

ENVS, SEEDS = ["Hopper-v4", "Walker2d-v4"], [0, 1]
CONFIGS = ["ppo_clip", "ppo_per_sample_kl", "ppo_dual", "ppo_kl_fixed"]
EPISODE_STEPS = [300, 600, 900, 950, 1000]  # 10 updates of 100 steps: the last 10% is step > 900
SUITE = """configs = ["ppo_clip", "ppo_per_sample_kl", "ppo_dual", "ppo_kl_fixed"]
seeds = [0, 1]
total_timesteps = 1000
[phases.main]
envs = ["Hopper-v4", "Walker2d-v4"]
"""


def base(env, config, seed):
    """Returns are base + step/100, so a run's score is base + (9.5 + 10) / 2 = base + 9.75."""
    return (50 if config == "ppo_kl_fixed" else 100) * (seed + 1) + (1000 if env == "Walker2d-v4" else 0)


def write_run(out, env, config, seed, finished=True):
    run_dir = out / env / config / f"seed{seed}"
    writer = SummaryWriter(run_dir / "tb" / f"{env}__{config}__{seed}__1700000000")
    for step in EPISODE_STEPS:
        value = base(env, config, seed) + step / 100
        if (config, seed, step) == ("ppo_dual", 1, 600):  # ppo_dual seed 1 leaves the others here
            value += 1
        writer.add_scalar("charts/episodic_return", value, step)
        writer.add_scalar("charts/episodic_length", 50, step)  # not extracted
    for step in range(100, 1001, 100):
        writer.add_scalar("killset/kill_frac", step / 10000, step)
        writer.add_scalar("killset/inband_frac", 0.5, step)
        writer.add_scalar("killset/passthrough_frac", 0.5 - step / 10000, step)
        writer.add_scalar("charts/SPS", 1234, step)  # not extracted
        if config == "ppo_per_sample_kl":
            writer.add_scalar("losses/beta_mean", 0.25, step)
        if config == "ppo_kl_fixed":
            writer.add_scalar("losses/kl_coef", 1.0, step)
    writer.close()
    versions = {"python": "3.11", "torch": "2", "gymnasium": "1", "mujoco": "3", "numpy": "2"}
    args = [f"{config}.py", "--seed", str(seed), "--total-timesteps", "1000"]
    meta = {"args": args, "host": "h", "git_commit": "c0ffee" * 6 + "abcd", "git_dirty": False, "versions": versions}
    write_json(run_dir / "meta.json", meta)
    if finished:
        write_json(run_dir / "done.json", {"exit_code": 0, "wall_time_s": 1.5, "args": args})


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The fake runs (Walker2d-v4 ppo_dual seed 1 interrupted: no marker), the report made from them."""
    tmp = tmp_path_factory.mktemp("report")
    runs, results, suite = tmp / "runs", tmp / "results", tmp / "suite.toml"
    suite.write_text(SUITE)
    for env in ENVS:
        for config in CONFIGS:
            for seed in SEEDS:
                write_run(runs, env, config, seed, finished=(env, config, seed) != ("Walker2d-v4", "ppo_dual", 1))
    argv = ["--runs", str(runs), "--results", str(results), "--suite", str(suite), "--reps", "200"]
    assert report.main(argv) == 0
    return runs, results, argv


def test_csv_per_finished_run(made):
    _, results, _ = made
    csvs = sorted(p.relative_to(results / "csv").as_posix() for p in (results / "csv").rglob("*.csv"))
    assert len(csvs) == 15 and "Walker2d-v4/ppo_dual/seed1.csv" not in csvs
    lines = (results / "csv" / "Hopper-v4" / "ppo_per_sample_kl" / "seed1.csv").read_text().splitlines()
    assert lines[0] == "step,episodic_return,kill_frac,inband_frac,passthrough_frac,beta_mean"
    assert len(lines) == 1 + 5 + 10
    assert lines[1] == "100,,0.01,0.5,0.49,0.25"  # values as logged, in float32's shortest form
    assert lines[3:5] == ["300,203.0,,,,", "300,,0.03,0.5,0.47,0.25"]  # the episode before its update
    kl = (results / "csv" / "Hopper-v4" / "ppo_kl_fixed" / "seed0.csv").read_text().splitlines()[0]
    assert kl == "step,episodic_return,kill_frac,inband_frac,passthrough_frac,kl_coef"
    manifest = report.read_csv(results / "runs.csv")
    assert len(manifest) == 15 and manifest[0]["total_timesteps"] == "1000" and manifest[0]["torch"] == "2"


def test_scores(made):
    _, results, _ = made
    rows = {(r["env"], r["config"]): r for r in report.read_csv(results / "scores.csv")}
    clip = rows["Hopper-v4", "ppo_clip"]  # seed scores 109.75 and 209.75
    assert (clip["n"], float(clip["mean"]), float(clip["iqm"])) == ("2", 159.75, 159.75)
    assert float(clip["std"]) == pytest.approx(50 * math.sqrt(2))
    assert float(clip["iqm_lo"]) == 109.75 and float(clip["iqm_hi"]) == 209.75
    assert float(rows["Walker2d-v4", "ppo_kl_fixed"]["mean"]) == 1000 + 9.75 + 75
    dual = rows["Walker2d-v4", "ppo_dual"]  # one seed: no std
    assert (dual["n"], float(dual["mean"]), dual["std"]) == ("1", 1109.75, "nan")
    readme = (results / "README.md").read_text()
    assert "| Hopper-v4 | PPO-Clip | 2 | 159.8 ± 70.7 | 159.8 [109.8, 209.8] |" in readme
    assert "| Walker2d-v4 | dual | 1 | 1109.8 | 1109.8 [1109.8, 1109.8] |" in readme


def test_aggregate_normalized_by_ppo_clip():
    runs = {
        (env, config, str(seed)): {"episodic_return": (np.array([1000.0]), np.array([score])), "last_step": 1000.0}
        for env, scale in (("A", 1), ("B", 10))
        for config, scores in (("ppo_clip", [1, 2, 3]), ("ppo_dual", [2, 4, 6]))
        for seed, score in enumerate(np.array(scores) * scale)
    }
    table = report.score_table(runs, reps=100)
    envs, matrices, point, interval = report.aggregate(runs, table, reps=100)
    assert envs == ["A", "B"] and matrices["ppo_clip"].tolist() == [[0.5, 0.5], [1, 1], [1.5, 1.5]]
    assert point["ppo_clip"].tolist() == [1, 1] and point["ppo_dual"].tolist() == [2, 2]  # IQM, mean
    assert np.all(interval["ppo_dual"][0] <= 2) and np.all(interval["ppo_dual"][1] >= 2)


def test_identity_table(made):
    _, results, _ = made
    assert report.read_csv(results / "identity.csv") == [
        {"env": "Hopper-v4", "seed": "0", "episodes": "5", "ppo_per_sample_kl": "identical", "ppo_dual": "identical"},
        {"env": "Hopper-v4", "seed": "1", "episodes": "5", "ppo_per_sample_kl": "identical", "ppo_dual": "diverges at step 600"},
        {"env": "Walker2d-v4", "seed": "0", "episodes": "5", "ppo_per_sample_kl": "identical", "ppo_dual": "identical"},
        {"env": "Walker2d-v4", "seed": "1", "episodes": "5", "ppo_per_sample_kl": "identical", "ppo_dual": "missing"},
    ]
    steps = np.array([1.0, 2, 3])
    assert report.first_divergence((steps, steps), (steps[:2], steps[:2])) == 3  # one is shorter


def test_readme_and_plots(made):
    _, results, _ = made
    readme = (results / "README.md").read_text()
    assert "**15 of the 16 planned runs are present**" in readme
    assert "Missing: Walker2d-v4/ppo_dual/seed1." in readme
    assert "| Hopper-v4 | 1 | 5 | identical | diverges at step 600 |" in readme
    assert "| Hopper-v4 | 2382.86 ± 271.74 |" in readme and "Ant-v4 |" not in readme
    for png in ("headline.png", "configs.png", "aggregate.png", "killset.png"):
        assert f"]({png})" in readme
        assert (results / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (results / png).stat().st_size > 10000


def test_script_versions_name_the_code_each_config_ran(made):
    _, results, _ = made
    unknown = "c0ffee" * 6 + "abcd"  # the fake runs' commit: not in this repository
    assert "Script versions (" in (results / "README.md").read_text()

    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()

    head = git("rev-parse", "HEAD")
    manifest = [
        {"config": "ppo_clip", "git_commit": head},
        {"config": "ppo_clip", "git_commit": unknown},
        {"config": "ppo_dual", "git_commit": head},
        {"config": "ppo_dual", "git_commit": head},
        {"config": "ppo_kl_fixed", "git_commit": head},
        {"config": "ppo_kl_adaptive", "git_commit": head},
    ]
    clip, dual, kl = (
        git("rev-parse", "--short=10", f"HEAD:{name}") for name in ("ppo_clip.py", "ppo_dual.py", "ppo_kl.py")
    )
    assert report.script_versions(manifest) == {
        "ppo_clip": sorted([clip, "?"]),  # two versions: one unknown
        "ppo_dual": [dual],  # two runs, one version
        "ppo_kl_fixed": [kl],
        "ppo_kl_adaptive": [kl],  # configs of one script share its blob
    }


def test_regenerated_from_csvs_alone(made, tmp_path):
    runs, results, argv = made
    copy = tmp_path / "results"
    shutil.copytree(results / "csv", copy / "csv")
    shutil.copy(results / "runs.csv", copy)
    argv = [a if a != str(results) else str(copy) for a in argv]
    assert report.main(argv[:1] + [str(tmp_path / "no-runs")] + argv[2:]) == 0  # no runs dir: summarize only
    for name in ("README.md", "scores.csv", "identity.csv"):
        assert (copy / name).read_text() == (results / name).read_text()


def test_top_readme_section_is_rewritten_between_markers(made):
    _, results, _ = made
    readme = results.parent / "README.md"  # as the repository's README.md sits above benchmark/results
    readme.write_text(f"# Title\n\nbefore\n{report.BEGIN}\nstale table\n{report.END}\nafter\n")
    planned = {(e, c, str(s)) for e in ENVS for c in CONFIGS for s in SEEDS}
    for _ in range(2):  # idempotent
        report.update_top_readme(readme, results, planned)
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n" + report.BEGIN) and text.endswith(report.END + "\nafter\n")
    assert "stale table" not in text and text.count(report.BEGIN) == 1
    assert "15 of the 16 planned 1M-step runs are in so far" in text
    assert "| Hopper-v4 | PPO-Clip | 2 | 159.8 ± 70.7 | 159.8 [109.8, 209.8] |" in text
    # Hopper seeds 0 and 1 and Walker2d seed 0 have all three forms; Hopper seed 1's dual diverges
    assert "compared so far: 3 env/seed pairs, 2 bitwise identical" in text
    assert "![PPO-Clip vs per-sample KL](results/headline.png)" in text

    present = planned & report.load_runs(results).keys()  # the same runs, planned as a complete set
    report.update_top_readme(readme, results, present)
    text = readme.read_text()
    assert "All 15 planned 1M-step runs are in (details" in text and "so far" not in text
    assert "compared: 3 env/seed pairs, 2 bitwise identical" in text
    report.update_top_readme(readme, results, present | {("Hopper-v4", "beta_asym", "0")})  # a slice run to go
    text = readme.read_text()
    assert "15 of the 16 planned 1M-step runs are in so far" in text and "compared: 3 env/seed pairs" in text


def test_beta_slice_beside_clip_leaves_the_main_aggregate_alone(tmp_path):
    """β_t configs on fewer envs: their own section and figures beside PPO-Clip, on their envs; the main
    aggregate still covers every env of the main grid."""
    runs, results, suite = tmp_path / "runs", tmp_path / "results", tmp_path / "suite.toml"
    suite.write_text(SUITE + '[phases.beta]\nenvs = ["Hopper-v4"]\nconfigs = ["beta_sigmoid", "beta_asym"]\n')
    for env in ENVS:
        for config in ("ppo_clip", "ppo_kl_fixed"):
            for seed in SEEDS:
                write_run(runs, env, config, seed)
    for config in ("beta_sigmoid", "beta_asym"):
        for seed in SEEDS:
            write_run(runs, "Hopper-v4", config, seed)
    argv = ["--runs", str(runs), "--results", str(results), "--suite", str(suite), "--reps", "200"]
    assert report.main(argv + ["--phase", "main", "beta"]) == 0
    readme = (results / "README.md").read_text()
    assert "**12 of the 20 planned runs are present**" in readme  # main: 4 configs × 2 envs × 2 seeds, beta: 4
    main_agg = readme.split("## Aggregate over envs")[1].split("##")[0]
    assert "(Hopper-v4, Walker2d-v4)" in main_agg and "β_t" not in main_agg
    assert "| PPO-Clip | 2 |" in main_agg and "| KL, fixed β=1 | 2 |" in main_agg
    beta = readme.split("## The β_t knob beside PPO-Clip")[1].split("## Identity")[0]
    # Hopper: PPO-Clip 159.75 (seeds 109.75, 209.75) and the β configs score as PPO-Clip (base() is config-free)
    assert "| Hopper-v4 | PPO-Clip | 2 | 159.8 ± 70.7 |" in beta and "| Hopper-v4 | β_t sigmoid, s=0.05 | 2 |" in beta
    assert "Walker2d-v4 |" not in beta and "KL, fixed" not in beta
    assert "(Hopper-v4); IQM and mean" in beta and "| β_t step, ε 0.2/0.28 | 2 | 1.000 [" in beta
    for png in ("beta.png", "beta_killset.png", "beta_aggregate.png"):
        assert f"]({png})" in readme and (results / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_beta_section_without_beta_runs(made):
    _, results, _ = made
    readme = (results / "README.md").read_text()
    assert "β_t knob" not in readme and not (results / "beta.png").exists()
