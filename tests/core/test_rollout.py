"""`purerl.core.rollout.rollout` against a slow Python loop stepping one env at a time, and
the true final observation at episode ends (terminated and truncated)."""

import jax
import jax.numpy as jnp
import numpy as np

import purerl
from purerl.core.rollout import reset_envs, rollout

TAU = 0.02  # CartPole's Euler step: x' = x + tau x_dot, theta' = theta + tau theta_dot
B, T, LIMIT = 3, 40, 12


def _policy(obs, key):
    """Env 0 pushes right (falls: terminated), env 1 balances (lasts: truncated at the
    limit), env 2 acts at random; extras carry a per-env value through."""
    balance = (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(jnp.int32)
    rand = jax.random.randint(key, (obs.shape[0],), 0, 2)
    action = jnp.stack([jnp.int32(1), balance[1], rand[2]])
    return action, {"x": obs[:, 0] * 2.0}


def _env():
    env, params = purerl.make_env("CartPole-v1")
    return env, params.replace(max_steps_in_episode=LIMIT)


def _slow_rollout(key, env, params, env_state, obs):
    """The reference: a Python loop over steps and envs, with rollout's key scheme (one key
    per step, split into the policy's and the envs' keys, one env key per env)."""
    step = jax.jit(env.step)
    out = {k: [] for k in ("obs", "action", "reward", "terminated", "truncated", "next_obs", "x")}
    for k in jax.random.split(key, T):
        k_act, k_env = jax.random.split(k)
        action, extras = _policy(obs, k_act)
        env_keys = jax.random.split(k_env, B)
        results = []
        for b in range(B):
            state_b = jax.tree.map(lambda x, b=b: x[b], env_state)
            results.append(step(env_keys[b], state_b, action[b], params))
        nxt = jnp.stack([r[0] for r in results])
        env_state = jax.tree.map(lambda *xs: jnp.stack(xs), *[r[1] for r in results])
        out["obs"].append(obs)
        out["action"].append(action)
        out["reward"].append(jnp.stack([r[2] for r in results]))
        out["terminated"].append(jnp.stack([r[3] for r in results]))
        out["truncated"].append(jnp.stack([r[4] for r in results]))
        out["next_obs"].append(jnp.stack([r[5]["final_observation"] for r in results]))
        out["x"].append(extras["x"])
        obs = nxt
    return env_state, obs, {k: np.stack([np.asarray(x) for x in v]) for k, v in out.items()}


def test_rollout_equals_a_slow_loop_and_next_obs_is_the_true_final_observation():
    env, params = _env()
    obs0, state0 = reset_envs(jax.random.key(0), env, params, B)
    key = jax.random.key(1)
    state, obs, traj = jax.jit(lambda s, o: rollout(key, env, params, _policy, s, o, T))(
        state0, obs0
    )
    ref_state, ref_obs, ref = _slow_rollout(key, env, params, state0, obs0)
    assert traj.obs.shape == (T, B, 4) and traj.reward.shape == (T, B)
    for name in ("obs", "action", "reward", "terminated", "truncated", "next_obs"):
        np.testing.assert_allclose(
            getattr(traj, name), ref[name], rtol=1e-6, atol=1e-6, err_msg=name
        )
    np.testing.assert_allclose(traj.extras["x"], ref["x"], rtol=1e-6)
    np.testing.assert_allclose(obs, ref_obs, rtol=1e-6, atol=1e-6)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(ref_state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)

    term, trunc = np.asarray(traj.terminated), np.asarray(traj.truncated)
    assert term[:, 0].any() and trunc[:, 1].any()  # both kinds of episode end occur
    assert not (term & trunc).any()
    assert (np.flatnonzero(trunc[:, 1]) % LIMIT == LIMIT - 1).all()  # at the time limit
    # next_obs is the true successor of obs at every step, episode ends included (Euler)
    o, n = np.asarray(traj.obs, np.float64), np.asarray(traj.next_obs, np.float64)
    np.testing.assert_allclose(n[..., 0], o[..., 0] + TAU * o[..., 1], atol=1e-5)
    np.testing.assert_allclose(n[..., 2], o[..., 2] + TAU * o[..., 3], atol=1e-5)
    # where an episode ended, the next step starts from a reset observation instead
    ended = (term | trunc)[:-1]
    assert np.all(np.abs(o[1:][ended]) <= 0.05)
    np.testing.assert_allclose(o[1:][~ended], n[:-1][~ended], rtol=1e-6)


def test_rollout_true_next_obs_and_flags():
    env, params = purerl.make_env("CartPole-v1")
    obs, state = reset_envs(jax.random.key(0), env, params, 4)
    policy = lambda o, k: (jax.random.randint(k, (o.shape[0],), 0, 2), {})
    _, _, traj = jax.jit(lambda s, o: rollout(jax.random.key(1), env, params, policy, s, o, 200))(
        state, obs
    )
    assert traj.obs.shape == (200, 4, 4) and traj.reward.shape == (200, 4)
    done = np.asarray(traj.done)
    assert done.any() and not np.asarray(traj.truncated).any()  # random play never lasts 500
    nxt, cur = np.asarray(traj.next_obs), np.asarray(traj.obs)
    # Where the episode continues, next_obs is the next step's obs; where it ended, it is the
    # final observation (outside the termination bounds), not the reset one.
    np.testing.assert_allclose(nxt[:-1][~done[:-1]], cur[1:][~done[:-1]])
    final = nxt[done]
    assert np.all((np.abs(final[:, 0]) > 2.4) | (np.abs(final[:, 2]) > 0.2094))
    assert np.all(np.abs(cur[1:][done[:-1]]) <= 0.05)  # the reset obs starts the next one


def test_truncation_flag_on_time_limit():
    env, params = purerl.make_env("Pendulum-v1")  # never terminates, 200-step limit
    obs, state = reset_envs(jax.random.key(0), env, params, 2)
    policy = lambda o, k: (jnp.zeros((o.shape[0], 1)), {})
    _, _, traj = rollout(jax.random.key(1), env, params, policy, state, obs, 201)
    trunc = np.asarray(traj.truncated)
    assert trunc[199].all() and trunc.sum() == 2
    assert not np.asarray(traj.terminated).any()
    assert np.allclose(traj.info["episode_length"][199], 200)
