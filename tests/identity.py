"""Helpers of the gradient-identity tests (test_gradient_identity.py, test_beta_shapes.py): a real
actor and a minibatch that exercises every case, and the scripts' own surrogate lines run on it."""

import math
from collections import defaultdict
from types import SimpleNamespace

import torch
from scripts import load_script, surrogate_source

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
