import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments.classic_control import cartpole

import purerl
from purerl import envs
from purerl.core.rollout import reset_envs, rollout


def test_unknown_env_id_names_close_matches():
    with pytest.raises(ValueError, match="CartPole-v1"):
        purerl.make_env("CartPole-v2")


def test_every_gymnax_id_builds():
    for env_id in [
        "CartPole-v1",
        "Pendulum-v1",
        "Acrobot-v1",
        "MountainCarContinuous-v0",
        "Breakout-MinAtar",
        "Catch-bsuite",
    ]:
        env, params = purerl.make_env(env_id)
        obs, state = env.reset(jax.random.key(0), params)
        assert obs.shape == envs.obs_shape(env, params)


def test_user_environment_instance_is_first_class():
    env, params = purerl.make_env(cartpole.CartPole(), env_params=None)
    assert isinstance(env, envs.EpisodeStatistics)
    assert params.max_steps_in_episode == 500


class _Recorder:
    """A stand-in env with a Box(-2, 4) action space that records the actions it gets."""

    def __init__(self):
        self.seen = []

    def action_space(self, params=None):
        from gymnax.environments import spaces

        return spaces.Box(-2.0, 4.0, (1,), jnp.float32)

    def step(self, key, state, action, params=None):
        self.seen.append(np.asarray(action))
        return None, state, 0.0, False, False, {}


def test_action_rescale_maps_unit_box_to_bounds():
    env, params = purerl.make_env("Pendulum-v1")  # torque bounds [-2, 2]
    space = env.action_space(params)
    assert float(space.low) == -1.0 and float(space.high) == 1.0
    rec = _Recorder()
    wrapped = envs.RescaleAction(rec)
    for a in (-1.0, 0.0, 0.5, 3.0):  # 3.0 is clipped to 1.0
        wrapped.step(jax.random.key(0), None, jnp.array([a]), None)
    np.testing.assert_allclose(np.concatenate(rec.seen), [-2.0, 1.0, 2.5, 4.0])


def test_episode_statistics_record_raw_returns():
    env, params = purerl.make_env("CartPole-v1", normalize_reward=True, normalize_obs=True)
    obs, state = reset_envs(jax.random.key(0), env, params, 3)
    policy = lambda o, k: (jnp.zeros((o.shape[0],), jnp.int32), {})
    _, _, traj = rollout(jax.random.key(1), env, params, policy, state, obs, 60)
    done = np.asarray(traj.info["episode_done"])
    lengths = np.asarray(traj.info["episode_length"])[done]
    returns = np.asarray(traj.info["episode_return"])[done]
    np.testing.assert_allclose(returns, lengths)  # CartPole pays 1 per step, unscaled


def test_observation_normalisation_statistics():
    env, params = purerl.make_env("Pendulum-v1", normalize_obs=True)
    obs, state = reset_envs(jax.random.key(0), env, params, 16)
    policy = lambda o, k: (jax.random.uniform(k, (o.shape[0], 1), minval=-1, maxval=1), {})
    st, _, traj = jax.jit(lambda s, o: rollout(jax.random.key(1), env, params, policy, s, o, 400))(
        state, obs
    )
    o = np.asarray(traj.obs[100:]).reshape(-1, 3)
    assert np.all(np.abs(o.mean(0)) < 0.3) and np.all(np.abs(o.std(0) - 1) < 0.3)
    fresh_obs, fresh = reset_envs(jax.random.key(2), env, params, 4)
    inherited = envs.inherit_statistics(fresh, st)
    np.testing.assert_allclose(inherited.mean[0], np.asarray(st.mean).mean(0), rtol=1e-5)
    assert bool(inherited.frozen.all())
