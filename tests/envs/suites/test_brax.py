"""brax adapter (`make_env("brax/...")`) against brax itself. The cheapest env and
pipeline on CPU: `inverted_pendulum` on the `spring` backend (measured: its step compiles in
1.5 s against positional's 2.4 s and generalized's 1.6 s; the adapter does not depend on the
backend)."""

import jax
import jax.numpy as jnp
import pytest
from brax import envs as brax_envs
from gymnax.environments import spaces

import purerl

KW = {"backend": "spring"}
TOPPLES = 6  # the step (0-based) at which the full push topples the pole on `spring`


@pytest.fixture(scope="module")
def env():
    return purerl.make_env("brax/inverted_pendulum", episode_length=8, **KW)


@pytest.fixture(scope="module")
def raw():
    return brax_envs.get_environment("inverted_pendulum", **KW)


def test_spaces_and_wrappers(env, raw):
    e, params = env
    assert params.max_steps_in_episode == 8
    a = e.action_space(params)
    assert isinstance(a, spaces.Box) and a.shape == (raw.action_size,)
    assert float(a.low) == -1.0 and float(a.high) == 1.0
    assert purerl.envs.obs_shape(e, params) == (raw.observation_size,)
    assert purerl.envs.env_name(e) == "brax/inverted_pendulum"
    assert isinstance(e, purerl.envs.EpisodeStatistics)
    assert isinstance(e._env, purerl.envs.RescaleAction)


def test_rollout_equals_brax(env, raw, rollout, reference, same_rollout):
    """Full push (+1) topples the pole at the 7th step (brax's `done`: terminated); alternating
    pushes keep it up until the 8-step limit (truncated); observations, rewards, flags and
    the true final observations equal brax's own."""
    e, params = env
    actions = jnp.concatenate([jnp.ones((7, 1)), jnp.tile(jnp.array([[0.5], [-0.5]]), (5, 1))])
    key = jax.random.key(3)
    got = rollout(e, params, key, actions)[1]

    def raw_step(k, s, a):
        s = raw.step(s, a)
        return s.obs, s, s.reward, s.done > 0.5, False

    def raw_reset(k):
        s = raw.reset(k)
        return s.obs, s

    want = reference(raw_reset, raw_step, key, actions, 8)
    same_rollout(got, want)
    assert list(want[2].nonzero()[0]) == [TOPPLES], want[2]


def test_missing_name_is_clear():
    with pytest.raises(ValueError, match="brax has"):
        purerl.make_env("brax/no_such_env")


def test_ppo_runs_vmapped_without_retrace(env, ppo_smoke):
    ppo_smoke(*env)
