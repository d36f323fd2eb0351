"""navix adapter (`make_env("navix/...")`) against NAVIX itself."""

import jax
import jax.numpy as jnp
import navix
import pytest
from gymnax.environments import spaces

import purerl


@pytest.fixture(scope="module")
def env():
    return purerl.make_env("navix/Navix-Empty-5x5-v0", max_steps=6)


def test_spaces(env):
    e, params = env
    raw = navix.make("Navix-Empty-5x5-v0", max_steps=6)
    assert params.max_steps_in_episode == 6
    a = e.action_space(params)
    assert isinstance(a, spaces.Discrete) and a.n == int(raw.action_space.maximum) + 1
    o = e.observation_space(params)
    assert o.shape == raw.observation_space.shape
    assert purerl.envs.obs_shape(e, params) == raw.observation_space.shape


def test_rollout_equals_navix(env, rollout, reference, same_rollout):
    """A scripted walk to the goal (NAVIX: TERMINATION -> terminated) and turning on the
    spot until `max_steps=6` (TRUNCATION -> truncated); everything equals NAVIX's."""
    e, params = env
    raw = navix.make("Navix-Empty-5x5-v0", max_steps=6)
    walk = [2, 2, 1, 2, 2]  # forward, forward, rotate clockwise, forward, forward
    actions = jnp.array(walk + [0] * 8 + walk, jnp.int32)
    key = jax.random.key(0)
    got = rollout(e, params, key, actions)[1]

    def raw_reset(k):
        ts = raw.reset(k)
        return ts.observation, ts

    def raw_step(k, ts, a):
        ts = raw._step(ts, a)
        return ts.observation, ts, ts.reward, ts.is_termination(), ts.is_truncation()

    want = reference(raw_reset, raw_step, key, actions)
    same_rollout(got, want)


def test_ppo_runs_vmapped_without_retrace(env, ppo_smoke):
    ppo_smoke(*env)
