"""The true-model MCTS controller: it balances CartPole with random-rollout leaf values, a
search without lookahead does not, and bad input is a clear error."""

import dataclasses

import jax
import numpy as np
import pytest

import purerl
from purerl.planning import mcts
from purerl.planning.control import evaluate_controller

# The figure (64 simulations, 500-step episodes, rollouts to the episode's end, 32 per
# leaf) comes from scripts/mcts.py; here the same search with 50-step rollouts, 16 per leaf,
# balances the pole through 200-step episodes (the drift off the track that the longer
# rollouts catch comes later). Checked on keys 0 and 1.
TRUE_MODEL = mcts.Config(
    search="muzero",
    leaf_value="rollout",
    num_simulations=64,
    pb_c_init=0.5,
    discount=1.0,
    num_rollouts=16,
)


def test_mcts_with_true_model_balances_cartpole():
    env, params = purerl.make_env("CartPole-v1")
    ctrl = mcts.controller(env, params, TRUE_MODEL)
    run = jax.jit(lambda k: evaluate_controller(k, env, params, ctrl, 4, max_steps=200))
    returns = run(jax.random.key(0))
    np.testing.assert_array_equal(returns, 200.0)


def test_random_search_without_rollouts_fails_the_same_test():
    """The test above can fail: a one-simulation search (no lookahead) drops the pole."""
    env, params = purerl.make_env("CartPole-v1")
    weak = dataclasses.replace(TRUE_MODEL, num_simulations=1, num_rollouts=1, rollout_length=1)
    ctrl = mcts.controller(env, params, weak)
    returns = jax.jit(lambda k: evaluate_controller(k, env, params, ctrl, 4, max_steps=200))(
        jax.random.key(0)
    )
    assert float(returns.mean()) < 100, returns


def test_controller_and_config_errors():
    pendulum = purerl.make_env("Pendulum-v1")
    with pytest.raises(ValueError, match="discrete actions"):
        mcts.controller(*pendulum, TRUE_MODEL)
    cartpole = purerl.make_env("CartPole-v1")
    with pytest.raises(ValueError, match="needs the network's params"):
        mcts.controller(*cartpole, mcts.Config(leaf_value="network"))
    with pytest.raises(ValueError, match="normalize_obs"):
        mcts.controller(*purerl.make_env("CartPole-v1", normalize_obs=True), TRUE_MODEL)
    with pytest.raises(ValueError, match="search"):
        mcts.Config(search="uct")
    with pytest.raises(ValueError, match="num_simulations"):
        mcts.Config(num_simulations=0)
    with pytest.raises(ValueError, match="discount"):
        mcts.Config(discount=1.5)
