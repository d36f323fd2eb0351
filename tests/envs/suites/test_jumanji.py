"""jumanji adapter (`make_env("jumanji/...")`) against jumanji itself, on a small Snake."""

import jax
import jax.numpy as jnp
import jumanji
import pytest
from gymnax.environments import spaces

import purerl

KW = {"num_rows": 6, "num_cols": 6, "time_limit": 50}


@pytest.fixture(scope="module")
def env():
    return purerl.make_env("jumanji/Snake-v1", **KW)


def test_spaces(env):
    e, params = env
    assert params.max_steps_in_episode == 50  # the suite's own time_limit
    a = e.action_space(params)
    assert isinstance(a, spaces.Discrete) and a.n == 4
    o = e.observation_space(params)
    assert isinstance(o, spaces.Dict) and set(o.spaces) == {"grid", "step_count", "action_mask"}
    assert o.spaces["grid"].shape == (6, 6, 5) and o.spaces["action_mask"].dtype == jnp.bool_
    obs, _ = e.reset(jax.random.key(0), params)
    assert obs["action_mask"].dtype == jnp.bool_ and obs["action_mask"].shape == (4,)
    assert obs["grid"].shape == (6, 6, 5)


def test_rollout_equals_jumanji(env, rollout, reference, same_rollout):
    """Moving in a small square: the snake hits the wall (jumanji: LAST, discount 0 ->
    terminated) or purerl's 4-step limit cuts it (truncated); observations (mask included),
    rewards, flags and final observations equal jumanji's. (Snake's own `time_limit` is a
    termination in jumanji, discount 0, and stays one.)"""
    e, params = env
    params = params.replace(max_steps_in_episode=4)
    raw = jumanji.make("Snake-v1", **KW)
    actions = jnp.tile(jnp.arange(4, dtype=jnp.int32), 10)
    key = jax.random.key(1)
    got = rollout(e, params, key, actions)[1]

    def raw_reset(k):
        s, ts = raw.reset(k)
        return ts.observation._asdict(), s

    def raw_step(k, s, a):
        s, ts = raw.step(s, a)
        last = ts.step_type == jumanji.types.StepType.LAST
        return ts.observation._asdict(), s, ts.reward, last & (ts.discount == 0), last

    want = reference(raw_reset, raw_step, key, actions, 4)
    same_rollout(got, want)


def test_unknown_name():
    with pytest.raises(ValueError, match="jumanji has"):
        purerl.make_env("jumanji/NoSuch-v0")


@pytest.mark.skipif(
    not hasattr(purerl.types, "ACTION_MASK"), reason="needs dict observations in purerl.nets"
)
def test_ppo_runs_vmapped_without_retrace(env, ppo_smoke):
    ppo_smoke(*env)
