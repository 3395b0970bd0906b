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

from benchmark.configs import label
from benchmark.job import read_json, write_json
from benchmark.report import __main__ as report
from benchmark.report import results_readme, stats, summary, top_readme
from benchmark.report.extract import TAGS

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


def write_run(out, env, config, seed, finished=True, last=1000, cpu=None):
    """The run's TensorBoard file up to step `last`, its meta.json (with the CPU kind `cpu`, if given), and
    done.json if it finished."""
    run_dir = out / env / config / f"seed{seed}"
    writer = SummaryWriter(run_dir / "tb" / f"{env}__{config}__{seed}__1700000000")
    for step in (step for step in EPISODE_STEPS if step <= last):
        value = base(env, config, seed) + step / 100
        if (config, seed, step) == ("ppo_dual", 1, 600):  # ppo_dual seed 1 leaves the others here
            value += 1
        writer.add_scalar("charts/episodic_return", value, step)
        writer.add_scalar("charts/episodic_length", 50, step)  # not extracted
    for step in range(100, last + 1, 100):
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
    if cpu:
        meta["cpu"] = {"kind": cpu, "model": cpu.split(",")[0], "torch_capability": cpu.split(", ")[-1]}
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
    table = stats.score_table(runs, reps=100)
    envs, matrices, point, interval = stats.aggregate(runs, table, reps=100)
    assert envs == ["A", "B"] and matrices["ppo_clip"].tolist() == [[0.5, 0.5], [1, 1], [1.5, 1.5]]
    assert point["ppo_clip"].tolist() == [1, 1] and point["ppo_dual"].tolist() == [2, 2]  # IQM, mean
    assert np.all(interval["ppo_dual"][0] <= 2) and np.all(interval["ppo_dual"][1] >= 2)


def test_identity_table(made):
    _, results, _ = made
    unknown = {"cpu_ppo_clip": "unknown", "cpu_ppo_per_sample_kl": "unknown", "cpu_ppo_dual": "unknown", "cpu_differs": ""}
    assert report.read_csv(results / "identity.csv") == [
        {"env": "Hopper-v4", "seed": "0", "episodes": "5", "ppo_per_sample_kl": "identical", "ppo_dual": "identical", **unknown},
        {"env": "Hopper-v4", "seed": "1", "episodes": "5", "ppo_per_sample_kl": "identical", "ppo_dual": "diverges at step 600", **unknown},
        {"env": "Walker2d-v4", "seed": "0", "episodes": "5", "ppo_per_sample_kl": "identical", "ppo_dual": "identical", **unknown},
        {"env": "Walker2d-v4", "seed": "1", "episodes": "5", "ppo_per_sample_kl": "identical", "ppo_dual": "missing",
         **unknown, "cpu_ppo_dual": ""},  # the fake runs record no CPU; the missing run has none at all
    ]
    steps = np.array([1.0, 2, 3])
    assert stats.first_divergence((steps, steps), (steps[:2], steps[:2])) == 3  # one is shorter


def test_identity_names_each_runs_cpu_kind_and_marks_a_pair_across_kinds(tmp_path):
    """runs.csv's cpu is meta.json's CPU kind, empty for a run without one (never guessed); the identity table names
    each compared run's kind ("unknown" for those) and marks a pair whose runs ran on two known kinds."""
    runs, results, suite = tmp_path / "runs", tmp_path / "results", tmp_path / "suite.toml"
    suite.write_text(SUITE)
    a, b = "CPU A (family 1, model 2, stepping 3), AVX2", "CPU B (family 4, model 5, stepping 6), AVX512"
    kinds = {  # (env, seed) → the kinds of ppo_clip's, ppo_per_sample_kl's and ppo_dual's runs
        ("Hopper-v4", 0): (a, a, a),
        ("Hopper-v4", 1): (a, a, b),  # dual's run elsewhere
        ("Walker2d-v4", 0): (a, None, b),  # per-sample KL's run older: its kind is not known
        ("Walker2d-v4", 1): (None, None, None),
    }
    for (env, seed), cpus in kinds.items():
        for config, cpu in zip(CONFIGS[:3], cpus):
            write_run(runs, env, config, seed, cpu=cpu)
    assert report.main(["--runs", str(runs), "--results", str(results), "--suite", str(suite), "--reps", "20"]) == 0
    manifest = {(r["env"], r["config"], r["seed"]): r["cpu"] for r in report.read_csv(results / "runs.csv")}
    assert manifest["Hopper-v4", "ppo_dual", "1"] == b and manifest["Walker2d-v4", "ppo_clip", "1"] == ""
    identity = {(r["env"], r["seed"]): r for r in report.read_csv(results / "identity.csv")}
    assert [identity["Hopper-v4", "1"][f"cpu_{c}"] for c in CONFIGS[:3]] == [a, a, b]
    assert identity["Hopper-v4", "0"]["cpu_differs"] == "" and identity["Hopper-v4", "1"]["cpu_differs"] == "ppo_dual"
    assert [identity["Walker2d-v4", "0"][f"cpu_{c}"] for c in CONFIGS[:3]] == [a, "unknown", b]
    assert identity["Walker2d-v4", "0"]["cpu_differs"] == "ppo_dual"  # per-sample KL's pair: not known to differ
    assert identity["Walker2d-v4", "1"]["cpu_ppo_clip"] == "unknown" and identity["Walker2d-v4", "1"]["cpu_differs"] == ""
    readme = (results / "README.md").read_text()
    assert f"| Hopper-v4 | 0 | 5 | identical | identical | {a} |" in readme
    assert (f"| Hopper-v4 | 1 | 5 | identical | diverges at step 600 (different CPU kinds) |"
            f" ppo_clip: {a}; ppo_per_sample_kl: {a}; ppo_dual: {b} |") in readme
    assert (f"| Walker2d-v4 | 0 | 5 | identical | identical (different CPU kinds) |"
            f" ppo_clip: {a}; ppo_per_sample_kl: unknown; ppo_dual: {b} |") in readme
    assert "| Walker2d-v4 | 1 | 5 | identical | diverges at step 600 | unknown |" in readme


def test_readme_and_plots(made):
    _, results, _ = made
    readme = (results / "README.md").read_text()
    assert "**15 of the 16 planned runs are present**" in readme
    assert "Missing (main): Walker2d-v4/ppo_dual/seed1." in readme
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
        {"env": "A", "config": "ppo_clip", "seed": "0", "git_commit": head},
        {"env": "B", "config": "ppo_clip", "seed": "0", "git_commit": unknown},
        {"env": "A", "config": "ppo_dual", "seed": "0", "git_commit": head},
        {"env": "A", "config": "ppo_dual", "seed": "1", "git_commit": head},
        {"env": "A", "config": "ppo_kl_fixed", "seed": "0", "git_commit": head},
        {"env": "A", "config": "ppo_kl_adaptive", "seed": "0", "git_commit": head},
    ]
    clip, dual, kl = (
        git("rev-parse", "--short=10", f"HEAD:{name}") for name in ("ppo_clip.py", "ppo_dual.py", "ppo_kl.py")
    )
    versions = stats.script_versions(manifest)
    assert versions == {
        "ppo_clip": {"?": [("B", "ppo_clip", "0")], clip: [("A", "ppo_clip", "0")]},  # two versions: one unknown
        "ppo_dual": {dual: [("A", "ppo_dual", "0"), ("A", "ppo_dual", "1")]},  # two runs, one version
        "ppo_kl_fixed": {kl: [("A", "ppo_kl_fixed", "0")]},
        "ppo_kl_adaptive": {kl: [("A", "ppo_kl_adaptive", "0")]},  # configs of one script share its blob
    }
    # every version of a config is named, with the envs of its runs
    assert results_readme.versions_text("ppo_clip", versions["ppo_clip"]) == f"PPO-Clip `ppo_clip.py` {clip} (1 run: A) + ? (1 run: B)"
    assert results_readme.versions_text("ppo_dual", versions["ppo_dual"]) == f"dual `ppo_dual.py` {dual}"


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
    readme.write_text(f"# Title\n\nbefore\n{top_readme.BEGIN}\nstale table\n{top_readme.END}\nafter\n")
    planned = {(e, c, str(s)) for e in ENVS for c in CONFIGS for s in SEEDS}
    for _ in range(2):  # idempotent
        report.update_top_readme(readme, results, planned)
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n" + top_readme.BEGIN) and text.endswith(top_readme.END + "\nafter\n")
    assert "stale table" not in text and text.count(top_readme.BEGIN) == 1
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
    main = SUITE.replace('"ppo_per_sample_kl", "ppo_dual", ', "")  # the main grid: ppo_clip and ppo_kl_fixed
    suite.write_text(main + '[phases.beta]\nenvs = ["Hopper-v4"]\nconfigs = ["beta_sigmoid", "beta_asym"]\n')
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
    assert "**12 of the 12 planned runs are present** (suite.toml: main 8 of 8, beta 4 of 4)." in readme
    main_agg = readme.split("## Aggregate over envs")[1].split("##")[0]
    assert "all of them: Hopper-v4, Walker2d-v4." in main_agg and "β_t" not in main_agg
    assert "| PPO-Clip | 2 |" in main_agg and "| KL, fixed β=1 | 2 |" in main_agg
    beta = readme.split("## The β_t knob beside PPO-Clip")[1].split("\n## ")[0]
    # Hopper: PPO-Clip 159.75 (seeds 109.75, 209.75) and the β configs score as PPO-Clip (base() is config-free)
    assert "| Hopper-v4 | PPO-Clip | 2 | 159.8 ± 70.7 |" in beta and "| Hopper-v4 | β_t sigmoid, s=0.05 | 2 |" in beta
    assert "Walker2d-v4 |" not in beta and "KL, fixed" not in beta
    assert "all of them: Hopper-v4. IQM and mean" in beta and "| β_t step, ε 0.2/0.28 | 2 | 1.000 [" in beta
    for png in ("beta.png", "beta_killset.png", "beta_aggregate.png"):
        assert f"]({png})" in readme and (results / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_beta_section_without_beta_runs(made):
    _, results, _ = made
    readme = (results / "README.md").read_text()
    assert "β_t knob" not in readme and not (results / "beta.png").exists()


# ---- Humanoid-v4 in the main grid, at every state of its runs ----

MAIN5 = ["ppo_clip", "ppo_per_sample_kl", "ppo_dual", "ppo_kl_fixed", "ppo_kl_adaptive"]
CLIP_FORMS = MAIN5[:3]
THREE = "PPO-Clip, per-sample KL, dual (×3, bitwise identical)"  # their row where they are one
GRID_SUITE = f"""configs = {MAIN5!r}
seeds = [0, 1, 2]
total_timesteps = 1000
[phases.main]
envs = ["Hopper-v4"]
[phases.humanoid]
envs = ["Humanoid-v4"]
""".replace("'", '"')


def write_csv_run(results, env, config, seed):
    """A run's CSV as extract writes it: episodes (returns base + step/100) and per-update kill fractions."""
    rows = [{"step": step, "episodic_return": base(env, config, seed) + step / 100} for step in EPISODE_STEPS]
    rows += [{"step": step, "kill_frac": step / 10000} for step in range(100, 1001, 100)]
    rows.sort(key=lambda row: (row["step"], "kill_frac" in row))
    report.write_csv(results / "csv" / env / config / f"seed{seed}.csv", ["step", "episodic_return", "kill_frac"], rows)


def png_width(path):
    return int.from_bytes(path.read_bytes()[16:20], "big")  # the IHDR chunk


def summarize_grid(tmp_path, humanoid_runs):
    """Hopper-v4 complete (5 configs × 3 seeds), the given Humanoid-v4 (config, seed) runs; the report made by the
    default invocation (every phase of the suite planned)."""
    results, suite = tmp_path / "results", tmp_path / "suite.toml"
    shutil.rmtree(results, ignore_errors=True)
    suite.write_text(GRID_SUITE)
    for config in MAIN5:
        for seed in range(3):
            write_csv_run(results, "Hopper-v4", config, seed)
    for config, seed in humanoid_runs:
        write_csv_run(results, "Humanoid-v4", config, seed)
    argv = ["summarize", "--results", str(results), "--suite", str(suite), "--reps", "50"]
    assert report.main(argv) == 0
    return results, (results / "README.md").read_text()


@pytest.mark.parametrize("pick", [0, 1, 2, 7, 14, 15])
def test_humanoid_joins_the_main_grid_at_every_state(tmp_path, pick):
    """With any subset of the 15 planned Humanoid runs in, every main-grid table and figure shows them, and the
    aggregate covers Hopper alone, naming Humanoid and its count, until all of them are in."""
    planned = [(config, seed) for config in MAIN5 for seed in range(3)]
    runs = sorted(np.random.default_rng(pick).permutation(len(planned))[:pick])
    humanoid = [planned[i] for i in runs]
    results, readme = summarize_grid(tmp_path, humanoid)
    assert f"**{15 + pick} of the 30 planned runs are present** (suite.toml: main 15 of 15, humanoid {pick} of 15)" in readme
    scores = readme.split("## Scores")[1].split("## Aggregate")[0]
    aggregate = readme.split("## Aggregate over envs")[1].split("## Identity")[0]
    identity = readme.split("## Identity")[1].split("## Plots")[0]
    assert "| Humanoid-v4 | 716.11 ± 49.08 |" in scores  # the CleanRL reference
    seeds = {config: sorted(seed for c, seed in humanoid if c == config) for config in MAIN5}
    merged = seeds["ppo_clip"] and seeds["ppo_clip"] == seeds["ppo_per_sample_kl"] == seeds["ppo_dual"]
    for config in MAIN5:
        n = len(seeds[config])
        if merged and config in CLIP_FORMS:  # the same seeds of each (base() is config-free): one row
            assert f"| Humanoid-v4 | {THREE} | {n} |" in scores and f"| Humanoid-v4 | {label(config)} |" not in scores
        else:
            assert (f"| Humanoid-v4 | {label(config)} | {n} |" in scores) == (n > 0)
    clip_seeds = [seed for config, seed in humanoid if config == "ppo_clip"]
    assert identity.count("| Humanoid-v4 |") == len(clip_seeds)
    panels = 2 if humanoid else 1
    for png in ("headline.png", "configs.png", "killset.png"):
        assert png_width(results / png) == round(4.2 * 110 * panels), png
    if pick < 15:
        assert "all of them: Hopper-v4. IQM" in aggregate
        assert f"**Not in the aggregate yet: Humanoid-v4 ({pick} of its 15 planned runs are in).**" in aggregate
        assert "| PPO-Clip | 3 |" in aggregate  # Hopper's three seeds, whatever Humanoid has
    else:
        assert "all of them: Hopper-v4, Humanoid-v4. IQM" in aggregate and "Not in the aggregate" not in aggregate
    assert "aggregate.png" in readme


def test_aggregate_leaves_out_an_env_whose_seeds_are_still_coming(tmp_path):
    """Seed 0 of every config on Humanoid: every config has runs there, but the aggregate must not take Humanoid
    in with one seed of three, nor drop Hopper's other seeds to match it."""
    _, readme = summarize_grid(tmp_path, [(config, 0) for config in MAIN5])
    aggregate = readme.split("## Aggregate over envs")[1].split("## Identity")[0]
    assert "all of them: Hopper-v4. IQM" in aggregate
    assert "Humanoid-v4 (5 of its 15 planned runs are in)" in aggregate
    assert "| PPO-Clip | 3 | 1.000 [" in aggregate and "| KL, fixed β=1 | 3 |" in aggregate


def test_the_clip_forms_share_a_row_only_where_they_are_identical(made, tmp_path):
    """Hopper-v4 of the grid: the three forms' runs are identical (base() is config-free): one row, in the results
    README and the top README, while scores.csv keeps three. Humanoid-v4: ppo_dual has a seed the others lack, so its
    scores differ though the seed compared is identical: three rows. Hopper-v4 of `made`: equal scores, but ppo_dual
    seed 1 diverges before the last 10%: three rows."""
    humanoid = [("ppo_clip", 0), ("ppo_per_sample_kl", 0), ("ppo_dual", 0), ("ppo_dual", 1)]
    results, readme = summarize_grid(tmp_path, humanoid)
    top = results.parent / "README.md"
    top.write_text(f"{top_readme.BEGIN}\n{top_readme.END}\n")
    report.update_top_readme(top, results, report.load_runs(results).keys())
    for text in (readme.split("## Scores")[1].split("## Aggregate")[0], top.read_text()):
        assert f"| Hopper-v4 | {THREE} | 3 | 209.8 ± 100.0 | 209.8 [" in text
        assert "| Hopper-v4 | PPO-Clip |" not in text and "| Hopper-v4 | dual |" not in text
        assert "| Humanoid-v4 | PPO-Clip | 1 |" in text and "| Humanoid-v4 | per-sample KL | 1 |" in text
        assert "| Humanoid-v4 | dual | 2 |" in text and f"| Humanoid-v4 | {THREE}" not in text
    hopper = [r for r in report.read_csv(results / "scores.csv") if r["env"] == "Hopper-v4" and r["config"] in CLIP_FORMS]
    assert len(hopper) == 3 and len({(r["mean"], r["iqm"]) for r in hopper}) == 1

    readme = (made[1] / "README.md").read_text()
    assert "| Hopper-v4 | PPO-Clip | 2 | 159.8 ± 70.7 |" in readme and "| Hopper-v4 | dual | 2 | 159.8 ± 70.7 |" in readme
    assert "×3" not in readme


def test_planned_slices_without_runs_leave_the_main_grid_alone(tmp_path):
    """The β_t-step and sweep phases planned on Hopper-v4, none of their runs in: the main grid's aggregate still
    covers Hopper (their configs are slices, not the main grid's), and no main table names them."""
    results, _ = summarize_grid(tmp_path, [])
    suite = tmp_path / "suite.toml"
    suite.write_text(GRID_SUITE + '[phases.beta_step]\nconfigs = ["beta_step"]\nseeds = [0]\nenvs = ["Hopper-v4"]\n'
                     '[phases.sweep]\nconfigs = ["ppo_kl_fixed_0.1", "ppo_kl_adaptive_0.02"]\nenvs = ["Hopper-v4"]\n')
    assert report.main(["summarize", "--results", str(results), "--suite", str(suite), "--reps", "50"]) == 0
    readme = (results / "README.md").read_text()
    assert "(suite.toml: main 15 of 15, humanoid 0 of 15, beta_step 0 of 1, sweep 0 of 6)" in readme
    aggregate = readme.split("## Aggregate over envs")[1].split("## Identity")[0]
    assert "all of them: Hopper-v4. IQM" in aggregate and "| PPO-Clip | 3 | 1.000 [" in aggregate
    main_tables = readme.split("## Scores")[1].split("## Is there a scalar β")[0]  # scores and the main aggregate
    assert "β_t step" not in main_tables and "d_targ" not in main_tables and "KL, fixed β=0.1" not in main_tables
    assert "fixed β: not selected yet, 3 of its 15 runs (seeds 0-2) are in." in readme  # β = 1: the main grid's


def test_runs_outside_the_plan_are_named_not_aggregated(tmp_path):
    results, readme = summarize_grid(tmp_path, [])
    write_csv_run(results, "Ant-v4", "ppo_clip", 0)  # no phase plans Ant-v4
    assert report.main(["summarize", "--results", str(results), "--suite", str(tmp_path / "suite.toml"),
                        "--reps", "50", "--phase", "main"]) == 0
    readme = (results / "README.md").read_text()
    assert "**15 of the 15 planned runs are present** (suite.toml: main 15 of 15); 1 more runs outside the plan" in readme
    assert "**Not in the aggregate yet: Ant-v4 (its runs are outside the plan).**" in readme


def test_several_script_versions_say_where_their_floats_are_checked(monkeypatch, tmp_path):
    versions = {"ppo_clip": {"aaaa": [("Hopper-v4", "ppo_clip", "0")], "bbbb": [("Humanoid-v4", "ppo_clip", "0")]}}
    manifest = [{"git_commit": "a" * 40, "git_dirty": "False"}]
    s = summary.Summary(runs={}, table=[], main=None, slices={}, identity=[], plan={}, suite="s", manifest=manifest,
                       versions=versions, reps=1)
    text = "\n".join(results_readme.provenance_lines(s))
    assert "PPO-Clip `ppo_clip.py` aaaa (1 run: Hopper-v4) + bbbb (1 run: Humanoid-v4)." in text
    guard = tmp_path / "test_replay.py"
    guard.write_text("")
    monkeypatch.setattr(results_readme, "REPO", tmp_path)
    monkeypatch.setattr(results_readme, "REPLAY_GUARD", guard.name)
    assert "these versions compute the same floats; where that is checked: `test_replay.py` replays" in (
        "\n".join(results_readme.provenance_lines(s))
    )
    guard.unlink()
    assert "no test here checks that they compute the same floats" in "\n".join(results_readme.provenance_lines(s))
    s.versions = {"ppo_clip": {"aaaa": versions["ppo_clip"]["aaaa"]}}  # one version: nothing to check
    assert "floats" not in "\n".join(results_readme.provenance_lines(s))


# ---- the zoo: its CSV columns and its own section ----


def test_gate_fractions_are_extracted_and_older_runs_keep_their_csvs(tmp_path):
    """A run logging the reversed/amplified fractions gets those columns; every committed CSV's columns are in the
    order extract writes them, so re-extracting a committed run (which has no such tags) gives the same file."""
    runs, results = tmp_path / "runs", tmp_path / "results"
    write_run(runs, "Hopper-v4", "zoo_rollback", 0)
    writer = SummaryWriter(next((runs / "Hopper-v4" / "zoo_rollback" / "seed0" / "tb").iterdir()))
    for step in range(100, 1001, 100):
        writer.add_scalar("killset/reversed_frac", step / 20000, step)
        writer.add_scalar("killset/amplified_frac", 0.0, step)
        writer.add_scalar("losses/gate_mean", 0.25, step)
        writer.add_scalar("losses/approx_kl", 0.125, step)
        writer.add_scalar("losses/entropy", -1.5, step)
    writer.close()
    assert report.extract(runs, results) == (1, 0)
    lines = (results / "csv" / "Hopper-v4" / "zoo_rollback" / "seed0.csv").read_text().splitlines()
    columns = "kill_frac,inband_frac,passthrough_frac,reversed_frac,amplified_frac,gate_mean,approx_kl,entropy"
    assert lines[0] == f"step,episodic_return,{columns}" and lines[1] == "100,,0.01,0.5,0.49,0.005,0.0,0.25,0.125,-1.5"
    committed = list((REPO / "benchmark" / "results" / "csv").glob("*/*/seed*.csv"))
    assert len(committed) >= 130
    for path in committed:
        header = path.read_text().split("\n", 1)[0].split(",")
        assert header == ["step", *(col for col in TAGS if col in header)], path


ZOO_SUITE = GRID_SUITE.split("[phases.humanoid]")[0] + """[phases.zoo]
envs = ["Hopper-v4", "HalfCheetah-v4"]
configs = ["zoo_dual_clip", "zoo_rollback", "zoo_trppo", "zoo_spo", "zoo_cispo", "zoo_gppo", "zoo_sapo"]
"""


def write_zoo_run(results, env, config, seed):
    """A zoo run's CSV: returns as base() gives them, each gate's fractions, and an approx KL of (seed + 1)² / 100
    in every update but the last, where it is 10⁶ (its median over updates ignores that; its mean would not)."""
    rows = [{"step": step, "episodic_return": base(env, config, seed) + step / 100} for step in EPISODE_STEPS]
    fractions = {"kill_frac": 0.1, "reversed_frac": 0.02, "amplified_frac": 0.01, "gate_mean": 0.125}
    if (config, seed) == ("zoo_cispo", 1):  # G = 1 − clip(w)/w: the mean of an update with w ≈ 0 overflows
        fractions["gate_mean"] = float("-inf")
    kl = {step: (seed + 1) ** 2 / 100 if step < 1000 else 1e6 for step in range(100, 1001, 100)}
    rows += [{"step": step, **fractions, "approx_kl": kl[step]} for step in range(100, 1001, 100)]
    rows.sort(key=lambda row: (row["step"], "kill_frac" in row))
    columns = ["step", "episodic_return", *fractions, "approx_kl"]
    report.write_csv(results / "csv" / env / config / f"seed{seed}.csv", columns, rows)


def summarize_zoo(tmp_path, zoo_runs, stopped=()):
    """The report from the main grid's runs on Hopper and HalfCheetah (3 seeds) and the given zoo runs, of which
    those in `stopped` stopped early (runs.csv lists them with their error)."""
    results, suite = tmp_path / "results", tmp_path / "suite.toml"
    shutil.rmtree(results, ignore_errors=True)
    suite.write_text(ZOO_SUITE.replace('envs = ["Hopper-v4"]', 'envs = ["Hopper-v4", "HalfCheetah-v4"]'))
    for env in ("Hopper-v4", "HalfCheetah-v4"):
        for config in MAIN5:
            for seed in range(3):
                write_csv_run(results, env, config, seed)
    for env, config, seed in zoo_runs:
        write_zoo_run(results, env, config, seed)
    commit = {"git_commit": "c0ffee" * 6 + "abcd", "git_dirty": "False"}  # the other runs have no runs.csv rows
    rows = [{"env": e, "config": c, "seed": seed, "status": STOP.format(c), **commit} for e, c, seed in stopped]
    report.write_csv(results / "runs.csv", ["env", "config", "seed", "status", *commit], rows)
    assert report.main(["summarize", "--results", str(results), "--suite", str(suite), "--reps", "50"]) == 0
    readme = (results / "README.md").read_text()
    return results, readme, readme.split("## The zoo")[1].split("## Identity")[0]


ZOO = ["zoo_dual_clip", "zoo_rollback", "zoo_trppo", "zoo_spo", "zoo_cispo", "zoo_gppo", "zoo_sapo"]


def test_zoo_section_without_runs(tmp_path):
    results, readme, zoo = summarize_zoo(tmp_path, [])
    assert "zoo 0 of 42)" in readme
    assert "No runs yet (42 planned: `python -m benchmark.run --phase zoo`)." in zoo
    assert "| env |" not in zoo and not list(results.glob("zoo*.png"))
    main = readme.split("## Scores")[1].split("## Aggregate")[0]
    assert "zoo" not in main.lower() and "dual-clip" not in main


def test_zoo_section_with_partial_and_complete_runs(tmp_path):
    # one config's runs in: Hopper is not complete while the other six configs have none there
    _, readme, zoo = summarize_zoo(tmp_path, [("Hopper-v4", "zoo_dual_clip", seed) for seed in range(3)])
    assert "all of them: none yet." in zoo and "Hopper-v4 (6 of its 24 planned runs are in)" in zoo
    assert "HalfCheetah-v4 (3 of its 24 planned runs are in)" in zoo  # PPO-Clip's

    hopper = [("Hopper-v4", config, seed) for config in ZOO for seed in range(3)]
    results, readme, zoo = summarize_zoo(tmp_path, hopper + [("HalfCheetah-v4", "zoo_spo", 1)])
    assert "zoo 22 of 42)" in readme and "## The β_t knob" not in readme  # the zoo is not the β slice
    assert "Configs (`zoo_dual_clip`: dual-clip (Ye 2020), `zoo_rollback`: PPO-RB (Wang 2019)," in zoo
    # scores per env with IQM CIs, beside PPO-Clip on the same envs; base() gives the zoo configs PPO-Clip's scores
    assert "| Hopper-v4 | PPO-Clip | 3 | 209.8 ± 100.0 | 209.8 [" in zoo
    assert "| Hopper-v4 | SAPO (2025) | 3 | 209.8 ± 100.0 | 209.8 [" in zoo
    assert "| HalfCheetah-v4 | SPO (Xie 2025) | 1 | 209.8 | 209.8 [209.8, 209.8] |" in zoo
    assert "| HalfCheetah-v4 | PPO-Clip | 3 |" in zoo and "KL, fixed" not in zoo
    # the aggregate: Hopper, where every planned zoo run is in; HalfCheetah named with its count
    assert "all of them: Hopper-v4. IQM" in zoo
    assert "**Not in the aggregate yet: HalfCheetah-v4 (4 of its 24 planned runs are in).**" in zoo
    assert "| PPO-Clip | 3 | 1.000 [" in zoo and "| CISPO (MiniMax 2025) | 3 | 1.000 [" in zoo
    for png in ("zoo.png", "zoo_killset.png", "zoo_aggregate.png"):
        assert f"]({png})" in readme and (results / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "reversed (G > 1) and amplified (G < 0) fractions and mean G per update" in readme
    # the fractions table: each run's mean over its updates, averaged over seeds; PPO-Clip logs only the kill set
    header = "| env | config | n | kill set % | reversed (G > 1) % | amplified (G < 0) % | mean G % | approx KL, median |"
    assert header in zoo
    fractions = "10.00 (10.00–10.00) | 2.00 (2.00–2.00) | 1.00 (1.00–1.00) | 12.50 (12.50–12.50) |"
    # approx KL: each seed's median over updates ((seed + 1)² / 100), then the median over seeds 0–2
    assert f"| Hopper-v4 | PPO-RB (Wang 2019) | 3 | {fractions} 0.04 (0.01–0.09) |" in zoo
    assert f"| HalfCheetah-v4 | SPO (Xie 2025) | 1 | {fractions} 0.04 (0.04–0.04) |" in zoo  # seed 1 alone
    assert "| Hopper-v4 | CISPO (MiniMax 2025) | 3 | 10.00 (10.00–10.00) | 2.00 (2.00–2.00) | 1.00 (1.00–1.00) | not finite (1 of 3 seeds) |" in zoo
    assert "| Hopper-v4 | PPO-Clip | 3 | 5.50 (5.50–5.50) | — | — | — | — |" in zoo  # kill_frac step/10000, steps 100–1000
    assert png_width(results / "zoo.png") == round(4.2 * 110 * 2)  # Hopper and HalfCheetah panels
    main = readme.split("## Aggregate over envs")[1].split("## The β_t")[0].split("## The zoo")[0]
    assert "dual-clip" not in main and "all of them: HalfCheetah-v4, Hopper-v4. IQM" in main

    cheetah = [("HalfCheetah-v4", config, seed) for config in ZOO for seed in range(3)]
    _, readme, zoo = summarize_zoo(tmp_path, hopper + cheetah)
    assert "zoo 42 of 42)" in readme and "all of them: HalfCheetah-v4, Hopper-v4. IQM" in zoo
    assert "Not in the aggregate" not in zoo


# ---- runs that stopped early: extracted with their error, no score, out of the aggregate ----

STOP = "{}.py: error: non-finite loss in update 6 (global_step=600); stopped, no checkpoint saved"


def test_a_run_that_stopped_early_is_extracted_with_its_error(tmp_path, capsys):
    """A run that failed with its script's own error: its CSV up to where it stopped, its error as its status. A run
    that crashed or was killed is left for the runner to retry. An older runs.csv (no status) reads as finished."""
    runs, results = tmp_path / "runs", tmp_path / "results"
    write_csv_run(results, "Walker2d-v4", "ppo_clip", 0)  # committed before runs.csv had a status column
    (results / "runs.csv").write_text("env,config,seed,total_timesteps\nWalker2d-v4,ppo_clip,0,1000\n")
    write_run(runs, "Hopper-v4", "ppo_clip", 0)
    for config, exit_code, error in (("zoo_cispo", 1, STOP.format("zoo_cispo")), ("zoo_gppo", -9, "Killed")):
        write_run(runs, "Hopper-v4", config, 0, finished=False, last=600)
        args = read_json(runs / "Hopper-v4" / config / "seed0" / "meta.json")["args"]
        marker = {"exit_code": exit_code, "wall_time_s": 0.75, "args": args, "error": error}
        write_json(runs / "Hopper-v4" / config / "seed0" / "failed.json", marker)
    died = runs / "Hopper-v4" / "zoo_sapo" / "seed0"  # a Slurm job that died before its run started
    died.mkdir(parents=True)
    write_json(died / "failed.json", {"status": "failed", "exit_code": None, "error": "TimeoutError: job timed out"})
    assert report.extract(runs, results) == (1, 1)
    out = capsys.readouterr().out
    assert "not extracted: Hopper-v4/zoo_gppo/seed0 failed (Killed); the runner retries it" in out
    assert "not extracted: Hopper-v4/zoo_sapo/seed0 failed (TimeoutError: job timed out); the runner retries it" in out
    lines = (results / "csv" / "Hopper-v4" / "zoo_cispo" / "seed0.csv").read_text().splitlines()
    assert lines[0] == "step,episodic_return,kill_frac,inband_frac,passthrough_frac"
    assert len(lines) == 1 + 2 + 6 and lines[-1] == "600,,0.06,0.5,0.44"  # episodes 300, 600; updates 100–600
    assert not (results / "csv" / "Hopper-v4" / "zoo_gppo").exists()
    manifest = {(r["env"], r["config"]): r for r in report.read_csv(results / "runs.csv")}
    assert sorted(manifest) == [("Hopper-v4", "ppo_clip"), ("Hopper-v4", "zoo_cispo"), ("Walker2d-v4", "ppo_clip")]
    assert manifest["Hopper-v4", "zoo_cispo"]["status"] == STOP.format("zoo_cispo")
    assert manifest["Hopper-v4", "zoo_cispo"]["wall_time_s"] == "0.75"
    assert manifest["Hopper-v4", "ppo_clip"]["status"] == manifest["Walker2d-v4", "ppo_clip"]["status"] == "finished"
    loaded = report.load_runs(results)
    assert loaded["Hopper-v4", "zoo_cispo", "0"]["status"] == STOP.format("zoo_cispo")
    assert loaded["Hopper-v4", "zoo_cispo", "0"]["last_step"] == 600
    assert np.isnan(stats.score(loaded["Hopper-v4", "zoo_cispo", "0"]))  # its own last 10% is not a score
    assert stats.score(loaded["Hopper-v4", "ppo_clip", "0"]) == 100 + 9.75


def test_runs_that_stopped_early_have_no_score_and_leave_their_config_out_of_the_aggregate(tmp_path):
    hopper = [("Hopper-v4", config, seed) for config in ZOO for seed in range(3)]
    cheetah = [("HalfCheetah-v4", config, seed) for config in ZOO for seed in range(3)]
    stops = [("Hopper-v4", "zoo_cispo", seed) for seed in range(3)] + [("HalfCheetah-v4", "zoo_gppo", 1)]
    results, readme, zoo = summarize_zoo(tmp_path, hopper + cheetah, stopped=stops)
    assert "**72 of the 72 planned runs are present**" in readme
    assert "4 of them stopped early with an error: no score (see \"Runs that stopped early\")." in readme
    # the score table: n counts scored seeds; a column of the runs that stopped early, in the zoo's table only
    assert "| env | config | n | stopped early | mean ± std | IQM [95% CI] |" in zoo
    assert "| Hopper-v4 | CISPO (MiniMax 2025) | 0 | 3 | — | — |" in zoo
    assert "| HalfCheetah-v4 | GPPO (Klear 2025) | 2 | 1 | 209.8 ± 141.4 | 209.8 [109.8, 309.8] |" in zoo  # seeds 0, 2
    assert "| Hopper-v4 | PPO-Clip | 3 | 0 | 209.8 ± 100.0 | 209.8 [" in zoo
    main = readme.split("## Scores")[1].split("## Aggregate")[0]
    assert "| env | config | n | mean ± std | IQM [95% CI] |" in main and "stopped" not in main
    rows = {(r["env"], r["config"]): r for r in report.read_csv(results / "scores.csv")}
    cispo = rows["Hopper-v4", "zoo_cispo"]
    assert (cispo["n"], cispo["stopped"], cispo["mean"], cispo["iqm"]) == ("0", "3", "nan", "nan")
    assert (rows["HalfCheetah-v4", "zoo_gppo"]["n"], rows["HalfCheetah-v4", "zoo_gppo"]["stopped"]) == ("2", "1")
    # the aggregate: every planned run is in, but CISPO and GPPO are left out (their survivors would flatter them)
    assert "all of them: HalfCheetah-v4, Hopper-v4. IQM" in zoo and "Not in the aggregate yet" not in zoo
    assert ("**Left out of the aggregate, for runs that stopped early (their surviving seeds alone would flatter"
            " them): CISPO (MiniMax 2025) (3 of its 6 runs there stopped early), GPPO (Klear 2025) (1 of its 6 runs"
            " there stopped early).**") in zoo
    aggregate = zoo.split("Left out of the aggregate")[1].split("Fractions of")[0]
    assert "| SAPO (2025) | 3 | 1.000 [" in aggregate and "| PPO-Clip | 3 | 1.000 [" in aggregate
    assert "| CISPO" not in aggregate and "| GPPO" not in aggregate
    # each run that stopped, with its last logged step and its error
    stopped = readme.split("## Runs that stopped early")[1].split("## Identity")[0]
    assert "| HalfCheetah-v4 | GPPO (Klear 2025) | 1 | 1000 | non-finite loss in update 6 (global_step=600); stopped," in stopped
    assert stopped.count("| Hopper-v4 | CISPO (MiniMax 2025) |") == 3
    # the top README's count says so
    top = results.parent / "README.md"
    top.write_text(f"{top_readme.BEGIN}\n{top_readme.END}\n")
    planned = report.load_runs(results).keys()
    report.update_top_readme(top, results, planned)
    assert "All 72 planned 1M-step runs are in, 4 of them stopped early with an error (details" in top.read_text()


def test_a_run_with_two_tensorboard_runs_is_refused(tmp_path, capsys):
    """The runner runs a script from a clean directory: two event-file directories mean a mixed-up run."""
    runs = tmp_path / "runs"
    write_run(runs, "Hopper-v4", "ppo_clip", 0)
    SummaryWriter(runs / "Hopper-v4" / "ppo_clip" / "seed0" / "tb" / "Hopper-v4__ppo_clip__0__1800000000").close()
    with pytest.raises(SystemExit) as exc:
        report.extract(runs, tmp_path / "results")
    assert exc.value.code == 2 and "holds 2 TensorBoard runs; the runner writes one" in capsys.readouterr().err
    assert not (tmp_path / "results" / "csv").exists()


# ---- bad paths: one line on stderr, exit 2, nothing written ----

BAD_PATHS = {  # the arguments (in tmp: runs/ with a finished run, results/ with its CSV, a file, suite.toml) → message
    "--results FILE": (["--runs", "runs", "--results", "file"], "--results file: file is not a directory"),
    "summarize --results FILE": (["summarize", "--results", "file"], "--results file: file is not a directory"),
    "extract --results FILE/sub": (["extract", "--runs", "runs", "--results", "file/sub"], "--results file/sub: file is"),
    "summarize --results typo": (["summarize", "--results", "typo"], "no run CSVs in typo/csv: nothing to summarize"),
    "--runs FILE": (["--runs", "file", "--results", "results"], "--runs file is not a directory"),
    "extract --runs FILE": (["extract", "--runs", "file", "--results", "results"], "--runs file is not a directory"),
    "extract --runs missing": (["extract", "--runs", "nope", "--results", "results"], "no runs directory nope"),
    "--suite missing": (["--runs", "runs", "--results", "results", "--suite", "nope.toml"], "--suite nope.toml: no such file"),
    "--suite DIR": (["summarize", "--results", "results", "--suite", "runs"], "--suite runs: not a file"),
    "--suite not TOML": (["summarize", "--results", "results", "--suite", "file"], "--suite file: not a TOML file ("),
    "--phase unknown": (["--runs", "runs", "--results", "results", "--phase", "nope"], "suite.toml: no phase 'nope' (phases: main)"),
    "--reps 0": (["--runs", "runs", "--results", "results", "--reps", "0"], "--reps must be at least 1, got 0"),
}


@pytest.mark.parametrize("case", BAD_PATHS)
def test_bad_paths_are_refused_before_anything_is_written(tmp_path, monkeypatch, capsys, case):
    argv, message = BAD_PATHS[case]
    monkeypatch.chdir(tmp_path)
    write_run(tmp_path / "runs", "Hopper-v4", "ppo_clip", 0)
    write_csv_run(tmp_path / "results", "Hopper-v4", "ppo_clip", 0)
    (tmp_path / "file").write_text("not a directory = [\n")
    (tmp_path / "suite.toml").write_text(SUITE)
    before = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")}
    with pytest.raises(SystemExit) as exc:
        report.main(argv + ([] if "--suite" in argv else ["--suite", "suite.toml"]))
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith(f"benchmark.report: error: {message}") and err.count("\n") == 1, err
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")} == before


# ---- checkpoints and their evaluation ----

# A Hopper evaluation's float64 returns. From TensorBoard's float32 copies, their mean would print as 2431.348901.
EVAL_RETURNS = [1823.0428668886848, 2227.754345710519, 2607.858436362594, 2254.4782570608577, 2735.824837661059,
                1871.7129797128555, 2877.02281497647, 2220.0662066624586, 2085.4286366532774, 3610.299497022254]


def write_saved_run(out, env, config, seed, checkpoint=b"weights", printed=EVAL_RETURNS):
    """write_run's finished run, launched with --save-model: its checkpoint (these bytes; None: none), its evaluation's
    eval/episodic_return events (EVAL_RETURNS) and its printed evaluation line (of `printed`)."""
    write_run(out, env, config, seed)
    run_dir = out / env / config / f"seed{seed}"
    meta = read_json(run_dir / "meta.json")
    write_json(run_dir / "meta.json", {**meta, "args": [*meta["args"], "--save-model"]})
    (tb_dir,) = (run_dir / "tb").iterdir()
    writer = SummaryWriter(tb_dir)
    for episode, value in enumerate(EVAL_RETURNS):
        writer.add_scalar("eval/episodic_return", value, episode)
    writer.close()
    line = f"eval: episodic returns {printed}, mean {np.mean(printed):.6f}"
    (run_dir / "log.txt").write_text(f"update 10/10\nmodel saved to {tb_dir / 'model.pt'}\n{line}\n")
    if checkpoint is not None:
        (tb_dir / "model.pt").write_bytes(checkpoint)
    return tb_dir / "model.pt"


def test_a_finished_run_leaves_its_checkpoint_and_its_evaluation(tmp_path):
    """The checkpoint lands in checkpoints/ENV/CONFIG/seedN.pt; eval_mean and eval_std are the printed returns' (float64)
    np.mean and np.std, written so that they read back exactly. Runs launched without --save-model, and a run with it
    that stopped early (the script saves no checkpoint then), have neither; extracting again changes nothing."""
    runs, results = tmp_path / "runs", tmp_path / "results"
    source = write_saved_run(runs, "Hopper-v4", "ppo_clip", 0)
    write_run(runs, "Hopper-v4", "ppo_dual", 0)  # from before --save-model
    write_run(runs, "Hopper-v4", "zoo_cispo", 0, finished=False, last=600)  # stopped early: no checkpoint, no evaluation
    run_dir = runs / "Hopper-v4" / "zoo_cispo" / "seed0"
    args = [*read_json(run_dir / "meta.json")["args"], "--save-model"]
    write_json(run_dir / "meta.json", {**read_json(run_dir / "meta.json"), "args": args})
    write_json(run_dir / "failed.json", {"exit_code": 1, "wall_time_s": 0.5, "args": args, "error": STOP.format("zoo_cispo")})
    for _ in range(2):
        assert report.extract(runs, results) == (2, 1)
        assert (results / "checkpoints" / "Hopper-v4" / "ppo_clip" / "seed0.pt").read_bytes() == source.read_bytes()
        assert [p.relative_to(results).as_posix() for p in results.rglob("*.pt")] == ["checkpoints/Hopper-v4/ppo_clip/seed0.pt"]
        rows = {r["config"]: r for r in report.read_csv(results / "runs.csv")}
        assert float(rows["ppo_clip"]["eval_mean"]) == np.mean(EVAL_RETURNS)
        assert float(rows["ppo_clip"]["eval_std"]) == np.std(EVAL_RETURNS)
        assert f"{float(rows['ppo_clip']['eval_mean']):.6f}" == "2431.348888"  # as the script prints it
        assert rows["ppo_dual"]["eval_mean"] == rows["ppo_dual"]["eval_std"] == rows["zoo_cispo"]["eval_mean"] == ""
        assert rows["zoo_cispo"]["status"] == STOP.format("zoo_cispo")


def test_a_committed_checkpoint_is_never_overwritten(tmp_path, capsys):
    runs, results = tmp_path / "runs", tmp_path / "results"
    source = write_saved_run(runs, "Hopper-v4", "ppo_clip", 0, checkpoint=b"new weights")
    committed = results / "checkpoints" / "Hopper-v4" / "ppo_clip" / "seed0.pt"
    committed.parent.mkdir(parents=True)
    committed.write_bytes(b"old weights")
    with pytest.raises(SystemExit) as exc:
        report.extract(runs, results)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert f"error: {source} differs from the committed {committed}; a committed checkpoint is never overwritten" in err
    assert committed.read_bytes() == b"old weights" and not (results / "csv").exists() and not (results / "runs.csv").exists()
    committed.write_bytes(b"new weights")  # the same bytes: nothing to refuse
    assert report.extract(runs, results) == (1, 0)


@pytest.mark.parametrize("broken", ["no checkpoint", "printed returns differ"])
def test_a_finished_run_with_a_broken_artifact_is_named(tmp_path, capsys, broken):
    """A run launched with --save-model that finished without its checkpoint, or whose printed evaluation is not its
    logged one, stops the report with one line naming it; nothing is written."""
    runs, results = tmp_path / "runs", tmp_path / "results"
    write_run(runs, "Hopper-v4", "ppo_dual", 0)
    if broken == "no checkpoint":
        write_saved_run(runs, "Hopper-v4", "ppo_clip", 0, checkpoint=None)
        message = f"{runs / 'Hopper-v4' / 'ppo_clip' / 'seed0'} finished with --save-model but holds no checkpoint"
    else:
        write_saved_run(runs, "Hopper-v4", "ppo_clip", 0, printed=[*EVAL_RETURNS[:9], 7.0])
        message = "the evaluation printed in log.txt is not the one in its eval/episodic_return events"
    with pytest.raises(SystemExit) as exc:
        report.extract(runs, results)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and err.count("\n") == 1
    assert not results.exists()
