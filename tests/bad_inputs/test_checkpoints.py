"""Checkpoints (issue 15): `load` refuses another algorithm's or another config's state and
says what differs; corrupt, truncated and empty files are a clear error naming the path;
`save` survives being killed (the old checkpoint intact, the orphan removed by the next
save), keeps the file's mode and fsyncs the folder after the rename."""

from __future__ import annotations

import dataclasses
import os
import signal
import stat
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import serialization

import purerl
from purerl.algos import ddpg, reinforce, td3, vpg
from purerl.core import checkpoint

CART = purerl.make_env("CartPole-v1")
PEND = purerl.make_env("Pendulum-v1")
VPG_CFG = vpg.Config(total_timesteps=64, num_envs=2, num_steps=32, hidden_sizes=(8,))


def state_of(agent):
    """A state of the agent's structure (zeros), built without running init."""
    spec = jax.eval_shape(agent.init, jax.random.key(0))

    def leaf(s):
        if jnp.issubdtype(s.dtype, jax.dtypes.prng_key):
            return jax.random.key(0)
        return jnp.zeros(s.shape, s.dtype)

    return jax.tree.map(leaf, spec)


@pytest.fixture(scope="module")
def vpg_agent():
    return vpg.make(*CART, VPG_CFG)


def test_reinforce_checkpoint_into_vpg(raises_clearly, tmp_path, vpg_agent):
    other = reinforce.make(*CART, reinforce.Config(total_timesteps=1000, num_envs=2, num_steps=500))
    path = checkpoint.save(tmp_path / "c.ckpt", state_of(other))  # no agent= needed
    with raises_clearly(ValueError, str(path), "reinforce.State", "vpg.State"):
        checkpoint.load(path, like=state_of(vpg_agent))


def test_another_activation(raises_clearly, tmp_path, vpg_agent):
    relu = vpg.make(*CART, dataclasses.replace(VPG_CFG, activation="relu"))
    path = checkpoint.save(tmp_path / "c.ckpt", state_of(relu), agent=relu)
    like = state_of(vpg_agent)  # the same shapes: only the metadata tells them apart
    with raises_clearly(ValueError, str(path), "activation", "relu", "tanh"):
        checkpoint.load(path, like=like, agent=vpg_agent)


def test_td3_checkpoint_into_ddpg_same_state_type(raises_clearly, tmp_path):
    cfg = dict(total_timesteps=100, learning_starts=10, hidden_sizes=(8,))
    a_td3, a_ddpg = td3.make(*PEND, td3.Config(**cfg)), ddpg.make(*PEND, ddpg.Config(**cfg))
    path = checkpoint.save(tmp_path / "c.ckpt", state_of(a_td3), agent=a_td3)
    with raises_clearly(ValueError, "algos.td3", "algos.ddpg"):
        checkpoint.load(path, like=state_of(a_ddpg), agent=a_ddpg)


def test_budget_may_differ_unless_asked(raises_clearly, tmp_path, vpg_agent):
    longer = vpg.make(*CART, dataclasses.replace(VPG_CFG, total_timesteps=6400))
    path = checkpoint.save(tmp_path / "c.ckpt", state_of(vpg_agent), agent=vpg_agent)
    back = checkpoint.load(path, like=state_of(longer), agent=longer)  # continue a run
    assert jax.tree.structure(back) == jax.tree.structure(state_of(vpg_agent))
    with raises_clearly(ValueError, "total_timesteps", "64", "6400"):
        checkpoint.load(path, like=state_of(longer), agent=longer, ignore=())


def test_cli_style_metadata_is_compared(raises_clearly, tmp_path, vpg_agent):
    other = dataclasses.replace(VPG_CFG, learning_rate=0.5)
    meta = {"algo": "vpg", "config": dataclasses.asdict(other)}
    path = checkpoint.save(tmp_path / "c.ckpt", state_of(vpg_agent), metadata=meta)
    with raises_clearly(ValueError, "learning_rate", "0.5"):
        checkpoint.load(path, like=state_of(vpg_agent), agent=vpg_agent)


def test_matching_checkpoint_round_trips(tmp_path, vpg_agent):
    state = state_of(vpg_agent)
    path = checkpoint.save(tmp_path / "c.ckpt", state, {"note": 1}, agent=vpg_agent)
    back = checkpoint.load(path, like=state, agent=vpg_agent)
    assert checkpoint.load_metadata(path)["algorithm"] == "purerl.algos.vpg"
    assert checkpoint.load_metadata(path)["note"] == 1
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(back), strict=True):
        if not jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            np.testing.assert_array_equal(a, b)


def test_checkpoint_without_state_type_still_loads(tmp_path):
    """Checkpoints written before the state type was recorded load as before."""
    payload = {
        "format": "purerl-checkpoint-v1",
        "leaves": {"0": {"data": np.arange(3, dtype=np.float32)}},
        "metadata": "{}",
    }
    (tmp_path / "old.ckpt").write_bytes(serialization.msgpack_serialize(payload))
    back = checkpoint.load(tmp_path / "old.ckpt", like={"w": jnp.zeros(3)})
    np.testing.assert_array_equal(back["w"], np.arange(3.0))


# ------------------------------------------------------------------ damaged files
def _good(tmp_path):
    return checkpoint.save(tmp_path / "good.ckpt", {"w": jnp.arange(1000.0)})


def _damage(tmp_path, how: str):
    with open(_good(tmp_path), "rb") as f:
        data = f.read()
    bad = tmp_path / "bad.ckpt"
    if how == "empty":
        bad.write_bytes(b"")
    elif how == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif how == "one byte":
        bad.write_bytes(data[:1])
    elif how == "random":
        bad.write_bytes(np.random.default_rng(0).bytes(4096))
    elif how == "text":
        bad.write_text('{"format": "purerl-checkpoint-v1"}')
    elif how == "npz":
        with open(bad, "wb") as f:
            np.savez(f, w=np.zeros(3))
    elif how == "other msgpack":
        bad.write_bytes(serialization.msgpack_serialize({"format": "x", "w": np.zeros(3)}))
    elif how == "broken leaves":
        payload = {"format": "purerl-checkpoint-v1", "leaves": {"0": 3}, "metadata": "{}"}
        bad.write_bytes(serialization.msgpack_serialize(payload))
    elif how == "broken metadata":
        payload = {"format": "purerl-checkpoint-v1", "leaves": {}, "metadata": "{not json"}
        bad.write_bytes(serialization.msgpack_serialize(payload))
    return bad


DAMAGE = [
    ("empty", "empty"),
    ("truncated", "truncated"),
    ("one byte", "truncated"),
    ("random", "checkpoint"),
    ("text", "checkpoint"),
    ("npz", "checkpoint"),
    ("other msgpack", "not a purerl checkpoint"),
    ("broken leaves", "corrupt"),
    ("broken metadata", "metadata"),
]


@pytest.mark.parametrize(("how", "word"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_checkpoint_names_the_path(raises_clearly, tmp_path, how, word):
    bad = _damage(tmp_path, how)
    with raises_clearly(ValueError, str(bad), word) as info:
        checkpoint.load(bad, like={"w": jnp.zeros(1000)})
    assert "allow_pickle" not in str(info.value)


@pytest.mark.parametrize("how", ["empty", "truncated", "random"])
def test_damaged_checkpoint_metadata_names_the_path(raises_clearly, tmp_path, how):
    bad = _damage(tmp_path, how)
    with raises_clearly(ValueError, str(bad)):
        checkpoint.load_metadata(bad)


def test_missing_checkpoint_names_the_path(raises_clearly, tmp_path):
    with raises_clearly(FileNotFoundError, "nowhere.ckpt"):
        checkpoint.load(tmp_path / "nowhere.ckpt", like={"w": jnp.zeros(3)})


# ------------------------------------------------------------------ writing
_KILLED_WRITER = textwrap.dedent(
    """
    import os, stat, sys, time
    import numpy as np
    from purerl.core import checkpoint

    real_fsync = os.fsync

    def stall(fd):  # the data is written; stall before the rename, then get killed
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            print("written", flush=True)
            time.sleep(600)
        real_fsync(fd)

    os.fsync = stall
    checkpoint.save(sys.argv[1], {"w": np.full(4_000_000, 2.0, np.float32)})
    """
)


def test_killed_save_keeps_the_old_checkpoint_and_the_next_save_cleans_up(tmp_path):
    path = checkpoint.save(tmp_path / "c.ckpt", {"w": jnp.ones(4_000_000)})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, path], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout.readline().strip() == "written"
        orphans = [f for f in os.listdir(tmp_path) if f != "c.ckpt"]
        assert len(orphans) == 1 and orphans[0].startswith(".c.ckpt.tmp-")
        assert os.path.getsize(tmp_path / orphans[0]) > 16_000_000  # killed mid-save
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    back = checkpoint.load(path, like={"w": jnp.zeros(4_000_000)})  # the old one, intact
    np.testing.assert_array_equal(back["w"], 1.0)
    assert len(os.listdir(tmp_path)) == 2  # the orphan is still there ...
    checkpoint.save(path, {"w": jnp.full(4_000_000, 3.0)})
    assert os.listdir(tmp_path) == ["c.ckpt"]  # ... until the next save removes it
    np.testing.assert_array_equal(checkpoint.load(path, like={"w": jnp.zeros(4_000_000)})["w"], 3.0)


def test_temp_files_of_live_writers_and_other_files_are_kept(tmp_path):
    path = str(tmp_path / "c.ckpt")
    import socket

    host = socket.gethostname()
    live = tmp_path / f".c.ckpt.tmp-{host}-{os.getpid()}-abcd1234.ckpt"  # a live writer
    other_host = tmp_path / ".c.ckpt.tmp-elsewhere-1-abcd1234.ckpt"
    other_file = tmp_path / f".d.ckpt.tmp-{host}-999999999-abcd1234.ckpt"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f".c.ckpt.tmp-{host}-{dead.pid}-abcd1234.ckpt"
    for f in (live, other_host, other_file, orphan):
        f.write_bytes(b"partial")
    checkpoint.save(path, {"w": jnp.zeros(3)})
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["c.ckpt", live.name, other_host.name, other_file.name]
    )


def test_save_keeps_the_file_mode(tmp_path):
    path = checkpoint.save(tmp_path / "c.ckpt", {"w": jnp.zeros(3)})
    os.chmod(path, 0o640)
    checkpoint.save(path, {"w": jnp.ones(3)})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_a_new_checkpoint_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        path = checkpoint.save(tmp_path / "c.ckpt", {"w": jnp.zeros(3)})
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640  # not mkstemp's 0o600


def test_save_fsyncs_the_folder_after_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(a, b):
        events.append("rename")
        real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    checkpoint.save(tmp_path / "c.ckpt", {"w": jnp.zeros(3)})
    assert events == ["fsync file", "rename", "fsync dir"]
