"""`purerl.core.train`: `train` is init + a loop of updates (bitwise), continues from a
state, validates `num_updates`, halts on non-finite losses; `evaluate` on a hand-made env
whose returns are known."""

from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import environment, spaces

import purerl
from purerl.algos import ppo

SMALL = ppo.Config(
    num_envs=2, num_steps=8, num_minibatches=2, total_timesteps=64, hidden_sizes=(8,)
)


@pytest.fixture(scope="module")
def agent():
    env, params = purerl.make_env("CartPole-v1")
    return ppo.make(env, params, SMALL)


def _equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        np.testing.assert_array_equal(x, y)


def test_train_is_init_then_a_loop_of_updates_bitwise(agent):
    key = jax.random.key(5)
    state, metrics = purerl.train(agent, key, num_updates=3)
    manual = jax.jit(agent.init)(key)
    update = jax.jit(agent.update)
    steps = []
    for _ in range(3):
        manual, m = update(manual)
        steps.append(m)
    _equal(state, manual)
    for k in steps[0]:
        np.testing.assert_array_equal(metrics[k], np.stack([m[k] for m in steps]), err_msg=k)
    assert set(metrics) == set(steps[0]) | {"finite"}
    np.testing.assert_array_equal(metrics["finite"], [1, 1, 1])
    assert agent.num_updates == 4 and purerl.train(agent, key)[1]["finite"].shape == (4,)


def test_train_continues_from_state(agent):
    s_full, m_full = purerl.train(agent, jax.random.key(3), num_updates=4)
    s_half, _ = purerl.train(agent, jax.random.key(3), num_updates=2)
    s_rest, m_rest = purerl.train(agent, num_updates=2, state=s_half)
    _equal(s_full, s_rest)
    np.testing.assert_array_equal(m_full["loss/value"][2:], m_rest["loss/value"])
    np.testing.assert_array_equal(m_full["env_steps"][2:], m_rest["env_steps"])


def test_num_updates_validation(agent):
    key = jax.random.key(0)
    for bad in (-1, 2.0, "3", None.__class__):
        with pytest.raises(ValueError, match="num_updates must be a non-negative int"):
            purerl.train(agent, key, num_updates=bad)
    with pytest.raises(ValueError, match="pass a key"):
        purerl.train(agent)
    state, metrics = purerl.train(agent, key, num_updates=0)
    _equal(state, jax.jit(agent.init)(key))
    assert metrics["env_steps"].shape == (0,)


def test_nonfinite_loss_halts_training(agent):
    def poisoned_update(state):
        state, metrics = agent.update(state)
        bad = state.step >= 2
        metrics["loss/value"] = jnp.where(bad, jnp.nan, metrics["loss/value"])
        return state, metrics

    agent_bad = agent._replace(update=poisoned_update)
    state, metrics = purerl.train(
        agent_bad, jax.random.key(0), num_updates=5, stop_on_nonfinite=True
    )
    np.testing.assert_array_equal(metrics["halted"], [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(metrics["finite"], [1, 0, 0, 0, 0])
    assert int(state.step) == 1  # the state after the last finite update


# ------------------------------------------------------------------ evaluate
@chex.dataclass(frozen=True)
class CountState:
    time: jax.Array  # steps taken (gymnax's time-limit counter)
    length: jax.Array


@chex.dataclass(frozen=True)
class CountParams:
    max_steps_in_episode: int = 8


class Count(environment.Environment):
    """Observation `[t, L]`; the episode lasts `L` steps (drawn in {2, ..., 6} at reset)
    and terminates; step t (from 0) pays `t + 1` for action 1 and 0 for action 0. So the
    return of always choosing 1 is `L (L + 1) / 2`; a time limit cuts it at
    `max_steps_in_episode` (truncation)."""

    @property
    def default_params(self):
        return CountParams()

    def reset_env(self, key, params):
        length = jax.random.randint(key, (), 2, 7)
        state = CountState(time=jnp.int32(0), length=length)
        return self.get_obs(state), state

    def step_env(self, key, state, action, params):
        reward = jnp.where(action == 1, state.time + 1.0, 0.0)
        state = CountState(time=state.time + 1, length=state.length)
        done = self.is_terminated(state, params)
        return self.get_obs(state), state, reward, done, {"discount": 1.0 - done}

    def is_terminated(self, state, params):
        return state.time >= state.length

    def get_obs(self, state, params=None, key=None):
        return jnp.stack([state.time, state.length]).astype(jnp.float32)

    def action_space(self, params=None):
        return spaces.Discrete(2)

    def observation_space(self, params):
        return spaces.Box(0.0, 10.0, (2,), jnp.float32)


def _eval_agent(act, max_steps_in_episode=8):
    env, params = purerl.make_env(Count(), CountParams(max_steps_in_episode=max_steps_in_episode))
    state: Any = {"step": jnp.int32(0)}  # evaluate needs no more than what `act` reads
    agent = purerl.Agent(
        init=lambda k: state, update=None, act=act, num_updates=0, env=env, env_params=params
    )
    return agent, state


def test_evaluate_returns_the_known_episode_returns():
    agent, state = _eval_agent(lambda s, obs, k: jnp.int32(1))
    returns = np.asarray(purerl.evaluate(agent, state, jax.random.key(0), num_episodes=64))
    assert returns.shape == (64,)
    lengths = np.arange(2, 7)
    assert set(returns) == set(lengths * (lengths + 1) / 2)  # every length occurs
    # an obs-dependent policy: action 1 only on even steps -> sum of odd t+1 below L
    agent, state = _eval_agent(lambda s, obs, k: (obs[0] % 2 == 0).astype(jnp.int32))
    returns = np.asarray(purerl.evaluate(agent, state, jax.random.key(1), num_episodes=32))
    known = {sum(t + 1 for t in range(n) if t % 2 == 0) for n in lengths}
    assert set(returns) <= known and len(set(returns)) > 1


def test_evaluate_cuts_episodes_at_max_steps_and_at_the_time_limit():
    agent, state = _eval_agent(lambda s, obs, k: jnp.int32(1))
    # max_steps=2: no episode has ended, each returns its running return 1 + 2
    returns = purerl.evaluate(agent, state, jax.random.key(0), num_episodes=16, max_steps=2)
    np.testing.assert_array_equal(returns, 3.0)
    # a time limit of 3 steps: longer episodes are truncated at 1 + 2 + 3
    agent, state = _eval_agent(lambda s, obs, k: jnp.int32(1), max_steps_in_episode=3)
    returns = np.asarray(purerl.evaluate(agent, state, jax.random.key(0), num_episodes=64))
    assert set(returns) == {3.0, 6.0}
