"""PPO-KL: the unclipped surrogate plus one scalar KL penalty β (fixed or adaptive).

Surrogate, with w = π_θ(a|s)/π_old(a|s) and Â the advantage (Schulman et al. 2017, eq. 8):
    L = −mean(Â·w) + β·KL(π_old‖π_θ)
KL is the closed form for diagonal Gaussians (--kl-estimator analytic) or the sample mean of
−log w (sample). --kl-mode adaptive: after each update, with d the KL over the batch,
d < d_targ/1.5 ⇒ β/2, d > 1.5·d_targ ⇒ 2β, β kept in [1e-4, 1e4]. The clip's per-sample
β_t (see ppo_per_sample_kl.py) is replaced by one β for every sample.
Changes versus ppo_clip.py:  diff -u ppo_clip.py ppo_kl.py
"""

import math
import os
import random
import re
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass, fields
from typing import NamedTuple, Optional
# >>> ALGO: argument types of the penalty
from typing import Literal
# <<< ALGO

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import tyro
from gymnasium.wrappers.utils import RunningMeanStd
from torch.utils.tensorboard import SummaryWriter


@dataclass
class Args:
    exp_name: str = os.path.basename(__file__)[: -len(".py")]
    """the name of this experiment (defaults to the script's file name); part of the run directory's name"""
    seed: int = 1
    """seed of the experiment (Python, NumPy, torch and the environments)"""
    torch_deterministic: bool = True
    """use deterministic torch algorithms (`torch.use_deterministic_algorithms`)"""
    threads: int = 1
    """torch intra-op threads (at least 1); one is fastest for these small networks"""
    track: bool = False
    """if toggled, log the run to Weights and Biases"""
    wandb_project_name: str = "ppo-per-sample-kl"
    """the W&B project name"""
    wandb_entity: Optional[str] = None
    """the W&B entity (team)"""
    save_model: bool = False
    """save a checkpoint (networks, normalization statistics, args) and evaluate it"""
    eval_episodes: int = 10
    """deterministic evaluation episodes (after training with --save-model, or of --eval-checkpoint)"""
    eval_checkpoint: Optional[str] = None
    """evaluate this checkpoint (no training), with its saved normalization statistics"""
    capture_video: bool = False
    """record the evaluation episodes as MP4 in the run directory's `videos/` (MuJoCo: EGL, headless)"""
    runs_dir: str = "runs"
    """where run directories are created"""

    env_id: str = "Hopper-v4"
    """the id of the environment (continuous actions, flat observations)"""
    total_timesteps: int = 1000000
    """total environment steps"""
    learning_rate: float = 3e-4
    """the learning rate of the optimizer"""
    num_envs: int = 1
    """the number of parallel environments"""
    num_steps: int = 2048
    """the number of steps per environment per rollout"""
    anneal_lr: bool = True
    """linearly anneal the learning rate to zero"""
    gamma: float = 0.99
    """the discount factor γ"""
    gae_lambda: float = 0.95
    """the λ of generalized advantage estimation"""
    num_minibatches: int = 32
    """the number of minibatches per epoch"""
    update_epochs: int = 10
    """the number of epochs over each rollout"""
    norm_adv: bool = True
    """normalize advantages per minibatch"""
    clip_coef: float = 0.2
    """the band half-width ε, in (0, 1) (policy ratio and clipped value loss)"""
    clip_vloss: bool = True
    """use the clipped value loss"""
    ent_coef: float = 0.0
    """coefficient of the entropy bonus, ≥ 0 (a negative one would penalize exploration: not a PPO setting)"""
    vf_coef: float = 0.5
    """coefficient of the value loss, ≥ 0 (a negative one would make the critic maximize its error)"""
    max_grad_norm: float = 0.5
    """the maximum global norm of the gradient"""
    target_kl: Optional[float] = None
    """CleanRL's early stop: end the update's epochs once the last minibatch's approx KL exceeds it"""
    # >>> ALGO: arguments of the scalar penalty
    kl_mode: Literal["fixed", "adaptive"] = "fixed"
    """fixed: β = --kl-coef throughout; adaptive: β halves or doubles after each update toward --kl-adaptive-target"""
    kl_coef: float = 1.0
    """the (initial) KL coefficient β, in [1e-4, 1e4]"""
    kl_adaptive_target: float = 0.01
    """d_targ, the KL per update the adaptive rule aims at (not --target-kl, CleanRL's early stop)"""
    kl_estimator: Literal["analytic", "sample"] = "analytic"
    """analytic: closed-form KL of the diagonal Gaussians; sample: mean of −log w over the minibatch"""
    # <<< ALGO


def fail(msg: str):
    """Bad input: one line on stderr, exit status 1, no traceback."""
    sys.exit(f"{os.path.basename(sys.argv[0])}: error: {msg}")


def check_args(args: Args):
    for field in fields(args):  # every float flag, this script's own too: refused here, not after a rollout
        value = getattr(args, field.name)
        if isinstance(value, float) and not math.isfinite(value):
            fail(f"--{field.name.replace('_', '-')} must be finite, got {value}")
    batch_size = args.num_envs * args.num_steps
    positive = ["learning_rate", "num_steps", "num_envs", "num_minibatches", "update_epochs", "max_grad_norm"]
    for name in positive + (["target_kl"] if args.target_kl is not None else []):
        if not getattr(args, name) > 0:
            fail(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    for name in ("vf_coef", "ent_coef"):
        if not getattr(args, name) >= 0:
            fail(f"--{name.replace('_', '-')} must be non-negative, got {getattr(args, name)}")
    if not 0 < args.clip_coef < 1:  # ε ≥ 1 would put the band's lower edge 1−ε at or below 0, under every w > 0
        fail(f"--clip-coef must be in (0, 1), got {args.clip_coef}")
    for name in ("gamma", "gae_lambda"):
        if not 0 <= getattr(args, name) <= 1:
            fail(f"--{name.replace('_', '-')} must be in [0, 1], got {getattr(args, name)}")
    if not 0 <= args.seed < 2**32:  # what NumPy and the envs can be seeded with
        fail(f"--seed must be in [0, 2**32), got {args.seed}")
    if args.threads < 1:
        fail(f"--threads must be at least 1, got {args.threads}")
    if not args.exp_name or any(sep in args.exp_name for sep in (os.sep, os.altsep) if sep):  # one directory name
        fail(f"--exp-name must be a non-empty name without a path separator, got {args.exp_name!r}")
    if batch_size % args.num_minibatches:
        fail(f"num_envs*num_steps = {batch_size} is not divisible by --num-minibatches {args.num_minibatches}")
    if args.norm_adv and batch_size // args.num_minibatches < 2:  # the std of one sample is NaN
        fail(f"--num-minibatches {args.num_minibatches} leaves one sample per minibatch; --norm-adv needs at least 2")
    if args.eval_checkpoint is None and args.total_timesteps < batch_size:
        fail(f"--total-timesteps {args.total_timesteps} is smaller than one batch ({batch_size} steps)")
    # >>> ALGO: check the penalty arguments
    if not 1e-4 <= args.kl_coef <= 1e4:
        fail(f"--kl-coef must be in [1e-4, 1e4], got {args.kl_coef}")
    if not args.kl_adaptive_target > 0:
        fail(f"--kl-adaptive-target must be positive, got {args.kl_adaptive_target}")
    # <<< ALGO
    if args.eval_episodes < (0 if args.eval_checkpoint is None else 1):  # evaluating a checkpoint 0 times: a mistake
        fail(f"--eval-episodes must be at least {0 if args.eval_checkpoint is None else 1}, got {args.eval_episodes}")
    if args.capture_video and args.eval_checkpoint is None and not (args.save_model and args.eval_episodes > 0):
        fail("--capture-video records the evaluation: it needs --save-model with --eval-episodes > 0, or --eval-checkpoint")


def check_env(env_id: str, video: bool = False):
    """(obs_dim, act_dim) of a continuous-control env or one line of error; `video`: can its frames be recorded?"""
    if video:
        # Headless: MuJoCo renders through EGL (Mesa's, on a CPU machine) unless the user chose a backend;
        # unset, gymnasium would try glfw first, which needs a display.
        os.environ.setdefault("MUJOCO_GL", "egl")
    gl = f" to record video (MUJOCO_GL={os.environ['MUJOCO_GL']}; see docs/usage.md#videos)" if video else ""
    try:
        env = gym.make(env_id, render_mode="rgb_array" if video else None)
    except Exception as e:  # unknown id, missing extra, no renderer, ...: gymnasium raises many types
        fail(f"cannot make env {env_id!r}{gl}: {str(e).strip().splitlines()[0]}")
    obs_space, act_space = env.observation_space, env.action_space
    if not isinstance(act_space, gym.spaces.Box):
        fail(f"{env_id} has {type(act_space).__name__} actions; this script needs continuous (Box) actions")
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        fail(f"{env_id} has observation space {obs_space}; this script needs flat Box observations")
    if video:
        try:
            import moviepy  # noqa: F401  (gymnasium's RecordVideo writes MP4 through it)
            env.reset(seed=0)
            assert env.render().ndim == 3, "no RGB frame"
        except Exception as e:  # no EGL library, no display, no moviepy, ...: many types
            fail(f"cannot render {env_id}{gl}: {type(e).__name__}: {str(e).strip().splitlines()[0]}")
    env.close()
    return obs_space.shape[0], act_space.shape[0]


class SingleSampleRunningMeanStd(RunningMeanStd):
    """gymnasium's statistics, updated one sample at a time as its per-env wrappers do, without np.mean/np.var."""

    def update(self, x):
        assert len(x) == 1, f"SingleSampleRunningMeanStd takes one sample at a time (it would drop rows), got {len(x)}"
        self.update_from_moments(x[0], 0.0, 1)


def make_env(env_id: str, gamma: float, obs_rms: RunningMeanStd, return_rms: Optional[RunningMeanStd], video_dir=None):
    """CleanRL's wrapper stack on gymnasium 1.x. Every env updates the same `obs_rms`/`return_rms`, which the checkpoint
    saves. `return_rms=None` (evaluation): observation statistics frozen, raw rewards. `video_dir`: episodes as MP4."""

    def thunk():
        try:  # MuJoCo's locomotion envs have a camera, "track", that follows the body; the default one stays put
            env = gym.make(env_id) if video_dir is None else gym.make(env_id, render_mode="rgb_array", camera_name="track")
        except TypeError:  # an env without cameras to name (not MuJoCo): its default view
            env = gym.make(env_id, render_mode="rgb_array")
        if video_dir is not None:
            env = gym.wrappers.RecordVideo(env, video_dir, episode_trigger=lambda _: True, name_prefix="eval")
        env = gym.wrappers.RecordEpisodeStatistics(env)  # innermost statistics: logs raw returns
        env = gym.wrappers.ClipAction(env)
        env = gym.wrappers.NormalizeObservation(env)
        env.obs_rms = obs_rms
        env.update_running_mean = return_rms is not None  # frozen statistics in evaluation
        env = gym.wrappers.TransformObservation(env, lambda obs: np.clip(obs, -10, 10), env.observation_space)
        if return_rms is not None:
            env = gym.wrappers.NormalizeReward(env, gamma=gamma)
            env.return_rms = return_rms
            env = gym.wrappers.TransformReward(env, lambda r: np.clip(r, -10, 10))
        return env

    return thunk


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


def hidden_layers(in_dim: int) -> list[nn.Module]:
    """CleanRL's trunk: two 64-unit tanh layers, orthogonal init."""
    return [layer_init(nn.Linear(in_dim, 64)), nn.Tanh(), layer_init(nn.Linear(64, 64)), nn.Tanh()]


class Agent(nn.Module):
    """Separate actor and critic MLPs (64-64 tanh), state-independent log-std."""

    def __init__(self, obs_dim: int, act_dim: int):
        super().__init__()
        self.critic = nn.Sequential(*hidden_layers(obs_dim), layer_init(nn.Linear(64, 1), std=1.0))
        self.actor_mean = nn.Sequential(*hidden_layers(obs_dim), layer_init(nn.Linear(64, act_dim), std=0.01))
        self.actor_logstd = nn.Parameter(torch.zeros(1, act_dim))

    def value(self, x):
        return forward(self.critic, x)

    def action_mean(self, x):
        return forward(self.actor_mean, x)


def forward(net: nn.Sequential, x):
    """net(x), bitwise, without nn.Module.__call__ per layer: halves a single-observation pass in the rollout."""
    for layer in net:
        x = layer.forward(x)
    return x


LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def gaussian_log_prob(action, mean, logstd):
    """Normal(mean, exp(logstd)).log_prob(action).sum(1), to rounding, without building a (slow, validated) Normal."""
    return (-0.5 * ((action - mean) / logstd.exp()) ** 2 - logstd - LOG_SQRT_2PI).sum(1)


class Rollout(NamedTuple):
    """Rollout storage, allocated once; every tensor is (num_steps, num_envs, ...)."""

    obs: torch.Tensor
    actions: torch.Tensor
    logprobs: torch.Tensor
    rewards: torch.Tensor  # with γ·V(s_final) added where an episode was truncated
    dones: torch.Tensor  # 1 where the transition ended its episode (terminated or truncated)
    values: torch.Tensor

    @classmethod
    def zeros(cls, num_steps: int, num_envs: int, obs_dim: int, act_dim: int):
        steps = (num_steps, num_envs)
        return cls(
            obs=torch.zeros((*steps, obs_dim)),
            actions=torch.zeros((*steps, act_dim)),
            logprobs=torch.zeros(steps), rewards=torch.zeros(steps), dones=torch.zeros(steps), values=torch.zeros(steps),
        )


@torch.inference_mode()  # no autograd bookkeeping for the rollout's single-observation forward passes
def collect_rollout(envs, agent: Agent, next_obs, buf: Rollout, gamma: float, global_step: int, writer, recent_returns):
    """Fill `buf` with one rollout from the current policy; return the next observation and step. Autoreset is
    SAME_STEP: the step that ends an episode returns the reset observation, info["final_obs"] the true final one."""
    # NumPy views of the buffer: writing a row through NumPy is several times cheaper than torch indexing
    obs, actions, rewards, dones = buf.obs.numpy(), buf.actions.numpy(), buf.rewards.numpy(), buf.dones.numpy()
    std = agent.actor_logstd.exp()  # fixed during the rollout: one exp instead of one a step
    next_obs = next_obs.numpy()
    for step in range(len(obs)):
        global_step += envs.num_envs
        obs[step] = next_obs
        action_mean = agent.action_mean(torch.from_numpy(next_obs))
        action = (action_mean + std * torch.randn_like(action_mean)).numpy()
        actions[step] = action

        next_obs, reward, terminations, truncations, infos = envs.step(action)
        rewards[step] = reward
        dones[step] = terminations | truncations
        if "final_obs" in infos:
            # A truncated episode did not end in the MDP: bootstrap r + γ·V(s_final) from the true
            # final observation (already normalized by the env's own wrapper). A termination gets none.
            trunc = np.flatnonzero(truncations & ~terminations)
            if trunc.size:
                final_obs = torch.from_numpy(np.stack(infos["final_obs"][trunc]))
                buf.rewards[step, trunc] += gamma * agent.value(final_obs).flatten()
            final = infos["final_info"]
            for i in np.flatnonzero(final.get("_episode", [])):
                episodic_return = float(final["episode"]["r"][i])
                recent_returns.append(episodic_return)
                print(f"global_step={global_step}, episodic_return={episodic_return}")
                writer.add_scalar("charts/episodic_return", episodic_return, global_step)
                writer.add_scalar("charts/episodic_length", final["episode"]["l"][i], global_step)

    # The policy is fixed during the rollout: its log-probs and values wait for one batched pass, much cheaper
    b_obs = buf.obs.flatten(0, 1)
    buf.logprobs.view(-1)[:] = gaussian_log_prob(buf.actions.flatten(0, 1), agent.action_mean(b_obs), agent.actor_logstd)
    buf.values.view(-1)[:] = agent.value(b_obs).flatten()
    return torch.from_numpy(next_obs), global_step


@torch.inference_mode()
def compute_advantages(buf: Rollout, agent: Agent, next_obs, gamma: float, gae_lambda: float):
    """GAE(λ) (Schulman et al. 2016, eq. 16). `dones` cut the bootstrap at episode ends; truncated
    episodes carry theirs in the reward. The loop runs on NumPy views: far cheaper than torch ops on rows."""
    next_value = agent.value(next_obs).flatten().numpy()
    rewards, dones, values = buf.rewards.numpy(), buf.dones.numpy(), buf.values.numpy()
    advantages = np.zeros_like(rewards)
    lastgaelam = 0.0
    for t in reversed(range(len(rewards))):
        nextvalues = next_value if t == len(rewards) - 1 else values[t + 1]
        nextnonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
        advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
    return torch.from_numpy(advantages)


def save_checkpoint(path: str, agent: Agent, obs_rms: RunningMeanStd, return_rms: RunningMeanStd, args: Args):
    """The checkpoint: networks, the normalization statistics they were trained with, and the run's args."""
    obs_stats = {"mean": torch.from_numpy(obs_rms.mean), "var": torch.from_numpy(obs_rms.var), "count": float(obs_rms.count)}
    return_stats = {"mean": float(return_rms.mean), "var": float(return_rms.var), "count": float(return_rms.count)}
    torch.save({"agent": agent.state_dict(), "obs_rms": obs_stats, "return_rms": return_stats, "args": vars(args)}, path)


# >>> ALGO: closed-form KL of diagonal Gaussians
def gaussian_kl(mean_old, logstd_old, mean, logstd):
    """KL(N(μ_old, σ_old²) ‖ N(μ, σ²)) summed over action dims, per sample."""
    var_ratio = torch.exp(2 * (logstd_old - logstd))
    return (0.5 * (var_ratio + (mean - mean_old) ** 2 / torch.exp(2 * logstd) - 1) - (logstd_old - logstd)).sum(1)


# <<< ALGO
def load_checkpoint(path: str):
    """(agent, frozen observation statistics, env id) from a save_checkpoint file, or fail with one line."""
    try:
        ckpt = torch.load(path, weights_only=True)  # tensors and containers only: loading runs no code from the file
    except OSError as e:  # missing, a directory, unreadable
        fail(f"cannot read checkpoint {path!r}: {e.strerror or e}")
    except Exception as e:  # not a torch file, or one holding objects these checkpoints never hold
        # its first sentence: the rest of torch's message advises weights_only=False, i.e. running the file's code
        why = re.split(r"\n|\. ", str(e).split("WeightsUnpickler error:")[-1].strip())[0]
        fail(f"{path!r} is not a checkpoint of these scripts: torch.load refuses it ({type(e).__name__}: {why})")
    try:
        agent = Agent(obs_dim=len(ckpt["obs_rms"]["mean"]), act_dim=ckpt["agent"]["actor_logstd"].shape[1])
        agent.load_state_dict(ckpt["agent"])
        obs_rms = RunningMeanStd(shape=ckpt["obs_rms"]["mean"].shape)
        obs_rms.mean, obs_rms.var = ckpt["obs_rms"]["mean"].numpy(), ckpt["obs_rms"]["var"].numpy()
        obs_rms.count = ckpt["obs_rms"]["count"]
        env_id = ckpt["args"]["env_id"]
    except Exception as e:  # wrong keys or shapes
        fail(f"{path!r} is not a checkpoint of these scripts: {type(e).__name__}: {e}")
    return agent, obs_rms, env_id


def evaluate(agent: Agent, env_id: str, obs_rms: RunningMeanStd, episodes: int, seed: int, video_dir=None, writer=None):
    """Deterministic (mean-action) returns with the given, frozen normalization statistics (`video_dir`: as MP4s too)."""
    make_eval_env = make_env(env_id, 0.0, obs_rms, return_rms=None, video_dir=video_dir)
    env = make_eval_env()  # one env, not a vector: no autoreset
    obs, _ = env.reset(seed=seed)
    eval_returns = []
    while len(eval_returns) < episodes:
        with torch.inference_mode():
            action = agent.action_mean(torch.from_numpy(obs)).numpy()
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            eval_returns.append(float(info["episode"]["r"]))
            if writer is not None:
                writer.add_scalar("eval/episodic_return", eval_returns[-1], len(eval_returns) - 1)
            if len(eval_returns) < episodes:  # no reset after the last: it would open one more video
                obs, _ = env.reset()
    env.close()
    videos = f", videos in {video_dir}" if video_dir else ""
    print(f"eval: episodic returns {eval_returns}, mean {np.mean(eval_returns):.6f}, env {env_id}{videos}")
    return eval_returns


def main():
    # ---- setup: arguments, seeding, envs, logging, agent ----
    args = tyro.cli(Args)
    check_args(args)
    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches
    num_updates = args.total_timesteps // batch_size

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(args.torch_deterministic)
    torch.set_num_threads(args.threads)

    env_id = args.env_id
    if args.eval_checkpoint is not None:  # on the checkpoint's env, or on one typed with --env-id (e.g. -v4 → -v5)
        agent, obs_rms, trained_on = load_checkpoint(args.eval_checkpoint)
        env_id = env_id if any(arg.split("=")[0] in ("--env-id", "--env_id") for arg in sys.argv[1:]) else trained_on
    obs_dim, act_dim = check_env(env_id, video=args.capture_video)
    if args.eval_checkpoint is not None and (obs_dim, act_dim) != (len(obs_rms.mean), agent.actor_logstd.shape[1]):
        fail(f"{args.eval_checkpoint!r} was trained on {trained_on} ({len(obs_rms.mean)} observations, "
             f"{agent.actor_logstd.shape[1]} actions); --env-id {env_id} has {obs_dim} and {act_dim}")
    run_name = f"{env_id}__{args.exp_name}__{'eval__' if args.eval_checkpoint else ''}{args.seed}__{int(time.time())}"
    if args.track and args.eval_checkpoint is None:  # before the run directory: a refusal leaves nothing behind
        import wandb
        try:
            wandb.init(project=args.wandb_project_name, entity=args.wandb_entity, name=run_name, config=vars(args),
                       sync_tensorboard=True, save_code=True)
        except wandb.errors.UsageError as e:  # no API key, ...: wandb would end in a traceback
            fail(f"--track: {str(e).strip().splitlines()[0]} Or log offline: WANDB_MODE=offline.")
    run_dir = os.path.join(args.runs_dir, run_name)
    try:
        if args.eval_checkpoint is None or args.capture_video:  # evaluation alone writes nothing
            os.makedirs(run_dir)
    except OSError as e:  # not writable, a file in the way, ...
        fail(f"cannot create the run directory {run_dir!r}: {e.strerror or e}")
    video_dir = os.path.join(run_dir, "videos") if args.capture_video else None
    if args.eval_checkpoint is not None:  # evaluation only: its run directory holds the videos, if any
        evaluate(agent, env_id, obs_rms, args.eval_episodes, args.seed, video_dir)
        return

    obs_rms, return_rms = SingleSampleRunningMeanStd(shape=(obs_dim,)), SingleSampleRunningMeanStd(shape=())
    envs = gym.vector.SyncVectorEnv(
        [make_env(args.env_id, args.gamma, obs_rms, return_rms) for _ in range(args.num_envs)],
        copy=False,  # saves a copy per step: observations are copied into the rollout buffer at once
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,  # final_obs of an ended episode is in info
    )
    envs.action_space.seed(args.seed)

    writer = SummaryWriter(run_dir)
    table = "\n".join(f"|{key}|{value}|" for key, value in vars(args).items())
    writer.add_text("hyperparameters", f"|param|value|\n|-|-|\n{table}")

    agent = Agent(obs_dim, act_dim)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5, fused=True)  # one kernel, all params
    # >>> ALGO: the penalty coefficient β
    kl_coef = args.kl_coef
    # <<< ALGO

    buf = Rollout.zeros(args.num_steps, args.num_envs, obs_dim, act_dim)
    global_step = 0
    recent_returns = deque(maxlen=100)  # for the progress line, as SB3's ep_rew_mean
    start_time = time.time()
    next_obs = torch.from_numpy(envs.reset(seed=args.seed)[0])

    for update in range(1, num_updates + 1):
        if args.anneal_lr:  # linearly, to zero after the last update
            optimizer.param_groups[0]["lr"] = (1.0 - (update - 1.0) / num_updates) * args.learning_rate

        # ---- rollout: num_steps transitions per env from the current policy ----
        next_obs, global_step = collect_rollout(envs, agent, next_obs, buf, args.gamma, global_step, writer, recent_returns)
        # ---- advantages: GAE(λ), and the value targets (returns) ----
        advantages = compute_advantages(buf, agent, next_obs, args.gamma, args.gae_lambda)
        returns = advantages + buf.values

        b_obs = buf.obs.reshape((-1, obs_dim))
        b_logprobs = buf.logprobs.reshape(-1)
        b_actions = buf.actions.reshape((-1, act_dim))
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = buf.values.reshape(-1)

        # >>> ALGO: the old policy's action means, for the closed-form KL
        with torch.no_grad():
            b_old_mean = agent.action_mean(b_obs)
        old_logstd = agent.actor_logstd.detach().clone()
        # <<< ALGO
        # ---- update: update_epochs passes over the rollout in shuffled minibatches ----
        stats = defaultdict(float)  # sums over the update's minibatches of per-minibatch diagnostics
        for epoch in range(args.update_epochs):
            b_inds = torch.randperm(batch_size)
            # One shuffled copy per epoch; its minibatches are then slices (views), not one gather each
            e_obs, e_actions, e_logprobs, e_advantages, e_returns, e_values = (
                x[b_inds] for x in (b_obs, b_actions, b_logprobs, b_advantages, b_returns, b_values)
            )
            for start in range(0, batch_size, minibatch_size):
                mb = slice(start, start + minibatch_size)
                mb_obs, mb_returns, mb_values = e_obs[mb], e_returns[mb], e_values[mb]
                action_mean = agent.action_mean(mb_obs)
                newlogprob = gaussian_log_prob(e_actions[mb], action_mean, agent.actor_logstd)
                newvalue = agent.value(mb_obs).flatten()
                logratio = newlogprob - e_logprobs[mb]
                ratio = logratio.exp()

                mb_advantages = e_advantages[mb]
                if args.norm_adv:
                    mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)

                # >>> ALGO: the band, 1−ε ≤ w ≤ 1+ε
                lo, hi = 1 - args.clip_coef, 1 + args.clip_coef
                # <<< ALGO
                # The kill set: samples whose gradient the clip zeroes. In band: lo ≤ w ≤ hi.
                # The rest (outside the band, moving back toward it) passes through unclipped.
                kill = ((mb_advantages > 0) & (ratio > hi)) | ((mb_advantages < 0) & (ratio < lo))
                inband = (ratio >= lo) & (ratio <= hi)

                # >>> ALGO: scalar-β KL surrogate, L = −mean(Â·w) + β·KL(π_old‖π_θ)
                if args.kl_estimator == "analytic":
                    kl = gaussian_kl(b_old_mean[b_inds[mb]], old_logstd, action_mean, agent.actor_logstd).mean()
                else:
                    kl = (-logratio).mean()
                pg_loss = (-mb_advantages * ratio).mean() + kl_coef * kl
                stats["losses/kl"] += kl.detach()
                # <<< ALGO

                if args.clip_vloss:
                    v_loss_unclipped = (newvalue - mb_returns) ** 2
                    v_clipped = mb_values + torch.clamp(newvalue - mb_values, -args.clip_coef, args.clip_coef)
                    v_loss_clipped = (v_clipped - mb_returns) ** 2
                    v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                else:
                    v_loss = 0.5 * ((newvalue - mb_returns) ** 2).mean()
                # state-independent std: the entropy of N(μ, σ²) is the same for every sample
                entropy_loss = (0.5 + LOG_SQRT_2PI + agent.actor_logstd).sum()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef

                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm, foreach=True)  # one norm kernel
                optimizer.step()

                with torch.no_grad():  # tensors summed here, read once per update: no per-minibatch sync
                    approx_kl = ((ratio - 1) - logratio).mean()  # k3 estimator
                    stats["losses/policy_loss"] += pg_loss
                    stats["losses/value_loss"] += v_loss
                    stats["losses/entropy"] += entropy_loss
                    stats["losses/approx_kl"] += approx_kl
                    stats["killset/kill_frac"] += kill.float().mean()
                    stats["killset/inband_frac"] += inband.float().mean()
                    stats["killset/passthrough_frac"] += (~kill & ~inband).float().mean()  # measured, not 1 − the rest

            if args.target_kl is not None and approx_kl > args.target_kl:  # CleanRL's early stop
                break

        # ---- logging: means over the update's minibatches (CleanRL logs the last minibatch's) ----
        num_gradient_steps = (epoch + 1) * args.num_minibatches  # fewer epochs after a --target-kl stop
        stats = {key: float(value) / num_gradient_steps for key, value in stats.items()}
        stats["losses/clipfrac"] = 1 - stats["killset/inband_frac"]  # outside the band, either side
        if not (math.isfinite(stats["losses/policy_loss"]) and math.isfinite(stats["losses/value_loss"])):
            writer.close()  # what was logged up to here stays readable
            fail(f"non-finite loss in update {update} (global_step={global_step}); stopped, no checkpoint saved")
        # >>> ALGO: measure d = KL(π_old‖π_θ) over the batch; adapt β (Schulman et al. 2017, §4)
        with torch.no_grad():
            new_mean = agent.action_mean(b_obs)
            if args.kl_estimator == "analytic":
                d = gaussian_kl(b_old_mean, old_logstd, new_mean, agent.actor_logstd).mean().item()
            else:
                d = (b_logprobs - gaussian_log_prob(b_actions, new_mean, agent.actor_logstd)).mean().item()
        writer.add_scalar("losses/kl_coef", kl_coef, global_step)
        writer.add_scalar("losses/kl_after_update", d, global_step)
        if args.kl_mode == "adaptive":
            if d < args.kl_adaptive_target / 1.5:
                kl_coef /= 2
            elif d > args.kl_adaptive_target * 1.5:
                kl_coef *= 2
            kl_coef = min(max(kl_coef, 1e-4), 1e4)
        # <<< ALGO
        y_pred, y_true = b_values.numpy(), b_returns.numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        elapsed = time.time() - start_time
        sps = int(global_step / elapsed)
        eta = time.strftime("%H:%M:%S", time.gmtime(elapsed / update * (num_updates - update)))
        recent = f"mean_return(last {len(recent_returns)})={np.mean(recent_returns):.1f}, " if recent_returns else ""
        print(f"update {update}/{num_updates}, global_step={global_step}, {recent}SPS={sps}, ETA {eta}")
        writer.add_scalar("charts/learning_rate", optimizer.param_groups[0]["lr"], global_step)
        writer.add_scalar("charts/SPS", sps, global_step)
        writer.add_scalar("losses/explained_variance", explained_var, global_step)
        for key, value in stats.items():
            writer.add_scalar(key, value, global_step)

    # ---- save and evaluate ----
    envs.close()
    if args.save_model:
        model_path = os.path.join(run_dir, "model.pt")
        save_checkpoint(model_path, agent, obs_rms, return_rms, args)
        print(f"model saved to {model_path}")
        if args.eval_episodes > 0:  # with --capture-video, these episodes are the videos
            evaluate(agent, args.env_id, obs_rms, args.eval_episodes, args.seed, video_dir, writer)
        if args.track:
            artifact = wandb.Artifact(re.sub(r"[^\w.-]", "_", run_name), type="model")
            artifact.add_file(model_path)
            wandb.log_artifact(artifact)
            if video_dir is not None and args.eval_episodes > 0:
                wandb.log({"eval/videos": [wandb.Video(os.path.join(video_dir, f)) for f in sorted(os.listdir(video_dir))]})

    writer.close()
    if args.track:
        wandb.finish()


if __name__ == "__main__":
    main()
