"""Clip, per-sample KL and dual surrogates give the same gradient: bitwise in float32 at power-of-two
minibatch sizes, to 1e-12 in float64 at any size, and across a whole inner loop of Adam updates.

The surrogate lines are the scripts' own: extracted from each file and executed here."""

import math
from collections import defaultdict
from types import SimpleNamespace

import pytest
import torch
from scripts import IDENTICAL, load_script, surrogate_source

OBS_DIM, ACT_DIM, EPS = 11, 3, 0.2
clip_script = load_script("ppo_clip.py")


DEFAULTS = dict(  # the scripts' Args that their surrogate lines read
    clip_coef=EPS, norm_adv=True, beta_shape="step", beta_softness=0.05, clip_coef_low=None, clip_coef_high=None, position_rho=1.0
)


def pg_loss(script, newlogprob, old_logprob, advantages, buf=None, **args):
    """Run the script's own lines from the ratio to its surrogate, in the script's namespace."""
    namespace = {
        **vars(load_script(script)),
        "newlogprob": newlogprob,
        "e_logprobs": old_logprob,  # the epoch's shuffled copy; the minibatch `mb` is all of it
        "e_advantages": advantages,
        "mb": slice(None),
        "b_inds": torch.arange(len(advantages)),
        "args": SimpleNamespace(**{**DEFAULTS, **args}),
        "stats": defaultdict(float),
        "buf": buf,  # the rollout, read by ppo_beta_shapes.py's position multiplier
    }
    exec(surrogate_source(script), namespace)
    return namespace


def make_batch(n, dtype, seed):
    """A real actor, a minibatch with ratios log-uniform in [0.25, 4], both advantage signs, and
    samples placed exactly on both band edges (w == 1−ε and w == 1+ε in the working precision)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    agent = clip_script.Agent(OBS_DIM, ACT_DIM).to(dtype)
    with torch.no_grad():
        # σ near e^-0.92 makes the density at the mean ~1, so the edge samples below have
        # |log π| < 0.25: fine enough float spacing for exp(log π_new − log π_old) to hit 1±ε exactly
        agent.actor_logstd.uniform_(-1.0, -0.85, generator=gen)
    obs = torch.randn(n, OBS_DIM, generator=gen, dtype=dtype)
    actions = torch.randn(n, ACT_DIM, generator=gen, dtype=dtype)
    with torch.no_grad():
        actions[:6] = agent.actor_mean(obs[:6])  # the edge samples: actions at the mean
        newlogprob = clip_script.gaussian_log_prob(actions, agent.actor_mean(obs), agent.actor_logstd)
    target_logratio = torch.empty(n, dtype=dtype).uniform_(math.log(0.25), math.log(4.0), generator=gen)
    old_logprob = newlogprob - target_logratio
    # Search old log-probs whose ratio lands exactly on an edge, 3 samples per edge.
    steps = torch.arange(-512, 512, dtype=dtype) * torch.finfo(dtype).eps
    edges = {}
    for i, edge in enumerate([1 - EPS] * 3 + [1 + EPS] * 3):
        candidates = (newlogprob[i] - math.log(edge)) * (1 + steps)
        hit = torch.nonzero(torch.exp(newlogprob[i] - candidates) == torch.tensor(edge, dtype=dtype))
        if len(hit):
            old_logprob[i] = candidates[hit[0, 0]]
            edges[i] = edge
    # torch's vectorized exp may round differently from a scalar one: keep what the batch computes
    ratio = torch.exp(newlogprob - old_logprob)
    edges = {i: e for i, e in edges.items() if ratio[i] == torch.tensor(e, dtype=dtype)}
    for edge in (1 - EPS, 1 + EPS):
        assert list(edges.values()).count(edge) >= 2, f"could not place two samples exactly on the edge {edge}"
    advantages = torch.randn(n, generator=gen, dtype=dtype) * 2
    return agent, obs, actions, old_logprob, advantages, edges


def gradients(script, agent, obs, actions, old_logprob, advantages):
    """Gradients of the script's surrogate w.r.t. each sample's log-prob and each actor parameter."""
    params = [agent.actor_logstd, *agent.actor_mean.parameters()]
    newlogprob = clip_script.gaussian_log_prob(actions, agent.actor_mean(obs), agent.actor_logstd)
    ns = pg_loss(script, newlogprob, old_logprob, advantages)
    per_sample, *param_grads = torch.autograd.grad(ns["pg_loss"], [newlogprob, *params])
    return ns, per_sample, param_grads


def describe(a, b, what):
    diff = (a - b).abs()
    idx = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0])
    return f"{what}: max |diff| {diff.max().item():.3e} at index {idx} ({a[idx].item()!r} vs {b[idx].item()!r})"


def assert_same_gradients(script, agent, obs, actions, old_logprob, advantages, tol):
    names = ["actor_logstd"] + [f"actor_mean.{n}" for n, _ in agent.actor_mean.named_parameters()]
    ns_ref, ref_sample, ref_params = gradients("ppo_clip.py", agent, obs, actions, old_logprob, advantages)
    ns, sample, params = gradients(script, agent, obs, actions, old_logprob, advantages)
    ratio, adv = ns_ref["ratio"].detach(), ns_ref["mb_advantages"]
    kill = ns_ref["kill"]
    # the batch exercises every case the identity has to hold in
    assert ratio.min() < 0.3 and ratio.max() > 3, (ratio.min(), ratio.max())
    assert kill.any() and (~kill & ~ns_ref["inband"]).any() and ns_ref["inband"].any()
    assert (adv > 0).any() and (adv < 0).any()
    assert torch.all(ref_sample[kill] == 0), "the clip must zero the gradient on the kill set"
    for i in range(len(sample)):
        if tol == 0:
            ok = torch.equal(sample[i], ref_sample[i])
        else:
            ok = (sample[i] - ref_sample[i]).abs() <= tol
        assert ok, (
            f"{script} vs ppo_clip.py, sample {i} (w={ratio[i].item()!r}, Â={adv[i].item()!r}, "
            f"kill={bool(kill[i])}): d loss/d log π = {sample[i].item()!r} vs {ref_sample[i].item()!r}"
        )
    for name, g, g_ref in zip(names, params, ref_params):
        if tol == 0:
            assert torch.equal(g, g_ref), f"{script} vs ppo_clip.py, " + describe(g, g_ref, f"grad of {name}")
        else:
            assert (g - g_ref).abs().max() <= tol, f"{script} vs ppo_clip.py, " + describe(g, g_ref, f"grad of {name}")


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
