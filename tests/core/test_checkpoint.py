import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import dqn, ppo
from purerl.core import checkpoint


def _leaves_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize(
    "mod,config",
    [
        (ppo, ppo.Config(num_envs=4, num_steps=16, num_minibatches=2, total_timesteps=640)),
        (
            dqn,
            dqn.Config(
                num_envs=2, learning_starts=8, buffer_size=64, batch_size=8, total_timesteps=40
            ),
        ),
    ],
)
def test_round_trip_and_bit_identical_resume(tmp_path, mod, config):
    env, params = purerl.make_env("CartPole-v1", normalize_obs=True)
    agent = mod.make(env, params, config)
    full, m_full = purerl.train(agent, jax.random.key(7), num_updates=6)
    half, _ = purerl.train(agent, jax.random.key(7), num_updates=3)
    path = checkpoint.save(tmp_path / "ckpt", half, metadata={"algo": mod.__name__})
    restored = checkpoint.load(path, like=agent.init(jax.random.key(0)))
    _leaves_equal(half, restored)
    assert checkpoint.load_metadata(path) == {"algo": mod.__name__}
    resumed, m_rest = purerl.train(agent, num_updates=3, state=restored)
    # Bit-identical to continuing the same in-memory state with the same program...
    continued, m_cont = purerl.train(agent, num_updates=3, state=half)
    _leaves_equal(continued, resumed)
    for k in m_cont:
        np.testing.assert_array_equal(m_cont[k], m_rest[k])
    # ...and equal to the uninterrupted 6-update run (a differently compiled loop, so XLA
    # may round differently: checked to float tolerance).
    for a, b in zip(jax.tree.leaves(full.params), jax.tree.leaves(resumed.params), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(m_full["env_steps"][3:], m_rest["env_steps"])


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    state = {"w": jnp.arange(3.0), "key": jax.random.key(1)}
    path = checkpoint.save(tmp_path / "c.ckpt", state)
    with open(path, "rb") as f:
        before = f.read()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        checkpoint.save(path, {"w": jnp.zeros(3), "key": jax.random.key(2)})
    with open(path, "rb") as f:
        assert f.read() == before  # the old checkpoint is intact
    assert os.listdir(tmp_path) == ["c.ckpt"]  # and no temporary file is left


def test_load_rejects_mismatched_structure(tmp_path):
    path = checkpoint.save(tmp_path / "c.ckpt", {"w": jnp.zeros(3)})
    with pytest.raises(ValueError, match="does not match"):
        checkpoint.load(path, like={"w": jnp.zeros(4)})
    with pytest.raises(ValueError, match="arrays"):
        checkpoint.load(path, like={"w": jnp.zeros(3), "b": jnp.zeros(1)})
    (tmp_path / "junk").write_bytes(b"\x80not a checkpoint")
    with pytest.raises(ValueError):
        checkpoint.load(tmp_path / "junk", like={"w": jnp.zeros(3)})
