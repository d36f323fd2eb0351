"""DDPG: the one-critic target and losses by hand on a tiny net, exploration noise, and a
Pendulum learning test."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import ddpg
from purerl.nets import ContinuousQEnsemble, DeterministicActor


def test_target_and_actor_gradient_on_tiny_linear_nets():
    # identity-activation nets: mu(s) = tanh(w . s + b), Q(s, a) = c . [s, a] + d
    actor = DeterministicActor(1, (), "identity")
    critic = ContinuousQEnsemble(1, (), "identity")
    pa = {"params": {"Dense_0": {"kernel": jnp.array([[0.5], [-1.0]]), "bias": jnp.array([0.1])}}}
    dense = {"kernel": jnp.array([[[1.0], [2.0], [-3.0]]]), "bias": jnp.array([[0.5]])}
    pc = {"params": {"VmapContinuousQNetwork_0": {"Dense_0": dense}}}
    s_next = jnp.array([[1.0, 2.0], [-1.0, 0.5]])
    y = ddpg.critic_targets(
        jax.random.key(0),
        jnp.array([1.0, 2.0]),
        jnp.array([False, True]),
        actor.apply(pa, s_next),
        lambda a: critic.apply(pc, s_next, a),
        0.5,
    )
    a0 = np.tanh(0.5 * 1.0 - 1.0 * 2.0 + 0.1)
    q0 = 1.0 * 1.0 + 2.0 * 2.0 - 3.0 * a0 + 0.5
    np.testing.assert_allclose(y, [1.0 + 0.5 * q0, 2.0], rtol=1e-6)
    # the actor's gradient follows dQ/da = -3 through tanh: it lowers mu(s)
    s = jnp.array([[1.0, 2.0]])
    g = jax.grad(lambda p: ddpg.actor_loss(critic.apply(pc, s, actor.apply(p, s))[0]))(pa)
    expected = 3.0 * (1 - a0**2)  # d(-Q)/db
    assert float(g["params"]["Dense_0"]["bias"][0]) == pytest.approx(expected, rel=1e-5)


def test_critic_loss_and_exploration():
    assert float(ddpg.critic_loss(jnp.array([[1.0, 3.0]]), jnp.array([0.0, 1.0]))) == 2.5
    a = ddpg.exploration_actions(jax.random.key(0), jnp.zeros((20_000, 2)), 0.1)
    assert float(jnp.std(a)) == pytest.approx(0.1, rel=0.03)
    assert ddpg.exploration_actions(jax.random.key(0), jnp.ones((3, 1)), 5.0).max() <= 1.0


def test_bad_input_and_metrics():
    with pytest.raises(ValueError, match="continuous"):
        env, params = purerl.make_env("CartPole-v1")
        ddpg.make(env, params, ddpg.Config())
    with pytest.raises(ValueError, match="exploration_noise"):
        ddpg.Config(exploration_noise=-1.0)
    with pytest.raises(ValueError, match="actor_learning_rate"):
        ddpg.Config(actor_learning_rate=0.0)
    env, params = purerl.make_env("Pendulum-v1")
    config = ddpg.Config(
        num_envs=2,
        learning_starts=4,
        batch_size=4,
        buffer_size=64,
        hidden_sizes=(8,),
        total_timesteps=12,
    )
    agent = ddpg.make(env, params, config)
    _, m = purerl.train(agent, jax.random.key(0))
    assert {"loss/critic", "loss/actor", "q_mean", "env_steps", "episode_return"} <= set(m)
    np.testing.assert_array_equal(m["env_steps"], 2 * np.arange(1, 7))
    np.testing.assert_array_equal(m["loss/critic"][:2], 0.0)  # learning starts at 4 steps
    assert bool(jnp.all(m["loss/critic"][2:] > 0))


@pytest.mark.learning
def test_ddpg_solves_pendulum(train_eval):
    # Measured (greedy return, 16 episodes per seed, PENDULUM budget):
    # key 0 -> [-116, -148, -229, -141] (mean -158); key 1 -> mean -147.
    env, params = purerl.make_env("Pendulum-v1")
    returns = train_eval(ddpg.make(env, params, ddpg.Config(**PENDULUM))).returns
    assert returns.mean() >= -250, returns


PENDULUM = dict(total_timesteps=10_000)
