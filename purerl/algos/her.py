"""Hindsight Experience Replay, HER (Andrychowicz et al. 2017), over any off-policy learner.

`her.make(env, env_params, base, base_config, config)` builds `base` (an off-policy
algorithm module whose `make` takes a replay `buffer`: `purerl.algos.dqn`, `ddpg`, `td3`,
`sac`) on a goal-conditioned env (`purerl.envs.GoalEnv`:
dict observations `observation / achieved_goal / desired_goal`, a vectorised
`compute_reward`) with its uniform replay buffer swapped for HER's episode buffer
(`purerl.core.her_buffer`). Every other part of the base algorithm is unchanged: its
networks see `concat(observation, desired_goal)` (`purerl.envs.network_input`, their
`input_fn`), its losses read the sampled minibatch.

At each sample (inside jit), a stored transition `(s_t, a_t, r_t, s_{t+1}, g)` has its goal
replaced with probability `1 - 1/(1+k)` by a goal achieved in hindsight (strategy `future`:
`g' = ag_{t'+1}`, `t' ~ U[t, T_ep - 1]`; or `final`, `episode`, `random`), and its reward
and termination recomputed for `g'`:

  r' = compute_reward(ag_{t+1}, g'),   terminated' = goal_reached(ag_{t+1}, g').

so even an agent that never reaches its real goals learns from a dense stream of
successes, which is what makes BitFlip with many bits solvable (the paper's figure 1).
Truncated steps still bootstrap. Metrics add `success_rate`: the fraction of the
episodes that ended during the update that reached their goal (carried forward).

The train `State` is the base algorithm's (its `buffer_state` an `EpisodeBufferState`).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Literal

import jax

from purerl import envs
from purerl.core import validation as V
from purerl.core.her_buffer import STRATEGIES, make_her_buffer, relabel_probability
from purerl.types import Agent

__all__ = ["BASES", "REPLAY_FIELDS", "Config", "State", "make", "relabel_probability"]

# The bases HER is tested with; any off-policy module with the same interface works
# (`_check_base`): a Config with REPLAY_FIELDS and `make(..., buffer=)`.
BASES = ("dqn", "ddpg", "td3", "sac")
REPLAY_FIELDS = ("num_envs", "buffer_size", "batch_size")
State = Any  # the base algorithm's State (e.g. `dqn.State`)


# Tuned base-algorithm settings for the bundled goal envs (keyword overrides of the base's
# Config; scripts/her.py and the learning tests use them). DQN on BitFlip-v0: one hidden
# layer (as in Andrychowicz et al. 2017), gamma 0.98, soft target updates every 10 updates
# of 16 envs; pick total_timesteps by n_bits (40k solves 15 bits).
BITFLIP_DQN = dict(
    num_envs=16,
    buffer_size=50_000,
    batch_size=128,
    learning_starts=1_000,
    gamma=0.98,
    target_update_interval=160,
    tau=0.05,
    exploration_fraction=0.2,
    gradient_steps=2,
    hidden_sizes=(128,),
    dueling=False,
)
# DDPG / TD3 / SAC on PointReach-v0 (10k env steps).
POINT_REACH = dict(
    total_timesteps=10_000,
    num_envs=8,
    buffer_size=50_000,
    batch_size=128,
    learning_starts=1_000,
    gamma=0.95,
    gradient_steps=4,
    hidden_sizes=(64, 64),
)


@dataclasses.dataclass(frozen=True)
class Config(V.ConfigBase):
    """HER hyper-parameters (the paper's defaults: `future` with k = 4). Every other
    hyper-parameter is the base algorithm's `Config` (its `buffer_size` is the episode
    buffer's transition capacity, rounded up to whole episode rows)."""

    strategy: Literal["future", "final", "episode", "random"] = "future"
    k: int = 4  # relabelled goals per real one: relabel probability 1 - 1 / (1 + k)

    def __post_init__(self):
        super().__post_init__()
        V.check_choice("her.Config", "strategy", self.strategy, set(STRATEGIES))
        V.check_int("her.Config", "k", self.k, minimum=0)

    @property
    def relabel_probability(self) -> float:
        return relabel_probability(self.k)


def _check_base(base, base_config) -> str:
    """The short name of `base` after checking (by duck typing) that it is an off-policy
    algorithm HER can drive: a `make(env, env_params, config, *, buffer=None,
    input_fn=None)` that takes a replay buffer and what its networks read of an
    observation, and a `Config` whose instance `base_config` is, with the replay fields HER
    reads (`REPLAY_FIELDS`)."""
    name = getattr(base, "__name__", type(base).__name__).rsplit(".", 1)[-1]
    try:
        takes_buffer = {"buffer", "input_fn"} <= set(inspect.signature(base.make).parameters)
    except (AttributeError, TypeError, ValueError):  # no make / not callable / no signature
        takes_buffer = False
    config_cls = getattr(base, "Config", None)
    if not takes_buffer or not isinstance(config_cls, type):
        raise ValueError(
            f"her.make: base must be one of purerl's off-policy algorithm modules "
            f"({', '.join(BASES)}, ...) or any module with a Config class and "
            f"make(env, env_params, config, *, buffer=None, input_fn=None); {name!r} has no "
            f"{'Config' if takes_buffer else 'make(..., buffer=..., input_fn=...)'}"
        )
    if not isinstance(base_config, config_cls):
        raise ValueError(
            f"her.make: base_config must be a {name}.Config, got {type(base_config).__name__}"
        )
    missing = [f for f in REPLAY_FIELDS if not hasattr(base_config, f)]
    if missing:
        raise ValueError(f"her.make: {name}.Config lacks the replay fields {missing}")
    return name


def make(env, env_params, base, base_config, config: Config = Config()) -> Agent:
    """Build `base` (an off-policy algorithm module, e.g. `purerl.algos.dqn`, `ddpg`, `td3`
    or `sac`) with HER.

    Args:
      env, env_params: a goal-conditioned env from `purerl.make_env` (e.g. `BitFlip-v0`).
      base: the off-policy algorithm module.
      base_config: its `Config` (`num_envs`, `buffer_size`, `batch_size`, learning rates...).
      config: `her.Config` (relabelling strategy and `k`).

    Returns:
      the base algorithm's `Agent` whose replay buffer relabels goals, and whose metrics
      add `success_rate` (`Agent.config` is `base_config`, which fixes the budget).

    Raises:
      ValueError: a base without `make(..., buffer=)` or the replay Config fields, a
        config of the wrong type, a non-goal env or one without an int
        `max_steps_in_episode` time limit.
    """
    _check_base(base, base_config)
    if not isinstance(config, Config):
        raise ValueError(f"her.make expects a her.Config, got {type(config).__name__}")
    obs, _ = jax.eval_shape(lambda k: env.reset(k, env_params), jax.random.key(0))
    if not (envs.is_goal_env(env) and envs.is_goal_obs(obs)):
        raise ValueError(
            f"her.make needs a goal-conditioned env (purerl.envs.GoalEnv: dict observations "
            f"with observation / achieved_goal / desired_goal and compute_reward); "
            f"{envs.env_name(env)} is not one"
        )
    limit = getattr(env_params, "max_steps_in_episode", None)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(
            f"her.make: env_params.max_steps_in_episode must be a positive int (the episode "
            f"buffer's row length), got {limit!r}"
        )
    buffer = make_her_buffer(
        capacity=base_config.buffer_size,
        batch_size=base_config.batch_size,
        num_envs=base_config.num_envs,
        max_episode_steps=limit,
        compute_reward=lambda ag, g: env.compute_reward(ag, g, env_params),
        goal_reached=lambda ag, g: env.goal_reached(ag, g, env_params),
        strategy=config.strategy,
        k=config.k,
    )
    # The replay items keep the goal dicts (the buffer relabels their goals); the networks
    # read concat(observation, desired_goal).
    agent = base.make(env, env_params, base_config, buffer=buffer, input_fn=envs.network_input)

    def update(state):
        state, metrics = agent.update(state)
        return state, {**metrics, "success_rate": state.buffer_state.success_rate}

    return agent._replace(update=update)
