"""Planning models: the true-model wrapper against env.step, and the PETS ensemble."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import purerl
from purerl.core.rollout import reset_envs, rollout
from purerl.envs import wrappers as w
from purerl.planning import models


def _check(x, y):
    """Equal: integers and flags exactly, floats to rounding. (`env.step` and the model are
    separately compiled programs, and XLA may fuse `theta + theta_dot * dt` into an FMA in
    one and not the other: a 1-ulp difference, not a different transition.)"""
    x, y = np.asarray(x), np.asarray(y)
    assert x.dtype == y.dtype
    if np.issubdtype(x.dtype, np.floating):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(x, y)


def _compare_with_env(env, params, num_steps, seed=0):
    """Step `env` with random actions; at every step the true model, given the same key,
    state and action, must produce the env's next state, reward, done flag and final
    observation. Returns how many episode ends were checked."""
    model = models.true_model(env, params)
    model_step = jax.jit(lambda k, s, a: model.step(k, model.state_of(s), a))
    env_step = jax.jit(lambda k, s, a: env.step(k, s, a, params))
    observe, state_of = jax.jit(model.observe), jax.jit(model.state_of)
    obs, state = env.reset(jax.random.key(seed), params)
    key = jax.random.key(seed + 1)
    ends = 0
    for _ in range(num_steps):
        key, k_a, k_s = jax.random.split(key, 3)
        action = env.action_space(params).sample(k_a)
        m_next, m_reward, m_done = model_step(k_s, state, action)
        obs, state, reward, term, trunc, info = env_step(k_s, state, action)
        _check(m_reward, reward)
        assert m_done.dtype == bool and bool(m_done) == bool(term | trunc)
        _check(observe(m_next), info["final_observation"])
        if not bool(term | trunc):  # after an end the env has auto-reset; the model has not
            for a, b in zip(jax.tree.leaves(m_next), jax.tree.leaves(state_of(state)), strict=True):
                _check(a, b)
        else:
            ends += 1
            assert not np.allclose(observe(m_next), obs)  # the model did not reset
    return ends


def test_true_model_reproduces_env_step_pendulum_rescaled_and_truncated():
    base, default = gymnax.make("Pendulum-v1")
    env, params = purerl.make_env(base, default.replace(max_steps_in_episode=25))
    assert isinstance(env._env, w.RescaleAction)  # actions in [-1, 1], rescaled by the model
    assert _compare_with_env(env, params, 60) == 2  # two time-limit ends


def test_true_model_reproduces_env_step_cartpole_terminations():
    env, params = purerl.make_env("CartPole-v1")
    assert _compare_with_env(env, params, 120) >= 3  # random play ends episodes often


def test_true_model_sees_through_normalisation_wrappers():
    env, params = purerl.make_env("CartPole-v1", normalize_obs=True, normalize_reward=True)
    model = models.true_model(env, params)
    _, state = env.reset(jax.random.key(0), params)
    raw = model.state_of(state)
    assert type(raw).__name__ == "EnvState" and raw.time == 0
    next_state, reward, _ = model.step(jax.random.key(1), raw, 1)
    assert float(reward) == 1.0  # the raw reward, not the normalised one
    assert int(next_state.time) == 1


def test_true_model_done_flags_and_time_limit_option():
    base, default = gymnax.make("Pendulum-v1")
    params = default.replace(max_steps_in_episode=3)
    _, s = base.reset(jax.random.key(0), params)
    with_limit = models.true_model(base, params)
    without = models.true_model(base, params, time_limit=False)
    a = jnp.array([0.0])
    dones = []
    for t in range(4):
        k = jax.random.key(t)
        s1, r1, d1 = with_limit.step(k, s, a)
        _, r2, d2 = without.step(k, s, a)
        assert float(r1) == float(r2)
        assert not bool(d2)  # Pendulum never terminates
        dones.append(bool(d1))
        s = s1
    assert dones == [False, False, True, True]  # the limit, and no reset after it


def test_true_model_rejects_unknown_wrappers_and_non_envs():
    class MyWrapper(w.Wrapper):
        pass

    env, params = purerl.make_env("CartPole-v1")
    with pytest.raises(ValueError, match="unknown wrapper MyWrapper"):
        models.true_model(MyWrapper(env), params)
    with pytest.raises(ValueError, match="gymnax Environment"):
        models.true_model(object())


def test_bootstrap_batches_in_range_and_independent_per_member():
    idx = models.bootstrap_batches(jax.random.key(0), jnp.asarray(7), 5, 1000)
    assert idx.shape == (5, 1000)
    assert int(idx.min()) == 0 and int(idx.max()) == 6
    assert not np.array_equal(idx[0], idx[1])


def _pendulum_data(key, num_envs, num_steps):
    env, params = purerl.make_env("Pendulum-v1")
    k_reset, k_roll = jax.random.split(key)
    obs, state = reset_envs(k_reset, env, params, num_envs)

    def policy(obs, k):  # random torques with a bias toward pumping energy: wide coverage
        a = 0.7 * jnp.sign(obs[:, 2:3]) + 0.6 * jax.random.normal(k, (obs.shape[0], 1))
        return jnp.clip(a, -1.0, 1.0), {}

    _, _, tr = rollout(k_roll, env, params, policy, state, obs, num_steps)
    flat = lambda x: x.reshape((-1,) + x.shape[2:])
    return {
        "obs": flat(tr.obs),
        "action": flat(tr.action),
        "reward": flat(tr.reward),
        "next_obs": flat(tr.next_obs),
    }


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_ensemble_heldout_likelihood_improves(beta):
    data = _pendulum_data(jax.random.key(0), 8, 200)
    n = data["obs"].shape[0]
    perm = np.random.default_rng(0).permutation(n)
    train = jax.tree.map(lambda x: x[perm[: 4 * n // 5]], data)
    held = jax.tree.map(lambda x: x[perm[4 * n // 5 :]], data)
    ens = models.make_ensemble(3, 1, num_members=5, hidden_sizes=(64, 64), beta=beta)
    params = ens.init(jax.random.key(1))
    params = ens.fit_normalizer(
        params, train["obs"], train["action"], train["next_obs"], train["reward"]
    )
    ll = lambda p, d: ens.log_likelihood(p, d["obs"], d["action"], d["next_obs"], d["reward"])
    tx = optax.adam(1e-3)

    @jax.jit
    def fit(net, key):
        def step(carry, k):
            net, opt = carry
            idx = models.bootstrap_batches(k, train["obs"].shape[0], 5, 128)
            batch = jax.tree.map(lambda x: x[idx], train)
            grads, _ = jax.grad(ens.loss, has_aux=True)(net, params.norm, batch)
            updates, opt = tx.update(grads, opt, net)
            return (optax.apply_updates(net, updates), opt), None

        (net, _), _ = jax.lax.scan(step, (net, tx.init(net)), jax.random.split(key, 1500))
        return net

    before = np.asarray(ll(params, held))
    trained = params.replace(net=fit(params.net, jax.random.key(2)))
    after = np.asarray(ll(trained, held))
    # A Gaussian fitted to the targets' marginal (what a blank model can do at best):
    y = np.concatenate([held["next_obs"] - held["obs"], held["reward"][:, None]], -1)
    mu, sd = y.mean(0), y.std(0)
    marginal = np.mean(-0.5 * (((y - mu) / sd) ** 2 + np.log(2 * np.pi * sd**2)))
    assert np.all(after > before + 2.0), (before, after)  # every member, per dimension
    assert after.mean() > marginal + 2.0, (after, marginal)
    # The predictive means are accurate: normalised squared error on held-out data. Plain NLL
    # (beta 0) lets a member explain the velocity delta (kinked by the speed limit) by a
    # large variance and fits its mean slowly; beta-NLL fits it well.
    e = lambda x: jnp.broadcast_to(x, (5, *x.shape))
    mean, _ = ens.predict(trained, e(held["obs"]), e(held["action"]))
    nmse = np.mean((np.asarray(mean) - y) ** 2, axis=(0, 1)) / sd**2
    assert np.all(nmse < (0.05 if beta else 0.5)), nmse
    assert np.all(nmse[[0, 1, 3]] < 0.02), nmse


def test_ensemble_sample_shapes_and_bounded_variance():
    ens = models.make_ensemble(3, 1, num_members=4, hidden_sizes=(16,))
    params = ens.init(jax.random.key(0))
    obs = jnp.zeros((4, 7, 3))
    act = jnp.zeros((4, 7, 1))
    mean, var = ens.predict(params, obs, act)
    assert mean.shape == var.shape == (4, 7, 4)
    assert bool(jnp.all(var <= jnp.exp(0.5) + 1e-5)) and bool(jnp.all(var > 0))
    next_obs, reward = ens.sample(jax.random.key(1), params, obs, act)
    assert next_obs.shape == (4, 7, 3) and reward.shape == (4, 7)
