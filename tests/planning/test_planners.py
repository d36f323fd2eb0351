"""The planners: CEM and MPPI on a known quadratic, their action bounds and warm start, and
the objectives (true model, ensemble) against slow loops."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.planning import models, planners

H, A = 6, 2


def _quadratic(target, weights):
    """objective(key, a [N, H, A]) = -sum_w (a - target)^2: optimum at `target`."""

    def objective(key, actions):
        return -jnp.sum(weights * jnp.square(actions - target), axis=(1, 2))

    return objective


def _random_quadratic(seed):
    """A plan key, a random target in [-0.8, 0.8]^(H x A), and `_quadratic` with random
    weights in [0.5, 2]."""
    k_t, k_w, k_plan = jax.random.split(jax.random.key(seed), 3)
    target = jax.random.uniform(k_t, (H, A), minval=-0.8, maxval=0.8)
    weights = jax.random.uniform(k_w, (H, A), minval=0.5, maxval=2.0)
    return k_plan, target, _quadratic(target, weights)


@pytest.mark.parametrize("seed", [0, 1])
def test_cem_finds_quadratic_optimum(seed):
    k_plan, target, objective = _random_quadratic(seed)
    mean, info = planners.cem(
        k_plan,
        objective,
        jnp.zeros((H, A)),
        0.5,
        num_samples=200,
        num_elites=20,
        num_iterations=30,
        momentum=0.1,
    )
    np.testing.assert_allclose(mean, target, atol=0.02)
    assert float(info["return"]) > -1e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_mppi_finds_quadratic_optimum(seed):
    k_plan, target, objective = _random_quadratic(seed)
    mean, _ = planners.mppi(
        k_plan,
        objective,
        jnp.zeros((H, A)),
        0.1,
        num_samples=200,
        temperature=0.01,
        num_iterations=50,
    )
    # A fixed noise level leaves MPPI in a neighbourhood of the optimum whose size scales
    # with the noise std (0.1 here).
    np.testing.assert_allclose(mean, target, atol=0.04)


def test_optimisers_respect_action_bounds():
    target = jnp.full((H, A), 3.0)  # outside [-1, 1]: the constrained optimum is the bound
    obj = _quadratic(target, jnp.ones((H, A)))
    kw = dict(num_samples=100, num_iterations=20)
    m_cem, _ = planners.cem(jax.random.key(0), obj, jnp.zeros((H, A)), 0.5, num_elites=10, **kw)
    m_mppi, _ = planners.mppi(jax.random.key(0), obj, jnp.zeros((H, A)), 0.5, temperature=0.1, **kw)
    for m in (m_cem, m_mppi):
        assert float(m.max()) <= 1.0  # never outside the bounds
        assert float(m.min()) >= 0.75  # pushed to the bound from 0 (sampling noise stays)


def test_shift_plan_warm_start():
    plan = jnp.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(planners.shift_plan(plan), [[2, 3], [4, 5], [0, 0]])
    np.testing.assert_array_equal(planners.shift_plan(plan, plan[-1]), [[2, 3], [4, 5], [4, 5]])


def test_true_model_objective_is_a_masked_slow_loop():
    base, default = gymnax.make("Pendulum-v1")
    params = default.replace(max_steps_in_episode=3)
    env, params = purerl.make_env(base, params)
    model = models.true_model(env, params)
    _, env_state = env.reset(jax.random.key(0), params)
    state = model.state_of(env_state)
    actions = jax.random.uniform(jax.random.key(1), (4, 5, 1), minval=-1, maxval=1)
    returns = planners.true_model_objective(model, state, discount=0.9)(jax.random.key(2), actions)
    for i in range(4):  # the episode ends after 3 steps: later rewards must not count
        s, g = state, 0.0
        for t in range(3):
            s, r, _ = model.step(jax.random.key(0), s, actions[i, t])
            g += 0.9**t * float(r)
        assert float(returns[i]) == pytest.approx(g, rel=1e-5)


def _deterministic_ensemble(num_members, same):
    """An ensemble with negligible variance (log-var bounds -50 and -40); members identical
    when `same`."""
    ens = models.make_ensemble(3, 1, num_members=num_members, hidden_sizes=(16,))
    params = ens.init(jax.random.key(0))
    net = params.net
    if same:
        net = jax.tree.map(lambda x: jnp.broadcast_to(x[:1], x.shape), net)
    net["params"]["max_log_var"] = jnp.full_like(net["params"]["max_log_var"], -40.0)
    net["params"]["min_log_var"] = jnp.full_like(net["params"]["min_log_var"], -50.0)
    return ens, params.replace(net=net)


def _slow_ensemble_return(ens, params, member, obs, actions, discount):
    """One particle of `member`, stepped by the member's mean prediction in a Python loop."""
    E = ens.num_members
    predict = jax.jit(ens.predict)
    g = 0.0
    for t in range(actions.shape[0]):
        mean, _ = predict(
            params, jnp.broadcast_to(obs, (E, 3)), jnp.broadcast_to(actions[t], (E, 1))
        )
        g += discount**t * float(mean[member, -1])
        obs = obs + mean[member, :-1]
    return g


def test_ensemble_objective_trajectory_sampling_against_slow_loop():
    obs = jnp.array([0.3, -0.5, 1.0])
    actions = jax.random.uniform(jax.random.key(3), (2, 4, 1), minval=-1, maxval=1)
    # ts_inf: particle p follows member p // (num_particles / E) all the way.
    ens, params = _deterministic_ensemble(3, same=False)
    objective = planners.ensemble_objective(ens, params, obs, 3, "ts_inf", 0.9)
    got = objective(jax.random.key(0), actions)
    for i in range(2):
        want = np.mean(
            [_slow_ensemble_return(ens, params, m, obs, actions[i], 0.9) for m in range(3)]
        )
        assert float(got[i]) == pytest.approx(want, rel=1e-4, abs=1e-4)
    # ts1 re-assigns members every step; with identical members it changes nothing.
    ens, params = _deterministic_ensemble(3, same=True)
    a = planners.ensemble_objective(ens, params, obs, 6, "ts_inf")(jax.random.key(0), actions)
    b = planners.ensemble_objective(ens, params, obs, 6, "ts1")(jax.random.key(0), actions)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
