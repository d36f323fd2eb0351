import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.core.buffers import make_replay_buffer


def _item():
    return {"x": jnp.zeros(2), "i": jnp.zeros((), jnp.int32)}


def _add(buf, state, start, n):
    idx = start + jnp.arange(n, dtype=jnp.int32)
    return buf.add(state, {"x": jnp.stack([idx, -idx], 1).astype(jnp.float32), "i": idx})


def test_wrap_around_overwrites_oldest():
    buf = make_replay_buffer(capacity=10, batch_size=4)
    state = buf.init(_item())
    add = jax.jit(lambda s, start: _add(buf, s, start, 3))
    for j in range(4):  # 12 items into 10 slots
        state = add(state, 3 * j)
    assert int(buf.size(state)) == 10
    stored = sorted(np.asarray(state.experience["i"]).ravel().tolist())
    assert stored == list(range(2, 12))  # items 0 and 1 were overwritten


def test_samples_only_filled_slots():
    buf = make_replay_buffer(capacity=100, batch_size=64)
    state = _add(buf, buf.init(_item()), 7, 5)  # items 7..11, 95 empty slots (zeros)
    assert int(buf.size(state)) == 5
    batch = jax.jit(buf.sample)(state, jax.random.key(0))
    ids = np.asarray(batch["i"])
    assert set(ids.tolist()) == set(range(7, 12))
    np.testing.assert_array_equal(batch["x"][:, 0], ids)  # leaves stay aligned
    np.testing.assert_array_equal(batch["x"][:, 1], -ids)


def test_can_sample_respects_min_size():
    buf = make_replay_buffer(capacity=50, batch_size=4, min_size=8)
    state = _add(buf, buf.init(_item()), 0, 5)
    assert not bool(buf.can_sample(state))
    state = _add(buf, state, 5, 5)
    assert bool(buf.can_sample(state))


def test_shapes_under_vmap():
    buf = make_replay_buffer(capacity=32, batch_size=8)

    def run(key):
        state = buf.init(_item())
        state = _add(buf, state, 0, 6)
        return buf.sample(state, key)

    out = jax.jit(jax.vmap(run))(jax.random.split(jax.random.key(0), 3))
    assert out["x"].shape == (3, 8, 2)
    assert out["i"].shape == (3, 8)
    assert bool(jnp.all(out["i"] < 6))


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="capacity"):
        make_replay_buffer(0, 4)
    with pytest.raises(ValueError, match="min_size"):
        make_replay_buffer(4, 2, min_size=8)
