"""Short-episode Hopper envs through the scripts' own env construction, for rollout tests."""

import gymnasium as gym
from gymnasium.wrappers.utils import RunningMeanStd
from scripts import load_script

clip = load_script("ppo_clip.py")
GAMMA, LAMBDA, STEPS = 0.99, 0.95, 64
# Truncated by a 9-step TimeLimit; terminated as soon as the torso drops below z = 1.2.
gym.register("TruncHopper-v4", entry_point="gymnasium.envs.mujoco.hopper_v4:HopperEnv", max_episode_steps=9)
gym.register(
    "TermHopper-v4",
    entry_point="gymnasium.envs.mujoco.hopper_v4:HopperEnv",
    max_episode_steps=1000,
    kwargs={"healthy_z_range": (1.2, float("inf"))},
)
ENV_IDS = ["TruncHopper-v4", "TermHopper-v4"]


def make_envs():
    """The scripts' own env construction, one truncating and one terminating env."""
    obs_rms, return_rms = RunningMeanStd(shape=(11,)), RunningMeanStd(shape=())
    envs = gym.vector.SyncVectorEnv(
        [clip.make_env(env_id, GAMMA, obs_rms, return_rms) for env_id in ENV_IDS],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    return envs


class NullWriter:
    def add_scalar(self, *args):
        pass
