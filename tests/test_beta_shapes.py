"""ppo_beta_shapes.py: the step gate is the clip (symmetric or asymmetric band), the soft gates
stay in [0, 1] and tend to the step as their width shrinks, bad knob values get one line."""

import inspect
import math
import re
import typing
from collections import deque

import pytest
import short_envs
import torch
from scripts import SHORT, load_script, run_dirs, run_script, scalars
from identity import EPS, assert_same_gradients, clip_script, make_batch, pg_loss

SCRIPT = "ppo_beta_shapes.py"
shapes = load_script(SCRIPT)


def per_sample_gradient(batch, **args):
    agent, obs, actions, old_logprob, advantages, _ = batch
    newlogprob = clip_script.gaussian_log_prob(actions, agent.actor_mean(obs), agent.actor_logstd)
    ns = pg_loss(SCRIPT, newlogprob, old_logprob, advantages, **args)
    return ns, torch.autograd.grad(ns["pg_loss"], newlogprob)[0]


@pytest.mark.parametrize("n", [64, 2048])
def test_step_gate_is_the_clip_bitwise(n):
    assert_same_gradients(SCRIPT, *make_batch(n, torch.float32, seed=n + 1)[:5], tol=0)


@pytest.mark.parametrize("low, high", [(0.2, 0.28), (0.1, 0.3), (0.3, 0.15)])
def test_asymmetric_step_is_the_asymmetric_clip(low, high):
    batch = make_batch(64, torch.float32, seed=11)
    agent, obs, actions, old_logprob, advantages, _ = batch
    ns, grad = per_sample_gradient(batch, clip_coef_low=low, clip_coef_high=high)
    # computed here, independently of the script: max(−Â·w, −Â·clip(w, 1−ε_low, 1+ε_high))
    newlogprob = clip_script.gaussian_log_prob(actions, agent.actor_mean(obs), agent.actor_logstd)
    ratio = (newlogprob - old_logprob).exp()
    adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    reference = torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - low, 1 + high)).mean()
    ref_grad = torch.autograd.grad(reference, newlogprob)[0]
    killed = (ref_grad == 0) & (adv != 0)
    assert killed.any() and (~killed).any()
    assert torch.equal(ns["kill"], killed), "the kill-set diagnostics must use the asymmetric band"
    for i in range(len(grad)):
        assert grad[i] == ref_grad[i], f"sample {i} (w={ratio[i].item()}, Â={adv[i].item()}): {grad[i].item()} vs {ref_grad[i].item()}"


@pytest.mark.parametrize("shape", ["sigmoid", "linear"])
def test_soft_gates_in_unit_interval_and_tend_to_step(shape):
    batch = make_batch(2048, torch.float64, seed=5)
    ns_step, step_grad = per_sample_gradient(batch)
    ratio, adv = ns_step["ratio"].detach(), ns_step["mb_advantages"]
    overshoot = torch.where(adv > 0, ratio - (1 + EPS), (1 - EPS) - ratio)
    away = overshoot.abs() > 0.02  # compare away from the band edge, where the step is smooth
    errors = []
    for softness in (0.1, 0.01, 0.001):
        ns, grad = per_sample_gradient(batch, beta_shape=shape, beta_softness=softness)
        assert ns["gate"].min() >= 0 and ns["gate"].max() <= 1
        errors.append((grad - step_grad)[away].abs().max().item())
    assert errors[0] > errors[1] >= errors[2] and errors[2] < 1e-6, errors  # linear: exactly 0 once s < 0.02
    assert errors[0] > 1e-4  # the softness really changes the gradient


def test_position_multiplier_scales_the_gate():
    batch = make_batch(64, torch.float32, seed=3)
    agent, obs, actions, old_logprob, advantages, _ = batch
    newlogprob = clip_script.gaussian_log_prob(actions, agent.actor_mean(obs), agent.actor_logstd)
    episode_step = torch.arange(64.0)
    buf = shapes.Rollout(*[None] * 6, episode_step=episode_step)
    ns = pg_loss(SCRIPT, newlogprob, old_logprob, advantages, position_rho=0.9, buf=buf)
    step_gate = ns["kill"].float()
    assert torch.allclose(ns["gate"], step_gate * 0.9**episode_step)


def test_episode_step_counts_within_episodes():
    torch.manual_seed(0)
    envs = short_envs.make_envs()
    agent = shapes.Agent(11, 3)
    buf = shapes.Rollout.zeros(64, 2, 11, 3)
    next_obs = torch.from_numpy(envs.reset(seed=1)[0])
    for _ in range(2):  # the count carries across rollouts
        first = buf.episode_step[-1] + 1, buf.dones[-1]
        next_obs, _ = shapes.collect_rollout(envs, agent, next_obs, buf, 0.99, 0, short_envs.NullWriter(), deque())
        expected = torch.zeros(64, 2)
        expected[0] = first[0] * (1 - first[1])
        for t in range(1, 64):
            expected[t] = (expected[t - 1] + 1) * (1 - buf.dones[t - 1])
        assert torch.equal(buf.episode_step, expected)
    assert buf.episode_step[:, 0].max() == 8  # TruncHopper: 9-step episodes, indices 0..8


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--beta-softness", "-0.1"], "--beta-softness"),
        (["--clip-coef-low", "1.5"], "--clip-coef-low"),
        (["--clip-coef-high", "0"], "--clip-coef-high"),
        (["--clip-coef", "1"], "--clip-coef"),
        (["--position-rho", "0"], "--position-rho"),
        (["--dual-clip-c", "1.2"], "--dual-clip-c"),  # c must exceed 1 + ε_high
        (["--dual-clip-c", "1.5", "--clip-coef-high", "0.5"], "--dual-clip-c"),
        (["--rollback-alpha", "-0.1"], "--rollback-alpha"),
        (["--trppo-kl-range", "0"], "--trppo-kl-range"),
        (["--sapo-tau-pos", "0"], "--sapo-tau-pos"),
        (["--sapo-tau-neg", "-1"], "--sapo-tau-neg"),
        (["--clip-coef", "1.5"], "ppo_beta_shapes.py: error: --clip-coef must be in (0, 1), got 1.5"),  # as every script
        (["--clip-coef-high", "inf"], "--clip-coef-high must be finite, got inf"),
        (["--beta-softness", "nan"], "--beta-softness must be finite, got nan"),
    ],
)
def test_bad_knob_values_one_line(flags, needle, tmp_path):
    proc = run_script(SCRIPT, *flags, cwd=tmp_path, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and needle in lines[0], proc.stderr
    assert not (tmp_path / "runs").exists()


def test_unknown_shape_refused_by_the_parser(tmp_path):
    """--beta-shape is a Literal (as ppo_kl.py's modes): tyro refuses other names and lists the shapes."""
    proc = run_script(SCRIPT, "--beta-shape", "cosine", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "'cosine'" in proc.stderr and "--beta-shape" in proc.stderr, proc.stderr
    assert "dual_clip" in proc.stderr and "sapo" in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_gate_comments_quote_the_docstring_table():
    """The module docstring's table is the one source of the gate formulas: every shape the parser accepts
    has a row, and beta_gate's branch for it quotes the row's G verbatim (in the comment on its `if`)."""
    rows = dict(re.findall(r"^    (\w+) +(G = .+?)(?:  +\S.*)?$", shapes.__doc__, re.M))
    accepted = typing.get_args(typing.get_type_hints(shapes.Args)["beta_shape"])
    assert list(rows) == list(accepted), (list(rows), accepted)
    lines = inspect.getsource(shapes.beta_gate).splitlines()
    for shape, formula in rows.items():
        (branch,) = [line for line in lines if f'shape == "{shape}":' in line or line.strip().startswith(f"# {shape},")]
        assert branch.endswith(formula), f"beta_gate's {shape} branch: {branch.strip()!r}; the docstring: {formula!r}"


def test_beta_quantiles_are_those_of_the_nonzero_beta_with_their_signs():
    """The logged β_t distribution, on minibatches built by hand: quantiles of the values ≠ 0, both signs kept,
    and the fraction of samples with β_t ≠ 0. Zeros (most samples) or |β_t| would move every quantile."""
    minibatches = [
        torch.tensor([0.0, -2.5, 0.0, 0.4, 0.0, 0.0, -0.1, 3.0]),
        torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),  # a minibatch with no kill sample
        torch.tensor([1.2, 0.0, -0.7, 0.0, 0.0, -4.0, 0.0, 0.05]),
    ]
    logged = shapes.beta_distribution([shapes.nonzero_beta(b) for b in minibatches], num_samples=24)
    every = torch.cat(minibatches)
    nonzero = every[every != 0]
    assert (nonzero < 0).any() and (nonzero > 0).any()
    expected = torch.quantile(nonzero, torch.tensor([0.01, 0.1, 0.5, 0.9, 0.99])).tolist()
    assert [logged[f"beta/p{p}"] for p in ("01", "10", "50", "90", "99")] == expected
    assert logged["beta/nonzero_frac"] == 8 / 24
    assert logged["beta/negative_frac"] == 4 / 8  # of the nonzero ones, not of every sample
    assert shapes.beta_distribution([shapes.nonzero_beta(torch.zeros(4))], 4)["beta/p50"] != 0  # NaN: none to rank


def test_step_gate_logs_beta_on_the_kill_set(tmp_path):
    """End to end, the step gate: β_t ≠ 0 exactly on the kill set, negative where Â > 0 and positive where Â < 0."""
    run_script(SCRIPT, *SHORT, "--learning-rate", "3e-3", cwd=tmp_path)  # large steps: samples leave the band
    (run_dir,) = run_dirs(tmp_path / "runs")
    logged = scalars(run_dir)
    for u, (_, frac) in enumerate(logged["beta/nonzero_frac"]):
        assert math.isclose(frac, logged["killset/kill_frac"][u][1], rel_tol=1e-5, abs_tol=1e-7)
        quantiles = [logged[f"beta/p{p}"][u][1] for p in ("01", "10", "50", "90", "99")]
        negative = logged["beta/negative_frac"][u][1]
        if frac == 0:  # a short run's first update may leave the band nowhere: nothing to rank
            assert all(math.isnan(q) for q in quantiles + [negative]), quantiles
        else:
            assert quantiles == sorted(quantiles) and quantiles[0] < 0 < quantiles[-1], quantiles
            assert 0 < negative < 1
    assert sum(frac > 0.01 for _, frac in logged["beta/nonzero_frac"]) >= 2
