"""SAC: the tanh-Gaussian log-density against a numerical change-of-variables reference
(actions near +-1 included), soft targets and losses by hand, and learning tests."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import sac
from purerl.nets import tanh_gaussian_log_prob, tanh_gaussian_sample


def _reference_log_prob(u, mean, std, h=1e-4):
    """float64: log N(u; mean, std) - log |d tanh(u) / du|, the derivative by central
    finite differences of tanh itself (no closed form)."""
    u = np.asarray(u, np.float64)
    log_normal = -0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
    dadu = (np.tanh(u + h) - np.tanh(u - h)) / (2 * h)
    return log_normal - np.log(dadu)


@pytest.mark.parametrize("u", [0.0, 0.3, -1.7, 4.0, -6.5, 9.0, -11.0, 12.0])
def test_tanh_gaussian_log_prob_matches_change_of_variables(u):
    mean, std = 2.0, 3.0
    got = tanh_gaussian_log_prob(
        jnp.array([u], jnp.float32), jnp.array([mean]), jnp.log(jnp.array([std]))
    )
    # at |u| >= 9, tanh(u) is +-1 in float32: the naive log(1 - tanh(u)^2) is -inf there
    np.testing.assert_allclose(float(got), _reference_log_prob(u, mean, std), rtol=2e-4, atol=2e-4)


def test_tanh_gaussian_density_integrates_to_one_and_sums_over_dims():
    mean, std = 1.5, 2.0  # much of the mass squashed close to a = 1
    u = np.linspace(-25, 25, 400_001)
    a = np.tanh(u)
    logp = np.asarray(
        tanh_gaussian_log_prob(
            jnp.asarray(u[:, None], jnp.float32),
            jnp.full((1,), mean),
            jnp.full((1,), np.log(std)),
        ),
        np.float64,
    )
    mid = 0.5 * (np.exp(logp[1:]) + np.exp(logp[:-1]))
    assert np.sum(mid * np.diff(a)) == pytest.approx(1.0, abs=2e-3)  # integral over a
    u2 = jnp.array([[0.5, -10.0], [3.0, 1.0]])
    m2, ls2 = jnp.array([0.1, -0.2]), jnp.array([0.0, -1.0])
    both = tanh_gaussian_log_prob(u2, m2, ls2)
    one = lambda i: tanh_gaussian_log_prob(u2[:, i : i + 1], m2[i : i + 1], ls2[i : i + 1])
    each = one(0) + one(1)
    np.testing.assert_allclose(both, each, rtol=1e-6)


def test_sample_is_reparameterised_with_finite_gradients_at_saturation():
    def f(mean):
        a, logp = tanh_gaussian_sample(jax.random.key(0), mean, jnp.full((512, 2), -1.0))
        return jnp.mean(logp) + jnp.mean(a)

    for m in (0.0, 15.0, -30.0):  # 15 and -30: every sample saturates in float32
        value, grad = jax.value_and_grad(f)(jnp.full((512, 2), m))
        assert np.isfinite(float(value)) and np.all(np.isfinite(grad)), m
    a, logp = tanh_gaussian_sample(jax.random.key(1), jnp.zeros((4, 3)), jnp.zeros((4, 3)))
    assert a.shape == (4, 3) and logp.shape == (4,)
    assert bool(jnp.all(jnp.abs(a) <= 1.0))


def test_soft_targets_and_losses_hand_computed():
    q_next = jnp.array([[1.0, 3.0], [2.0, 0.5]])  # [K=2, N=2]
    y = sac.soft_q_targets(
        jnp.array([1.0, 1.0]), jnp.array([False, True]), q_next, jnp.array([-0.5, 9.0]), 0.2, 0.9
    )
    np.testing.assert_allclose(y, [1.0 + 0.9 * (1.0 + 0.2 * 0.5), 1.0], rtol=1e-6)
    loss = sac.actor_loss(jnp.array([-1.0, 0.5]), jnp.array([2.0, 1.0]), 0.5)
    assert float(loss) == pytest.approx(((-0.5 - 2.0) + (0.25 - 1.0)) / 2)
    # entropy (= -log pi = 2) above the target (-1): alpha is pushed down (positive grad)
    g = jax.grad(sac.alpha_loss)(jnp.log(0.2), jnp.array([-2.0, -2.0]), -1.0)
    assert float(g) == pytest.approx(3.0)  # -(log pi + target) = -(-2 - 1)
    logits, q = jnp.log(jnp.array([0.25, 0.75])), jnp.array([1.0, 2.0])
    v = 0.25 * (1.0 - 0.1 * np.log(0.25)) + 0.75 * (2.0 - 0.1 * np.log(0.75))
    assert float(sac.discrete_soft_value(logits, q, 0.1)) == pytest.approx(v, rel=1e-6)


def test_fixed_alpha_stays_and_bad_input():
    env, params = purerl.make_env("Pendulum-v1")
    config = sac.Config(
        num_envs=2,
        learning_starts=0,
        batch_size=4,
        buffer_size=64,
        hidden_sizes=(8,),
        autotune=False,
        alpha=0.3,
        total_timesteps=10,
    )
    agent = sac.make(env, params, config)
    state, metrics = purerl.train(agent, jax.random.key(0))
    np.testing.assert_allclose(metrics["alpha"], 0.3, rtol=1e-6)
    assert float(jnp.exp(state.log_alpha)) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="alpha"):
        sac.Config(alpha=0.0)
    with pytest.raises(ValueError, match="num_critics"):
        sac.Config(num_critics=0)
    with pytest.raises(ValueError, match="learning_starts"):
        sac.Config(learning_starts=-1)


def test_discrete_sac_runs_on_cartpole():
    env, params = purerl.make_env("CartPole-v1")
    config = sac.Config(
        num_envs=4,
        learning_starts=16,
        batch_size=16,
        buffer_size=128,
        hidden_sizes=(16,),
        total_timesteps=200,
    )
    agent = sac.make(env, params, config)
    state, metrics = purerl.train(agent, jax.random.key(0))
    assert bool(jnp.all(metrics["finite"] == 1))
    assert float(metrics["alpha"][-1]) != pytest.approx(0.2)  # tuned away from its start
    assert purerl.evaluate(agent, state, jax.random.key(1), 2).shape == (2,)


@pytest.mark.learning
def test_sac_solves_pendulum():
    # Measured (greedy return, 16 episodes per seed, PENDULUM budget):
    # key 0 -> [-117, -149, -149, -152] (mean -142); key 1 -> mean -148.
    env, params = purerl.make_env("Pendulum-v1")
    agent = sac.make(env, params, sac.Config(**PENDULUM))
    keys = jax.random.split(jax.random.key(0), NUM_SEEDS)
    states, metrics = jax.jit(jax.vmap(lambda k: purerl.train(agent, k)))(keys)
    returns = jax.jit(jax.vmap(lambda s, k: purerl.evaluate(agent, s, k, 16)))(
        states, jax.random.split(jax.random.key(1000), NUM_SEEDS)
    )
    returns = np.asarray(returns).mean(axis=1)
    assert bool(jnp.all(metrics["finite"] == 1))
    assert returns.mean() >= -250, returns


NUM_SEEDS = 4
PENDULUM = dict(total_timesteps=10_000)
