"""Silent wrong results of int32 counters (issue 15, item 2): runs whose update counters
sit just below 2^31 env steps, and near 10^12, must keep learning exactly as they did at
the start (learning gate, target-update interval, epsilon at its final value, TD3's
policy delay) and report `env_steps` that keep rising.

Each agent compiles one `update` and steps it by hand from states whose counters were set
with `counter.of`; the same compiled update serves every starting count."""

import jax
import numpy as np
import pytest

import purerl
from purerl.algos import a2c, dqn, td3
from purerl.core import counter

B31 = 2**31


def _leaves_equal(a, b) -> bool:
    return all(
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def _crossed(u, per_update, interval):
    """The definition in env steps: a multiple of `interval` in `(u P, (u + 1) P]`."""
    return ((u + 1) * per_update) // interval > (u * per_update) // interval


@pytest.fixture(scope="module")
def dqn_agent():
    env, params = purerl.make_env("CartPole-v1")
    config = dqn.Config(
        total_timesteps=64,
        num_envs=2,
        learning_starts=8,
        buffer_size=64,
        batch_size=8,
        gradient_steps=1,
        target_update_interval=6,  # every 3rd update of 2 env steps
        tau=0.5,
        epsilon_start=1.0,
        epsilon_end=0.05,
        hidden_sizes=(8,),
    )
    agent = dqn.make(env, params, config)
    state = agent.init(jax.random.key(0))
    warm, _ = purerl.train(agent, state=state, num_updates=8)  # fill the buffer
    return agent, jax.jit(agent.update), warm


# env steps of the first update: around 2^31 (int32 overflow), 2^32 and 10^12
DQN_STARTS = [B31 - 6, 2**32 - 4, 10**12 - 4]


@pytest.mark.parametrize("env_steps", DQN_STARTS, ids=["2^31", "2^32", "1e12"])
def test_dqn_keeps_learning_past_int32(dqn_agent, env_steps):
    agent, update, warm = dqn_agent
    config = agent.config
    u0 = env_steps // config.steps_per_update
    state = warm.replace(step=counter.of(u0))
    seen, targets_moved, losses, eps = [], [], [], []
    for u in range(u0, u0 + 6):
        new, m = update(state)
        losses.append(float(m["loss/q"]))
        eps.append(float(m["epsilon"]))
        seen.append(float(m["env_steps"]))
        assert not _leaves_equal(new.params, state.params), "no gradient step"
        targets_moved.append(not _leaves_equal(new.target_params, state.target_params))
        assert targets_moved[-1] == _crossed(u, config.steps_per_update, 6), u
        state = new
    assert int(state.step) == u0 + 6
    assert all(loss > 0 for loss in losses)
    assert eps == [float(np.float32(config.epsilon_end))] * 6
    assert sum(targets_moved) == 2  # one in every 3 updates
    np.testing.assert_allclose(seen, [(u + 1) * 2 for u in range(u0, u0 + 6)], rtol=1e-7)
    # a float32 view: never negative, never decreasing, within float32 rounding of the
    # exact count (12 env steps are below its resolution at 2^31, so it may read flat)
    assert seen[0] > 0 and all(b >= a for a, b in zip(seen, seen[1:], strict=False))


def test_dqn_learning_gate_is_exact_at_a_wide_learning_starts():
    """learning_starts past 2^31: random acting (no gradient step) up to the update before
    it, learning from the update that starts at it (decided in update units)."""
    env, params = purerl.make_env("CartPole-v1")
    ls = 3 * B31 + 4
    config = dqn.Config(
        total_timesteps=ls + 64,
        num_envs=2,
        learning_starts=ls,
        buffer_size=64,
        batch_size=8,
        gradient_steps=1,
        hidden_sizes=(8,),
    )
    agent = dqn.make(env, params, config)
    update = jax.jit(agent.update)
    state = agent.init(jax.random.key(1))
    state, _ = purerl.train(agent, state=state, num_updates=4)
    state = state.replace(step=counter.of(ls // 2 - 2))  # env steps ls - 4, ls - 2, ls
    learned = []
    for _ in range(3):
        new, m = update(state)
        learned.append(not _leaves_equal(new.params, state.params))
        assert (float(m["loss/q"]) > 0) == learned[-1]
        # uniform acting before learning starts; then past the exploration budget
        assert float(m["epsilon"]) == (float(np.float32(0.05)) if learned[-1] else 1.0)
        state = new
    assert learned == [False, False, True]


def test_td3_policy_delay_and_learning_past_int32():
    env, params = purerl.make_env("Pendulum-v1")
    config = td3.Config(
        total_timesteps=64,
        num_envs=2,
        learning_starts=8,
        buffer_size=64,
        batch_size=8,
        policy_delay=3,
        hidden_sizes=(8,),
    )
    agent = td3.make(env, params, config)
    update = jax.jit(agent.update)
    warm, _ = purerl.train(agent, jax.random.key(0), num_updates=8)
    for start, grads in ((B31 - 2, 2**32 - 2), (10**12 // 2, 10**12 - 1)):
        state = warm.replace(step=counter.of(start), grad_steps=counter.of(grads))
        for g in range(grads + 1, grads + 5):
            new, m = update(state)
            assert float(m["loss/critic"]) > 0
            assert not _leaves_equal(new.critic_params, state.critic_params)
            actor_moved = not _leaves_equal(new.actor_params, state.actor_params)
            assert actor_moved == (g % 3 == 0), g
            assert int(new.grad_steps) == g
            assert float(m["env_steps"]) == pytest.approx(2.0 * (int(state.step) + 1), rel=1e-7)
            assert float(m["env_steps"]) > 0
            state = new


def test_on_policy_env_steps_keep_rising_past_int32():
    env, params = purerl.make_env("CartPole-v1")
    agent = a2c.make(env, params, a2c.Config(num_envs=2, num_steps=4, total_timesteps=64))
    state = agent.init(jax.random.key(0))
    state = state.replace(step=counter.of(B31 // 8 - 1))  # 8 env steps per update
    state, m = purerl.train(agent, state=state, num_updates=3)
    expected = [B31 + 8 * i for i in range(3)]
    np.testing.assert_allclose(np.asarray(m["env_steps"], np.float64), expected, rtol=1e-7)
    assert int(state.step) == B31 // 8 + 2
    assert np.all(np.isfinite(m["loss/value"]))
