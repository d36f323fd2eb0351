"""The replay-based training step every off-policy algorithm shares (DQN, C51, QR-DQN,
DDPG, TD3, SAC).

One `update` of an off-policy agent is:

1. collect `train_frequency` steps from each of `num_envs` envs with the exploration
   policy (uniformly random actions before `learning_starts` env steps);
2. add the transitions to the replay buffer, each with its *true* next observation (the
   final observation where an episode ended, never the auto-reset one) and its
   `terminated` flag: truncated steps bootstrap, terminated ones do not;
3. once `learning_starts` env steps have been collected, take `gradient_steps` learning
   steps (a `lax.scan`), each on a fresh uniform minibatch; then an optional end-of-phase
   hook (e.g. DQN's periodic target update);
4. report the learner's metrics (means over the gradient steps; zeros before learning
   starts), `env_steps` and the episode statistics.

The update count `step` is a wide `purerl.core.counter.Count`, exact past 2^31 (up to
2^62 updates): whether learning has started and whether a periodic event (a target update)
falls within an update are exact integer decisions taken in update units
(`learning_started`, `counter.event_in_update`), never on a wrapping int32 env-step count.
`env_steps` (the metric, and what the exploration policy sees) is its float32 view: exact
below 2^24 env steps, rounded to float32 beyond, and it keeps rising.

An algorithm supplies the pieces that differ: its exploration policy, one learning step
(losses, optimiser steps, Polyak target updates) and its evaluation action. Its train
`State` is a `flax.struct.dataclass` holding its own learner fields (parameters, target
parameters, optimiser states, ...) plus the fields this module manages:
`buffer_state, env_state, obs, key, step` (see `init_fields`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from purerl.core import counter
from purerl.core import validation as V
from purerl.core.buffers import ReplayBuffer
from purerl.core.networks import TorsoConfig
from purerl.core.rollout import episode_metrics, reset_envs, rollout
from purerl.nets import ACTIVATIONS, action_mask, uniform_legal_action
from purerl.types import Activation, Metrics, PRNGKey

# policy(state, obs [B, ...], key, env_steps float32) -> action [B, ...]
ExplorationPolicy = Callable[[Any, Any, PRNGKey, jax.Array], Any]
# learn(state, batch, key) -> (state, metrics): one gradient step; `batch` leaves [N, ...]
LearnStep = Callable[[Any, dict, PRNGKey], tuple[Any, Metrics]]
# end_phase(state, step: Count, the update's 0-based index) -> state
PhaseHook = Callable[[Any, jax.Array, jax.Array], Any]


@dataclasses.dataclass(frozen=True)
class ReplayConfig(TorsoConfig):
    """The replay-loop hyper-parameters every off-policy `Config` shares (DQN, C51, QR-DQN,
    DDPG, TD3, SAC), validated once here (defaults: a Pendulum-ready continuous-control
    setting; a subclass changes them with class keywords, see `validation.ConfigBase`)."""

    total_timesteps: int = 20_000  # env steps of one training run (per seed)
    num_envs: int = 1
    buffer_size: int = 100_000
    batch_size: int = 128
    learning_starts: int = 1_000  # env steps of uniform-random acting before learning
    gamma: float = 0.99
    tau: float = 0.005  # Polyak coefficient of a target-network update (1.0: a hard copy)
    train_frequency: int = 1  # env steps per env between learning phases
    gradient_steps: int = 1  # gradient steps per learning phase
    hidden_sizes: Sequence[int] = (64, 64)  # hidden layer widths ((256, 256) for MuJoCo tasks)
    activation: Activation = "relu"

    def __post_init__(self):
        super().__post_init__()
        c = V.config_name(self)
        for name in ("total_timesteps", "num_envs", "buffer_size", "batch_size", "train_frequency"):
            V.check_int(c, name, getattr(self, name))
        V.check_int(c, "learning_starts", self.learning_starts, minimum=0)
        V.check_int(c, "gradient_steps", self.gradient_steps, minimum=0)
        V.check_unit(c, "gamma", self.gamma)
        V.check_unit(c, "tau", self.tau, closed_low=False)
        if self.batch_size > self.buffer_size:
            raise ValueError(f"{c}: batch_size {self.batch_size} > buffer_size {self.buffer_size}")
        V.check_budget(
            c,
            self.total_timesteps,
            self.steps_per_update,
            f"one update (num_envs * train_frequency = {self.steps_per_update})",
        )
        first = counter.updates_to_reach(self.learning_starts, self.steps_per_update)
        if self.gradient_steps > 0 and first >= self.num_updates:
            raise ValueError(
                f"{c}: learning_starts {self.learning_starts} leaves no learning update within "
                f"total_timesteps {self.total_timesteps} (updates of num_envs * "
                f"train_frequency = {self.steps_per_update} env steps; learning starts at "
                f"update {first} of {self.num_updates}): it would never learn; lower "
                "learning_starts or raise total_timesteps"
            )
        if self.gradient_steps == 0:
            raise ValueError(
                f"{c}: gradient_steps 0 takes no gradient step: it would never learn "
                "(use gradient_steps >= 1)"
            )
        V.check_sizes(c, "hidden_sizes", self.hidden_sizes)
        V.check_choice(c, "activation", self.activation, set(ACTIVATIONS))
        self.check_torso(c)

    @property
    def steps_per_update(self) -> int:
        """Env steps of one update: `num_envs * train_frequency`."""
        return self.num_envs * self.train_frequency

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.steps_per_update


@dataclasses.dataclass(frozen=True)
class ActorCriticConfig(ReplayConfig):
    """`ReplayConfig` plus the Adam step sizes of an actor-critic learner (DDPG, TD3, SAC)."""

    actor_learning_rate: float = 1e-3
    critic_learning_rate: float = 1e-3

    def __post_init__(self):
        super().__post_init__()
        c = V.config_name(self)
        V.check_positive(c, "actor_learning_rate", self.actor_learning_rate)
        V.check_positive(c, "critic_learning_rate", self.critic_learning_rate)


# ------------------------------------------------------------------- pure pieces
def polyak(target, online, tau):
    """`tau * online + (1 - tau) * target`, leaf by leaf (`tau = 1`: a hard copy)."""
    return jax.tree.map(lambda t, o: tau * o + (1.0 - tau) * t, target, online)


def learning_started(config: ReplayConfig, step: counter.Count):
    """Whether update number `step` learns: `step * steps_per_update >= learning_starts`,
    exact (compared in update units)."""
    return step >= counter.updates_to_reach(config.learning_starts, config.steps_per_update)


def crossed(before, after, interval: int):
    """True when a multiple of `interval` lies in `(before, after]` (an event every
    `interval` env steps fell within this update). On int32 env-step counts this wraps
    at 2^31: the replay loop uses `counter.event_in_update` on its wide update count."""
    return (after // interval) > (before // interval)


def uniform_policy(env, env_params) -> Callable[[Any, PRNGKey], Any]:
    """`(obs [B, ...], key) -> action [B, ...]` sampled uniformly from the action space
    (for continuous envs from `purerl.make_env`, the box [-1, 1]^d); uniformly among the
    legal actions of an observation with an action mask."""
    space = env.action_space(env_params)

    def sample(obs, key):
        num_envs = jax.tree.leaves(obs)[0].shape[0]
        mask = action_mask(obs)
        if mask is not None:
            return uniform_legal_action(key, mask, int(space.n)).astype(space.dtype)
        return jax.vmap(space.sample)(jax.random.split(key, num_envs))

    return sample


def transition_item(obs, action) -> dict:
    """One example replay item (no batch axis), fixing the buffer's shapes and dtypes.
    (`truncated` marks episode ends for episode buffers such as HER's; learners ignore it.)"""
    return {
        "obs": obs,
        "action": action,
        "reward": jnp.zeros((), jnp.float32),
        "terminated": jnp.zeros((), bool),
        "truncated": jnp.zeros((), bool),
        "next_obs": obs,
    }


def init_fields(key: PRNGKey, env, env_params, num_envs: int, buffer: ReplayBuffer) -> dict:
    """The managed fields of a fresh off-policy `State`; the key is consumed.

    Returns `dict(buffer_state, env_state, obs [num_envs, ...], key, step)`; an algorithm's
    `init` adds its learner fields: `State(params=..., **init_fields(...))`.
    """
    k_env, k_act, k_state = jax.random.split(key, 3)
    obs, env_state = reset_envs(k_env, env, env_params, num_envs)
    # Strong dtypes: a weakly typed reset leaf (gymnax Pendulum's `last_u = 0.0`) would
    # turn strong after the first step and make `update` retrace once.
    obs, env_state = jax.tree.map(lambda x: jnp.asarray(x, dtype=x.dtype), (obs, env_state))
    action = uniform_policy(env, env_params)(obs, k_act)
    first = lambda tree: jax.tree.map(lambda x: x[0], tree)
    example = transition_item(first(obs), first(action))
    return {
        "buffer_state": buffer.init(example),
        "env_state": env_state,
        "obs": obs,
        "key": k_state,
        "step": counter.zero(),
    }


# ------------------------------------------------------------------ the update
def make_update(
    env,
    env_params,
    buffer: ReplayBuffer,
    config: ReplayConfig,
    *,
    policy: ExplorationPolicy,
    learn: LearnStep,
    end_phase: PhaseHook | None = None,
) -> Callable[[Any], tuple[Any, Metrics]]:
    """Build the shared off-policy `update(state) -> (state, metrics)`.

    Args:
      env, env_params: the (wrapped) env.
      buffer: from `purerl.core.buffers.make_replay_buffer` (or any `ReplayBuffer`, e.g.
        HER's episode buffer); `add` gets `[T * B, ...]` items in time-major order.
      config: the replay-loop settings (a `ReplayConfig`): each update collects
        `train_frequency` steps from each of `num_envs` envs, then (once `learning_starts`
        env steps were collected at the start of an update) takes `gradient_steps` learning
        steps, each on a fresh minibatch (0: never learn).
      policy: exploration policy `(state, obs [B, ...], key, env_steps) -> action [B, ...]`
        (`env_steps`: float32, collected before this update).
      learn: one learning step `(state, batch, key) -> (state, metrics)`. The `state` it
        sees has `buffer_state`, `env_state` and `obs` set to None (they do not travel
        through the scan); it returns its updated learner fields in the same structure.
      end_phase: optional `(state, step) -> state`, run once after the gradient steps of
        each learning update (e.g. a periodic target update); `step`: the update's 0-based
        index, a `counter.Count` (test events with `counter.event_in_update`).
    """
    per_update = config.steps_per_update
    T, B = config.train_frequency, config.num_envs
    gradient_steps = config.gradient_steps
    random_policy = uniform_policy(env, env_params)

    def sample_and_learn(buffer_state):
        def step(lean, k):
            k_sample, k_learn = jax.random.split(k)
            return learn(lean, buffer.sample(buffer_state, k_sample), k_learn)

        return step

    def update(state):
        key, k_roll, k_learn = jax.random.split(state.key, 3)
        env_steps = counter.to_float(state.step, per_update)
        learning = learning_started(config, state.step)

        def act(obs, k):
            action = policy(state, obs, k, env_steps)
            random = random_policy(obs, jax.random.fold_in(k, 1))
            action = jnp.where(learning, action, jnp.asarray(random, action.dtype))
            return action, {}

        env_state, obs, traj = rollout(k_roll, env, env_params, act, state.env_state, state.obs, T)
        flat = lambda x: x.reshape((T * B,) + x.shape[2:])
        items = jax.tree.map(
            flat,
            {
                "obs": traj.obs,
                "action": traj.action,
                "reward": traj.reward,
                "terminated": traj.terminated,
                "truncated": traj.truncated,
                "next_obs": traj.next_obs,
            },
        )
        buffer_state = buffer.add(state.buffer_state, items)
        new_step = state.step + 1
        lean = state.replace(buffer_state=None, env_state=None, obs=None)
        step_fn = sample_and_learn(buffer_state)

        if gradient_steps > 0:
            keys = jax.random.split(k_learn, gradient_steps)
            zeros = jax.tree.map(
                lambda s: jnp.zeros(s.shape, s.dtype),
                jax.eval_shape(step_fn, lean, keys[0])[1],
            )

            def do_learn(lean):
                lean, metrics = jax.lax.scan(step_fn, lean, keys)
                if end_phase is not None:
                    lean = end_phase(lean, state.step)
                return lean, jax.tree.map(jnp.mean, metrics)

            lean, metrics = jax.lax.cond(learning, do_learn, lambda s: (s, zeros), lean)
        else:
            metrics = {}
        metrics = dict(metrics)
        metrics["env_steps"] = counter.to_float(new_step, per_update)
        metrics.update(episode_metrics(traj.info))
        new_state = lean.replace(
            buffer_state=buffer_state,
            env_state=env_state,
            obs=obs,
            key=key,
            step=new_step,
        )
        return new_state, metrics

    return update


__all__ = [
    "ActorCriticConfig",
    "ReplayConfig",
    "crossed",
    "init_fields",
    "learning_started",
    "make_update",
    "polyak",
    "transition_item",
    "uniform_policy",
]
