"""QR-DQN: the quantile-Huber loss against a brute-force reference and its pinball limit
as kappa -> 0, quantile regression recovering quantiles, and a CartPole learning test."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import qrdqn


def _brute_force(dist_src, tau, dist_target, kappa):
    total = 0.0
    for i, (theta, t) in enumerate(zip(dist_src, tau, strict=True)):
        acc = 0.0
        for y in dist_target:
            u = y - theta
            if kappa == 0:
                acc += u * (t - (u < 0))  # pinball loss rho_tau(u)
            else:
                h = 0.5 * u * u if abs(u) <= kappa else kappa * (abs(u) - 0.5 * kappa)
                acc += abs(t - (u < 0)) * h / kappa
        total += acc / len(dist_target)
        del i
    return total


@pytest.mark.parametrize("kappa", [0.0, 0.3, 1.0, 5.0])
def test_quantile_huber_loss_matches_brute_force(kappa):
    rng = np.random.default_rng(1)
    src = rng.normal(size=7) * 2
    tau = np.asarray(qrdqn.quantile_midpoints(7))
    tgt = rng.normal(size=11) * 2 + 0.5
    got = qrdqn.quantile_huber_loss(
        jnp.asarray(src, jnp.float32), jnp.asarray(tau), jnp.asarray(tgt, jnp.float32), kappa
    )
    assert float(got) == pytest.approx(_brute_force(src, tau, tgt, kappa), rel=1e-5)


def test_small_kappa_tends_to_the_pinball_loss():
    rng = np.random.default_rng(2)
    src, tgt = jnp.asarray(rng.normal(size=5)), jnp.asarray(rng.normal(size=9))
    tau = qrdqn.quantile_midpoints(5)
    pinball = float(qrdqn.quantile_huber_loss(src, tau, tgt, 0.0))
    loss = lambda k: float(qrdqn.quantile_huber_loss(src, tau, tgt, k))
    gaps = [abs(loss(k) - pinball) for k in (1e-1, 1e-2, 1e-3, 1e-4)]
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3]
    assert gaps[3] < 2e-4  # the gap shrinks like O(kappa)


def test_minimiser_is_the_quantiles_and_no_gradient_to_the_target():
    samples = jnp.asarray(np.random.default_rng(3).exponential(size=4000), jnp.float32)
    tau = qrdqn.quantile_midpoints(4)
    theta = jnp.zeros(4)
    grad = jax.jit(jax.grad(lambda th: qrdqn.quantile_huber_loss(th, tau, samples, 0.01)))
    for _ in range(3000):
        theta = theta - 0.05 * grad(theta)
    np.testing.assert_allclose(theta, np.quantile(np.asarray(samples), np.asarray(tau)), atol=0.03)
    g_target = jax.grad(lambda y: qrdqn.quantile_huber_loss(theta, tau, y))(samples[:5])
    np.testing.assert_array_equal(g_target, 0.0)


def test_bad_input():
    with pytest.raises(ValueError, match="kappa"):
        qrdqn.Config(kappa=-1.0)
    with pytest.raises(ValueError, match="num_quantiles"):
        qrdqn.Config(num_quantiles=0)
    env, params = purerl.make_env("Pendulum-v1")
    with pytest.raises(ValueError, match="discrete action space"):
        qrdqn.make(env, params, qrdqn.Config())


@pytest.mark.learning
def test_qrdqn_learns_cartpole(train_eval):
    # Measured (greedy return, 16 episodes per seed, the defaults): key 0 -> [500, 500, 500,
    # 500]; key 1 -> [500, 500, 500, 500]. With C51's Polyak target (the old defaults): mean
    # ~340, some seeds collapsing late.
    env, params = purerl.make_env("CartPole-v1")
    returns = train_eval(qrdqn.make(env, params, qrdqn.Config(total_timesteps=100_000))).returns
    assert returns.mean() >= 450, returns
