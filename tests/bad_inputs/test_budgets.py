"""Budgets that can never learn, or that overflow the update counter (issue 15, item 3):
rejected when the Config is built, with a message naming the fields. Config construction
only: nothing compiles."""

import pytest

from purerl.algos import a2c, c51, ddpg, dqn, ppo, qrdqn, sac, td3, trpo, vpg
from purerl.core import counter
from purerl.imitation import dac
from purerl.planning import alphazero, pets

OFF_POLICY = {"dqn": dqn, "c51": c51, "qrdqn": qrdqn, "ddpg": ddpg, "td3": td3, "sac": sac}
TINY = dict(num_envs=2, buffer_size=64, batch_size=8)
SMALL_BUF = dict(buffer_size=64, batch_size=8)


@pytest.mark.parametrize("name", list(OFF_POLICY))
def test_learning_starts_at_or_past_the_budget(raises_clearly, name):
    mod = OFF_POLICY[name]
    for ls in (1000, 1001, 10**9):
        with raises_clearly(ValueError, "learning_starts", "total_timesteps", "never learn"):
            mod.Config(total_timesteps=1000, learning_starts=ls, **TINY)


@pytest.mark.parametrize("name", ["dqn", "sac"])
def test_learning_starts_within_the_last_partial_update(raises_clearly, name):
    """100 env steps of 10-env updates: 10 updates; learning_starts 91 first learns at
    update 10 (ceil(91 / 10)), which never runs."""
    mod = OFF_POLICY[name]
    with raises_clearly(ValueError, "learning_starts", "total_timesteps"):
        mod.Config(total_timesteps=100, num_envs=10, learning_starts=91, **SMALL_BUF)
    # 90: the last update learns
    assert mod.Config(total_timesteps=100, num_envs=10, learning_starts=90, **SMALL_BUF)


@pytest.mark.parametrize("name", ["dqn", "td3"])
def test_no_gradient_step(raises_clearly, name):
    with raises_clearly(ValueError, "gradient_steps", "never learn"):
        OFF_POLICY[name].Config(gradient_steps=0, **TINY)


def test_nested_sac_config_of_dac(raises_clearly):
    with raises_clearly(ValueError, "learning_starts", "total_timesteps"):
        dac.Config(sac=sac.Config(total_timesteps=300, learning_starts=300))


@pytest.mark.parametrize(
    "make",
    [
        lambda n: dqn.Config(total_timesteps=n, learning_starts=0, **TINY),
        lambda n: sac.Config(total_timesteps=n, learning_starts=0, num_envs=1, train_frequency=1),
        lambda n: ppo.Config(total_timesteps=n, num_envs=1, num_steps=1, num_minibatches=1),
        lambda n: a2c.Config(total_timesteps=n, num_envs=1, num_steps=1),
        lambda n: vpg.Config(total_timesteps=n, num_envs=1, num_steps=1),
        lambda n: trpo.Config(total_timesteps=n, num_envs=1, num_steps=1),
    ],
    ids=["dqn", "sac", "ppo", "a2c", "vpg", "trpo"],
)
def test_budget_beyond_the_update_counter(raises_clearly, make):
    """10^12 env steps is fine (one env: 10^12 updates); a budget past the wide counter's
    2^62 updates is a clear error, not a silent wrap."""
    assert make(10**12).num_updates >= 10**12 // 2 > 2**31
    with raises_clearly(ValueError, "total_timesteps"):
        make(2 * (counter.MAX_COUNT + 1))


def test_pets_batch_larger_than_its_buffer(raises_clearly):
    with raises_clearly(ValueError, "batch_size", "buffer_size"):
        pets.Config(batch_size=128, buffer_size=64)


def test_alphazero_batch_larger_than_its_buffer(raises_clearly):
    with raises_clearly(ValueError, "batch_size", "buffer_size"):
        alphazero.Config(batch_size=128, buffer_size=64)


def test_replay_batch_larger_than_its_buffer(raises_clearly):
    with raises_clearly(ValueError, "batch_size", "buffer_size"):
        dqn.Config(batch_size=128, buffer_size=64)


def test_ppo_minibatches_that_would_drop_data(raises_clearly):
    with raises_clearly(ValueError, "num_minibatches"):
        ppo.Config(num_envs=3, num_steps=5, num_minibatches=2)
