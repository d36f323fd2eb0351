"""`purerl.nets` torsos: the MLP's shapes, every activation against a numpy forward pass,
and the orthogonal initialisation's scale."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.nets import ACTIVATIONS, MLP, get_activation

NP_ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "swish": lambda x: x / (1.0 + np.exp(-x)),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "gelu": lambda x: np.asarray(jax.nn.gelu(jnp.asarray(x))),  # flax's (tanh-approximate)
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "identity": lambda x: x,
}


def _dense(p, x):
    return x @ np.asarray(p["kernel"], np.float64) + np.asarray(p["bias"], np.float64)


def test_every_activation_is_named_and_unknown_ones_fail():
    assert set(ACTIVATIONS) == set(NP_ACTIVATIONS)
    with pytest.raises(ValueError, match="unknown activation 'sigmoid'"):
        get_activation("sigmoid")


@pytest.mark.parametrize("name", sorted(NP_ACTIVATIONS))
def test_mlp_equals_a_numpy_forward_pass(name):
    net = MLP(hidden_sizes=(5, 3), activation=name)
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    params = net.init(jax.random.key(0), x)
    # random biases too, so that a missing bias or a wrong activation shows
    params = jax.tree.map(lambda p: p + 0.3 * jax.random.normal(jax.random.key(1), p.shape), params)
    got = np.asarray(net.apply(params, x))
    p = params["params"]
    act = NP_ACTIVATIONS[name]
    want = act(_dense(p["Dense_1"], act(_dense(p["Dense_0"], x.astype(np.float64)))))
    assert got.shape == (4, 3)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


def test_mlp_shapes_and_obs_ndim_flattening():
    net = MLP(hidden_sizes=(7,), obs_ndim=2)
    x = jnp.ones((2, 5, 3, 4))  # batch [2, 5], observation [3, 4]
    params = net.init(jax.random.key(0), x)
    assert params["params"]["Dense_0"]["kernel"].shape == (12, 7)
    assert net.apply(params, x).shape == (2, 5, 7)
    flat = MLP(hidden_sizes=(7,))
    np.testing.assert_allclose(
        net.apply(params, x), flat.apply(params, x.reshape(2, 5, 12)), rtol=1e-6
    )
    # integer observations are cast to float32
    assert (
        MLP((3,))
        .apply(MLP((3,)).init(jax.random.key(0), jnp.ones((1, 2))), jnp.ones((1, 2), jnp.int32))
        .dtype
        == jnp.float32
    )
    assert MLP(hidden_sizes=()).apply({}, jnp.ones((2, 3))).shape == (2, 3)  # no layers: identity


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5)])
def test_mlp_init_is_orthogonal_with_gain_sqrt2_and_zero_bias(shape):
    n_in, n_out = shape
    params = MLP(hidden_sizes=(n_out,)).init(jax.random.key(3), jnp.zeros((1, n_in)))
    w = np.asarray(params["params"]["Dense_0"]["kernel"], np.float64)
    gram = w.T @ w if n_in >= n_out else w @ w.T  # the smaller side is orthonormal
    np.testing.assert_allclose(gram, 2.0 * np.eye(min(shape)), atol=1e-5)
    assert not np.asarray(params["params"]["Dense_0"]["bias"]).any()
    # different keys, different (Haar-random) matrices
    other = MLP(hidden_sizes=(n_out,)).init(jax.random.key(4), jnp.zeros((1, n_in)))
    assert not np.allclose(w, other["params"]["Dense_0"]["kernel"])
