"""C51: the categorical projection against a brute-force reference (mass conserved, exact
on a shared support), the projected Bellman target, and a CartPole learning test."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import c51


def _brute_force_projection(z_p, probs, z_q):
    """Algorithm 1 of Bellemare et al. (2017), one atom at a time, for any increasing
    support `z_q`."""
    out = np.zeros(len(z_q))
    for z, p in zip(z_p, probs, strict=True):
        z = min(max(z, z_q[0]), z_q[-1])
        i = np.searchsorted(z_q, z, side="right") - 1
        if i >= len(z_q) - 1:  # at the top end
            out[-1] += p
            continue
        frac = (z - z_q[i]) / (z_q[i + 1] - z_q[i])
        out[i] += p * (1 - frac)
        out[i + 1] += p * frac
    return out


SUPPORTS = {
    "even": np.linspace(-5.0, 5.0, 11),
    "uneven": np.array([-3.0, -1.0, -0.5, 0.0, 0.2, 1.5, 4.0]),
}


@pytest.mark.parametrize("name", list(SUPPORTS))
def test_projection_matches_brute_force_and_conserves_mass(name):
    z_q = SUPPORTS[name]
    rng = np.random.default_rng(0)
    for n_p in (1, 5, 31):
        z_p = rng.uniform(-8, 8, n_p)  # many atoms outside the support: clipped to its ends
        probs = rng.dirichlet(np.ones(n_p))
        got = np.asarray(
            c51.categorical_projection(
                jnp.asarray(z_p, jnp.float32),
                jnp.asarray(probs, jnp.float32),
                jnp.asarray(z_q, jnp.float32),
            )
        )
        expected = _brute_force_projection(z_p, probs, z_q)
        np.testing.assert_allclose(got, expected, atol=1e-6)
        if name == "even":  # the division shortcut for a linspace support agrees
            fast = c51.categorical_projection(
                jnp.asarray(z_p, jnp.float32),
                jnp.asarray(probs, jnp.float32),
                jnp.asarray(z_q, jnp.float32),
                evenly_spaced=True,
            )
            np.testing.assert_allclose(fast, expected, atol=1e-6)
        assert got.sum() == pytest.approx(1.0, abs=1e-6)
        assert np.all(got >= 0)


def test_projection_is_exact_when_supports_coincide_and_keeps_the_mean():
    z = c51.support(-10.0, 10.0, 51)
    probs = jax.nn.softmax(jax.random.normal(jax.random.key(0), (51,)))
    np.testing.assert_allclose(c51.categorical_projection(z, probs, z), probs, atol=1e-7)
    shifted = 0.9 * z + 0.37  # inside the support: the mean is preserved
    proj = c51.categorical_projection(shifted, probs, z)
    assert float(proj @ z) == pytest.approx(float(probs @ shifted), abs=1e-5)
    edge = c51.categorical_projection(jnp.array([10.0, -10.0]), jnp.array([0.3, 0.7]), z)
    assert float(edge[-1]) == pytest.approx(0.3) and float(edge[0]) == pytest.approx(0.7)


def test_categorical_targets_hand_computed():
    z = jnp.array([0.0, 1.0, 2.0])
    probs_next = jnp.array([[0.2, 0.3, 0.5], [0.2, 0.3, 0.5]])
    m = c51.categorical_targets(jnp.array([0.5, 1.0]), jnp.array([False, True]), probs_next, z, 0.5)
    # atoms 0.5 + 0.5 z = [0.5, 1.0, 1.5] -> mass [0.1, 0.1 + 0.3 + 0.25, 0.25]
    np.testing.assert_allclose(m[0], [0.1, 0.65, 0.25], atol=1e-6)
    np.testing.assert_allclose(m[1], [0.0, 1.0, 0.0], atol=1e-6)  # terminated: all on r
    logits = jnp.log(jnp.array([[0.1, 0.65, 0.25]]))
    assert float(c51.categorical_loss(logits, m[:1])) == pytest.approx(
        -(0.1 * np.log(0.1) + 0.65 * np.log(0.65) + 0.25 * np.log(0.25)), rel=1e-5
    )


def test_bad_input():
    with pytest.raises(ValueError, match="v_min"):
        c51.Config(v_min=1.0, v_max=-1.0)
    with pytest.raises(ValueError, match="num_atoms"):
        c51.Config(num_atoms=1)
    env, params = purerl.make_env("Pendulum-v1")
    with pytest.raises(ValueError, match="discrete action space"):
        c51.make(env, params, c51.Config())


@pytest.mark.learning
def test_c51_solves_cartpole(train_eval):
    # Measured (greedy return, 16 episodes per seed): key 0 -> [500, 500, 500, 500];
    # key 1 -> [500, 500, 500, 500].
    env, params = purerl.make_env("CartPole-v1")
    returns = train_eval(c51.make(env, params, c51.Config(total_timesteps=100_000))).returns
    assert returns.mean() >= 450, returns
