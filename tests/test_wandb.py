"""--track under WANDB_MODE=offline: a W&B run with the full config, TensorBoard sync and the
checkpoint as a model artifact, read back from the run's own log file. Without a login: one line."""

import os
import struct
import subprocess
import sys

from scripts import REPO, SHORT, run_script
from wandb.proto import wandb_internal_pb2


def wandb_records(path):
    """Records of a .wandb file: a 7-byte header, then a LevelDB-style log in 32 KiB blocks whose
    chunks carry a 7-byte header (crc32, length, type: 1 full, 2 first, 3 middle, 4 last)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B", data[:8]
    pos, record = 7, b""
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        if left < 7:  # block trailer padding
            pos += left
            continue
        length, kind = struct.unpack("<HB", data[pos + 4 : pos + 7])
        record += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            parsed = wandb_internal_pb2.Record()
            parsed.ParseFromString(record)
            yield parsed
            record = b""


def test_track_offline_writes_config_and_model_artifact(tmp_path):
    run_script("ppo_per_sample_kl.py", *SHORT, "--track", "--save-model", "--eval-episodes", "1", cwd=tmp_path, env={"WANDB_MODE": "offline"})
    (log,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    records = list(wandb_records(log))
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    config = {u.key: u.value_json for u in run.config.update}
    assert config["env_id"] == '"Hopper-v4"' and config["total_timesteps"] == "2048"
    assert config["exp_name"] == '"ppo_per_sample_kl"' and "learning_rate" in config
    (artifact,) = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    assert artifact.type == "model" and [m.path for m in artifact.manifest.contents] == ["model.pt"]
    assert any(r.WhichOneof("record_type") == "tbrecord" for r in records)  # TensorBoard sync
    history_keys = {item.key or "/".join(item.nested_key) for r in records if r.WhichOneof("record_type") == "history" for item in r.history.item}
    assert "charts/episodic_return" in history_keys and "losses/beta_mean" in history_keys


def test_track_without_a_login_is_one_line(tmp_path):
    """--track on a machine with no W&B key: one line that says how to log in or to log offline, exit status 1,
    before any env step (no episode printed) and with nothing left behind (no run directory, no wandb/)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1")  # no ~/.netrc, no wandb settings
    proc = subprocess.run([sys.executable, str(REPO / "ppo_clip.py"), "--track", "--env-id", "Hopper-v5", *SHORT],
                          cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("ppo_clip.py: error: --track: ") and "wandb login" in lines[0], lines[0]
    assert "WANDB_MODE=offline" in lines[0], lines[0]
    assert "episodic_return" not in proc.stdout and "update 1/" not in proc.stdout, proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [], list(tmp_path.iterdir())
