"""--track under WANDB_MODE=offline: a W&B run with the full config, TensorBoard sync and the
checkpoint as a model artifact, read back from the run's own log file."""

import struct

from scripts import SHORT, run_script
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
