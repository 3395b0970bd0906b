"""--capture-video records the deterministic evaluation episodes as playable MP4s, one per episode, with
one frame per step plus the reset frame: after training (--save-model) and through --eval-checkpoint.
Headless (MuJoCo through EGL); where no renderer works, one line and nothing written."""

import os

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from scripts import SHORT, load_script, run_dirs, run_script

clip = load_script("ppo_clip.py")
EPISODES = 2


def episode_lengths(model_path, seed):
    """The evaluation episodes' lengths, replayed here with the checkpoint's policy and statistics."""
    agent, obs_rms, env_id = clip.load_checkpoint(str(model_path))
    env = clip.make_env(env_id, 0.0, obs_rms, return_rms=None)()
    obs, _ = env.reset(seed=seed)
    lengths, steps = [], 0
    while len(lengths) < EPISODES:
        with torch.inference_mode():
            obs, _, terminated, truncated, _ = env.step(agent.action_mean(torch.from_numpy(obs)).numpy())
        steps += 1
        if terminated or truncated:
            lengths.append(steps)
            steps = 0
            obs, _ = env.reset()
    return lengths


def decoded_frames(path):
    """Decode every frame (the file plays); return their count and the first frame."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for f in reader]
    return len(frames), frames[0]


def assert_videos(video_dir, lengths):
    videos = sorted(video_dir.glob("*.mp4"))
    assert [v.name for v in videos] == [f"eval-episode-{i}.mp4" for i in range(EPISODES)]
    for video, length in zip(videos, lengths):
        count, first = decoded_frames(video)
        assert count == length + 1, f"{video.name}: {count} frames, episode of {length} steps (+ the reset frame)"
        assert first.std() > 0  # a rendered scene, not a blank frame


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("video")
    flags = [*SHORT, "--save-model", "--capture-video", "--eval-episodes", EPISODES, "--seed", 2]
    proc = run_script("ppo_clip.py", *flags, cwd=cwd)
    (run_dir,) = run_dirs(cwd / "runs")
    return cwd, run_dir, proc


def test_training_run_records_its_evaluation(trained):
    cwd, run_dir, proc = trained
    assert f"videos in runs/{run_dir.name}/videos" in proc.stdout
    assert_videos(run_dir / "videos", episode_lengths(run_dir / "model.pt", seed=2))


def test_eval_checkpoint_records_the_same_episodes(trained, tmp_path):
    cwd, run_dir, _ = trained
    flags = ["--eval-checkpoint", run_dir / "model.pt", "--capture-video", "--eval-episodes", EPISODES, "--seed", 2]
    run_script("ppo_clip.py", *flags, "--runs-dir", tmp_path / "evals", cwd=tmp_path)
    (eval_dir,) = run_dirs(tmp_path / "evals")
    assert eval_dir.name.startswith("Hopper-v4__ppo_clip__eval__2__")
    assert_videos(eval_dir / "videos", episode_lengths(run_dir / "model.pt", seed=2))


def test_eval_checkpoint_without_video_writes_nothing(trained, tmp_path):
    cwd, run_dir, _ = trained
    run_script("ppo_clip.py", "--eval-checkpoint", run_dir / "model.pt", "--eval-episodes", 1, "--runs-dir", tmp_path / "evals", cwd=tmp_path)
    assert not (tmp_path / "evals").exists()


@pytest.mark.parametrize("renderer", ["glfw", "osmesa"])
def test_no_renderer_one_line(renderer, tmp_path):
    """glfw without a display, osmesa without libOSMesa (neither is on these machines): the usual one line."""
    if renderer == "osmesa" and any(os.path.exists(p) for p in ("/usr/lib/x86_64-linux-gnu/libOSMesa.so.8", "/usr/lib/libOSMesa.so")):
        pytest.skip("libOSMesa is installed here")
    env = {"MUJOCO_GL": renderer, "PYOPENGL_PLATFORM": renderer, "DISPLAY": ""}
    proc = run_script("ppo_clip.py", *SHORT, "--capture-video", "--save-model", cwd=tmp_path, env=env, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert f"MUJOCO_GL={renderer}" in lines[-1] and lines[-1].startswith("ppo_clip.py: error: "), lines[-1]
    assert not (tmp_path / "runs").exists()
