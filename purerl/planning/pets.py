"""PETS (Chua et al. 2018): model-predictive control with a learned probabilistic ensemble.

`make(env, env_params, config) -> Agent`: `init` collects `random_steps` steps per env with
uniform-random actions and fits the ensemble; each `update` collects `num_steps` steps per
env with the MPC planner (`purerl.planning.mpc.plan`; trajectory sampling over the
ensemble's members), adds them to the replay buffer, renormalises and refits the ensemble
for `train_steps` maximum-likelihood gradient steps (one bootstrap batch per member). `act`
plans from a cold start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl import envs
from purerl.core import counter
from purerl.core import validation as V
from purerl.core.buffers import make_replay_buffer
from purerl.core.rollout import env_step, episode_metrics, reset_envs, rollout
from purerl.envs import wrappers as w
from purerl.nets import ACTIVATIONS
from purerl.planning import mpc
from purerl.planning.models import EnsembleParams, make_ensemble
from purerl.planning.mpc import action_bounds, plan
from purerl.planning.planners import ensemble_objective
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(mpc.Config):
    """PETS hyper-parameters: the planner's (`mpc.Config`) and the learned model's.

    Defaults: PETS with CEM on Pendulum-v1, sized for a CPU (PETS itself used 5 members of
    200x3 units, 20 particles, 400 samples and 5 iterations).
    """

    total_timesteps: int = 3_000  # env steps of one training run (per seed)
    num_envs: int = 1
    num_steps: int = 100  # env steps per env between model refits
    random_steps: int = 200  # env steps per env of uniform-random acting in init (>= 1)
    num_members: int = 5  # ensemble size E
    num_particles: int = 5  # particles per sequence; a multiple of num_members
    propagation: str = "ts_inf"  # "ts_inf" (member fixed per particle) | "ts1" (resampled)
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "swish"
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    nll_beta: float = 0.5  # beta-NLL weight (0: the plain Gaussian NLL of PETS)
    batch_size: int = 256  # per member
    train_steps: int = 300  # gradient steps per refit
    buffer_size: int = 100_000

    def __post_init__(self):
        super().__post_init__()
        c = self._name()
        for name in (
            "total_timesteps",
            "num_envs",
            "num_steps",
            "num_members",
            "num_particles",
            "batch_size",
            "buffer_size",
            "random_steps",
            "train_steps",
        ):
            V.check_int(c, name, getattr(self, name))
        V.check_choice(c, "propagation", self.propagation, {"ts_inf", "ts1"})
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_positive(c, "weight_decay", self.weight_decay, allow_zero=True)
        V.check_unit(c, "nll_beta", self.nll_beta)
        V.check_sizes(c, "hidden_sizes", self.hidden_sizes)
        V.check_choice(c, "activation", self.activation, set(ACTIVATIONS))
        if self.num_particles % self.num_members:
            raise ValueError(
                f"{c}: num_particles {self.num_particles} must be a multiple of "
                f"num_members {self.num_members} (each member propagates the same number)"
            )
        if self.batch_size > self.buffer_size:
            raise ValueError(f"{c}: batch_size {self.batch_size} > buffer_size {self.buffer_size}")
        first = self.num_envs * (self.random_steps + self.num_steps)
        if self.total_timesteps < first:
            raise ValueError(
                f"{c}: total_timesteps {self.total_timesteps} is less than the random "
                f"steps plus one update (num_envs * (random_steps + num_steps) = {first})"
            )

    @property
    def num_updates(self) -> int:
        random = self.num_envs * self.random_steps
        return (self.total_timesteps - random) // (self.num_envs * self.num_steps)


@struct.dataclass
class State:
    """Train state of the learned-model MPC agent (a pytree)."""

    model: EnsembleParams  # ensemble parameters and data normaliser
    opt_state: optax.OptState
    buffer_state: object  # every transition so far (obs, action, reward, next_obs)
    env_state: object  # [num_envs]
    obs: jax.Array  # [num_envs, obs_dim]
    plan: jax.Array  # [num_envs, H, A] warm starts
    key: jax.Array
    step: counter.Count  # updates done (wide: exact past 2^31)


def _check_env(env, env_params):
    e = env
    while isinstance(e, w.Wrapper):
        if isinstance(e, w.NormalizeObservation | w.NormalizeReward):
            raise ValueError(
                "pets.make learns the dynamics of raw observations and rewards; build the env "
                "without normalize_obs / normalize_reward (the ensemble normalises its data)"
            )
        e = e._env
    low, high = action_bounds(env, env_params)
    shape = envs.obs_shape(env, env_params)
    if len(shape) != 1:
        raise ValueError(f"pets.make needs flat observations [obs_dim], got shape {shape}")
    return low, high, shape[0]


def make(env, env_params, config: Config = Config()) -> Agent:
    """PETS: MPC with a learned probabilistic ensemble, for a continuous-action `env` with
    flat observations and no terminal states (the model predicts none). Raises ValueError
    on bad input."""
    if not isinstance(config, Config):
        raise ValueError(f"pets.make expects a pets.Config, got {type(config).__name__}")
    low, high, obs_dim = _check_env(env, env_params)
    act_dim = low.shape[0]
    act_shape = tuple(env.action_space(env_params).shape)
    ens = make_ensemble(
        obs_dim,
        act_dim,
        config.num_members,
        tuple(config.hidden_sizes),
        config.activation,
        beta=config.nll_beta,
    )
    tx = optax.adamw(config.learning_rate, weight_decay=config.weight_decay)
    buffer = make_replay_buffer(config.buffer_size, config.batch_size)
    B, T, E = config.num_envs, config.num_steps, config.num_members
    plan0 = jnp.broadcast_to((low + high) / 2, (config.horizon, act_dim))

    def objective(params, obs):
        return ensemble_objective(
            ens, params, obs, config.num_particles, config.propagation, config.discount
        )

    def items(traj):
        flat = lambda x: x.reshape((-1,) + x.shape[2:])
        return {
            "obs": flat(traj.obs),
            "action": flat(traj.action).reshape(-1, act_dim),
            "reward": flat(traj.reward),
            "next_obs": flat(traj.next_obs),
        }

    def fit(key, params, opt_state, buffer_state):
        data = jax.tree.map(lambda x: x[0], buffer_state.experience)
        filled = jnp.arange(config.buffer_size) < buffer.size(buffer_state)
        params = ens.fit_normalizer(
            params, data["obs"], data["action"], data["next_obs"], data["reward"], filled
        )
        grad_fn = jax.value_and_grad(ens.loss, has_aux=True)

        def grad_step(carry, k):
            net, opt_state = carry
            batch = jax.vmap(buffer.sample, in_axes=(None, 0))(buffer_state, jax.random.split(k, E))
            (loss, nll), grads = grad_fn(net, params.norm, batch)
            updates, opt_state = tx.update(grads, opt_state, net)
            return (optax.apply_updates(net, updates), opt_state), (loss, nll)

        keys = jax.random.split(key, config.train_steps)
        (net, opt_state), (loss, nll) = jax.lax.scan(grad_step, (params.net, opt_state), keys)
        return params.replace(net=net), opt_state, {"model/loss": loss[-1], "model/nll": nll[-1]}

    def init(key) -> State:
        k_env, k_net, k_roll, k_fit, k_state = jax.random.split(key, 5)
        obs, env_state = reset_envs(k_env, env, env_params, B)

        def random_policy(obs, k):
            a = jax.random.uniform(k, (obs.shape[0], act_dim), minval=low, maxval=high)
            return a.reshape((obs.shape[0], *act_shape)), {}

        env_state, obs, traj = rollout(
            k_roll, env, env_params, random_policy, env_state, obs, config.random_steps
        )
        data = items(traj)
        buffer_state = buffer.add(buffer.init(jax.tree.map(lambda x: x[0], data)), data)
        params = ens.init(k_net)
        params, opt_state, _ = fit(k_fit, params, tx.init(params.net), buffer_state)
        return State(
            model=params,
            opt_state=opt_state,
            buffer_state=buffer_state,
            env_state=env_state,
            obs=obs,
            plan=jnp.broadcast_to(plan0, (B, *plan0.shape)),
            key=k_state,
            step=counter.zero(),
        )

    def update(state: State):
        key, k_roll, k_fit = jax.random.split(state.key, 3)

        def one_plan(k, obs, prev):
            return plan(k, objective(state.model, obs), prev, config, low, high)

        def step(carry, k):
            env_state, obs, plans = carry

            def policy(obs, k):
                a, nxt, info = jax.vmap(one_plan)(jax.random.split(k, B), obs, plans)
                return a.reshape((B, *act_shape)), {"plan": nxt, "plan_return": info["return"]}

            env_state, obs, tr = env_step(k, env, env_params, policy, env_state, obs)
            plans = jnp.where(tr.done.reshape((B, 1, 1)), plan0, tr.extras["plan"])
            return (env_state, obs, plans), (tr._replace(extras={}), tr.extras["plan_return"])

        (env_state, obs, plans), (traj, plan_returns) = jax.lax.scan(
            step, (state.env_state, state.obs, state.plan), jax.random.split(k_roll, T)
        )
        buffer_state = buffer.add(state.buffer_state, items(traj))
        params, opt_state, fit_metrics = fit(k_fit, state.model, state.opt_state, buffer_state)
        metrics = {
            **fit_metrics,
            "plan_return": plan_returns.mean(),
            "env_steps": B * config.random_steps + counter.to_float(state.step + 1, B * T),
        }
        metrics.update(episode_metrics(traj.info))
        new_state = State(
            model=params,
            opt_state=opt_state,
            buffer_state=buffer_state,
            env_state=env_state,
            obs=obs,
            plan=plans,
            key=key,
            step=state.step + 1,
        )
        return new_state, metrics

    def act(state: State, obs, key):
        a, _, _ = plan(key, objective(state.model, obs), plan0, config, low, high)
        return a.reshape(act_shape)

    return Agent(init, update, act, config.num_updates, env, env_params, config)
