"""`purerl.core.schedules`: the linear schedule and learning-rate annealing, inside and past
their budgets (every schedule stays in range after its budget)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import purerl
from purerl.algos import a2c, ppo, qrdqn
from purerl.algos.dqn import make_optimizer as dqn_optimizer
from purerl.core import schedules


def _values(schedule, ts):
    return [float(jax.jit(schedule)(jnp.asarray(t, jnp.int32))) for t in ts]


def test_linear_decreasing_is_clamped_past_its_budget():
    # epsilon 1.0 -> 0.05 over 100 steps: (1 - t/100) * 1.0 + t/100 * 0.05
    eps = _values(schedules.linear(1.0, 0.05, 100), [0, 20, 50, 100, 101, 150, 10**9])
    np.testing.assert_allclose(eps, [1.0, 0.81, 0.525, 0.05, 0.05, 0.05, 0.05], rtol=1e-6)
    assert all(0.05 <= e <= 1.0 for e in eps)
    # QR-DQN's 1.0 -> 0.01: in float32 1.0 + (0.01 - 1.0) rounds below 0.01; clamped to it
    past = _values(schedules.linear(1.0, 0.01, 40), [40, 41, 2**31 - 1])
    assert past == [float(np.float32(0.01))] * 3


def test_linear_increasing_and_degenerate_budget():
    up = _values(schedules.linear(0.1, 0.9, 10), [0, 5, 10, 11, 1000])
    np.testing.assert_allclose(up, [0.1, 0.5, 0.9, 0.9, 0.9], rtol=1e-6)
    # steps < 1 counts as 1: start at t = 0, end from t = 1 on
    assert _values(schedules.linear(1.0, 0.0, 0.0), [0, 1, 7]) == [1.0, 0.0, 0.0]


def test_linear_takes_traced_arguments():
    f = jax.jit(lambda s, e, n, t: schedules.linear(s, e, n)(t))
    assert float(f(1.0, 0.0, 4.0, 1)) == pytest.approx(0.75)
    assert float(f(1.0, 0.0, 4.0, 9)) == 0.0


def test_anneal_to_zero_never_goes_negative():
    lr = _values(schedules.anneal_to_zero(1e-3, 10), [0, 1, 5, 9, 10, 11, 10**6])
    np.testing.assert_allclose(lr, [1e-3, 9e-4, 5e-4, 1e-4, 0.0, 0.0, 0.0], rtol=1e-6)
    # one decrement every 4 optimiser steps (PPO: epochs * minibatches per update)
    lr = _values(schedules.anneal_to_zero(1e-3, 10, every=4), [0, 3, 4, 39, 40, 43, 44, 10**6])
    np.testing.assert_allclose(lr, [1e-3, 1e-3, 9e-4, 1e-4, 0.0, 0.0, 0.0, 0.0], rtol=1e-6)
    assert min(lr) == 0.0
    with pytest.raises(ValueError, match="must be >= 1"):
        schedules.anneal_to_zero(1e-3, 0)


def _update_after(tx, count: int):
    """The update `tx` makes from a fresh state whose step counters read `count`."""
    params = {"w": jnp.ones(3)}
    state = optax.tree_utils.tree_set(tx.init(params), count=jnp.asarray(count, jnp.int32))
    updates, _ = tx.update({"w": jnp.ones(3)}, state, params)
    return np.asarray(updates["w"])


@pytest.mark.parametrize("algo", ["ppo", "a2c", "qrdqn"])
def test_annealed_optimizers_stop_at_zero_after_the_budget(algo):
    """Continuing a finished run must not flip the learning rate's sign: past the budget
    every annealed optimiser's step is 0 (a descent step before it)."""
    if algo == "ppo":
        env, params = purerl.make_env("CartPole-v1")
        config = ppo.Config(num_envs=4, num_steps=8, num_minibatches=2, total_timesteps=320)
        tx = ppo.build(env, params, config)[1]
        budget = config.num_updates * config.num_epochs * config.num_minibatches
    elif algo == "a2c":
        config = a2c.Config(anneal_lr=True, total_timesteps=400)
        tx, budget = a2c.make_optimizer(config, config.num_updates), config.num_updates
    else:
        config = qrdqn.Config(total_timesteps=2_000, batch_size=32, learning_starts=100)
        tx = dqn_optimizer(config)
        budget = config.num_updates * config.gradient_steps
    assert np.all(_update_after(tx, 0) < 0)  # gradient 1: a descent step
    for count in (budget, budget + 1, 3 * budget):
        np.testing.assert_array_equal(_update_after(tx, count), 0.0)
