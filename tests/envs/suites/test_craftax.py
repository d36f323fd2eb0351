"""craftax adapter (`make_env("craftax/...")`) against Craftax itself (Classic, symbolic)."""

import jax
import jax.numpy as jnp
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


def _kill(state, mark):
    """The adapter's state with the player's health set to 0 where `mark`."""
    inner = state.env_state.inner
    health = jnp.where(mark, 0.0, inner.player_health).astype(inner.player_health.dtype)
    return state.replace(
        env_state=state.env_state.replace(inner=inner.replace(player_health=health))
    )


def test_rollout_equals_craftax(env, raw, rollout, reference, same_rollout):
    """Doing nothing until `max_timesteps=5`: Craftax's `done` (its time limit) is
    `truncated`, not `terminated`; a player killed mid-episode (health set to 0 by hand, in
    the same program, on both sides) is `terminated`, as Craftax's game-over says (done,
    discount 0); observations, rewards, flags and final observations equal Craftax's own."""
    e, params = env
    r, rp = raw
    actions = jnp.zeros(13, jnp.int32)
    marks = jnp.arange(13) == 6  # steps 0-4 time out; 5, 6 killed; 7-11 time out
    key = jax.random.key(0)

    def raw_reset(k):
        return r.reset_env(k, rp)

    def raw_step(k, s, a_mark):
        a, mark = a_mark
        s = s.replace(
            player_health=jnp.where(mark, 0.0, s.player_health).astype(s.player_health.dtype)
        )
        obs, s, rew, done, info = r.step_env(k, s, a, rp)
        time_up = s.timestep >= rp.max_timesteps
        dead = done & ~time_up
        return obs, s, rew, dead & (info["discount"] == 0), time_up & ~dead

    want = reference(raw_reset, raw_step, key, (actions, marks))
    got = rollout(e, params, key, (actions, marks), edit=_kill)[1]
    same_rollout(got, want, atol=1e-6)
    assert list(want[2].nonzero()[0]) == [6], want[2]
    assert list(want[3].nonzero()[0]) == [4, 11], want[3]


def test_ppo_runs_vmapped_without_retrace(env, ppo_smoke):
    ppo_smoke(*env)
