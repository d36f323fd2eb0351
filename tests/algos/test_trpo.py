"""TRPO: Fisher-vector products against explicit Hessians, CG, the trust region, learning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import purerl
from purerl.algos import trpo
from purerl.core import onpolicy


def _policy_kl(env_id):
    """A small MLP policy, a perturbed copy, and kl_fn(params) = mean KL(old || params)."""
    env, params = purerl.make_env(env_id)
    net = onpolicy.make_actor_critic(env, params, (8,), "tanh")
    obs_dim = purerl.envs.obs_shape(env, params)[0]
    obs = jax.random.normal(jax.random.key(0), (16, obs_dim))
    p = net.init(jax.random.key(1), obs[:1])
    pi, v = onpolicy.split_params(p)
    # Evaluate away from the old parameters too, where the Hessian is not the Fisher matrix.
    leaves, tree = jax.tree.flatten(pi)
    keys = jax.random.split(jax.random.key(2), len(leaves))
    pi_at = jax.tree.unflatten(
        tree, [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
    )
    policy = lambda q: net.apply(onpolicy.merge_params(q, v), obs, method="policy")
    old = policy(pi)
    kl_fn = lambda q: jnp.mean(old.kl_divergence(policy(q)))
    return pi, pi_at, kl_fn


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])  # categorical, Gaussian
def test_fisher_vector_product_equals_explicit_hessian(env_id):
    pi, pi_at, kl_fn = _policy_kl(env_id)
    for at in (pi, pi_at):
        flat, unravel = ravel_pytree(at)
        hess = jax.hessian(lambda f: kl_fn(unravel(f)))(flat)
        v = jax.random.normal(jax.random.key(3), flat.shape)
        for damping in (0.0, 0.1):
            fvp = trpo.fisher_vector_product(kl_fn, at, unravel(v), damping)
            expected = hess @ v + damping * v
            np.testing.assert_allclose(ravel_pytree(fvp)[0], expected, rtol=1e-4, atol=1e-6)


def test_conjugate_gradient_solves_spd_system():
    a = jax.random.normal(jax.random.key(0), (20, 20))
    spd = a @ a.T + 20 * jnp.eye(20)
    b = jax.random.normal(jax.random.key(1), (20,))
    # on a pytree: the vector split into two leaves
    tree_b = {"x": b[:7], "y": b[7:]}
    matvec = lambda t: (lambda r: {"x": r[:7], "y": r[7:]})(spd @ jnp.concatenate([t["x"], t["y"]]))
    sol = trpo.conjugate_gradient(matvec, tree_b, iters=20, tol=1e-20)
    x = jnp.concatenate([sol["x"], sol["y"]])
    np.testing.assert_allclose(x, jnp.linalg.solve(spd, b), rtol=1e-6, atol=1e-6)
    # exact in n steps on an n-dimensional problem (up to rounding), on a 3x3 system
    small = jnp.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    rhs = jnp.array([1.0, 2.0, 3.0])
    sol3 = trpo.conjugate_gradient(lambda t: small @ t, rhs, iters=3)
    np.testing.assert_allclose(sol3, jnp.linalg.solve(small, rhs), rtol=1e-5)


def test_natural_step_sits_on_the_quadratic_trust_region():
    pi, _, kl_fn = _policy_kl("CartPole-v1")
    g = jax.tree.map(lambda x: jnp.ones_like(x) * 0.1, pi)
    hvp = lambda v: trpo.fisher_vector_product(kl_fn, pi, v, 1e-3)
    step, expected = trpo.natural_gradient_step(g, hvp, 0.01, cg_iters=50)
    flat_step = ravel_pytree(step)[0]
    quad = 0.5 * jnp.vdot(flat_step, ravel_pytree(hvp(step))[0])
    assert float(quad) == pytest.approx(0.01, rel=1e-3)  # 1/2 s^T H s = delta
    assert float(expected) > 0


def test_line_search_rejects_everything_when_nothing_improves():
    params = {"w": jnp.zeros(3)}
    step = {"w": jnp.ones(3)}
    new, info = trpo.line_search(
        params, step, lambda p: -jnp.sum(p["w"] ** 2), lambda p: 0.0 * p["w"].sum(), 0.01, 5, 0.5
    )
    assert float(info["step_accepted"]) == 0.0 and float(info["backtrack_steps"]) == 5
    np.testing.assert_array_equal(new["w"], params["w"])
    # KL too large for the first two candidates: accepts the third (j = 2, coefficient 0.25)
    new, info = trpo.line_search(
        params, step, lambda p: jnp.sum(p["w"]), lambda p: jnp.sum(p["w"]) / 3, 0.3, 5, 0.5
    )
    assert float(info["backtrack_steps"]) == 2 and float(info["step_accepted"]) == 1.0
    np.testing.assert_allclose(new["w"], 0.25 * jnp.ones(3))


@pytest.mark.learning
def test_trpo_solves_cartpole_within_the_trust_region(train_eval):
    env, params = purerl.make_env("CartPole-v1")
    config = trpo.Config(total_timesteps=150_000, value_iters=40)
    run = train_eval(trpo.make(env, params, config))
    # The exact post-update KL of every accepted step is within delta (tolerance: rounding).
    assert float(run.metrics["kl"].max()) <= config.max_kl * (1 + 1e-5)
    assert float(run.metrics["step_accepted"].mean()) > 0.9
    assert run.returns.mean() >= 450, run.returns


@pytest.mark.learning
def test_trpo_gaussian_policy_learns_pendulum(train_eval):
    # 300k steps of the 1M-step setting (gamma 0.95): random play scores about -1200.
    env, params = purerl.make_env("Pendulum-v1")
    config = trpo.Config(total_timesteps=300_000, gamma=0.95, value_iters=20)
    run = train_eval(trpo.make(env, params, config), num_seeds=2)
    assert float(run.metrics["kl"].max()) <= config.max_kl * (1 + 1e-5)
    assert float(run.returns.mean()) >= -600, run.returns
