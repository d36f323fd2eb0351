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


# ------------------------------------------------------------------ CNN and Torso
def _conv_numpy(x, kernel, bias, stride):
    """VALID 2-D convolution by explicit loops: x [N, H, W, C], kernel [k, k, C, O]."""
    n, h, w, _ = x.shape
    k, o = kernel.shape[0], kernel.shape[-1]
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, ho, wo, o))
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                patch = x[b, i * stride : i * stride + k, j * stride : j * stride + k, :]
                for c in range(o):
                    out[b, i, j, c] = np.sum(patch * kernel[..., c]) + bias[c]
    return out


def test_cnn_equals_a_loop_convolution_then_relu_and_flatten():
    from purerl.nets import CNN

    net = CNN(channels=(3, 2), kernels=(3, 2), strides=(2, 1))
    x = np.random.default_rng(0).normal(size=(2, 7, 6, 4)).astype(np.float32)
    params = net.init(jax.random.key(0), x)
    params = jax.tree.map(lambda p: p + 0.3 * jax.random.normal(jax.random.key(1), p.shape), params)
    p = params["params"]
    h = x.astype(np.float64)
    for name, stride in (("Conv_0", 2), ("Conv_1", 1)):
        k, b = np.asarray(p[name]["kernel"], np.float64), np.asarray(p[name]["bias"], np.float64)
        h = np.maximum(_conv_numpy(h, k, b, stride), 0.0)
    # 7x6 -> (3x3, stride 2) 3x2 -> (2x2, stride 1) 2x1, 2 channels: 4 features
    assert h.shape == (2, 2, 1, 2)
    got = np.asarray(net.apply(params, x))
    np.testing.assert_allclose(got, h.reshape(2, -1), rtol=1e-5, atol=1e-5)
    # any leading batch dims: [T, B, H, W, C] -> [T, B, features]
    xx = np.stack([x, x[::-1]])
    np.testing.assert_allclose(net.apply(params, xx)[1], got[::-1], rtol=1e-6)


def test_cnn_init_is_orthogonal_with_gain_sqrt2_and_zero_bias():
    from purerl.nets import CNN

    params = CNN(channels=(8,), kernels=(3,), strides=(1,)).init(
        jax.random.key(2), jnp.zeros((1, 5, 5, 2))
    )
    k = np.asarray(params["params"]["Conv_0"]["kernel"], np.float64)
    assert k.shape == (3, 3, 2, 8)
    w = k.reshape(-1, 8)  # [k * k * C_in, C_out]: orthogonal columns
    np.testing.assert_allclose(w.T @ w, 2.0 * np.eye(8), atol=1e-5)
    assert not np.asarray(params["params"]["Conv_0"]["bias"]).any()


def test_torso_auto_picks_the_cnn_for_images_and_the_mlp_otherwise():
    from purerl.nets import Torso, TorsoSpec

    img = jnp.ones((2, 6, 6, 3))
    for kind, has_cnn in (("auto", True), ("cnn", True), ("mlp", False)):
        t = Torso((5,), "relu", obs_ndim=3, spec=TorsoSpec(kind, (4,), (3,), (1,)))
        params = t.init(jax.random.key(0), img)["params"]
        assert ("CNN_0" in params) == has_cnn, kind
        # CNN: 4x4x4 = 64 features into the MLP; MLP alone: the flat 108-pixel image
        assert params["Dense_0"]["kernel"].shape == ((64 if has_cnn else 108), 5)
        assert t.apply({"params": params}, img).shape == (2, 5)
    vec = Torso((5,), obs_ndim=1, spec=TorsoSpec("auto"))
    assert "CNN_0" not in vec.init(jax.random.key(0), jnp.ones((2, 4)))["params"]
    # spec=None is exactly the MLP (same parameter layout and outputs)
    x = jnp.arange(8.0).reshape(2, 4)
    p = MLP((5, 3)).init(jax.random.key(0), x)
    np.testing.assert_array_equal(Torso((5, 3)).apply(p, x), MLP((5, 3)).apply(p, x))
    with pytest.raises(ValueError, match="torso must be one of"):
        TorsoSpec("resnet")
    with pytest.raises(ValueError, match="one entry per conv layer"):
        TorsoSpec("cnn", (4, 4), (3,), (1,))


def test_torso_dict_obs_each_leaf_its_own_torso_concatenated_mask_ignored():
    from purerl.nets import Torso, TorsoSpec

    obs = {
        "image": jnp.ones((2, 5, 5, 1)),
        "vec": jnp.arange(6.0).reshape(2, 3),
        "action_mask": jnp.ones((2, 4), bool),
    }
    ndims = (("action_mask", 1), ("image", 3), ("vec", 1))
    t = Torso((4,), "tanh", obs_ndim=ndims, spec=TorsoSpec("auto", (2,), (3,), (1,)))
    params = t.init(jax.random.key(0), obs)
    p = params["params"]
    assert set(p) == {"obs_image", "obs_vec"}  # no torso for the mask
    assert "CNN_0" in p["obs_image"] and "CNN_0" not in p["obs_vec"]
    out = t.apply(params, obs)
    assert out.shape == (2, 8)
    img_only = Torso((4,), "tanh", obs_ndim=3, spec=t.spec)
    vec_only = Torso((4,), "tanh", obs_ndim=1)
    want = jnp.concatenate(
        [
            img_only.apply({"params": p["obs_image"]}, obs["image"]),
            vec_only.apply({"params": p["obs_vec"]}, obs["vec"]),
        ],
        -1,
    )
    np.testing.assert_allclose(out, want, rtol=1e-6)
    # the mask changes nothing in the features
    other = {**obs, "action_mask": jnp.zeros((2, 4), bool).at[:, 0].set(True)}
    np.testing.assert_array_equal(t.apply(params, other), out)
    # a {"obs", "action_mask"} dict is the bare observation's torso
    single = Torso((4,), obs_ndim=(("action_mask", 1), ("obs", 1)))
    sp = single.init(jax.random.key(0), {"obs": obs["vec"], "action_mask": obs["action_mask"]})
    np.testing.assert_array_equal(
        single.apply(sp, {"obs": obs["vec"], "action_mask": obs["action_mask"]}),
        MLP((4,)).apply(sp, obs["vec"]),
    )
