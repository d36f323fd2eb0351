"""Bad arguments to the public entry points: `train`, `evaluate`, `train_many` and the
families' `make` functions raise a clear error naming the argument, before tracing (issue
15). Nothing here compiles: every error comes before `jit` (states are built abstractly
with `jax.eval_shape` where a check needs one)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import ddpg, dqn, ppo, reinforce, sac, vpg
from purerl.imitation import bc, dac, dagger, gail
from purerl.planning import alphazero, mcts, mpc, pets

CART = purerl.make_env("CartPole-v1")
PEND = purerl.make_env("Pendulum-v1")
VPG_CFG = vpg.Config(total_timesteps=64, num_envs=2, num_steps=32, hidden_sizes=(8,))


@pytest.fixture(scope="module")
def agent():
    return vpg.make(*CART, VPG_CFG)


def zeros_like_state(agent, key=None):
    """A state of the agent's structure without running (or compiling) init."""
    spec = jax.eval_shape(agent.init, jax.random.key(0) if key is None else key)

    def leaf(s):
        if jnp.issubdtype(s.dtype, jax.dtypes.prng_key):
            return jax.random.split(jax.random.key(0), s.shape) if s.shape else jax.random.key(0)
        return jnp.zeros(s.shape, s.dtype)

    return jax.tree.map(leaf, spec)


@pytest.mark.parametrize(
    ("key", "exc", "names"),
    [
        (0, TypeError, ["key", "PRNG key", "int"]),
        ("seed", TypeError, ["key", "str"]),
        (np.int64(3), TypeError, ["key", "int64"]),
        (jnp.zeros(2), TypeError, ["key", "float32"]),
        (jax.random.split(jax.random.key(0), 4), ValueError, ["key", "single key", "(4,)"]),
    ],
)
def test_train_key(raises_clearly, agent, key, exc, names):
    with raises_clearly(exc, "train", *names):
        purerl.train(agent, key)


@pytest.mark.parametrize(
    ("kwargs", "exc", "names"),
    [
        ({"num_updates": -1}, ValueError, ["num_updates", "non-negative int"]),
        ({"num_updates": 2.0}, TypeError, ["num_updates", "float"]),
        ({"num_updates": True}, TypeError, ["num_updates", "bool"]),
        ({"progress_every": 0}, ValueError, ["progress_every"]),
        ({"progress": "print"}, TypeError, ["progress", "callable"]),
        ({"stop_on_nonfinite": "yes"}, TypeError, ["stop_on_nonfinite"]),
    ],
)
def test_train_arguments(raises_clearly, agent, kwargs, exc, names):
    with raises_clearly(exc, "train", *names):
        purerl.train(agent, jax.random.key(0), **kwargs)


def test_train_needs_a_key_or_a_state(raises_clearly, agent):
    with raises_clearly(ValueError, "key", "state"):
        purerl.train(agent)


@pytest.mark.parametrize("not_agent", [VPG_CFG, "vpg", None, (lambda k: k)])
def test_train_not_an_agent(raises_clearly, not_agent):
    with raises_clearly(TypeError, "train", "agent", "purerl.Agent"):
        purerl.train(not_agent, jax.random.key(0))


def test_train_another_algorithm_s_state(raises_clearly, agent):
    other = reinforce.make(*CART, reinforce.Config(total_timesteps=1000, num_envs=2, num_steps=500))
    state = zeros_like_state(other)
    with raises_clearly(TypeError, "train", "state", "reinforce.State", "vpg.State"):
        purerl.train(agent, state=state)


def test_train_a_state_of_another_config(raises_clearly, agent):
    other = vpg.make(*CART, dataclasses.replace(VPG_CFG, hidden_sizes=(16,)))
    with raises_clearly(ValueError, "train", "state", "kernel", "[4, 16]", "[4, 8]"):
        purerl.train(agent, state=zeros_like_state(other))


def test_train_a_state_of_another_env(raises_clearly):
    cart = dqn.make(*CART, dqn.Config(total_timesteps=100, learning_starts=10, hidden_sizes=(8,)))
    acro = dqn.make(
        *purerl.make_env("Acrobot-v1"),
        dqn.Config(total_timesteps=100, learning_starts=10, hidden_sizes=(8,)),
    )
    with raises_clearly(
        ValueError, "train", "state", ".obs: float32[10, 6] instead of float32[10, 4]"
    ):
        purerl.train(cart, state=zeros_like_state(acro))


def test_train_a_pytree_that_is_not_a_state(raises_clearly, agent):
    with raises_clearly(TypeError, "train", "state", "dict"):
        purerl.train(agent, state={"params": jnp.zeros(3)})


def test_a_state_from_legacy_keys_is_accepted_by_the_check(agent):
    from purerl.core import arguments

    state = zeros_like_state(agent, key=jax.random.PRNGKey(0))
    arguments.check_state("train", agent, state)  # no error


@pytest.mark.parametrize(
    ("call", "exc", "names"),
    [
        (lambda a, s: purerl.evaluate(a, s, 0), TypeError, ["evaluate", "key", "int"]),
        (lambda a, s: purerl.evaluate(a, s, None), TypeError, ["evaluate", "key", "none"]),
        (
            lambda a, s: purerl.evaluate(a, s, jax.random.key(0), max_steps=0),
            ValueError,
            ["evaluate", "max_steps"],
        ),
        (
            lambda a, s: purerl.evaluate(a, s, jax.random.key(0), max_steps=2.5),
            TypeError,
            ["evaluate", "max_steps", "float"],
        ),
        (lambda a, s: purerl.evaluate(VPG_CFG, s, jax.random.key(0)), TypeError, ["agent"]),
    ],
)
def test_evaluate_arguments(raises_clearly, agent, call, exc, names):
    with raises_clearly(exc, *names):
        call(agent, zeros_like_state(agent))


def test_evaluate_another_algorithm_s_state(raises_clearly):
    pend_sac = sac.make(*PEND, sac.Config(total_timesteps=100, learning_starts=10))
    pend_ddpg = ddpg.make(*PEND, ddpg.Config(total_timesteps=100, learning_starts=10))
    with raises_clearly(TypeError, "evaluate", "state", "sac.State", "ddpg.State"):
        purerl.evaluate(pend_ddpg, zeros_like_state(pend_sac), jax.random.key(0))


def test_evaluate_a_state_of_another_config(raises_clearly, agent):
    other = vpg.make(*CART, dataclasses.replace(VPG_CFG, hidden_sizes=(8, 8)))
    with raises_clearly(ValueError, "evaluate", "state", "Dense_1", "extra"):
        purerl.evaluate(agent, zeros_like_state(other), jax.random.key(0))


KEYS = jax.random.split(jax.random.key(0), 2)


@pytest.mark.parametrize(
    ("call", "exc", "names"),
    [
        (lambda a: purerl.train_many(a, KEYS[:0]), ValueError, ["train_many", "keys", "0 keys"]),
        (lambda a: purerl.train_many(a, jax.random.key(0)), ValueError, ["keys", "1-d", "()"]),
        (lambda a: purerl.train_many(a, 0), TypeError, ["train_many", "keys", "int"]),
        (lambda a: purerl.train_many(a, [0, 1]), TypeError, ["keys", "list"]),
        (
            lambda a: purerl.train_many(a, jnp.zeros((0, 2), jnp.uint32)),
            ValueError,
            ["keys", "0 keys"],
        ),
        (lambda a: purerl.train_many(a, KEYS, num_updates=-2), ValueError, ["num_updates"]),
        (lambda a: purerl.train_many(a, KEYS, num_updates=1.0), TypeError, ["num_updates"]),
        (lambda a: purerl.train_many(a, KEYS, stop_on_nonfinite=1), TypeError, ["stop_on"]),
        (lambda a: purerl.train_many("ppo", KEYS), TypeError, ["train_many", "agent"]),
        (lambda a: purerl.train_many(a, KEYS, combine="outer"), ValueError, ["combine"]),
        (
            lambda a: purerl.train_many(a, KEYS, hparams={"lr": jnp.ones(2)}),
            ValueError,
            ["hparams"],
        ),
    ],
)
def test_train_many_arguments(raises_clearly, agent, call, exc, names):
    with raises_clearly(exc, *names):
        call(agent)


def test_train_many_states_of_another_algorithm(raises_clearly, agent):
    other = reinforce.make(*CART, reinforce.Config(total_timesteps=1000, num_envs=2, num_steps=500))
    states = jax.vmap(lambda k: zeros_like_state(other))(KEYS)
    with raises_clearly(TypeError, "train_many", "state", "reinforce.State"):
        purerl.train_many(agent, KEYS, states=states)


def test_train_many_states_of_another_config(raises_clearly, agent):
    other = vpg.make(*CART, dataclasses.replace(VPG_CFG, hidden_sizes=(16,)))
    states = jax.vmap(lambda k: zeros_like_state(other))(KEYS)
    with raises_clearly(ValueError, "train_many", "state", "[4, 16]"):
        purerl.train_many(agent, KEYS, states=states)


DEMOS = purerl.imitation.Demos(
    obs=np.zeros((5, 2, 4), np.float32),
    action=np.zeros((5, 2), np.int32),
    reward=np.zeros((5, 2), np.float32),
    terminated=np.zeros((5, 2), bool),
    truncated=np.zeros((5, 2), bool),
    next_obs=np.zeros((5, 2, 4), np.float32),
    mask=np.ones((5, 2), bool),
)


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda: ppo.make(*CART, dqn.Config()), ["ppo", "Config"]),
        (lambda: dqn.make(*CART, ppo.Config()), ["dqn", "Config"]),
        (lambda: bc.make(*CART, DEMOS, ppo.Config()), ["bc", "Config"]),
        (lambda: dagger.make(*CART, lambda o, k: 0, bc.Config()), ["dagger", "Config"]),
        (lambda: gail.make(*CART, DEMOS, ppo.Config()), ["gail", "Config"]),
        (lambda: dac.make(*PEND, DEMOS, sac.Config()), ["dac", "Config"]),
        (lambda: pets.make(*PEND, mpc.Config()), ["pets", "Config"]),
        (lambda: alphazero.make(*CART, mcts.Config()), ["alphazero", "Config"]),
        (lambda: mpc.controller(*PEND, ppo.Config()), ["mpc", "Config"]),
        (lambda: mcts.controller(*CART, ppo.Config()), ["Config"]),
    ],
)
def test_make_with_another_config(raises_clearly, call, names):
    with raises_clearly((TypeError, ValueError), *names):
        call()


def _controller():
    return mpc.controller(*PEND, mpc.Config(horizon=2, num_samples=4, num_elites=2))


@pytest.mark.parametrize(
    ("call", "exc", "names"),
    [
        (
            lambda: purerl.imitation.collect_demos(lambda o, k: 0, *CART, 0, 2),
            TypeError,
            ["collect_demos", "key", "int"],
        ),
        (
            lambda: purerl.imitation.collect_demos("expert", *CART, jax.random.key(0), 2),
            TypeError,
            ["collect_demos", "act_fn"],
        ),
        (
            lambda: purerl.imitation.collect_demos(lambda o, k: 0, *CART, jax.random.key(0), 0),
            ValueError,
            ["collect_demos", "num_episodes"],
        ),
        (
            lambda: purerl.planning.evaluate_controller(0, *PEND, _controller()),
            TypeError,
            ["evaluate_controller", "key"],
        ),
        (
            lambda: purerl.planning.evaluate_controller(
                jax.random.key(0), *PEND, _controller(), num_episodes=0
            ),
            ValueError,
            ["evaluate_controller", "num_episodes"],
        ),
        (
            lambda: purerl.planning.evaluate_controller(
                jax.random.key(0), *PEND, _controller(), max_steps=-1
            ),
            ValueError,
            ["evaluate_controller", "max_steps"],
        ),
        (
            lambda: purerl.planning.evaluate_controller(jax.random.key(0), *PEND, mpc.Config()),
            TypeError,
            ["evaluate_controller", "controller"],
        ),
        (
            lambda: purerl.rlhf.pipeline.run({"sft_updates": 10}),
            TypeError,
            ["pipeline.run", "config", "dict"],
        ),
    ],
)
def test_family_entry_points(raises_clearly, call, exc, names):
    with raises_clearly(exc, *names):
        call()
