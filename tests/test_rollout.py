"""The rollout bootstraps a truncated episode from the critic's value of its true final observation
and does not bootstrap a terminated one; GAE cuts at both. Real MuJoCo Hopper, short limits."""

from collections import deque

import torch
from short_envs import ENV_IDS, GAMMA, LAMBDA, STEPS, NullWriter, clip, make_envs


def test_truncation_bootstraps_and_termination_does_not():
    torch.manual_seed(0)
    agent = clip.Agent(11, 3)
    buf = clip.Rollout.zeros(STEPS, 2, 11, 3)
    envs = make_envs()
    next_obs = torch.from_numpy(envs.reset(seed=5)[0])
    recent_returns = deque()
    next_obs, _ = clip.collect_rollout(envs, agent, next_obs, buf, GAMMA, 0, NullWriter(), recent_returns)

    # Replay the recorded actions through an identical env stack to see what the env returned.
    replay = make_envs()
    replay.reset(seed=5)
    seen = {"trunc": 0, "term": 0}
    for t in range(STEPS):
        _, reward, terminated, truncated, info = replay.step(buf.actions[t].numpy())
        expected = torch.from_numpy(reward).float()
        for i in range(2):
            if truncated[i] and not terminated[i]:
                seen["trunc"] += 1
                final_obs = torch.from_numpy(info["final_obs"][i])
                with torch.no_grad():
                    value = agent.critic(final_obs[None]).flatten()[0]
                expected[i] += GAMMA * value
                assert value != 0
            elif terminated[i]:
                seen["term"] += 1
            done = bool(terminated[i] or truncated[i])
            assert buf.dones[t, i] == done, f"step {t}, env {ENV_IDS[i]}: done flag {buf.dones[t, i]} vs {done}"
            assert buf.rewards[t, i] == expected[i], (
                f"step {t}, env {ENV_IDS[i]} (terminated={terminated[i]}, truncated={truncated[i]}): "
                f"stored reward {buf.rewards[t, i].item()!r}, expected {expected[i].item()!r}"
            )
    assert seen["trunc"] >= 3 and seen["term"] >= 3, seen
    assert len(recent_returns) == seen["trunc"] + seen["term"]  # every finished episode, for the progress line


def test_gae_cuts_at_episode_ends():
    """compute_advantages against a direct float64 evaluation of the GAE sum."""
    torch.manual_seed(1)
    agent = clip.Agent(11, 3)
    buf = clip.Rollout.zeros(STEPS, 2, 11, 3)
    buf.rewards.normal_()
    buf.values.normal_()
    buf.dones[[5, 20, 21, 63], 0] = 1
    buf.dones[[0, 40], 1] = 1
    next_obs = torch.randn(2, 11)
    adv = clip.compute_advantages(buf, agent, next_obs, GAMMA, LAMBDA)
    with torch.no_grad():
        next_value = agent.critic(next_obs).flatten().double()
    r, v, d = buf.rewards.double(), buf.values.double(), buf.dones.double()
    for i in range(2):
        for t in range(STEPS):
            expected, discount = 0.0, 1.0
            for k in range(t, STEPS):  # Σ (γλ)^(k−t) δ_k until the episode ends
                v_next = next_value[i] if k == STEPS - 1 else v[k + 1, i]
                expected += discount * (r[k, i] + GAMMA * v_next * (1 - d[k, i]) - v[k, i])
                if d[k, i]:
                    break
                discount *= GAMMA * LAMBDA
            assert abs(adv[t, i].item() - expected) < 1e-4, f"step {t}, env {i}: {adv[t, i].item()} vs {expected}"
    # at a done step the advantage is r − V(s): nothing from the next episode leaks in
    assert torch.allclose(adv[5, 0], buf.rewards[5, 0] - buf.values[5, 0])
