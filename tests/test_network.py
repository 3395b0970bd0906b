"""Agent.action_mean / Agent.value (the scripts' fast forward passes) are the nn.Sequential nets, bitwise:
same outputs and same gradients, and they follow the parameters through optimizer steps and
load_state_dict, so a checkpoint evaluates with the weights it saved."""

import pytest
import torch
from scripts import SCRIPTS, load_script

clip = load_script("ppo_clip.py")
OBS_DIM, ACT_DIM = 11, 3


def forward_pairs(agent):
    return [(agent.action_mean, agent.actor_mean), (agent.value, agent.critic)]


def assert_same_forward(agent, obs):
    for fast, net in forward_pairs(agent):
        assert torch.equal(fast(obs), net(obs))


@pytest.mark.parametrize("rows", [1, 64, 2048])
def test_same_outputs_and_gradients(rows):
    torch.manual_seed(0)
    agent = clip.Agent(OBS_DIM, ACT_DIM)
    obs = torch.randn(rows, OBS_DIM) * 3
    with torch.inference_mode():  # the rollout's mode
        assert_same_forward(agent, obs)
    for fast, net in forward_pairs(agent):
        grads = []
        for forward in (fast, net):
            agent.zero_grad()
            (forward(obs) ** 2).sum().backward()
            grads.append([p.grad.clone() for p in net.parameters()])
        for fast_grad, net_grad in zip(*grads):
            assert torch.equal(fast_grad, net_grad)


def test_follows_optimizer_steps_and_load_state_dict():
    torch.manual_seed(1)
    agent = clip.Agent(OBS_DIM, ACT_DIM)
    obs = torch.randn(64, OBS_DIM)
    before = agent.action_mean(obs).detach().clone()
    optimizer = torch.optim.Adam(agent.parameters(), lr=1e-2, eps=1e-5, fused=True)
    for _ in range(3):
        optimizer.zero_grad()
        (agent.action_mean(obs).sum() + agent.value(obs).sum()).backward()
        optimizer.step()
    assert not torch.equal(agent.action_mean(obs), before)  # the steps changed what the fast pass computes
    assert_same_forward(agent, obs)

    other = clip.Agent(OBS_DIM, ACT_DIM)  # different random init
    other.load_state_dict(agent.state_dict())
    assert_same_forward(other, obs)
    assert torch.equal(other.action_mean(obs), agent.action_mean(obs))
    assert torch.equal(other.value(obs), agent.value(obs))


def test_an_edited_net_is_followed():
    """The fast pass runs the nets' own layers: another activation, or an extra layer, carries over."""
    torch.manual_seed(2)
    agent = clip.Agent(OBS_DIM, ACT_DIM)
    obs = torch.randn(64, OBS_DIM)
    before = [fast(obs).detach().clone() for fast, _ in forward_pairs(agent)]
    agent.critic[1] = torch.nn.ReLU()
    agent.actor_mean.insert(4, torch.nn.LayerNorm(64))
    after = [fast(obs) for fast, _ in forward_pairs(agent)]
    assert not any(torch.equal(a, b) for a, b in zip(before, after))  # the edits change both nets
    assert_same_forward(agent, obs)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_state_dict_keys_unchanged(script):
    """Checkpoints keep the nn.Sequential names: the layer lists are plain attributes, not modules."""
    agent = load_script(script).Agent(OBS_DIM, ACT_DIM)
    keys = set(agent.state_dict())
    assert keys == {"actor_logstd"} | {f"{net}.{i}.{p}" for net in ("critic", "actor_mean") for i in (0, 2, 4) for p in ("weight", "bias")}
