"""`purerl.nets` policy heads and actors: Categorical and Gaussian log-probabilities against
hand computations from the head's own weights, the deterministic actor's range, and the
tanh-squashed Gaussian's log-density against the change-of-variables formula."""

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.nets import (
    ActorCritic,
    CategoricalHead,
    DeterministicActor,
    GaussianHead,
    TanhGaussianActor,
    tanh_gaussian_log_prob,
    tanh_gaussian_sample,
)

RNG = np.random.default_rng(0)
H = RNG.normal(size=(5, 4)).astype(np.float32)  # a batch of torso features


def _randomised(params, scale=0.5):
    """Replace every weight by a random one, so that hand computations see non-trivial values."""
    return jax.tree.map(lambda p: jnp.asarray(scale * RNG.normal(size=p.shape), p.dtype), params)


def test_categorical_head_log_prob_by_hand():
    head = CategoricalHead(num_actions=3)
    params = _randomised(head.init(jax.random.key(0), H))
    dist = head.apply(params, H)
    assert isinstance(dist, distrax.Categorical)
    p = params["params"]["Dense_0"]
    logits = H.astype(np.float64) @ np.asarray(p["kernel"]) + np.asarray(p["bias"])
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    actions = np.array([0, 2, 1, 1, 0])
    np.testing.assert_allclose(
        dist.log_prob(actions), log_softmax[np.arange(5), actions], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        dist.entropy(), -(np.exp(log_softmax) * log_softmax).sum(-1), rtol=1e-5, atol=1e-6
    )


def test_gaussian_head_log_prob_by_hand_and_state_independent_std():
    head = GaussianHead(action_dim=2, log_std_init=-0.5)
    params = head.init(jax.random.key(0), H)
    np.testing.assert_array_equal(params["params"]["log_std"], [-0.5, -0.5])
    params = _randomised(params)
    dist = head.apply(params, H)
    p = params["params"]
    mean = H.astype(np.float64) @ np.asarray(p["Dense_0"]["kernel"]) + np.asarray(
        p["Dense_0"]["bias"]
    )
    log_std = np.asarray(p["log_std"], np.float64)
    a = RNG.normal(size=(5, 2))
    z = (a - mean) / np.exp(log_std)
    want = np.sum(-0.5 * z**2 - log_std - 0.5 * np.log(2 * np.pi), axis=-1)
    np.testing.assert_allclose(dist.log_prob(a.astype(np.float32)), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dist.stddev(), np.broadcast_to(np.exp(log_std), (5, 2)), rtol=1e-6)


def test_policy_heads_start_near_uniform_and_zero_mean():
    """Orthogonal init with gain 0.01: a fresh policy is nearly uniform / zero-mean."""
    net = ActorCritic(action_dim=3, discrete=True, hidden_sizes=(8,))
    params = net.init(jax.random.key(0), H)
    dist, value = net.apply(params, H)
    np.testing.assert_allclose(dist.probs, 1 / 3, atol=0.02)
    assert value.shape == (5,)
    w = np.asarray(params["params"]["policy_head"]["Dense_0"]["kernel"], np.float64)
    np.testing.assert_allclose(w.T @ w, 1e-4 * np.eye(3), atol=1e-9)  # 8 x 3: columns
    cont = ActorCritic(action_dim=2, discrete=False, hidden_sizes=(8,))
    dist, _ = cont.apply(cont.init(jax.random.key(0), H), H)
    assert float(jnp.abs(dist.mean()).max()) < 0.1


def test_deterministic_actor_is_tanh_of_a_linear_head():
    actor = DeterministicActor(action_dim=2, hidden_sizes=(6,))
    params = _randomised(actor.init(jax.random.key(0), H), scale=3.0)
    got = np.asarray(actor.apply(params, H))
    p = params["params"]
    h = np.maximum(
        H @ np.asarray(p["MLP_0"]["Dense_0"]["kernel"]) + p["MLP_0"]["Dense_0"]["bias"], 0
    )
    want = np.tanh(h @ np.asarray(p["Dense_0"]["kernel"]) + np.asarray(p["Dense_0"]["bias"]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert np.abs(got).max() <= 1.0


def test_tanh_gaussian_actor_bounds_log_std():
    actor = TanhGaussianActor(action_dim=2, hidden_sizes=(6,), log_std_min=-3.0, log_std_max=1.0)
    params = _randomised(actor.init(jax.random.key(0), H), scale=20.0)  # saturate the squash
    mean, log_std = actor.apply(params, H)
    assert mean.shape == log_std.shape == (5, 2)
    assert float(log_std.min()) >= -3.0 and float(log_std.max()) <= 1.0
    ends = np.isclose(log_std, -3.0, atol=1e-3) | np.isclose(log_std, 1.0, atol=1e-3)
    assert ends.any()  # saturated: squashed onto the bounds, never past them


# ------------------------------------------------------------ tanh-Gaussian maths
# (moved from tests/algos/test_sac.py: they test purerl.nets)
def _reference_log_prob(u, mean, std, h=1e-4):
    """float64: log N(u; mean, std) - log |d tanh(u) / du|, the derivative by central
    finite differences of tanh itself (no closed form)."""
    u = np.asarray(u, np.float64)
    log_normal = -0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
    dadu = (np.tanh(u + h) - np.tanh(u - h)) / (2 * h)
    return log_normal - np.log(dadu)


@pytest.mark.parametrize("u", [0.0, 0.3, -1.7, 4.0, -6.5, 9.0, -11.0, 12.0])
def test_tanh_gaussian_log_prob_matches_change_of_variables(u):
    mean, std = 2.0, 3.0
    got = tanh_gaussian_log_prob(
        jnp.array([u], jnp.float32), jnp.array([mean]), jnp.log(jnp.array([std]))
    )
    # at |u| >= 9, tanh(u) is +-1 in float32: the naive log(1 - tanh(u)^2) is -inf there
    np.testing.assert_allclose(float(got), _reference_log_prob(u, mean, std), rtol=2e-4, atol=2e-4)


def test_tanh_gaussian_log_prob_by_the_closed_form_jacobian():
    """log pi(a) = sum_d [log N(u_d; m_d, s_d) - log(1 - tanh(u_d)^2)], in float64 by hand."""
    u = RNG.normal(size=(6, 3)) * 2
    m, log_s = RNG.normal(size=3), RNG.normal(size=3) * 0.5
    z = (u - m) / np.exp(log_s)
    want = np.sum(-0.5 * z**2 - log_s - 0.5 * np.log(2 * np.pi) - np.log(1 - np.tanh(u) ** 2), -1)
    got = tanh_gaussian_log_prob(*(jnp.asarray(x, jnp.float32) for x in (u, m, log_s)))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_tanh_gaussian_density_integrates_to_one_and_sums_over_dims():
    mean, std = 1.5, 2.0  # much of the mass squashed close to a = 1
    u = np.linspace(-25, 25, 400_001)
    a = np.tanh(u)
    logp = np.asarray(
        tanh_gaussian_log_prob(
            jnp.asarray(u[:, None], jnp.float32),
            jnp.full((1,), mean),
            jnp.full((1,), np.log(std)),
        ),
        np.float64,
    )
    mid = 0.5 * (np.exp(logp[1:]) + np.exp(logp[:-1]))
    assert np.sum(mid * np.diff(a)) == pytest.approx(1.0, abs=2e-3)  # integral over a
    u2 = jnp.array([[0.5, -10.0], [3.0, 1.0]])
    m2, ls2 = jnp.array([0.1, -0.2]), jnp.array([0.0, -1.0])
    both = tanh_gaussian_log_prob(u2, m2, ls2)
    one = lambda i: tanh_gaussian_log_prob(u2[:, i : i + 1], m2[i : i + 1], ls2[i : i + 1])
    each = one(0) + one(1)
    np.testing.assert_allclose(both, each, rtol=1e-6)


def test_sample_is_reparameterised_with_finite_gradients_at_saturation():
    def f(mean):
        a, logp = tanh_gaussian_sample(jax.random.key(0), mean, jnp.full((512, 2), -1.0))
        return jnp.mean(logp) + jnp.mean(a)

    for m in (0.0, 15.0, -30.0):  # 15 and -30: every sample saturates in float32
        value, grad = jax.value_and_grad(f)(jnp.full((512, 2), m))
        assert np.isfinite(float(value)) and np.all(np.isfinite(grad)), m
    a, logp = tanh_gaussian_sample(jax.random.key(1), jnp.zeros((4, 3)), jnp.zeros((4, 3)))
    assert a.shape == (4, 3) and logp.shape == (4,)
    assert bool(jnp.all(jnp.abs(a) <= 1.0))
