"""A2C: the loss against a hand computation, shared torso, and a learning test."""

import jax
import jax.numpy as jnp
import pytest

import purerl
from purerl.algos import a2c
from purerl.core import onpolicy


def test_loss_matches_hand_computation():
    env, params = purerl.make_env("CartPole-v1")
    config = a2c.Config(ent_coef=0.1, vf_coef=0.5)
    net, _ = a2c.build(env, params, config)
    obs = jax.random.normal(jax.random.key(0), (6, 4))
    p = net.init(jax.random.key(1), obs[:1])
    batch = {
        "obs": obs,
        "action": jnp.array([0, 1, 1, 0, 1, 0]),
        "advantage": jnp.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0]),
        "return": jnp.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    }
    loss, aux = a2c.loss_fn(p, net, batch, config)
    dist, v = net.apply(p, obs)
    logits = dist.logits
    logp = jax.nn.log_softmax(logits)[jnp.arange(6), batch["action"]]
    probs = jax.nn.softmax(logits)
    ent = -(probs * jax.nn.log_softmax(logits)).sum(-1).mean()
    pg = -(logp * batch["advantage"]).mean()
    vl = 0.5 * ((v - batch["return"]) ** 2).mean()
    assert float(loss) == pytest.approx(float(pg + 0.5 * vl - 0.1 * ent), rel=1e-5)
    assert float(aux["entropy"]) == pytest.approx(float(ent), rel=1e-5)


def test_shared_torso_has_one_torso():
    env, params = purerl.make_env("CartPole-v1")
    for shared, expected in [(True, 1), (False, 2)]:
        net, _ = a2c.build(env, params, a2c.Config(shared_torso=shared))
        p = net.init(jax.random.key(0), jnp.zeros((1, 4)))
        torsos = [k for k in p["params"] if k.endswith("torso")]
        assert len(torsos) == expected, p["params"].keys()


def test_bad_optimizer_is_rejected():
    with pytest.raises(ValueError, match="optimizer"):
        a2c.Config(optimizer="sgd")
    with pytest.raises(ValueError, match="learning_rate"):
        a2c.Config(learning_rate=-1.0)


def test_policy_halves_split_and_merge():
    env, params = purerl.make_env("CartPole-v1")
    net, _ = a2c.build(env, params, a2c.Config())
    p = net.init(jax.random.key(0), jnp.zeros((1, 4)))
    pi, v = onpolicy.split_params(p)
    assert set(pi) == {"actor_torso", "policy_head"} and set(v) == {"critic_torso", "value_head"}
    assert jax.tree.all(jax.tree.map(jnp.array_equal, onpolicy.merge_params(pi, v), p))


@pytest.mark.learning
def test_a2c_solves_cartpole(train_eval):
    env, params = purerl.make_env("CartPole-v1")
    agent = a2c.make(env, params, a2c.Config())  # 500k steps, RMSProp, n = 5
    returns = train_eval(agent).returns
    assert returns.mean() >= 450, returns
