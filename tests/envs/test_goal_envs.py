"""Goal-conditioned envs (`purerl.envs.goal`): the protocol, BitFlip-v0 and PointReach-v0
step by step against hand-computed references, and their life inside `make_env`'s wrappers."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl import envs
from purerl.core.rollout import reset_envs, rollout


def _step(env, params, state, action, key=0):
    return env.step(jax.random.key(key), state, action, params)


def test_registered_with_make_env_and_shapes():
    assert {"BitFlip-v0", "PointReach-v0"} <= set(envs.registered_envs())
    env, params = purerl.make_env("BitFlip-v0", n_bits=7)
    assert isinstance(env, envs.EpisodeStatistics) and envs.is_goal_env(env)
    assert params.max_steps_in_episode == 7 and envs.num_actions(env, params) == 7
    obs, _ = env.reset(jax.random.key(0), params)
    assert envs.is_goal_obs(obs) and all(obs[k].shape == (7,) for k in envs.goal.GOAL_KEYS)
    assert envs.obs_shape(env, params) == (14,)  # the network input concat(obs, goal)
    np.testing.assert_array_equal(
        envs.network_input(obs), np.concatenate([obs["observation"], obs["desired_goal"]])
    )
    env, params = purerl.make_env("PointReach-v0")
    assert params.max_steps_in_episode == 50 and envs.obs_shape(env, params) == (6,)
    assert env.action_space(params).shape == (2,)  # rescaled to [-1, 1]
    with pytest.raises(ValueError, match="n_bits"):
        purerl.make_env("BitFlip-v0", n_bits=0)
    with pytest.raises(ValueError, match="BitFlip-v0"):
        purerl.make_env("BitFlip-v1")
    with pytest.raises(ValueError, match="normalize_obs"):
        purerl.make_env("PointReach-v0", normalize_obs=True)


def test_bitflip_dynamics_reward_termination_and_time_limit():
    env, params = purerl.make_env("BitFlip-v0", n_bits=4)
    for seed in range(20):  # random start and goal, never equal
        obs, state = env.reset(jax.random.key(seed), params)
        assert not np.array_equal(obs["observation"], obs["desired_goal"])
    bits, goal = np.array(obs["observation"]), np.array(obs["desired_goal"])
    diff = np.flatnonzero(bits != goal)
    # flip the differing bits one by one: -1 per step, 0 and `terminated` on the last
    for j, i in enumerate(diff):
        obs, state, r, term, trunc, info = _step(env, params, state, int(i))
        bits[i] = 1 - bits[i]
        last = j == len(diff) - 1
        np.testing.assert_array_equal(info["final_observation"]["observation"], bits)
        np.testing.assert_array_equal(info["final_observation"]["achieved_goal"], bits)
        assert float(r) == (0.0 if last else -1.0) and bool(term) == last
        assert not bool(trunc) or last
    # after the auto-reset: 4 steps of flipping bit 0 twice never reach -> truncated at 4
    _, state = env.reset(jax.random.key(3), params)
    flags = []
    for t in range(4):
        obs, state, r, term, trunc, info = _step(env, params, state, 0, key=t)
        flags.append((float(r), bool(term), bool(trunc)))
    start = np.array(env.reset(jax.random.key(3), params)[0]["observation"])
    goal = np.array(env.reset(jax.random.key(3), params)[0]["desired_goal"])
    once = start.copy()
    once[0] = 1 - once[0]
    assert not np.array_equal(once, goal) and not np.array_equal(start, goal)  # never reached
    assert flags == [(-1.0, False, False)] * 3 + [(-1.0, False, True)]
    assert info["episode_done"] and float(info["episode_return"]) == -4.0


def test_bitflip_compute_reward_is_vectorised_and_matches_a_loop():
    env, params = purerl.make_env("BitFlip-v0", n_bits=3)
    cube = np.array(list(itertools.product([0.0, 1.0], repeat=3)), np.float32)  # [8, 3]
    ag, g = np.repeat(cube, 8, axis=0), np.tile(cube, (8, 1))  # all 64 pairs
    r = np.asarray(env.compute_reward(jnp.asarray(ag), jnp.asarray(g), params))
    reached = np.asarray(env.goal_reached(jnp.asarray(ag), jnp.asarray(g), params))
    expect = np.array([0.0 if np.array_equal(a, b) else -1.0 for a, b in zip(ag, g, strict=True)])
    np.testing.assert_array_equal(r, expect)
    np.testing.assert_array_equal(reached, expect == 0.0)
    # any leading batch shape
    assert env.compute_reward(
        jnp.asarray(ag).reshape(8, 8, 3), g.reshape(8, 8, 3), params
    ).shape == (
        8,
        8,
    )


def test_point_reach_dynamics_match_hand_computation():
    env, params = purerl.make_env("PointReach-v0")
    p = params
    obs, state = env.reset(jax.random.key(0), params)
    x, v = np.array(state.env_state.pos), np.zeros(2)
    assert np.linalg.norm(x - np.array(obs["desired_goal"])) >= p.min_start_distance
    for t, a in enumerate([[1.0, -0.5], [0.3, 0.9], [-2.0, 5.0]]):  # the last one is clipped
        obs, state, r, term, trunc, info = _step(env, params, state, jnp.asarray(a), key=t)
        force = np.clip(a, -1.0, 1.0) * p.max_force
        v = np.clip((1 - p.damping) * v + p.dt * force / p.mass, -p.max_speed, p.max_speed)
        raw = x + p.dt * v
        x = np.clip(raw, -1.0, 1.0)
        v = np.where(raw == x, v, 0.0)
        final = info["final_observation"]
        np.testing.assert_allclose(final["observation"], np.concatenate([x, v]), atol=1e-6)
        np.testing.assert_allclose(final["achieved_goal"], x, atol=1e-6)
        dist = np.linalg.norm(x - np.array(final["desired_goal"]))
        assert float(r) == (0.0 if dist <= p.tolerance else -1.0)
        assert bool(term) == (dist <= p.tolerance)


def test_point_reach_is_solvable_by_a_pd_controller_within_the_time_limit():
    """A proportional-derivative controller on the goal reaches it in every episode: the
    task is feasible within 50 steps; the random policy rarely is."""
    env, params = purerl.make_env("PointReach-v0")
    n = 64

    def run(policy, key):
        obs, state = reset_envs(key, env, params, n)
        _, _, traj = rollout(key, env, params, policy, state, obs, 50)
        return np.asarray(traj.terminated.any(axis=0))

    def pd(obs, key):
        err = obs["desired_goal"] - obs["achieved_goal"]
        return jnp.clip(4.0 * err - 1.0 * obs["observation"][:, 2:], -1.0, 1.0), {}

    def random(obs, key):
        return jax.random.uniform(key, (n, 2), minval=-1.0, maxval=1.0), {}

    assert run(pd, jax.random.key(0)).mean() == 1.0
    assert run(random, jax.random.key(0)).mean() < 0.3


def test_goal_obs_through_rollout_and_episode_statistics():
    env, params = purerl.make_env("BitFlip-v0", n_bits=3)
    obs, state = reset_envs(jax.random.key(0), env, params, 2)
    policy = lambda o, k: (jax.random.randint(k, (2,), 0, 3), {})
    _, _, traj = rollout(jax.random.key(1), env, params, policy, state, obs, 9)
    assert traj.obs["observation"].shape == (9, 2, 3)
    done = np.asarray(traj.done)
    assert done.any()
    # the true next observation where an episode ended, the next obs elsewhere
    for t, b in zip(*np.nonzero(~done[:-1]), strict=True):
        np.testing.assert_array_equal(
            traj.next_obs["observation"][t, b], traj.obs["observation"][t + 1, b]
        )
    for t, b in zip(*np.nonzero(done), strict=True):
        assert float(traj.info["episode_length"][t, b]) >= 1
        if traj.terminated[t, b]:
            np.testing.assert_array_equal(
                traj.next_obs["achieved_goal"][t, b], traj.next_obs["desired_goal"][t, b]
            )


def test_networks_take_concat_of_observation_and_desired_goal():
    from purerl.nets import ContinuousQNetwork, QNetwork

    env, params = purerl.make_env("PointReach-v0")
    obs, _ = reset_envs(jax.random.key(0), env, params, 3)
    flat = np.concatenate([obs["observation"], obs["desired_goal"]], axis=-1)
    other = {**obs, "achieved_goal": obs["achieved_goal"] + 5.0}  # not a network input
    q = QNetwork(4, (8,), input_fn=envs.network_input)
    p = q.init(jax.random.key(1), obs)
    np.testing.assert_allclose(q.apply(p, obs), q.apply(p, flat), rtol=1e-6)
    np.testing.assert_allclose(q.apply(p, other), q.apply(p, flat), rtol=1e-6)
    c = ContinuousQNetwork((8,), input_fn=envs.network_input)
    a = jnp.ones((3, 2))
    p = c.init(jax.random.key(1), obs, a)
    np.testing.assert_allclose(c.apply(p, other, a), c.apply(p, flat, a), rtol=1e-6)
    moved = {**obs, "desired_goal": obs["desired_goal"] + 1.0}
    assert not np.allclose(
        q.apply(q.init(jax.random.key(1), obs), moved), q.apply(q.init(jax.random.key(1), obs), obs)
    )
    # no input_fn: a dict observation goes leaf by leaf through its own torso (issue 17),
    # each leaf's features concatenated, so the goal still moves the output
    plain = QNetwork(4, (8,), obs_ndim=tuple((k, 1) for k in sorted(obs)))
    pp = plain.init(jax.random.key(1), obs)
    assert plain.apply(pp, obs).shape == (3, 4)
    assert not np.allclose(plain.apply(pp, moved), plain.apply(pp, obs))


@pytest.mark.parametrize("env_id", ["BitFlip-v0", "PointReach-v0"])
def test_flatten_goal_wrapper(env_id):
    env, params = purerl.make_env(env_id)
    flat_env = envs.FlattenGoal(env)
    key = jax.random.key(3)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, 4), params)
    fobs, fstate = jax.vmap(flat_env.reset, in_axes=(0, None))(jax.random.split(key, 4), params)
    np.testing.assert_array_equal(fobs, envs.network_input(obs))
    assert fobs.shape[1:] == envs.obs_shape(flat_env, params) == envs.obs_shape(env, params)
    space = flat_env.observation_space(params)
    assert space.shape == fobs.shape[1:]
    assert bool(jax.vmap(space.contains)(fobs).all())
    out = rollout(key, env, params, lambda o, k: _random_actions(env, params, o, k), state, obs, 20)
    fout = rollout(
        key, flat_env, params, lambda o, k: _random_actions(env, params, o, k), fstate, fobs, 20
    )
    traj, ftraj = out[2], fout[2]
    np.testing.assert_array_equal(ftraj.obs, envs.network_input(traj.obs))
    np.testing.assert_array_equal(ftraj.next_obs, envs.network_input(traj.next_obs))
    np.testing.assert_array_equal(ftraj.reward, traj.reward)
    np.testing.assert_array_equal(ftraj.terminated, traj.terminated)
    assert not envs.is_goal_obs(fobs)


def _random_actions(env, params, obs, key):
    n = jax.tree.leaves(obs)[0].shape[0]
    return jax.vmap(env.action_space(params).sample)(jax.random.split(key, n)), {}
