"""`purerl.nets.recurrent`: the GRU and LSTM cells against numpy from their own weights,
their orthogonal initialisation, the reset-aware scan against a step-by-step loop, and
the `RecurrentActorCritic`'s shapes and carries."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.nets import GRUCell, LSTMCell, RecurrentActorCritic, RecurrentTorso, zero_carry

F, H = 5, 4


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _randomised(params, seed=1):
    """Random biases too, so that a missing or misplaced bias shows."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(
        tree, [p + 0.3 * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys, strict=True)]
    )


def _np(p):
    return {k: np.asarray(v, np.float64) for k, v in p.items()}


def test_gru_step_equals_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, F)).astype(np.float32)
    h = rng.normal(size=(3, H)).astype(np.float32)
    cell = GRUCell(H)
    params = _randomised(cell.init(jax.random.key(0), jnp.asarray(h), jnp.asarray(x)))
    new, out = cell.apply(params, jnp.asarray(h), jnp.asarray(x))
    pi, ph = _np(params["params"]["input"]), _np(params["params"]["hidden"])
    gi = x @ pi["kernel"] + pi["bias"]
    gh = h @ ph["kernel"] + ph["bias"]
    r = _sigmoid(gi[:, :H] + gh[:, :H])
    z = _sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    want = (1 - z) * n + z * h
    np.testing.assert_allclose(np.asarray(new), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(new))


def test_lstm_step_equals_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, F)).astype(np.float32)
    c, h = rng.normal(size=(2, 3, H)).astype(np.float32)
    cell = LSTMCell(H)
    carry = (jnp.asarray(c), jnp.asarray(h))
    params = _randomised(cell.init(jax.random.key(0), carry, jnp.asarray(x)))
    assert "bias" not in params["params"]["hidden"]
    (c1, h1), out = cell.apply(params, carry, jnp.asarray(x))
    pi, ph = _np(params["params"]["input"]), _np(params["params"]["hidden"])
    g = x @ pi["kernel"] + pi["bias"] + h @ ph["kernel"]
    i, f, gg, o = (g[:, k * H : (k + 1) * H] for k in range(4))
    want_c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(gg)
    want_h = _sigmoid(o) * np.tanh(want_c)
    np.testing.assert_allclose(np.asarray(c1), want_c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(h1), want_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(h1))


@pytest.mark.parametrize("cls, gates", [(GRUCell, 3), (LSTMCell, 4)])
def test_each_gate_block_is_orthogonal_and_biases_zero(cls, gates):
    cell = cls(H)
    carry = zero_carry("gru" if cls is GRUCell else "lstm", H)
    p = cell.init(jax.random.key(0), carry, jnp.zeros(F))["params"]
    for name, n_in in (("input", F), ("hidden", H)):
        k = np.asarray(p[name]["kernel"])
        assert k.shape == (n_in, gates * H)
        for g in range(gates):
            block = k[:, g * H : (g + 1) * H]
            small = min(block.shape)
            gram = block.T @ block if block.shape[0] >= block.shape[1] else block @ block.T
            np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)
        if "bias" in p[name]:
            np.testing.assert_array_equal(np.asarray(p[name]["bias"]), 0.0)


def test_zero_carry_shapes_and_unknown_cell():
    assert zero_carry("gru", 4, (2, 3)).shape == (2, 3, 4)
    c, h = zero_carry("lstm", 4, (2,))
    assert c.shape == h.shape == (2, 4)
    with pytest.raises(ValueError, match="rnn"):
        zero_carry("rnn", 4)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_scan_with_resets_equals_a_step_loop(cell):
    """The torso's scan over `[T, B]` with `reset` equals stepping the cell by hand,
    zeroing the carry before the steps marked."""
    T, B = 6, 3
    rng = np.random.default_rng(0)
    obs = jnp.asarray(rng.normal(size=(T, B, 2)), jnp.float32)
    reset = jnp.asarray(rng.random((T, B)) < 0.3).at[2, 1].set(True)
    torso = RecurrentTorso(cell, H, (F,))
    carry0 = jax.tree.map(lambda z: z + 0.5, zero_carry(cell, H, (B,)))
    params = torso.init(jax.random.key(0), carry0, obs, reset)
    carry, ys = torso.apply(params, carry0, obs, reset)

    p = params["params"]
    mlp = lambda o: jnp.tanh(o @ p["MLP_0"]["Dense_0"]["kernel"] + p["MLP_0"]["Dense_0"]["bias"])
    cell_mod = (GRUCell if cell == "gru" else LSTMCell)(H)
    step = jax.jit(lambda c, x: cell_mod.apply({"params": p["rnn"]["cell"]}, c, x))
    c = carry0
    for t in range(T):
        c = jax.tree.map(lambda x, t=t: jnp.where(reset[t][:, None], 0.0, x), c)
        c, y = step(c, mlp(obs[t]))
        np.testing.assert_allclose(np.asarray(ys[t]), np.asarray(y), rtol=1e-5, atol=1e-6)
    for a, b in zip(jax.tree.leaves(carry), jax.tree.leaves(c), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shared", [False, True])
def test_actor_critic_sequences_and_steps_agree(shared):
    """`__call__` over a sequence equals `step` applied step by step (no resets), and the
    carry has one entry per torso."""
    T, B = 4, 2
    net = RecurrentActorCritic(3, True, (8,), shared_torso=shared, cell="lstm", recurrent_size=H)
    carry = net.initial_carry((B,))
    assert set(carry) == ({"actor"} if shared else {"actor", "critic"})
    obs = jax.random.normal(jax.random.key(1), (T, B, 2))
    reset = jnp.zeros((T, B), bool)
    params = net.init(jax.random.key(0), carry, obs, reset)
    end, dist, value = net.apply(params, carry, obs, reset)
    assert dist.logits.shape == (T, B, 3) and value.shape == (T, B)
    step = jax.jit(lambda c, o: net.apply(params, c, o, method="step"))
    c = carry
    for t in range(T):
        c, d, v = step(c, obs[t])
        np.testing.assert_allclose(np.asarray(d.logits), np.asarray(dist.logits[t]), atol=1e-6)
        np.testing.assert_allclose(np.asarray(v), np.asarray(value[t]), atol=1e-6)
    for a, b in zip(jax.tree.leaves(end), jax.tree.leaves(c), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    # one unbatched observation (evaluation)
    c1, d1, v1 = net.apply(params, net.initial_carry(), obs[0, 0], method="step")
    assert d1.logits.shape == (3,) and v1.shape == ()
