"""xminigrid adapter (`make_env("xminigrid/...")`) against XLand-MiniGrid itself."""

import jax
import jax.numpy as jnp
import pytest
import xminigrid
from gymnax.environments import spaces

import purerl


@pytest.fixture(scope="module")
def env():
    return purerl.make_env("xminigrid/MiniGrid-Empty-5x5", max_steps=6)


def test_spaces(env):
    e, params = env
    assert params.max_steps_in_episode == 6
    a = e.action_space(params)
    assert isinstance(a, spaces.Discrete) and a.n == 6
    o = e.observation_space(params)
    assert o.shape == (7, 7, 2) and o.dtype == jnp.uint8
    assert purerl.envs.obs_shape(e, params) == (7, 7, 2)


def test_rollout_equals_xminigrid(env, rollout, reference, same_rollout):
    """Forward, forward, turn right, forward, forward reaches the goal of Empty-5x5 from its
    fixed start (xminigrid: LAST with discount 0 -> terminated); turning on the spot hits
    `max_steps=6` (LAST with discount 1 -> truncated). Everything equals xminigrid's."""
    e, params = env
    raw, xparams = xminigrid.make("MiniGrid-Empty-5x5", max_steps=6)
    actions = jnp.array([0, 0, 1, 0, 0] + [1] * 8 + [0, 0, 1, 0, 0], jnp.int32)
    key = jax.random.key(0)
    got = rollout(e, params, key, actions)[1]

    def raw_reset(k):
        ts = raw.reset(xparams, k)
        return ts.observation, ts

    def raw_step(k, ts, a):
        ts = raw.step(xparams, ts, a)
        last = ts.step_type == xminigrid.types.StepType.LAST
        return ts.observation, ts, ts.reward, last & (ts.discount == 0), last

    want = reference(raw_reset, raw_step, key, actions)
    same_rollout(got, want)
    assert float(want[1].max()) > 0  # the goal was reached


def test_xland_needs_a_ruleset():
    with pytest.raises(ValueError, match="ruleset"):
        purerl.make_env("xminigrid/XLand-MiniGrid-R1-9x9")
    with pytest.raises(ValueError, match="xminigrid has"):
        purerl.make_env("xminigrid/NoSuch")


def test_ppo_runs_vmapped_without_retrace(env, ppo_smoke):
    ppo_smoke(*env)
