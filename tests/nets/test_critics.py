"""`purerl.nets` critics: Q heads by hand (dueling included), the ensembles' members are
independent networks, and the distributional Q head's softmax is over each action's atoms."""

import jax
import numpy as np

from purerl.nets import (
    ContinuousQEnsemble,
    ContinuousQNetwork,
    DiscreteQEnsemble,
    DistributionalQNetwork,
    QNetwork,
    ValueHead,
)

OBS = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
ACT = np.random.default_rng(1).uniform(-1, 1, size=(5, 2)).astype(np.float32)


def _dense(p, x):
    return np.asarray(x, np.float64) @ np.asarray(p["kernel"]) + np.asarray(p["bias"])


def _random(params, key=7):
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(key), len(leaves))
    return jax.tree.unflatten(
        tree, [0.5 * jax.random.normal(k, x.shape) for k, x in zip(keys, leaves, strict=True)]
    )


def test_value_head_is_a_linear_scalar():
    head = ValueHead()
    params = _random(head.init(jax.random.key(0), OBS))
    np.testing.assert_allclose(
        head.apply(params, OBS), _dense(params["params"]["Dense_0"], OBS)[:, 0], rtol=1e-5
    )


def test_dueling_q_is_value_plus_centred_advantage():
    net = QNetwork(num_actions=4, hidden_sizes=(6,), dueling=True)
    params = _random(net.init(jax.random.key(0), OBS))
    p = params["params"]
    h = np.maximum(_dense(p["MLP_0"]["Dense_0"], OBS), 0)
    a, v = _dense(p["Dense_0"], h), _dense(p["Dense_1"], h)
    np.testing.assert_allclose(
        net.apply(params, OBS), v + a - a.mean(-1, keepdims=True), rtol=1e-5, atol=1e-5
    )
    plain = QNetwork(num_actions=4, hidden_sizes=(6,))
    pp = _random(plain.init(jax.random.key(0), OBS))
    h = np.maximum(_dense(pp["params"]["MLP_0"]["Dense_0"], OBS), 0)
    np.testing.assert_allclose(
        plain.apply(pp, OBS), _dense(pp["params"]["Dense_0"], h), rtol=1e-5, atol=1e-5
    )


def test_continuous_q_takes_the_concatenated_observation_and_action():
    net = ContinuousQNetwork(hidden_sizes=(6,))
    params = _random(net.init(jax.random.key(0), OBS, ACT))
    p = params["params"]
    assert p["MLP_0"]["Dense_0"]["kernel"].shape == (5, 6)
    h = np.maximum(_dense(p["MLP_0"]["Dense_0"], np.concatenate([OBS, ACT], -1)), 0)
    np.testing.assert_allclose(
        net.apply(params, OBS, ACT), _dense(p["Dense_0"], h)[:, 0], rtol=1e-5, atol=1e-5
    )


def _member(params, i):
    return jax.tree.map(lambda x: x[i], params)


def test_continuous_ensemble_members_are_independent_networks():
    ens = ContinuousQEnsemble(num_critics=3, hidden_sizes=(6,))
    params = ens.init(jax.random.key(0), OBS, ACT)
    assert all(x.shape[0] == 3 for x in jax.tree.leaves(params))
    q = ens.apply(params, OBS, ACT)
    assert q.shape == (3, 5)
    single = ContinuousQNetwork(hidden_sizes=(6,))
    inner = params["params"]["VmapContinuousQNetwork_0"]
    for i in range(3):
        want = single.apply({"params": _member(inner, i)}, OBS, ACT)
        np.testing.assert_allclose(q[i], want, rtol=1e-6)
    # different initial weights per member (split init keys)
    k = np.asarray(inner["MLP_0"]["Dense_0"]["kernel"])
    assert not np.allclose(k[0], k[1]) and not np.allclose(k[1], k[2])
    # a change to one member's weights changes only that member's output
    bumped = jax.tree.map(lambda x: x.at[1].add(0.5), params)
    q2 = ens.apply(bumped, OBS, ACT)
    np.testing.assert_array_equal(q2[0], q[0])
    np.testing.assert_array_equal(q2[2], q[2])
    assert not np.allclose(q2[1], q[1])


def test_discrete_ensemble_members_are_independent_q_networks():
    ens = DiscreteQEnsemble(num_actions=4, num_critics=2, hidden_sizes=(6,))
    params = ens.init(jax.random.key(0), OBS)
    q = ens.apply(params, OBS)
    assert q.shape == (2, 5, 4)
    inner = params["params"]["VmapQNetwork_0"]
    single = QNetwork(num_actions=4, hidden_sizes=(6,))
    for i in range(2):
        np.testing.assert_allclose(
            q[i], single.apply({"params": _member(inner, i)}, OBS), rtol=1e-6
        )
    assert not np.allclose(q[0], q[1])


def test_distributional_q_softmax_is_over_each_action_s_atoms():
    net = DistributionalQNetwork(num_actions=3, num_outputs=5, hidden_sizes=(6,))
    params = _random(net.init(jax.random.key(0), OBS))
    logits = net.apply(params, OBS)
    assert logits.shape == (5, 3, 5)
    p = params["params"]
    h = np.maximum(_dense(p["MLP_0"]["Dense_0"], OBS), 0)
    flat = _dense(p["Dense_0"], h)  # [5, 3 * 5]: action a's atoms are columns 5a .. 5a + 4
    for a in range(3):
        np.testing.assert_allclose(logits[:, a], flat[:, 5 * a : 5 * a + 5], rtol=1e-5, atol=1e-5)
        e = np.exp(flat[:, 5 * a : 5 * a + 5])
        np.testing.assert_allclose(
            jax.nn.softmax(logits, axis=-1)[:, a], e / e.sum(-1, keepdims=True), rtol=1e-5
        )
    np.testing.assert_allclose(jax.nn.softmax(logits, axis=-1).sum(-1), 1.0, rtol=1e-6)
