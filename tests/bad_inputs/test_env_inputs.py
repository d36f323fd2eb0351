"""`make_env` checks env params and a user env's reset/step agreement once, by
`jax.eval_shape` (no compile), before any training (issue 15)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
from flax import struct
from gymnax.environments import environment, spaces

import purerl


@struct.dataclass
class State:
    x: jax.Array
    time: int


@struct.dataclass
class Params:
    max_steps_in_episode: int = 10


class Walk(environment.Environment):
    """A user's gymnax env; each keyword breaks one thing about `step_env`."""

    def __init__(self, step_obs=None, reward=None, terminated=None, state_x=None):
        super().__init__()
        self.step_obs, self.reward, self.terminated, self.state_x = (
            step_obs,
            reward,
            terminated,
            state_x,
        )

    @property
    def default_params(self):
        return Params()

    def reset_env(self, key, params):
        x = jax.random.uniform(key, (3,))
        return x, State(x=x, time=0)

    def step_env(self, key, state, action, params):
        x = state.x + action
        if self.state_x is not None:
            x = self.state_x(x)
        new = State(x=x, time=state.time + 1)
        obs = x if self.step_obs is None else self.step_obs(x)
        reward = jnp.sum(x) if self.reward is None else self.reward(x)
        term = x[0] > 1.0 if self.terminated is None else self.terminated(x)
        return obs, new, reward, term, {}

    def action_space(self, params=None):
        return spaces.Discrete(2)

    def observation_space(self, params):
        return spaces.Box(0.0, 1.0, (3,))


class DuckEnv:
    """Not a gymnax subclass: only `reset`, `step` and the spaces (checked through them)."""

    default_params = None

    def reset(self, key, params=None):
        return jnp.zeros(3), jnp.zeros(())

    def step(self, key, state, action, params=None):
        return jnp.zeros(4), state, jnp.zeros(()), jnp.array(False), jnp.array(False), {}

    def action_space(self, params=None):
        return spaces.Discrete(2)

    def observation_space(self, params=None):
        return spaces.Box(0.0, 1.0, (3,))


def test_a_correct_user_env_is_accepted():
    env, params = purerl.make_env(Walk())
    assert params == Params()
    obs, _ = env.reset(jax.random.key(0), params)
    assert obs.shape == (3,)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1", "BitFlip-v0", "Breakout-MinAtar"])
def test_registered_envs_pass_the_checks(env_id):
    purerl.make_env(env_id)


@pytest.mark.parametrize(
    ("env_id", "bad", "names"),
    [
        ("CartPole-v1", (500,), ["env_params", "EnvParams", "tuple"]),
        ("CartPole-v1", 500, ["env_params", "int"]),
        ("CartPole-v1", "default", ["env_params", "str"]),
    ],
)
def test_wrong_env_params_type(raises_clearly, env_id, bad, names):
    with raises_clearly(TypeError, *names):
        purerl.make_env(env_id, env_params=bad)


def test_dict_env_params_override_known_fields_and_name_unknown_ones(raises_clearly):
    """A dict (with an env id) replaces fields of the defaults; a name the params do not
    have is a clear error naming it (not a failure deep inside the env's step)."""
    _, params = purerl.make_env("CartPole-v1", env_params={"max_steps_in_episode": 10})
    assert params.max_steps_in_episode == 10
    with raises_clearly(ValueError, "env_params", "max_step"):
        purerl.make_env("CartPole-v1", env_params={"max_step": 10})


def test_another_env_s_params(raises_clearly):
    _, pendulum_params = purerl.make_env("Pendulum-v1")
    with raises_clearly(TypeError, "env_params", "CartPole", "EnvParams"):
        purerl.make_env("CartPole-v1", env_params=pendulum_params)


def test_user_env_params_as_dict(raises_clearly):
    with raises_clearly(TypeError, "env_params", "Params", "dict"):
        purerl.make_env(Walk(), env_params={"max_steps_in_episode": 5})


@pytest.mark.parametrize(
    ("env", "names"),
    [
        (Walk(step_obs=lambda x: jnp.concatenate([x, x])), ["observations differ", "(3,)", "(6,)"]),
        (Walk(step_obs=lambda x: x.astype(jnp.int32)), ["observations differ", "int32", "float32"]),
        (Walk(step_obs=lambda x: x[None]), ["observations differ", "(1, 3)"]),
        (Walk(step_obs=lambda x: {"obs": x}), ["observations differ", "['obs']"]),
        (
            Walk(state_x=lambda x: x.astype(jnp.float16), step_obs=lambda x: x.astype(jnp.float32)),
            ["states differ", "float16"],
        ),
        (Walk(reward=lambda x: x), ["reward", "(3,)", "shape ()"]),
        (Walk(reward=lambda x: x[0] > 0), ["reward", "bool"]),
        (Walk(reward=lambda x: {"r": x[0]}), ["reward", "pytree"]),
        (Walk(terminated=lambda x: x > 1.0), ["terminated", "(3,)"]),
        (Walk(terminated=lambda x: x[0]), ["terminated", "float32"]),
        (DuckEnv(), ["observations differ", "(3,)", "(4,)"]),
    ],
)
def test_user_env_reset_and_step_disagree(raises_clearly, env, names):
    with raises_clearly(ValueError, "make_env", *names):
        purerl.make_env(env)


@pytest.mark.parametrize("algo", ["ppo", "dqn", "td3", "sac"])
def test_make_with_dict_env_params_names_them(raises_clearly, algo):
    """Params that did not come from `make_env` (a dict) reach an algorithm's `make`
    directly: a clear error before JAX traces the env with them."""
    import importlib

    import gymnax

    mod = importlib.import_module(f"purerl.algos.{algo}")
    env_id = "Pendulum-v1" if algo in ("td3", "sac") else "CartPole-v1"
    env, _ = gymnax.make(env_id)
    with raises_clearly(TypeError, "make", "env_params", "dict"):
        mod.make(env, {"max_steps_in_episode": 10}, mod.Config())
