"""The scripts' faster running statistics compute exactly what gymnasium's RunningMeanStd does,
through gymnasium's own NormalizeObservation and NormalizeReward wrappers on a real trajectory."""

import gymnasium as gym
import numpy as np
from gymnasium.wrappers.utils import RunningMeanStd
from scripts import load_script

clip = load_script("ppo_clip.py")


def trajectory(rms_type, steps=3000):
    env = gym.make("Hopper-v4")
    env = gym.wrappers.NormalizeObservation(env)
    env.obs_rms = rms_type(shape=(11,))
    env = gym.wrappers.NormalizeReward(env, gamma=0.99)
    env.return_rms = rms_type(shape=())
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    out = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        out += [obs, np.array([reward])]
        if terminated or truncated:
            out.append(env.reset()[0])
    norm_obs, norm_rew = env.get_wrapper_attr("obs_rms"), env.get_wrapper_attr("return_rms")
    return out, norm_obs, norm_rew


def test_single_sample_statistics_are_bitwise_gymnasiums():
    ours, our_obs_rms, our_ret_rms = trajectory(clip.SingleSampleRunningMeanStd)
    theirs, obs_rms, ret_rms = trajectory(RunningMeanStd)
    assert len(ours) == len(theirs) > 6000
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == b.dtype and np.array_equal(a, b), f"item {i}: {a} vs {b}"
    for a, b in [(our_obs_rms, obs_rms), (our_ret_rms, ret_rms)]:
        assert np.array_equal(a.mean, b.mean) and np.array_equal(a.var, b.var) and a.count == b.count
        assert np.shape(a.mean) == np.shape(b.mean) and np.shape(a.var) == np.shape(b.var)
