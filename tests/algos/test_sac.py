"""SAC: soft targets and losses by hand, and learning tests (the tanh-Gaussian log-density
is tested with the networks, tests/nets/test_actors.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import sac


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
def test_sac_solves_pendulum(train_eval):
    # Measured (greedy return, 16 episodes per seed, PENDULUM budget):
    # key 0 -> [-117, -149, -149, -152] (mean -142); key 1 -> mean -148.
    env, params = purerl.make_env("Pendulum-v1")
    returns = train_eval(sac.make(env, params, sac.Config(**PENDULUM))).returns
    assert returns.mean() >= -250, returns


PENDULUM = dict(total_timesteps=10_000)
