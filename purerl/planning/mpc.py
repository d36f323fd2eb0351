"""Model-predictive control: receding-horizon planning, here with the true model.

At every step the planner optimises an open-loop action sequence `a [H, A]` for the return
a model predicts, executes its first action, and warm-starts the next step's search from the
plan shifted by one step. The optimiser is the cross-entropy method or MPPI
(`purerl.planning.planners`); everything is jitted and `plan` is unbatched, so a batch of
envs is a `jax.vmap`.

* `Config`: the planner's settings; `plan`: one MPC step with any objective.
* `controller(env, env_params, config)`: MPC with the true model (`true_model`), as a
  `Controller` (it plans from the env *state*); evaluate it with `evaluate_controller`.

MPC with a learned model (PETS) is `purerl.planning.pets`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from purerl.core import validation as V
from purerl.planning.control import Controller
from purerl.planning.models import Model, true_model
from purerl.planning.planners import cem, mppi, shift_plan, true_model_objective


@dataclasses.dataclass(frozen=True)
class Config(V.ConfigBase):
    """The MPC planner's settings.

    Actions are planned in the env's action space: [-1, 1] for purerl's continuous envs
    (`make_env` rescales). Defaults: those of PETS with CEM on Pendulum-v1, sized for a CPU;
    planning with the true model costs little, so give it more samples and a longer horizon.
    Error messages name the concrete class (`mpc.Config`, `pets.Config`).
    """

    method: str = "cem"  # "cem" | "mppi"
    horizon: int = 15  # H, planning horizon in env steps
    num_samples: int = 100  # N, action sequences per iteration
    num_iterations: int = 3  # optimisation rounds per env step
    num_elites: int = 10  # CEM: sequences the Gaussian is refit to
    momentum: float = 0.1  # CEM: weight of the old mean/std in the refit
    action_std: float = 0.5  # CEM: initial std; MPPI: noise std (action units)
    temperature: float = 1.0  # MPPI: softmax temperature on returns
    discount: float = 1.0  # discount of the planned return

    def _name(self) -> str:
        """`<module>.<class>` of the concrete Config, for error messages."""
        return f"{type(self).__module__.rsplit('.', 1)[-1]}.{type(self).__name__}"

    def __post_init__(self):
        super().__post_init__()
        c = self._name()
        for name in ("horizon", "num_samples", "num_iterations", "num_elites"):
            V.check_int(c, name, getattr(self, name))
        V.check_choice(c, "method", self.method, {"cem", "mppi"})
        V.check_unit(c, "momentum", self.momentum, closed_high=False)
        V.check_positive(c, "action_std", self.action_std)
        V.check_positive(c, "temperature", self.temperature)
        V.check_unit(c, "discount", self.discount)
        if self.num_elites > self.num_samples:
            raise ValueError(f"{c}: num_elites {self.num_elites} > num_samples {self.num_samples}")


def optimize(key, objective, mean, config: Config, low=-1.0, high=1.0):
    """Run the configured optimiser (`config.method`) from `mean [H, A]`."""
    if config.method == "cem":
        return cem(
            key,
            objective,
            mean,
            config.action_std,
            num_samples=config.num_samples,
            num_elites=config.num_elites,
            num_iterations=config.num_iterations,
            momentum=config.momentum,
            low=low,
            high=high,
        )
    return mppi(
        key,
        objective,
        mean,
        config.action_std,
        num_samples=config.num_samples,
        temperature=config.temperature,
        num_iterations=config.num_iterations,
        low=low,
        high=high,
    )


def plan(key, objective, prev_plan, config: Config, low=-1.0, high=1.0):
    """One MPC step: optimise from the warm start `prev_plan [H, A]`.

    Returns `(action [A], next_plan [H, A], info)`: the first action of the optimised plan,
    and the plan shifted by one step (last action repeated) to warm-start the next step.
    """
    mean, info = optimize(key, objective, prev_plan, config, low, high)
    return mean[0], shift_plan(mean, mean[-1]), info


# ---------------------------------------------------------------- true-model MPC
def action_bounds(env, env_params) -> tuple[jax.Array, jax.Array]:
    """`(low [A], high [A])` of a continuous env's action space (ValueError otherwise)."""
    space = env.action_space(env_params)
    if not isinstance(space, spaces.Box):
        raise ValueError(
            f"MPC plans continuous actions; this env's action space is {space}. "
            "Use purerl.planning.mcts for discrete actions."
        )
    shape = tuple(space.shape) or (1,)
    low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), shape).reshape(-1)
    high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), shape).reshape(-1)
    return low, high


def controller(env, env_params, config: Config = Config(), model: Model | None = None):
    """An MPC `Controller` planning with `model` (default: `true_model(env, env_params)`).

    The carry is the warm-start plan `[H, A]` (zeros, the middle of [-1, 1], at an
    episode's start). Actions have the shape of `env`'s action space.
    """
    if not isinstance(config, Config):
        raise ValueError(f"mpc.controller expects an mpc.Config, got {type(config).__name__}")
    low, high = action_bounds(env, env_params)
    model = true_model(env, env_params) if model is None else model
    shape = tuple(env.action_space(env_params).shape)
    mid = (low + high) / 2

    def init():
        return jnp.broadcast_to(mid, (config.horizon, low.shape[0]))

    def act(key, carry, env_state, obs):
        objective = true_model_objective(model, model.state_of(env_state), config.discount)
        a, carry, _ = plan(key, objective, carry, config, low, high)
        return a.reshape(shape), carry

    return Controller(init, act)
