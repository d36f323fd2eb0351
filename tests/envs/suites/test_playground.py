"""MuJoCo Playground adapter (`make_env("playground/...")`) against Playground itself:
`CartpoleSwingup` on MJX's JAX pipeline (the cheapest to compile on CPU)."""

import jax
import jax.numpy as jnp
import pytest
from gymnax.environments import spaces
from mujoco_playground import registry

import purerl

KW = {"impl": "jax", "episode_length": 5}


@pytest.fixture(scope="module")
def env():
    return purerl.make_env("playground/CartpoleSwingup", **KW)


def test_spaces(env):
    e, params = env
    raw = registry.load("CartpoleSwingup", config_overrides=KW)
    assert params.max_steps_in_episode == 5
    a = e.action_space(params)
    assert isinstance(a, spaces.Box) and a.shape == (raw.action_size,)
    assert purerl.envs.obs_shape(e, params) == (raw.observation_size,)


def test_rollout_equals_playground(env, rollout, reference, tree_close):
    """DM Control's cartpole never terminates (Playground's `done` stays 0): the 5-step
    `episode_length` truncates twice in 12 steps; observations, rewards, flags and final
    observations equal Playground's own."""
    e, params = env
    raw = registry.load("CartpoleSwingup", config_overrides=KW)
    actions = jnp.linspace(-1.0, 1.0, 12)[:, None]
    key = jax.random.key(2)
    got = rollout(e, params, key, actions)[1]

    def raw_reset(k):
        s = raw.reset(jax.random.key_data(k))
        return s.obs, s

    def raw_step(k, s, a):
        s = raw.step(s, a)
        return s.obs, s, s.reward, s.done > 0.5, False

    want = reference(raw_reset, raw_step, key, actions, 5)
    assert list(want[3].nonzero()[0]) == [4, 9] and not want[2].any()
    for g, w in zip(got, want, strict=True):
        tree_close(g, w, atol=1e-5, rtol=1e-5)
