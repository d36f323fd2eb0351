"""gymnasium host adapter (`make_env("gymnasium/...")`) against Gymnasium itself."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

import purerl
from purerl.algos import ppo


@pytest.fixture(scope="module")
def env():
    return purerl.make_env("gymnasium/CartPole-v1", max_episode_steps=12)


def test_spaces(env):
    e, params = env
    assert params.max_steps_in_episode == 12
    assert isinstance(e.action_space(params), spaces.Discrete) and e.action_space(params).n == 2
    assert purerl.envs.obs_shape(e, params) == (4,)
    pe, pp = purerl.make_env("gymnasium/Pendulum-v1")
    assert isinstance(pe.action_space(pp), spaces.Box)  # rescaled to [-1, 1] by make_env
    assert float(pe.unwrapped.action_space(pp).high[0]) == 2.0


def test_rollout_equals_gymnasium(env):
    """Pushing right topples the pole (terminated); alternating pushes reach the
    limit, 12 steps (truncated). Observations, rewards, flags and final observations equal a
    Gymnasium vector env (same-step auto-reset) stepped by hand with the same seeds."""
    e, params = env
    keys = jax.random.split(jax.random.key(0), 2)
    obs, state = jax.vmap(lambda k: e.reset(k, params))(keys)
    seeds = [int(jax.random.randint(k, (), 0, 2**31 - 1, jnp.int32)) for k in keys]
    ref = gym.make_vec(
        "CartPole-v1",
        num_envs=2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        max_episode_steps=12,
    )
    r_obs, _ = ref.reset(seed=seeds)
    np.testing.assert_allclose(np.asarray(obs), r_obs)
    step = jax.jit(jax.vmap(lambda k, s, a: e.step(k, s, a, params)))
    acts = [np.array([1, 1])] * 12 + [np.array([0, 1]), np.array([1, 0])] * 12
    seen = np.zeros(2, bool), np.zeros(2, bool)
    for t, a in enumerate(acts):
        obs, state, r, term, trunc, info = step(jax.random.split(jax.random.key(t), 2), state, a)
        r_obs, r_r, r_term, r_trunc, r_info = ref.step(a)
        np.testing.assert_array_equal(np.asarray(term), r_term)
        np.testing.assert_array_equal(np.asarray(trunc), r_trunc)
        np.testing.assert_allclose(np.asarray(obs), r_obs)
        np.testing.assert_allclose(np.asarray(r), r_r)
        final = np.where(
            (r_term | r_trunc)[:, None],
            np.stack(
                [
                    f if f is not None else o
                    for f, o in zip(r_info.get("final_obs", [None] * 2), r_obs, strict=True)
                ]
            ),
            r_obs,
        )
        np.testing.assert_allclose(np.asarray(info["final_observation"]), final)
        seen[0][:] |= r_term
        seen[1][:] |= r_trunc
    assert seen[0].any() and seen[1].any()


def test_ppo_trains_and_seed_vmap_is_a_clear_error(env):
    e, params = env
    cfg = ppo.Config(
        total_timesteps=64, num_envs=2, num_steps=8, num_minibatches=2, hidden_sizes=(8,)
    )
    agent = ppo.make(e, params, cfg)
    state, metrics = purerl.train(agent, jax.random.key(0))
    assert int(metrics["env_steps"][-1]) == 64
    assert np.all(np.isfinite(np.asarray(metrics["loss/policy"])))
    with pytest.raises(ValueError, match="cannot be vmapped over seeds"):
        jax.vmap(lambda k: purerl.train(agent, k))(jax.random.split(jax.random.key(0), 2))
