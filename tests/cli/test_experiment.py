"""A real short CLI run with every logger, read back with TensorBoard's own reader and
wandb's offline files; the run folder; refusing to overwrite; curves of completed episodes."""

import glob
import json
import os
import struct

import numpy as np
import pytest

from purerl.algos import ppo
from purerl.cli import curves, experiment, loggers

ARGV = ["--num-seeds", "2", "--total-timesteps", "2048", "--num-envs", "4", "--num-steps", "64",
        "--hidden-sizes", "8", "--eval-every", "4", "--eval-episodes", "2", "--log-every", "2",
        "--checkpoint-every", "2"]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "run"
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_SILENT"] = "true"
    argv = [*ARGV, "--out", str(out), "--logger", "csv", "tensorboard", "wandb"]
    return out, experiment.cli(ppo, argv=argv)


def test_tensorboard_events_read_back_with_tensorboards_reader(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, result = run
    for seed in (0, 1):
        acc = EventAccumulator(str(out / "tensorboard" / f"run-{seed}"))
        acc.Reload()
        tags = set(acc.Tags()["scalars"])
        assert {"charts/episodic_return", "losses/value_loss", "eval/episodic_return"} <= tags
        ret = acc.Scalars("charts/episodic_return")
        assert [e.step for e in ret] == [512, 1024, 1536, 2048]  # global_step, every 2nd update
        want = result.metrics["episode_return"][seed, 1::2]
        np.testing.assert_allclose([e.value for e in ret], want, rtol=1e-6)
        ev = acc.Scalars("eval/episodic_return")
        assert [e.step for e in ev] == [1024, 2048]
        want = result.metrics["eval_return"][seed, [3, 7]]
        np.testing.assert_allclose([e.value for e in ev], want, rtol=1e-6)


def _wandb_records(path):
    """The protobuf records of a wandb transaction log (leveldb-style 32 kB blocks)."""
    from wandb.proto import wandb_internal_pb2 as pb

    with open(path, "rb") as f:
        data = f.read()[7:]  # ":W&B" magic, version
    out, buf, pos, block = [], b"", 0, 32768
    while pos + 7 <= len(data):
        left = block - (pos + 7) % block
        if left < 7:  # block trailer
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        buf += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST
            r = pb.Record()
            r.ParseFromString(buf)
            out.append(r)
            buf = b""
    return out


def test_wandb_offline_runs_hold_the_metrics(run):
    out, result = run
    files = sorted(glob.glob(str(out / "wandb" / "offline-run-*" / "run-*.wandb")))
    assert len(files) == 2  # one wandb run per seed
    seen = set()
    for f in files:
        hist = [r.history for r in _wandb_records(f) if r.WhichOneof("record_type") == "history"]
        rows = [{i.key or "/".join(i.nested_key): i.value_json for i in h.item} for h in hist]
        assert len(rows) == 4
        assert all("charts/episodic_return" in r and "losses/policy_loss" in r for r in rows)
        seen.add(tuple(float(r["charts/episodic_return"]) for r in rows))
    want = sorted(tuple(result.metrics["episode_return"][s, 1::2].tolist()) for s in (0, 1))
    np.testing.assert_allclose(sorted(seen), want, rtol=1e-6)


def test_run_folder_csv_logs_and_reuse_refused(run, capsys):
    out, result = run
    config = json.loads((out / "config.json").read_text())
    assert config["algo"] == "purerl.algos.ppo" and config["config"]["num_envs"] == 4
    versions = json.loads((out / "versions.json").read_text())
    assert {"purerl_commit", "jax", "jaxlib", "gymnax", "device"} <= set(versions)
    assert len(glob.glob(str(out / "checkpoints" / "*.ckpt"))) == 2  # the last 2 kept
    summary = json.loads((out / "summary.json").read_text())
    assert summary["compile_seconds"] > 0 and summary["num_seeds"] == 2
    rows = (out / "logs" / "run-1.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 and rows[0].startswith("global_step,")
    before = (out / "summary.json").read_text()
    with pytest.raises(SystemExit) as e:
        experiment.cli(ppo, argv=[*ARGV, "--out", str(out)])
    assert e.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "finished run" in err[0] and "never overwritten" in err[0]
    assert (out / "summary.json").read_text() == before


def test_num_seeds_zero_is_one_line_error_before_training(tmp_path, capsys):
    for n in ("0", "-3"):
        with pytest.raises(SystemExit) as e:
            experiment.cli(ppo, argv=["--num-seeds", n, "--out", str(tmp_path / n)])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"error: --num-seeds must be >= 1, got {n}"]
        assert not (tmp_path / n).exists()  # no empty run folder left behind


def test_help_lists_shared_flags_and_choices(capsys):
    with pytest.raises(SystemExit):
        experiment.cli(ppo, argv=["--help"])
    text = capsys.readouterr().out
    for flag in ("--env", "--num-seeds", "--seed", "--out", "--cpu-devices", "--resume"):
        assert flag in text
    assert "one per core" in text  # --cpu-devices is explained
    assert "csv,tensorboard,wandb" in text.replace(" ", "").replace("{", "").replace("}", "")


def test_completed_episodes_only_and_ci():
    m = {
        "env_steps": np.array([[10, 20, 30], [10, 20, 30]]),
        "episode_return": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        "episodes": np.array([[0, 1, 0], [0, 0, 2]]),
    }
    got = curves.masked(m)["episode_return"]
    np.testing.assert_array_equal(np.isnan(got), [[True, False, False], [True, True, False]])
    mean, low, high = curves.bootstrap_ci(np.array([[1.0, 2.0], [3.0, 6.0], [2.0, 4.0]]))
    np.testing.assert_allclose(mean, [2.0, 4.0])
    # resampled means of {1, 3, 2} (and {2, 6, 4}) stay inside the seeds' range
    assert 1.0 <= low[0] < 2.0 < high[0] <= 3.0 and 2.0 <= low[1] < 4.0 < high[1] <= 6.0
    _, low, high = curves.bootstrap_ci(np.array([[1.0], [3.0]]))  # two seeds: [min, max]
    np.testing.assert_allclose([low[0], high[0]], [1.0, 3.0])
    assert loggers.metric_name("loss/value") == "losses/value_loss"
    assert loggers.metric_name("loss/foo") == "losses/foo_loss"
    step, vals = loggers.scalars({"update": 1, "env_steps": 5, "episode_return": 3.0,
                                  "episode_seen": False, "eval_return": float("nan")})  # fmt: skip
    assert step == 5 and vals == {"charts/update": 1.0}
