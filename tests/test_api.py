"""Public API, train / evaluate semantics and input validation. The Agent contract of every
algorithm (no retrace, vmap == separate runs, bad configs rejected) is tests/test_contract.py."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import dqn, ppo


def test_public_api_names():
    for name in purerl.__all__:
        assert hasattr(purerl, name), name
    for name in purerl.algos.__all__:
        assert {"Config", "State", "make"} <= set(dir(getattr(purerl.algos, name))), name


SMALL = {
    "ppo": lambda: ppo.Config(num_envs=4, num_steps=16, num_minibatches=2, total_timesteps=640),
}


@pytest.fixture(scope="module")
def cartpole():
    return purerl.make_env("CartPole-v1")


def test_learning_rate_sweep_is_one_compile(cartpole):
    env, params = cartpole
    base = SMALL["ppo"]()
    traces = []

    def run(lr, key):
        traces.append(1)
        agent = ppo.make(env, params, dataclasses.replace(base, learning_rate=lr))
        return purerl.train(agent, key, num_updates=2)

    lrs = jnp.array([1e-4, 1e-3, 1e-2])
    states, metrics = jax.jit(jax.vmap(run, in_axes=(0, None)))(lrs, jax.random.key(0))
    assert len(traces) == 1
    assert metrics["loss/value"].shape == (3, 2)
    p = [jax.tree.leaves(states.params)[0][i] for i in range(3)]
    assert not np.allclose(p[0], p[2])  # different learning rates, different params


def test_metrics_are_flat_scalars_with_standard_keys(cartpole):
    env, params = cartpole
    agent = ppo.make(env, params, SMALL["ppo"]())
    _, metrics = purerl.train(agent, jax.random.key(0))
    assert {
        "env_steps",
        "episode_return",
        "episode_length",
        "loss/policy",
        "loss/value",
        "entropy",
        "approx_kl",
        "clip_fraction",
        "kl_coef",
        "finite",
    } <= set(metrics)
    for v in metrics.values():
        assert v.shape == (agent.num_updates,)
    np.testing.assert_array_equal(metrics["env_steps"], 64 * np.arange(1, agent.num_updates + 1))


def test_evaluate_returns_one_value_per_episode(cartpole):
    env, params = cartpole
    agent = ppo.make(env, params, SMALL["ppo"]())
    state = agent.init(jax.random.key(0))
    returns = purerl.evaluate(agent, state, jax.random.key(1), num_episodes=5)
    assert returns.shape == (5,)
    assert bool(jnp.all((returns >= 1) & (returns <= 500)))


# ------------------------------------------------------------------ validation
def test_dqn_rejects_continuous_actions():
    env, params = purerl.make_env("Pendulum-v1")
    with pytest.raises(ValueError, match="discrete action space"):
        dqn.make(env, params, dqn.Config())


def test_unknown_env_id():
    with pytest.raises(ValueError, match="Did you mean: CartPole-v1"):
        purerl.make_env("Cartpole-v1")


def test_minibatches_must_divide_batch():
    with pytest.raises(ValueError, match="not divisible by num_minibatches"):
        ppo.Config(num_envs=3, num_steps=10, num_minibatches=4)


def test_shape_fields_must_be_ints():
    with pytest.raises(ValueError, match="num_envs"):
        ppo.Config(num_envs=4.0)
    with pytest.raises(ValueError, match="objective"):
        ppo.Config(objective="trust-region")
