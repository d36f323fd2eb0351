"""A3C: deterministic staleness of the asynchronous workers, W=1 is A2C, learning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import a2c, a3c

SMALL = dict(total_timesteps=4000, num_envs=2, num_steps=5)


@pytest.fixture(scope="module")
def cartpole():
    return purerl.make_env("CartPole-v1")


def test_gradients_are_stale_in_staggered_order(cartpole):
    env, params = cartpole
    agent = a3c.make(env, params, a3c.Config(num_workers=3, **SMALL))
    state = agent.init(jax.random.key(0))
    update = jax.jit(agent.update)
    state1, m1 = update(state)
    # First round: worker w read the initial parameters and applies the (w+1)-th update,
    # so its gradient is w updates stale: 0, 1, 2.
    assert float(m1["staleness"]) == pytest.approx(1.0)
    assert float(m1["staleness_max"]) == 2.0
    assert state1.worker_version.tolist() == [1, 2, 3] and int(state1.version) == 3
    state2, m2 = update(state1)
    # Steady state: every gradient is W - 1 = 2 updates old when it is applied ...
    assert float(m2["staleness"]) == 2.0 and float(m2["staleness_max"]) == 2.0
    # ... so it was computed at parameters that differ from the ones it is applied to.
    assert float(m2["param_lag"]) > 0.0
    # Every worker's copy is the shared parameters as they were when it last wrote.
    for w in range(3):
        assert (
            not jax.tree.all(
                jax.tree.map(
                    lambda a, b, w=w: jnp.array_equal(a[w], b), state2.worker_params, state2.params
                )
            )
            or w == 2
        )
    last = jax.tree.map(lambda x: x[2], state2.worker_params)
    assert jax.tree.all(jax.tree.map(jnp.array_equal, last, state2.params))


def test_one_worker_is_exactly_a2c(cartpole):
    env, params = cartpole
    fields = dict(total_timesteps=400, num_envs=4, num_steps=5, learning_rate=1e-3)
    ag2 = a2c.make(env, params, a2c.Config(**fields))
    ag3 = a3c.make(env, params, a3c.Config(num_workers=1, **fields))
    assert ag2.num_updates == ag3.num_updates == 20
    key = jax.random.key(3)
    s2, m2 = purerl.train(ag2, key)
    s3, m3 = purerl.train(ag3, key)
    assert jax.tree.all(jax.tree.map(jnp.array_equal, s2.params, s3.params))
    for k in m2:
        np.testing.assert_array_equal(m2[k], m3[k], err_msg=k)
    assert float(m3["staleness_max"].max()) == 0.0 and float(m3["param_lag"].max()) == 0.0


def test_config_counts_steps_per_round():
    c = a3c.Config(num_workers=4, num_envs=2, num_steps=5, total_timesteps=4000)
    assert c.batch_size == 40 and c.num_updates == 100
    with pytest.raises(ValueError, match="num_workers"):
        a3c.Config(num_workers=0)


@pytest.mark.learning
def test_a3c_solves_cartpole(cartpole, train_eval):
    env, params = cartpole
    run = train_eval(a3c.make(env, params, a3c.Config()))  # 4 workers x 4 envs, 500k steps
    assert float(run.metrics["staleness"][:, 1:].min()) == 3.0
    assert run.returns.mean() >= 450, run.returns
