"""DAgger: Dataset Aggregation (Ross, Gordon and Bagnell 2011).

Behaviour cloning trains on the expert's state distribution and then acts on its own,
where small errors compound (O(T^2 eps) regret). DAgger trains on the states the learner
visits: in round i it rolls out the mixture policy

  pi_i = beta_i pi* + (1 - beta_i) pi_hat_i   (per step: the expert acts with prob. beta_i)

queries the expert pi* on every visited state s, aggregates D <- D u {(s, pi*(s))} and
retrains pi_hat_{i+1} by behaviour cloning on D (`purerl.imitation.policy`'s loss, warm
started from pi_hat_i). Beta schedules (round i = 0, 1, ...):

  exponential:  beta_i = beta_decay ** i                      (Ross et al.'s beta_i = p^(i-1))
  linear:       beta_i = max(0, 1 - i / rampdown_rounds)

Ross et al.'s first round uses pi_1 = pi* to collect D_1: given `demos`, they stand for
that round, D starts as the demos and the schedule starts at i = 1 (beta_1); without demos
round 0 has beta_0 = 1. The aggregated dataset is a bounded FIFO buffer
(`purerl.core.buffers`, `buffer_size` pairs; the oldest are dropped when full), so the
state keeps a fixed shape and `update` stays pure. Each `update` is one round:
`num_envs * num_steps` env steps, then `gradient_steps` Adam steps on minibatches drawn
uniformly from D. The expert is any pure `act_fn(obs, key) -> action` (unbatched).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl import envs
from purerl.core import counter, onpolicy, schedules
from purerl.core import validation as V
from purerl.core.buffers import make_replay_buffer
from purerl.core.rollout import episode_metrics, rollout
from purerl.imitation.demos import Demos, check_demos, flatten_episodes
from purerl.imitation.policy import Policy, PolicyConfig, sgd_step
from purerl.types import Agent

__all__ = ["Config", "State", "beta_schedule", "make", "mixture_action"]

SCHEDULES = ("exponential", "linear")


@dataclasses.dataclass(frozen=True)
class Config(PolicyConfig):
    """DAgger hyper-parameters: `PolicyConfig`'s, plus the rounds and the beta schedule."""

    total_timesteps: int = 10_000  # env steps of the mixture rollouts, all rounds
    num_envs: int = 4
    num_steps: int = 250  # steps per env per round
    gradient_steps: int = 500  # Adam steps on the aggregate dataset per round
    beta_schedule: str = "exponential"  # "exponential" | "linear"
    beta_decay: float = 0.5  # exponential: beta_i = beta_decay ** i
    rampdown_rounds: int = 4  # linear: beta_i = max(0, 1 - i / rampdown_rounds)
    buffer_size: int | None = None  # capacity of D; None: the demos + total_timesteps

    def __post_init__(self):
        super().__post_init__()
        c = "dagger.Config"
        self._validate(c)
        for name in ("total_timesteps", "num_envs", "num_steps", "gradient_steps"):
            V.check_int(c, name, getattr(self, name))
        V.check_choice(c, "beta_schedule", self.beta_schedule, set(SCHEDULES))
        V.check_unit(c, "beta_decay", self.beta_decay)
        V.check_int(c, "rampdown_rounds", self.rampdown_rounds)
        if self.buffer_size is not None:
            V.check_int(c, "buffer_size", self.buffer_size)
            if self.buffer_size < self.steps_per_round:
                raise ValueError(
                    f"{c}: buffer_size {self.buffer_size} cannot hold one round "
                    f"(num_envs * num_steps = {self.steps_per_round})"
                )
        V.check_budget(
            c,
            self.total_timesteps,
            self.steps_per_round,
            f"one round (num_envs * num_steps = {self.steps_per_round})",
        )

    @property
    def steps_per_round(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.steps_per_round


@struct.dataclass
class State:
    """DAgger train state (a pytree)."""

    params: dict
    opt_state: optax.OptState
    buffer_state: object  # the aggregated dataset D of (obs, expert action)
    env_state: object  # [num_envs]
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: counter.Count  # rounds done (wide: exact past 2^31)


# ------------------------------------------------------------------- pure pieces
def beta_schedule(i, schedule: str, beta_decay=0.5, rampdown_rounds: int = 4):
    """beta_i of round `i` (module doc): the probability that the expert acts."""
    i = jnp.asarray(i, jnp.float32)
    if schedule == "exponential":
        return jnp.asarray(beta_decay, jnp.float32) ** i
    if schedule == "linear":
        return schedules.linear(1.0, 0.0, rampdown_rounds)(i)
    raise ValueError(f"beta_schedule: unknown schedule {schedule!r}; choose from {SCHEDULES}")


def mixture_action(key, beta, expert_action, learner_action):
    """Per state, the expert's action with probability `beta`, else the learner's.

    Actions `[B, ...]`; returns `(action [B, ...], from_expert [B] bool)`.
    """
    from_expert = jax.random.bernoulli(key, beta, expert_action.shape[:1])
    m = from_expert.reshape(from_expert.shape + (1,) * (expert_action.ndim - 1))
    return jnp.where(m, expert_action, learner_action), from_expert


def _check_expert(expert_act_fn, env, env_params) -> None:
    if not callable(expert_act_fn):
        raise ValueError("dagger.make: expert_act_fn must be a function act_fn(obs, key)")
    obs, _ = jax.eval_shape(lambda k: env.reset(k, env_params), jax.random.key(0))
    try:
        out = jax.eval_shape(expert_act_fn, obs, jax.random.key(0))
    except Exception as e:  # noqa: BLE001 - report what the expert did wrong, at make time
        raise ValueError(f"dagger.make: expert_act_fn(obs {obs.shape}, key) failed: {e}") from e
    if envs.is_discrete(env, env_params):
        if out.shape != () or not jnp.issubdtype(out.dtype, jnp.integer):
            raise ValueError(
                f"dagger.make: the expert must return an integer scalar action for "
                f"{envs.env_name(env)}, got {out.dtype}{list(out.shape)}"
            )
    elif out.shape != envs.action_shape(env, env_params):
        raise ValueError(
            f"dagger.make: the expert returns actions of shape {out.shape}, "
            f"{envs.env_name(env)} takes {envs.action_shape(env, env_params)}"
        )


# ------------------------------------------------------------------------- make
def make(
    env,
    env_params,
    expert_act_fn: Callable,
    config: Config = Config(),
    demos: Demos | None = None,
) -> Agent:
    """DAgger for `env` with the expert `expert_act_fn(obs, key) -> action` (unbatched,
    pure), starting from `demos` if given.

    Raises:
      ValueError: a wrong config type, an expert whose actions do not fit `env`, demos that
        do not fit `env`, or `loss="mse"` with discrete actions.
    """
    if not isinstance(config, Config):
        raise ValueError(f"dagger.make expects a dagger.Config, got {type(config).__name__}")
    _check_expert(expert_act_fn, env, env_params)
    policy = Policy(env, env_params, config, "dagger.make")
    first = 0
    data0 = None
    if demos is not None:
        check_demos(demos, "dagger.make", env, env_params)
        flat = flatten_episodes(demos)
        data0 = {"obs": jnp.asarray(flat.obs), "action": jnp.asarray(flat.action)}
        first = 1
    M0 = 0 if data0 is None else int(data0["obs"].shape[0])
    capacity = config.buffer_size or (M0 + config.num_updates * config.steps_per_round)
    if data0 is not None and capacity < M0:
        raise ValueError(
            f"dagger.make: the demos have {M0} steps, more than buffer_size {capacity}"
        )
    buffer = make_replay_buffer(capacity, config.batch_size)
    B, T = config.num_envs, config.num_steps
    expert_batch = jax.vmap(expert_act_fn)

    def beta(i):
        return beta_schedule(i, config.beta_schedule, config.beta_decay, config.rampdown_rounds)

    def init(key) -> State:
        params, env_state, obs, k_state = onpolicy.init_net_and_envs(
            key, policy, env, env_params, B
        )
        example = jax.eval_shape(expert_act_fn, obs[0], jax.random.key(0))
        item = {"obs": obs[0], "action": jnp.zeros(example.shape, example.dtype)}
        buffer_state = buffer.init(item)
        if data0 is not None:
            cast = jax.tree.map(lambda x, ref: x.astype(ref.dtype), data0, item)
            buffer_state = buffer.add(buffer_state, cast)
        return State(
            params=params,
            opt_state=policy.tx.init(params),
            buffer_state=buffer_state,
            env_state=env_state,
            obs=obs,
            key=k_state,
            step=counter.zero(),
        )

    def update(state: State):
        key, k_roll, k_learn = jax.random.split(state.key, 3)
        beta_i = beta(counter.to_float(state.step + first))

        def mixture(obs, k):
            k_exp, k_mix = jax.random.split(k)
            a_exp = expert_batch(obs, jax.random.split(k_exp, obs.shape[0]))
            a_learn = policy.act(state.params, obs).astype(a_exp.dtype)
            action, from_expert = mixture_action(k_mix, beta_i, a_exp, a_learn)
            return action, {"expert_action": a_exp, "learner_action": a_learn, "from": from_expert}

        env_state, obs, traj = rollout(
            k_roll, env, env_params, mixture, state.env_state, state.obs, T
        )
        a_exp, a_learn = traj.extras["expert_action"], traj.extras["learner_action"]
        visited = {"obs": traj.obs, "action": a_exp}
        visited = jax.tree.map(lambda x: x.reshape((T * B,) + x.shape[2:]), visited)
        buffer_state = buffer.add(state.buffer_state, visited)

        def step(carry, k):
            params, opt_state = carry
            batch = buffer.sample(buffer_state, k)
            params, opt_state, aux = sgd_step(policy, params, opt_state, batch)
            return (params, opt_state), aux

        (params, opt_state), aux = jax.lax.scan(
            step,
            (state.params, state.opt_state),
            jax.random.split(k_learn, config.gradient_steps),
        )
        metrics = jax.tree.map(jnp.mean, aux)
        # the learner against the expert on the visited states, before this round's training
        if policy.discrete:
            metrics["learner_agreement"] = jnp.mean((a_exp == a_learn).astype(jnp.float32))
        else:
            metrics["learner_mse"] = jnp.mean(jnp.sum(jnp.square(a_exp - a_learn), axis=-1))
        metrics.update(
            beta=beta_i,
            expert_fraction=jnp.mean(traj.extras["from"].astype(jnp.float32)),
            dataset_size=buffer.size(buffer_state),
            env_steps=counter.to_float(state.step + 1, T * B),
        )
        metrics.update(episode_metrics(traj.info))
        new_state = State(
            params=params,
            opt_state=opt_state,
            buffer_state=buffer_state,
            env_state=env_state,
            obs=obs,
            key=key,
            step=state.step + 1,
        )
        return new_state, metrics

    def act(state: State, obs, key):
        return policy.act(state.params, obs)

    return Agent(init, update, act, config.num_updates, env, env_params, config)
