"""craftax adapter (`make_env("craftax/...")`) against Craftax itself (Classic, symbolic)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from craftax.craftax_env import make_craftax_env_from_name
from gymnax.environments import spaces

import purerl

NAME = "Craftax-Classic-Symbolic-v1"


@pytest.fixture(scope="module")
def env():
    return purerl.make_env(f"craftax/{NAME}", max_timesteps=5)


@pytest.fixture(scope="module")
def raw():
    e = make_craftax_env_from_name(NAME, auto_reset=False)
    return e, e.default_params.replace(max_timesteps=5)


def test_spaces(env, raw):
    e, params = env
    assert params.max_steps_in_episode == 5
    a = e.action_space(params)
    assert isinstance(a, spaces.Discrete) and a.n == 17
    assert purerl.envs.obs_shape(e, params) == raw[0].observation_space(raw[1]).shape


def test_time_limit_truncates(env, raw, rollout, reference, same_rollout):
    """Doing nothing until `max_timesteps=5`: Craftax's `done` (its time limit) is
    `truncated`, not `terminated`; a killed player (health set to 0 by hand) is
    `terminated`, as Craftax's game-over says; everything equals Craftax's own."""
    e, params = env
    r, rp = raw
    actions = jnp.zeros(12, jnp.int32)
    key = jax.random.key(0)

    def raw_reset(k):
        return r.reset_env(k, rp)

    def raw_step(k, s, a):
        obs, s, rew, done, info = r.step_env(k, s, a, rp)
        time_up = s.timestep >= rp.max_timesteps
        return obs, s, rew, done & ~time_up, time_up

    want = reference(raw_reset, raw_step, key, actions)
    got = rollout(e, params, key, actions)[1]
    np.testing.assert_array_equal(np.asarray(got[3]), want[3])
    assert want[3].sum() == 2 and not want[2].any()
    np.testing.assert_allclose(np.asarray(got[0]), want[0], atol=1e-6)
    np.testing.assert_allclose(np.asarray(got[4]), want[4], atol=1e-6)
    np.testing.assert_allclose(np.asarray(got[1]), want[1], atol=1e-6)

    # termination: the player's health at 0 ends the game (Craftax: done, discount 0)
    obs, state = e.reset(key, params)
    inner = state.env_state.inner
    inner = inner.replace(player_health=jnp.zeros_like(inner.player_health))
    state = state.replace(env_state=state.env_state.replace(inner=inner))
    _, _, _, term, trunc, info = jax.jit(e.step)(key, state, 0, params)
    k_step = jax.random.split(key)[0]
    robs, _, _, rdone, rinfo = jax.jit(r.step_env)(k_step, inner, 0, rp)
    assert bool(rdone) and float(rinfo["discount"]) == 0.0
    assert bool(term) and not bool(trunc)
    np.testing.assert_allclose(np.asarray(info["final_observation"]), np.asarray(robs))


def test_ppo_runs_vmapped_without_retrace(env, ppo_smoke):
    ppo_smoke(*env)
