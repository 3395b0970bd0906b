"""Stable-Baselines3 PPO configured as the four scripts are, for the speed comparison
(benchmark/speed.py runs it as a subprocess, as it runs the scripts):

    OMP_NUM_THREADS=1 python -m benchmark.sb3_ppo --env-id Hopper-v4 --total-timesteps 8192 --seed 1

It prints `global_step=N, SPS=S` once learning ends, S = env steps / wall seconds of `model.learn()`.

What the timer covers, next to the scripts' (`start_time` to their last `SPS=` line):
- SB3: the whole `model.learn()` call: `_setup_learn` (counters, `env.reset()`, logger set-up at
  verbose 0: no outputs) and every rollout and update. Excluded: process start-up, imports, env and
  model construction (policy, optimizer, rollout buffer), as the scripts exclude theirs.
- scripts: from just before `envs.reset()` to just after the last update (its statistics and
  its `print`). Env, network, optimizer, buffer and TensorBoard writer are built before the timer.
So both start at the first env reset and end with the last update. Each side keeps its default
logging: the scripts write TensorBoard scalars and a line per update and per episode; SB3 at
verbose 0 records to memory only.

Same configuration (CleanRL's ppo_continuous_action, the scripts' defaults): 1 env, 2048 steps a
rollout, minibatches of 64, 10 epochs, Adam 3e-4 (eps 1e-5, SB3's default for PPO) annealed
linearly to 0, γ 0.99, GAE λ 0.95, clip 0.2, no entropy bonus, vf 0.5, grad-norm 0.5, separate
64-64 tanh actor and critic, orthogonal init, state-independent log-std initialized at 0, observation
and reward normalization clipped to ±10, one torch thread, CPU. `Monitor` records episode returns as
the scripts' `RecordEpisodeStatistics` does, and SB3 clips actions to the action space as their
`ClipAction` does. The value loss is clipped with the same 0.2 as the scripts' (CleanRL's
clip_vloss; SB3's default would be no clipping).
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported

import gymnasium as gym  # noqa: E402
import torch  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.monitor import Monitor  # noqa: E402
from stable_baselines3.common.utils import LinearSchedule  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize  # noqa: E402
from torch import nn  # noqa: E402

GAMMA = 0.99


def make_model(env_id: str, seed: int) -> PPO:
    env = VecNormalize(
        DummyVecEnv([lambda: Monitor(gym.make(env_id))]),
        norm_obs=True,
        norm_reward=True,
        clip_obs=10.0,
        clip_reward=10.0,
        gamma=GAMMA,
    )
    return PPO(
        "MlpPolicy",
        env,
        n_steps=2048,
        batch_size=64,
        n_epochs=10,
        learning_rate=LinearSchedule(3e-4, 0.0, 1.0),  # of progress_remaining: 3e-4 at the start, 0 at the end
        gamma=GAMMA,
        gae_lambda=0.95,
        clip_range=0.2,
        clip_range_vf=0.2,
        ent_coef=0.0,
        vf_coef=0.5,
        max_grad_norm=0.5,
        policy_kwargs=dict(
            net_arch=dict(pi=[64, 64], vf=[64, 64]),
            activation_fn=nn.Tanh,
            ortho_init=True,
            log_std_init=0.0,
        ),
        device="cpu",
        seed=seed,
        verbose=0,
    )


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmark.sb3_ppo", description=__doc__.split("\n\n")[0])
    p.add_argument("--env-id", default="Hopper-v4")
    p.add_argument("--total-timesteps", type=int, default=8192)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)

    torch.set_num_threads(1)
    model = make_model(args.env_id, args.seed)
    start_time = time.time()
    model.learn(total_timesteps=args.total_timesteps)
    sps = int(model.num_timesteps / (time.time() - start_time))
    print(f"global_step={model.num_timesteps}, SPS={sps}", flush=True)


if __name__ == "__main__":
    main()
