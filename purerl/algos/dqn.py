"""Deep Q-Network (Mnih et al. 2015) with the double-DQN option (van Hasselt et al. 2016).

Each update collects `train_frequency` steps from each of `num_envs` envs with a linearly
annealed epsilon-greedy policy (uniform actions before `learning_starts`), stores the
transitions (with the true next observation) in a replay buffer, then takes
`gradient_steps` Adam steps on the TD loss (squared error, or Huber with `loss="huber"`)

  L = E[l(Q(s, a) - (r + gamma (1 - terminated) Q_target(s', a*)))]
  a* = argmax_a Q_target(s', a)   (DQN)   or   argmax_a Q(s', a)   (double DQN).

Truncated steps bootstrap (their `s'` is the true final observation). The target network
follows the online one every `target_update_interval` env steps by Polyak averaging with
`tau` (`tau=1`: a periodic hard copy).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl import envs
from purerl.core import validation as V
from purerl.core.buffers import make_replay_buffer
from purerl.core.returns import td_target
from purerl.core.rollout import episode_metrics, reset_envs, rollout
from purerl.nets import ACTIVATIONS, QNetwork
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config:
    """DQN hyper-parameters (defaults: tuned on CartPole-v1, where they solve 12 of 12 seeds
    within 100k env steps: rejax's setting with a larger batch and a smaller step size)."""

    total_timesteps: int = 100_000  # env steps of one training run (per seed)
    num_envs: int = 10
    buffer_size: int = 50_000
    batch_size: int = 256
    learning_starts: int = 5_000  # env steps of uniform-random acting before learning
    learning_rate: float = 5e-4
    anneal_lr: bool = False  # linear decay of the learning rate to 0 over the run
    gamma: float = 0.99
    target_update_interval: int = 10  # env steps between target updates
    tau: float = 0.02  # Polyak coefficient of a target update (1.0: hard copy)
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    exploration_fraction: float = 0.5  # fraction of total_timesteps to anneal epsilon over
    train_frequency: int = 1  # env steps per env between learning phases
    gradient_steps: int = 5  # gradient steps per learning phase
    double_dqn: bool = True
    loss: str = "mse"  # "mse" (0.5 squared error) | "huber" (Mnih et al. 2015)
    max_grad_norm: float = 10.0
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "swish"
    dueling: bool = True

    def __post_init__(self):
        c = "dqn.Config"
        for name in (
            "total_timesteps",
            "num_envs",
            "buffer_size",
            "batch_size",
            "target_update_interval",
            "train_frequency",
        ):
            V.check_int(c, name, getattr(self, name))
        V.check_int(c, "learning_starts", self.learning_starts, minimum=0)
        V.check_int(c, "gradient_steps", self.gradient_steps, minimum=0)
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_unit(c, "gamma", self.gamma)
        V.check_unit(c, "tau", self.tau, closed_low=False)
        V.check_unit(c, "epsilon_start", self.epsilon_start)
        V.check_unit(c, "epsilon_end", self.epsilon_end)
        V.check_unit(c, "exploration_fraction", self.exploration_fraction)
        V.check_positive(c, "max_grad_norm", self.max_grad_norm)
        V.check_sizes(c, "hidden_sizes", self.hidden_sizes)
        V.check_choice(c, "activation", self.activation, set(ACTIVATIONS))
        V.check_choice(c, "loss", self.loss, {"huber", "mse"})
        if self.batch_size > self.buffer_size:
            raise ValueError(
                f"dqn.Config: batch_size {self.batch_size} > buffer_size {self.buffer_size}"
            )
        if self.total_timesteps < self.steps_per_update:
            raise ValueError(
                f"dqn.Config: total_timesteps {self.total_timesteps} is less than one update "
                f"(num_envs * train_frequency = {self.steps_per_update})"
            )

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.train_frequency

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.steps_per_update


@struct.dataclass
class State:
    """DQN train state (a pytree)."""

    params: dict
    target_params: dict
    opt_state: optax.OptState
    buffer_state: object
    env_state: object  # [num_envs]
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: jax.Array  # updates done


# ------------------------------------------------------------------- pure pieces
def linear_schedule(start, end, duration, t):
    """`start -> end` linearly over `duration` steps, then constant at `end`."""
    frac = jnp.clip(t / jnp.maximum(duration, 1.0), 0.0, 1.0)
    return start + frac * (end - start)


def epsilon_greedy(key, q_values, epsilon):
    """Epsilon-greedy actions from `q_values [..., A]`."""
    k_explore, k_action = jax.random.split(key)
    greedy = jnp.argmax(q_values, axis=-1)
    random = jax.random.randint(k_action, greedy.shape, 0, q_values.shape[-1])
    explore = jax.random.uniform(k_explore, greedy.shape) < epsilon
    return jnp.where(explore, random, greedy).astype(jnp.int32)


def q_targets(q_next_target, q_next_online, r_t, terminated_t, gamma, double_dqn):
    """One-step (double) DQN targets. `q_next_*` are `[N, A]` at the true next obs."""
    if double_dqn:
        a_star = jnp.argmax(q_next_online, axis=-1)
    else:
        a_star = jnp.argmax(q_next_target, axis=-1)
    v_tp1 = jnp.take_along_axis(q_next_target, a_star[:, None], axis=-1)[:, 0]
    return td_target(r_t, v_tp1, terminated_t, gamma)


def td_loss(q_tm1, a_tm1, target, delta=1.0, kind="huber"):
    """Huber (or `0.5 * squared`) loss between `Q(s, a)` (from `q_tm1 [N, A]`, `a_tm1 [N]`)
    and fixed targets. Returns `(loss, Q(s, a))`."""
    q_sa = jnp.take_along_axis(q_tm1, a_tm1[:, None].astype(jnp.int32), axis=-1)[:, 0]
    target = jax.lax.stop_gradient(target)
    if kind == "mse":
        return jnp.mean(optax.l2_loss(q_sa, target)), q_sa
    return jnp.mean(optax.huber_loss(q_sa, target, delta=delta)), q_sa


def polyak(target, online, tau):
    """`tau * online + (1 - tau) * target`, leaf by leaf."""
    return jax.tree.map(lambda t, o: tau * o + (1.0 - tau) * t, target, online)


# ------------------------------------------------------------------------- make
def make(env, env_params, config: Config = Config()) -> Agent:
    """Build DQN for a discrete-action `env`. Raises ValueError on bad input."""
    if not isinstance(config, Config):
        raise ValueError(f"dqn.make expects a dqn.Config, got {type(config).__name__}")
    if not envs.is_discrete(env, env_params):
        raise ValueError(
            f"DQN needs a discrete action space; {envs.env_name(env)} has "
            f"{env.action_space(env_params)}. Use ddpg, td3 or sac for continuous actions."
        )
    num_actions = envs.num_actions(env, env_params)
    obs_shape = envs.obs_shape(env, env_params)
    net = QNetwork(
        num_actions,
        tuple(config.hidden_sizes),
        config.activation,
        obs_ndim=len(obs_shape),
        dueling=config.dueling,
    )
    num_grad_steps = config.num_updates * max(config.gradient_steps, 1)
    if config.anneal_lr:
        lr = optax.linear_schedule(config.learning_rate, 0.0, num_grad_steps)
    else:
        lr = config.learning_rate
    tx = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(lr))
    buffer = make_replay_buffer(config.buffer_size, config.batch_size)
    B, T = config.num_envs, config.train_frequency
    per_update = config.steps_per_update
    explore_steps = config.exploration_fraction * config.total_timesteps

    def init(key) -> State:
        k_net, k_env, k_state = jax.random.split(key, 3)
        obs, env_state = reset_envs(k_env, env, env_params, B)
        params = net.init(k_net, obs[:1])
        item = {
            "obs": obs[0],
            "action": jnp.zeros((), jnp.int32),
            "reward": jnp.zeros((), jnp.float32),
            "terminated": jnp.zeros((), bool),
            "next_obs": obs[0],
        }
        return State(
            params=params,
            target_params=params,
            opt_state=tx.init(params),
            buffer_state=buffer.init(item),
            env_state=env_state,
            obs=obs,
            key=k_state,
            step=jnp.zeros((), jnp.int32),
        )

    def loss_fn(params, target_params, batch):
        q = net.apply(params, batch["obs"])
        q_next_target = net.apply(target_params, batch["next_obs"])
        q_next_online = net.apply(params, batch["next_obs"]) if config.double_dqn else None
        target = q_targets(
            q_next_target,
            q_next_online,
            batch["reward"],
            batch["terminated"],
            config.gamma,
            config.double_dqn,
        )
        loss, q_sa = td_loss(q, batch["action"], target, kind=config.loss)
        return loss, q_sa.mean()

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def update(state: State):
        key, k_roll, k_learn = jax.random.split(state.key, 3)
        env_steps = state.step * per_update
        learning = env_steps >= config.learning_starts
        epsilon = linear_schedule(
            config.epsilon_start, config.epsilon_end, explore_steps, env_steps
        )
        epsilon = jnp.where(learning, epsilon, 1.0)

        def policy(obs, k):
            q = net.apply(state.params, obs)
            return epsilon_greedy(k, q, epsilon), {}

        env_state, obs, traj = rollout(
            k_roll, env, env_params, policy, state.env_state, state.obs, T
        )
        flat = lambda x: x.reshape((T * B,) + x.shape[2:])
        items = {
            "obs": flat(traj.obs),
            "action": flat(traj.action),
            "reward": flat(traj.reward),
            "terminated": flat(traj.terminated),
            "next_obs": flat(traj.next_obs),
        }
        buffer_state = buffer.add(state.buffer_state, items)

        def grad_step(carry, k):
            params, opt_state = carry
            batch = buffer.sample(buffer_state, k)
            (loss, q_mean), grads = grad_fn(params, state.target_params, batch)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), (loss, q_mean)

        def learn(_):
            (params, opt_state), (losses, q_means) = jax.lax.scan(
                grad_step,
                (state.params, state.opt_state),
                jax.random.split(k_learn, config.gradient_steps),
            )
            return params, opt_state, jnp.mean(losses), jnp.mean(q_means)

        def skip(_):
            zero = jnp.zeros((), jnp.float32)
            return state.params, state.opt_state, zero, zero

        params, opt_state, loss, q_mean = jax.lax.cond(learning, learn, skip, None)
        new_env_steps = env_steps + per_update
        do_target = (new_env_steps // config.target_update_interval) > (
            env_steps // config.target_update_interval
        )
        target_params = jax.tree.map(
            lambda t, n: jnp.where(do_target & learning, n, t),
            state.target_params,
            polyak(state.target_params, params, config.tau),
        )
        metrics = {
            "loss/q": loss,
            "q_mean": q_mean,
            "epsilon": jnp.asarray(epsilon, jnp.float32),
            "env_steps": new_env_steps,
        }
        metrics.update(episode_metrics(traj.info))
        new_state = State(
            params=params,
            target_params=target_params,
            opt_state=opt_state,
            buffer_state=buffer_state,
            env_state=env_state,
            obs=obs,
            key=key,
            step=state.step + 1,
        )
        return new_state, metrics

    def act(state: State, obs, key):
        return jnp.argmax(net.apply(state.params, obs), axis=-1).astype(jnp.int32)

    return Agent(init, update, act, config.num_updates, env, env_params, config)
