"""Clip, per-sample KL and dual surrogates give the same gradient: bitwise in float32 at power-of-two
minibatch sizes, to 1e-12 in float64 at any size, and across a whole inner loop of Adam updates.

The surrogate lines are the scripts' own: extracted from each file and executed here."""

import math

import pytest
import torch
from identity import ACT_DIM, EPS, OBS_DIM, assert_same_gradients, clip_script, describe, gradients, make_batch, pg_loss
from scripts import IDENTICAL

@pytest.mark.parametrize("script", IDENTICAL[1:])
@pytest.mark.parametrize("n", [64, 2048])
def test_bitwise_equal_gradients_float32(script, n):
    batch = make_batch(n, torch.float32, seed=n)
    assert_same_gradients(script, *batch[:5], tol=0)


@pytest.mark.parametrize("script", IDENTICAL[1:])
def test_gradients_float64_non_power_of_two(script):
    batch = make_batch(100, torch.float64, seed=100)
    assert_same_gradients(script, *batch[:5], tol=1e-12)


def test_band_edges_are_in_band_not_killed():
    """At w == 1±ε exactly the clip still passes the gradient (torch.clamp is inclusive)."""
    agent, obs, actions, old_logprob, advantages, edges = make_batch(64, torch.float32, seed=7)
    ns, per_sample, _ = gradients("ppo_clip.py", agent, obs, actions, old_logprob, advantages)
    for i, edge in edges.items():
        assert ns["ratio"][i].item() == torch.tensor(edge).item()
        assert not ns["kill"][i] and ns["inband"][i]
        assert per_sample[i] != 0


def test_unclipped_surrogate_differs():
    """Guard against a vacuous batch: dropping the clip must change the gradient."""
    agent, obs, actions, old_logprob, advantages, _ = make_batch(64, torch.float32, seed=64)
    newlogprob = clip_script.gaussian_log_prob(actions, agent.actor_mean(obs), agent.actor_logstd)
    ns = pg_loss("ppo_clip.py", newlogprob, old_logprob, advantages)
    unclipped = (-ns["mb_advantages"] * ns["ratio"]).mean()
    g_clip = torch.autograd.grad(ns["pg_loss"], newlogprob, retain_graph=True)[0]
    g_unclipped = torch.autograd.grad(unclipped, newlogprob)[0]
    assert not torch.equal(g_clip, g_unclipped)


def test_inner_loop_parameters_bitwise_identical():
    """10 epochs × 32 minibatches × 64 of Adam (fused, as the scripts), grad-norm clip 0.5, 10× the
    default learning rate, starting from ratios in [0.25, 4]: all three forms end bit-for-bit equal."""
    n, mb = 2048, 64
    agent0, obs, actions, old_logprob, advantages, _ = make_batch(n, torch.float32, seed=2048)
    state = {k: v.clone() for k, v in agent0.state_dict().items()}
    final, ratios = {}, {}
    for script in IDENTICAL:
        agent = clip_script.Agent(OBS_DIM, ACT_DIM)
        agent.load_state_dict(state)
        optimizer = torch.optim.Adam(agent.parameters(), lr=3e-3, eps=1e-5, fused=True)
        gen = torch.Generator().manual_seed(0)
        seen = []
        for epoch in range(10):
            perm = torch.randperm(n, generator=gen)
            for start in range(0, n, mb):
                idx = perm[start : start + mb]
                newlogprob = clip_script.gaussian_log_prob(actions[idx], agent.actor_mean(obs[idx]), agent.actor_logstd)
                ns = pg_loss(script, newlogprob, old_logprob[idx], advantages[idx])
                optimizer.zero_grad()
                ns["pg_loss"].backward()
                torch.nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                optimizer.step()
                seen.append(ns["ratio"].detach())
        final[script] = agent.state_dict()
        ratios[script] = torch.cat(seen)
    all_ratios = ratios["ppo_clip.py"]
    assert all_ratios.min() < 0.3 and all_ratios.max() > 3
    for script in IDENTICAL[1:]:
        for name, value in final["ppo_clip.py"].items():
            assert torch.equal(final[script][name], value), (
                f"after the inner loop, {script} vs ppo_clip.py: " + describe(final[script][name], value, name)
            )
    # and the updates moved the parameters: identity is not the trivial one
    assert not torch.equal(final["ppo_clip.py"]["actor_mean.0.weight"], state["actor_mean.0.weight"])


@pytest.mark.parametrize("edge, sign", [(1 + EPS, 1), (1 + EPS, -1), (1 - EPS, -1), (1 - EPS, 1)])
def test_float_tie_one_ulp_outside_the_band(edge, sign):
    """One ulp outside the band, −Â·w and −Â·clip(w) can round to the same float32, and CleanRL's
    torch.max(−Â·w, −Â·clip(w)) then splits the gradient between its tied branches: half a gradient
    on a kill sample, half on a pass-through one. Every script (ppo_beta_shapes.py with its default
    step gate) gives the exact math's gradient there, bitwise the same: zero on the kill set, −Â·∇w
    on pass-through."""
    agent, obs, actions, old_logprob, advantages, edges = make_batch(64, torch.float32, seed=9)
    i = next(k for k, e in edges.items() if e == edge)  # its action is at the mean: |log π| small
    newlogprob = clip_script.gaussian_log_prob(actions, agent.actor_mean(obs), agent.actor_logstd)
    band_edge = torch.tensor(edge)
    target = torch.nextafter(band_edge, torch.tensor(2.0 if edge > 1 else 0.0))  # one ulp outside
    candidates = (newlogprob[i].detach() - math.log(edge)) * (1 + torch.arange(-512, 512) * torch.finfo().eps)
    hit = torch.nonzero(torch.exp(newlogprob[i].detach() - candidates) == target)
    old_logprob[i] = candidates[hit[0, 0]]
    a = sign * torch.linspace(0.5, 2.0, 20001)
    advantages[i] = a[(-a * target) == (-a * band_edge)][0]  # an advantage whose products tie
    kill = (sign > 0) == (edge > 1)

    # the hazard, computed here: CleanRL's form passes half the unclipped gradient
    ratio = target.clone().requires_grad_()
    cleanrl = torch.max(-advantages[i] * ratio, -advantages[i] * torch.clamp(ratio, 1 - EPS, 1 + EPS))
    (cleanrl_grad,) = torch.autograd.grad(cleanrl, ratio)
    assert cleanrl_grad == -0.5 * advantages[i]

    grads = {}
    for script in IDENTICAL:
        newlogprob = clip_script.gaussian_log_prob(actions, agent.actor_mean(obs), agent.actor_logstd)
        ns = pg_loss(script, newlogprob, old_logprob, advantages, norm_adv=False)
        assert ns["ratio"][i] == target and bool(ns["kill"][i]) == kill
        grads[script] = torch.autograd.grad(ns["pg_loss"], newlogprob)[0]
    exact = 0.0 if kill else -advantages[i] * target / 64  # d(−mean(Â·w))/d log π_i off the kill set
    for script in IDENTICAL:
        assert grads[script][i] == exact, f"{script}: sample {i}, gradient {grads[script][i]}, exact {exact}"
        assert torch.equal(grads[script], grads["ppo_clip.py"])
