"""`purerl.envs.pomdp`: `make_env(observe=...)` keeps exactly the position entries, in the
observation and in `info["final_observation"]`; bad `observe` values and unknown env
params are clear errors; MemoryChain builds through `make_env` with its params."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.envs import POSITIONS


@pytest.mark.parametrize("env_id", sorted(POSITIONS))
def test_observe_position_keeps_the_position_entries(env_id):
    full, params = purerl.make_env(env_id)
    masked, _ = purerl.make_env(env_id, observe="position")
    keep = list(POSITIONS[env_id])
    assert purerl.envs.obs_shape(masked, params) == (len(keep),)
    obs_f, s_f = full.reset(jax.random.key(0), params)
    obs_m, s_m = masked.reset(jax.random.key(0), params)
    np.testing.assert_array_equal(obs_m, np.asarray(obs_f)[keep])
    action = full.action_space(params).sample(jax.random.key(1))
    out_f = full.step(jax.random.key(2), s_f, action, params)
    out_m = masked.step(jax.random.key(2), s_m, action, params)
    np.testing.assert_array_equal(out_m[0], np.asarray(out_f[0])[keep])
    np.testing.assert_array_equal(
        out_m[5]["final_observation"], np.asarray(out_f[5]["final_observation"])[keep]
    )
    assert float(out_m[2]) == float(out_f[2])
    space = masked.observation_space(params)
    assert space.shape == (len(keep),)


def test_observe_indices_and_errors():
    env, params = purerl.make_env("CartPole-v1", observe=(2,))
    assert purerl.envs.obs_shape(env, params) == (1,)
    with pytest.raises(ValueError, match="observe"):
        purerl.make_env("CartPole-v1", observe="velocity")
    with pytest.raises(ValueError, match="observe"):
        purerl.make_env("CartPole-v1", observe=(7,))
    with pytest.raises(ValueError, match="position"):
        purerl.make_env("Catch-bsuite", observe="position")


def test_memory_chain_through_make_env():
    env, params = purerl.make_env("MemoryChain-bsuite", env_params={"memory_length": 4})
    assert params.memory_length == 4
    with pytest.raises(ValueError, match="memory_len"):
        purerl.make_env("MemoryChain-bsuite", env_params={"memory_len": 4})
    # an episode: memory_length + 1 steps, a +-1 reward at the last one only
    obs, s = env.reset(jax.random.key(0), params)
    rewards = []
    for t in range(5):
        obs, s, r, term, trunc, _ = env.step(jax.random.key(t), s, jnp.int32(0), params)
        rewards.append(float(r))
    assert bool(term) and rewards[:4] == [0.0] * 4 and abs(rewards[4]) == 1.0
