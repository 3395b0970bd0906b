"""The β_t zoo: each published clip variant of ppo_beta_shapes.py, run through the script's own
surrogate lines, gives the gradient of the variant's loss as its source writes it.

The references below are written from each source's code, with its published constants typed in here
(not read from the script), so a wrong gate and a wrong default both fail:
- dual_clip: verl, trainer/ppo/core_algos.py, compute_policy_loss_vanilla (clip_ratio_c = 3.0)
- rollback:  TrulyPPO (Wang, He & Tan 2019), baselines/ppo2_AdaClip/ppo2.py, ClipType.ratio_rollback;
             its slope_rollback = −0.3 on MuJoCo is −α
- trppo:     the same file, ClipType.kl (klrange = 0.035 on MuJoCo); KL = old_pd.kl(new_pd)
- spo:       Simple-Policy-Optimization, mujoco/trainer.py, compute_policy_loss (algo 'spo')
- cispo:     verl's / SkyRL's compute_policy_loss_cispo: −sg(clip(w))·Â·log π_θ
- gppo:      KlearReasoner, verl/trainer/ppo/core_algos.py, compute_gppo_loss (keeps verl's dual clip)
- sapo:      verl's compute_policy_loss_sapo: −(4/τ)·σ(τ·(w−1))·Â, τ_pos = 1.0, τ_neg = 1.05
"""

import math

import pytest
import torch
from identity import ZOO_RATIOS, clip_script, describe, make_zoo_batch, zoo_pg_loss
from scripts import run_dirs, run_script, scalars

SCRIPT = "ppo_beta_shapes.py"
ZOO = ["dual_clip", "rollback", "trppo", "spo", "cispo", "gppo", "sapo"]
# 4 updates of 512 steps; 10 epochs (the default), so that ratios leave the band within the run
SHORT_10_EPOCHS = ["--total-timesteps", "2048", "--num-steps", "512", "--num-minibatches", "8", "--update-epochs", "10"]
C, ALPHA, DELTA, TAU_POS, TAU_NEG = 3.0, 0.3, 0.035, 1.0, 1.05  # the sources' published defaults


def reference_loss(shape, newlogprob, old_logprob, adv, state_kl, eps_low, eps_high):
    """The variant's loss, minimized, written as its source's code writes it."""
    ratio = torch.exp(newlogprob - old_logprob)
    if shape in ("dual_clip", "gppo"):
        if shape == "dual_clip":
            clipped = torch.clamp(ratio, 1 - eps_low, 1 + eps_high)
        else:  # GPPO: the bounds carry the gradient (1±ε)·∇w/w
            clipped = torch.clamp(ratio, (1 - eps_low) / ratio.detach() * ratio, (1 + eps_high) / ratio.detach() * ratio)
        clip_losses = torch.maximum(-adv * ratio, -adv * clipped)
        dual_losses = torch.min(-adv * C, clip_losses)
        return torch.where(adv < 0, dual_losses, clip_losses).mean()
    if shape == "rollback":
        slope = -ALPHA
        targets = torch.where(
            adv >= 0,
            torch.where(ratio <= 1 + eps_high, ratio, slope * ratio + (1 - slope) * (1 + eps_high)),
            torch.where(ratio >= 1 - eps_low, ratio, slope * ratio + (1 - slope) * (1 - eps_low)),
        ) * adv
        return -targets.mean()
    if shape == "trppo":
        losses = -adv * ratio
        return torch.where((state_kl >= DELTA) & (ratio * adv > 1 * adv), losses.detach(), losses).mean()
    if shape == "spo":  # one ε in SPO; with an asymmetric band, the side Â pushes toward (our extension)
        eps = torch.where(adv > 0, torch.full_like(adv, eps_high), torch.full_like(adv, eps_low))
        return -(adv * ratio - adv.abs() * (ratio - 1) ** 2 / (2 * eps)).mean()
    if shape == "cispo":
        return (-torch.clamp(ratio, 1 - eps_low, 1 + eps_high).detach() * adv * newlogprob).mean()
    assert shape == "sapo"
    taus = torch.where(adv > 0, torch.as_tensor(TAU_POS, dtype=adv.dtype), torch.as_tensor(TAU_NEG, dtype=adv.dtype))
    return (-torch.sigmoid(taus * (ratio - 1)) * (4.0 / taus) * adv).mean()


def reference_kl(agent, obs, old_mean, old_logstd):
    """KL(π_old(·|s) ‖ π_θ(·|s)) per state, by torch.distributions (independent of the script's formula)."""
    with torch.no_grad():
        old = torch.distributions.Normal(old_mean, old_logstd.exp().expand_as(old_mean))
        new = torch.distributions.Normal(agent.actor_mean(obs), agent.actor_logstd.exp().expand_as(old_mean))
        return torch.distributions.kl_divergence(old, new).sum(1)


def both_gradients(shape, batch, eps_low, eps_high):
    """(namespace, [d/d log π, d/d params...] of the script, the same of the reference, param names)."""
    agent, obs, actions, old_logprob, advantages, old_mean, old_logstd, _ = batch
    band = {} if eps_low == eps_high == 0.2 else dict(clip_coef_low=eps_low, clip_coef_high=eps_high)
    ns = zoo_pg_loss(agent, obs, actions, old_logprob, advantages, old_mean, old_logstd, beta_shape=shape, **band)
    params = [agent.actor_logstd, *agent.actor_mean.parameters()]
    names = ["actor_logstd"] + [f"actor_mean.{n}" for n, _ in agent.actor_mean.named_parameters()]
    newlogprob = ns["newlogprob"]
    state_kl = reference_kl(agent, obs, old_mean, old_logstd)
    reference = reference_loss(shape, newlogprob, old_logprob, ns["mb_advantages"], state_kl, eps_low, eps_high)
    script_grads = torch.autograd.grad(ns["pg_loss"], [newlogprob, *params], retain_graph=True)
    reference_grads = torch.autograd.grad(reference, [newlogprob, *params])
    return ns, script_grads, reference_grads, names


def sample_report(ns, i):
    w, adv, gate = ns["ratio"][i].item(), ns["mb_advantages"][i].item(), ns["gate"][i].item()
    kl = "" if ns["state_kl"] is None else f", KL_s={ns['state_kl'][i].item():.6g}"
    return f"sample {i} (w={w!r}, Â={adv!r}, G={gate!r}{kl})"


def assert_batch_covers(ns, shape, batch):
    """The minibatch has what the variant's identity must hold on; for trppo, the script's KL is the KL."""
    ratio, adv, edges = ns["ratio"].detach(), ns["mb_advantages"], batch[-1]
    if shape == "trppo":
        kl, tol = reference_kl(*batch[:2], *batch[5:7]), 1e-12 if ratio.dtype == torch.float64 else 1e-6
        assert torch.allclose(ns["state_kl"], kl, rtol=tol, atol=tol), describe(ns["state_kl"], kl, "per-state KL")
    assert ratio.min() <= 0.3 and ratio.max() >= 3.5, (ratio.min(), ratio.max())
    assert (adv > 0).any() and (adv < 0).any()
    for edge in (0.8, 1.2):  # exactly on both band edges, in the working precision
        assert any(ratio[i] == torch.tensor(edge, dtype=ratio.dtype) for i in edges), f"no sample at w = {edge}"
    if shape == "trppo":  # states on both sides of δ, among samples the gate can stop and those it cannot
        pushed = (ratio - 1) * adv > 0
        for subset in (pushed, ~pushed):
            assert (ns["state_kl"][subset] >= DELTA).any() and (ns["state_kl"][subset] < DELTA).any()
        assert ((ns["state_kl"] / DELTA - 1).abs() > 0.02).all(), "a KL too close to δ for a fair comparison"


@pytest.mark.parametrize("band", [(0.2, 0.2), (0.2, 0.28)], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("shape", ZOO)
def test_gate_gives_the_variants_gradient_float64(shape, band):
    batch = make_zoo_batch(torch.float64, seed=17)
    ns, (sample, *params), (ref_sample, *ref_params), names = both_gradients(shape, batch, *band)
    assert_batch_covers(ns, shape, batch)
    for i in range(len(sample)):
        assert abs(sample[i] - ref_sample[i]) <= 1e-10, (
            f"{shape}, {sample_report(ns, i)}: d loss/d log π = {sample[i].item()!r}, "
            f"the variant's own loss gives {ref_sample[i].item()!r} (diff {(sample[i] - ref_sample[i]).item():.3e})"
        )
    for name, g, g_ref in zip(names, params, ref_params):
        assert (g - g_ref).abs().max() <= 1e-10, f"{shape}: " + describe(g, g_ref, f"grad of {name}")
    # the variant differs from the clip on this batch (so the comparison is not the clip's identity)
    clip_ns = zoo_pg_loss(*batch[:7], beta_shape="step")
    clip_sample = torch.autograd.grad(clip_ns["pg_loss"], clip_ns["newlogprob"])[0]
    assert (sample - clip_sample).abs().max() > 1e-3


def klip_soft_min_loss(ratio, adv, eps_low, eps_high, softness):
    """KLip-PPO's soft_clipped_surrogate_softmin (klip_ppo/core/losses.py), minimized: the clip's min(w·Â,
    clip(w)·Â) replaced by a log-sum-exp soft minimum of temperature s in units of |Â|; 0 where Â = 0.
    Its code has one ε; the asymmetric band is our extension, as for the zoo."""
    adv_scale = adv.abs().detach().clamp_min(1e-8)
    unclipped, clipped = ratio * adv / adv_scale, torch.clamp(ratio, 1 - eps_low, 1 + eps_high) * adv / adv_scale
    soft_obj = adv_scale * -softness * torch.logsumexp(torch.stack((-unclipped / softness, -clipped / softness)), dim=0)
    return -torch.where(adv != 0, soft_obj, torch.zeros_like(soft_obj)).mean()


@pytest.mark.parametrize("band", [(0.2, 0.2), (0.2, 0.28)], ids=["symmetric", "asymmetric"])
def test_soft_min_gate_gives_klip_ppos_soft_minimum_float64(band):
    """--beta-shape soft_min: its gradient is the soft-minimum objective's, sample by sample and for every actor
    parameter, on the kill set, in band (both edges exactly), on pass-through, for both signs of Â and at Â = 0.
    Not the sigmoid gate: soft_min's G is 0 in band and σ(v/s) on pass-through, where sigmoid's is neither."""
    agent, obs, actions, old_logprob, advantages, old_mean, old_logstd, edges = make_zoo_batch(torch.float64, seed=17)
    adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)  # normalized here, so that Â = 0 stays 0
    zero = [i for i in range(len(adv)) if i not in edges][-2:]
    adv[zero] = 0.0
    ns = zoo_pg_loss(agent, obs, actions, old_logprob, adv, old_mean, old_logstd, beta_shape="soft_min", norm_adv=False,
                     clip_coef_low=band[0], clip_coef_high=band[1])
    ratio, newlogprob = ns["ratio"], ns["newlogprob"]
    lo, hi = 1 - band[0], 1 + band[1]
    w = ratio.detach()
    sets = {"kill set": ns["kill"], "in band": (w >= lo) & (w <= hi), "pass-through": ~ns["kill"] & ((w < lo) | (w > hi))}
    for name, subset in sets.items():  # every set, with both signs of Â
        assert (subset & (adv > 0)).any() and (subset & (adv < 0)).any(), f"no sample {name} for one sign of Â"
    params = [agent.actor_logstd, *agent.actor_mean.parameters()]
    names = ["actor_logstd"] + [f"actor_mean.{n}" for n, _ in agent.actor_mean.named_parameters()]
    sample, *grads = torch.autograd.grad(ns["pg_loss"], [newlogprob, *params], retain_graph=True)
    reference = klip_soft_min_loss(ratio, adv, *band, softness=0.05)
    ref_sample, *ref_grads = torch.autograd.grad(reference, [newlogprob, *params])
    for i in range(len(sample)):
        assert abs(sample[i] - ref_sample[i]) <= 1e-10, (
            f"soft_min, {sample_report(ns, i)}: d loss/d log π = {sample[i].item()!r}, KLip-PPO's soft minimum gives "
            f"{ref_sample[i].item()!r} (diff {(sample[i] - ref_sample[i]).item():.3e})"
        )
    for name, g, g_ref in zip(names, grads, ref_grads):
        assert (g - g_ref).abs().max() <= 1e-10, "soft_min: " + describe(g, g_ref, f"grad of {name}")
    assert (sample[zero] == 0).all() and (ref_sample[zero] == 0).all()
    passing = sets["pass-through"]  # where soft_min differs from the sigmoid gate: it halves the gradient at the edge
    assert (ns["gate"][passing] > 0.01).any() and (ns["gate"][sets["in band"]] == 0).all()


@pytest.mark.parametrize("shape", ["dual_clip", "rollback", "trppo"])
def test_piecewise_variants_float32(shape):
    """dual_clip and trppo: bitwise equal in float32, every sample and every parameter. Where G ∈ {0, 1}
    the script's −Â·w + w·Â·G and the source's form round the same way: both give −Â·w/n where the
    gradient passes, and exactly 0 where it is zeroed (−Â·w + w·Â cancels exactly; the source's branch is
    a constant). Exceptions not in this batch: w one ulp from 1±ε or from c, where the source's
    torch.maximum/min can tie and split the gradient (the tie of docs/identity.md); trppo at w == 1 exactly, where
    the source stops nothing either. rollback: bitwise wherever G = 0; on the kill set the script
    computes −Â·w + 1.3·w·Â, where the two terms cancel to 0.3·w·Â, and the source −α·Â·w directly: equal
    to float32 rounding only (measured over 50 batches: ≤ 4.1 ulp a sample, parameter gradients within
    1e-6 of their largest entry; asserted: 8 ulp, 1e-5)."""
    batch = make_zoo_batch(torch.float32, seed=23)
    ns, (sample, *params), (ref_sample, *ref_params), names = both_gradients(shape, batch, 0.2, 0.2)
    assert_batch_covers(ns, shape, batch)
    kill = ns["kill"]
    for i in range(len(sample)):
        bitwise = shape != "rollback" or not kill[i]
        ok = sample[i] == ref_sample[i] if bitwise else abs(sample[i] - ref_sample[i]) <= 8 * abs(ref_sample[i]) * 2**-23
        assert ok, (
            f"{shape} float32, {sample_report(ns, i)}: d loss/d log π = {sample[i].item()!r}, the variant's own "
            f"loss gives {ref_sample[i].item()!r} (diff {(sample[i] - ref_sample[i]).item():.3e}, "
            f"{'bitwise' if bitwise else 'to 8 ulp'} expected)"
        )
    for name, g, g_ref in zip(names, params, ref_params):
        if shape == "rollback":
            assert (g - g_ref).abs().max() <= 1e-5 * g_ref.abs().max(), describe(g, g_ref, f"rollback: grad of {name}")
        else:
            assert torch.equal(g, g_ref), f"{shape} float32: " + describe(g, g_ref, f"grad of {name}")
    if shape == "rollback":  # the kill set really is there, and not bitwise there (what the docstring says)
        assert kill.any() and not torch.equal(sample[kill], ref_sample[kill])


def test_zoo_ratios_placed():
    """The batch has the ratios the mutation checks rely on (c ± 10% on both sides for Â < 0)."""
    agent, obs, actions, old_logprob, advantages, old_mean, old_logstd, _ = make_zoo_batch(torch.float64, seed=17)
    ns = zoo_pg_loss(agent, obs, actions, old_logprob, advantages, old_mean, old_logstd, beta_shape="step")
    ratio, adv = ns["ratio"].detach(), ns["mb_advantages"]
    for sign, targets in ZOO_RATIOS.items():
        for w in targets:
            assert ((ratio - w).abs() < 1e-9)[adv * sign > 0].any(), (sign, w)


@pytest.mark.parametrize("shape", ["rollback", "cispo", "trppo"])
def test_short_run_logs_reversed_and_amplified(shape, tmp_path):
    """A short real run of each kind of gate: G > 1 (rollback), G < 0 (cispo), the per-state KL and the
    old policy it needs (trppo); the fractions are logged per update like the kill-set fractions."""
    run_script(SCRIPT, *SHORT_10_EPOCHS, "--beta-shape", shape, cwd=tmp_path)
    logged = scalars(run_dirs(tmp_path / "runs")[0])
    reversed_frac = [v for _, v in logged["killset/reversed_frac"]]
    amplified_frac = [v for _, v in logged["killset/amplified_frac"]]
    assert len(reversed_frac) == len(amplified_frac) == 4
    assert all(0 <= v <= 1 for v in reversed_frac + amplified_frac)
    if shape == "rollback":  # G = 1.3 exactly on the kill set
        assert all(math.isclose(r, k, abs_tol=1e-6) for r, k in zip(reversed_frac, [v for _, v in logged["killset/kill_frac"]]))
        assert max(reversed_frac) > 0 and max(amplified_frac) == 0
    if shape == "cispo":  # G < 0 wherever w < 1 − ε, whatever Â's sign; never > 1
        assert max(amplified_frac) > 0 and max(reversed_frac) == 0
    if shape == "trppo":  # G ∈ {0, 1}: the gate's mean is the fraction stopped, which some update reaches
        assert max(reversed_frac) == max(amplified_frac) == 0
        stopped = [v for _, v in logged["losses/gate_mean"]]
        assert all(0 <= v <= 1 for v in stopped) and max(stopped) > 0


# log w per dtype: past the smallest normal float's log (−87.3 in float32, −708.4 in float64), where w is
# denormal or exactly 0, and just inside it
UNDERFLOW_LOGRATIOS = {torch.float32: [-200.0, -120.0, -95.0, -87.5, -87.0], torch.float64: [-800.0, -740.0, -709.0, -700.0]}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", ["cispo", "gppo"])
def test_gate_dividing_by_w_where_w_underflows(shape, dtype):
    """cispo's and gppo's G = 1 − clip(w)/w divides by w. Where w = exp(log w) underflows to a denormal or
    to 0 (a policy far from the old one: CISPO on Hopper puts 15% of an update's samples there on average,
    up to 38%, from its third update on), the gradient stays the variant's: CISPO's −clip(w)·Â·∇log π, GPPO's −Â·(1−ε)·∇log π on the
    kill set (written in log space: GPPO's own w/sg(w) is 0/0 at w = 0), not 0. To float rounding of the
    terms that cancel (−Â·w against w·Â·G): 4 ulp of the larger a sample, parameter gradients to 1e-5."""
    agent, obs, actions, old_logprob, advantages, old_mean, old_logstd, edges = make_zoo_batch(dtype, seed=29)
    adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    with torch.no_grad():
        newlogprob = clip_script.gaussian_log_prob(actions, agent.actor_mean(obs), agent.actor_logstd)
    placed = []
    for sign in (+1, -1):
        picks = [i for i in range(len(adv)) if i not in edges and (adv[i] > 0) == (sign > 0)]
        for i, logw in zip(picks, UNDERFLOW_LOGRATIOS[dtype]):
            old_logprob[i] = newlogprob[i] - logw
            placed.append(i)
    ns = zoo_pg_loss(agent, obs, actions, old_logprob, advantages, old_mean, old_logstd, beta_shape=shape)
    params = [agent.actor_logstd, *agent.actor_mean.parameters()]
    names = ["actor_logstd"] + [f"actor_mean.{n}" for n, _ in agent.actor_mean.named_parameters()]
    logp, a = ns["newlogprob"], ns["mb_advantages"]
    ratio, logratio = ns["ratio"].detach(), logp - old_logprob
    assert (ratio[placed] == 0).any() and ((ratio[placed] > 0) & (ratio[placed] < torch.finfo(dtype).tiny)).any()
    assert (a[placed] > 0).any() and (a[placed] < 0).any()
    if shape == "cispo":  # −sg(clip(w))·Â·log π, as the source writes it: no underflow in it
        reference = (-torch.clamp(ratio, 0.8, 1.2) * a * logp).mean()
    else:  # GPPO with w/sg(w) = exp(log w − sg(log w)); PPO-Clip's −Â·w elsewhere, dual clip where Â < 0 ∧ w > 3
        kill = ((a > 0) & (ratio > 1.2)) | ((a < 0) & (ratio < 0.8))
        bound = torch.where(a > 0, torch.full_like(a, 1.2), torch.full_like(a, 0.8))
        per_sample = torch.where(kill, -a * bound * torch.exp(logratio - logratio.detach()), -a * torch.exp(logratio))
        per_sample = torch.where((a < 0) & (ratio > C), -a * C, per_sample)  # a constant there
        reference = per_sample.mean()
    sample, *grads = torch.autograd.grad(ns["pg_loss"], [logp, *params], retain_graph=True)
    ref_sample, *ref_grads = torch.autograd.grad(reference, [logp, *params])
    n, ulp = len(a), torch.finfo(dtype).eps
    for i in range(n):
        scale = max(abs(ref_sample[i].item()), abs((a[i] * ratio[i]).item()) / n)
        assert abs(sample[i] - ref_sample[i]) <= 4 * ulp * scale, (
            f"{shape} {dtype}, {sample_report(ns, i)}: d loss/d log π = {sample[i].item()!r}, the variant's own "
            f"loss gives {ref_sample[i].item()!r}"
        )
    pushed = [i for i in placed if shape == "cispo" or a[i] < 0]  # gppo: Â > 0, w < 1+ε passes as −Â·w ≈ 0
    assert (ref_sample[pushed].abs() > 1e-4).all()  # the variant's gradient there is not 0
    for name, g, g_ref in zip(names, grads, ref_grads):
        assert (g - g_ref).abs().max() <= 1e-5 * g_ref.abs().max(), f"{shape} {dtype}: " + describe(g, g_ref, f"grad of {name}")
