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


def pg_loss(script, newlogprob, old_logprob, advantages, buf=None, scope=None, **args):
    """Run the script's own lines from the ratio to its surrogate, in the script's namespace
    (`scope`: more names those lines read, e.g. trppo's old policy)."""
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
        **(scope or {}),
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


# ppo_beta_shapes.py's family of gates (the β_t zoo): its surrogate run with the actor in scope, on a
# minibatch placed where each published variant differs from the clip.

ZOO_SCRIPT = "ppo_beta_shapes.py"


def zoo_pg_loss(agent, obs, actions, old_logprob, advantages, old_mean, old_logstd, **args):
    """pg_loss on ppo_beta_shapes.py with its Args defaults and what trppo's per-state KL reads in scope:
    the current action means, the actor, and the old policy's per-state means and log-std. Returns the
    namespace; its `newlogprob` carries the actor's graph."""
    import dataclasses

    action_mean = agent.actor_mean(obs)
    newlogprob = clip_script.gaussian_log_prob(actions, action_mean, agent.actor_logstd)
    scope = {"agent": agent, "action_mean": action_mean, "b_old_mean": old_mean, "old_logstd": old_logstd}
    defaults = dataclasses.asdict(load_script(ZOO_SCRIPT).Args())
    return pg_loss(ZOO_SCRIPT, newlogprob, old_logprob, advantages, scope=scope, **{**defaults, **args})


# Ratios the zoo's gates treat differently from the clip, per advantage sign: deep in the kill set,
# just inside and outside the band (ε = 0.2), past dual-clip's c = 3 and on either side of c ± 10%.
ZOO_RATIOS = {
    -1: [0.3, 0.5, 0.79, 0.81, 1.1, 1.5, 2.5, 2.65, 2.85, 2.95, 3.05, 3.2, 3.4, 3.5],
    +1: [0.3, 0.6, 0.81, 1.19, 1.21, 1.5, 2.5, 2.85, 3.05, 3.5],
}
# trppo's per-state KL around δ = 0.035, for samples whose ratio moved the way Â pushes: either side
# of δ and of δ ± 10%, so a threshold off by 10% changes some sample's gate.
ZOO_KL_NEAR_DELTA = [0.035 * f for f in (0.85, 0.93, 0.97, 1.03, 1.07, 1.15)]


def make_zoo_batch(dtype, seed, n=64):
    """make_batch (a real actor; 3 samples on each band edge, exactly) with, besides: samples placed at
    ZOO_RATIOS for each sign of the normalized advantage, w spanning [0.3, 3.5] or more, and an old
    policy (per-state means, log-std 0.03 above the actor's) whose closed-form KL(π_old‖π_θ) per state is
    set: ZOO_KL_NEAR_DELTA on samples with (w−1)·Â > 0, log-uniform in [0.004, 0.5] elsewhere, all at
    least 3% away from δ = 0.035. Returns (agent, obs, actions, old_logprob, advantages, old_mean,
    old_logstd, edges). w and the KL are set independently: the identity holds per sample for any pair."""
    agent, obs, actions, old_logprob, advantages, edges = make_batch(n, dtype, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        action_mean = agent.actor_mean(obs)
        newlogprob = clip_script.gaussian_log_prob(actions, action_mean, agent.actor_logstd)
    adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)  # as the scripts normalize
    free = [i for i in range(n) if i not in edges]
    for sign, targets in ZOO_RATIOS.items():
        picks = [i for i in free if (adv[i] > 0) == (sign > 0)][: len(targets)]
        assert len(picks) == len(targets), f"too few free samples with sign {sign}"
        for i, w in zip(picks, targets):
            old_logprob[i] = newlogprob[i] - math.log(w)
            free.remove(i)
    ratio = torch.exp(newlogprob - old_logprob)
    # the old policy: log-std shifted, means moved so that each state's KL hits its target
    old_logstd = agent.actor_logstd.detach() + 0.03
    sigma, sigma_old = agent.actor_logstd.detach().exp(), old_logstd.exp()
    k0 = (agent.actor_logstd.detach() - old_logstd + sigma_old**2 / (2 * sigma**2) - 0.5).sum()  # KL at equal means
    pushed = [i for i in range(n) if (ratio[i] - 1) * adv[i] > 0]
    targets = torch.exp(torch.empty(n, dtype=dtype).uniform_(math.log(0.004), math.log(0.5), generator=gen))
    targets = torch.where((targets / 0.035 - 1).abs() < 0.03, targets * 1.5, targets)
    targets[pushed[: len(ZOO_KL_NEAR_DELTA)]] = torch.tensor(ZOO_KL_NEAR_DELTA, dtype=dtype)
    direction = torch.randn(n, ACT_DIM, generator=gen, dtype=dtype)
    direction = direction / direction.norm(dim=1, keepdim=True)
    old_mean = action_mean + sigma * direction * torch.sqrt(2 * (targets - k0)).unsqueeze(1)
    return agent, obs, actions, old_logprob, advantages, old_mean, old_logstd, edges
