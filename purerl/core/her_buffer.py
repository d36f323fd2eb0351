"""Episode replay buffer with hindsight goal relabelling (HER, Andrychowicz et al. 2017).

A pure pytree buffer with the `purerl.core.buffers.ReplayBuffer` interface, so every
off-policy algorithm takes it in place of the uniform one. Storage keeps whole episodes,
`[num_envs, episodes_per_env, T_max, ...]` (T_max: the env's time limit): each env writes
its current episode's row at its step index `t`, moves to its next row (a ring) when the
episode ends (`terminated | truncated`), and `lengths [num_envs, episodes_per_env]` counts
the valid steps of every row (the row being written included).

Sampling, inside jit (each of `batch_size` draws independently):

1. a stored transition `(row, t)` uniformly among all valid ones (inverse CDF over the
   row lengths), with its episode length `L`;
2. with probability `future_p = 1 - 1 / (1 + k)` its desired goal `g` is replaced by an
   achieved goal `g' = ag_{t'+1}` (the achieved goal of the *next* observation of step
   `t'`, i.e. `next_obs.achieved_goal[t']`) of
     - `future`:  `t'` uniform in `[t, L - 1]` (a goal achieved later in the episode),
     - `final`:   `t' = L - 1` (the episode's last achieved goal),
     - `episode`: `t'` uniform in `[0, L - 1]`,
     - `random`:  a uniform stored transition of any episode;
3. for a relabelled transition `g'` replaces the goal in `obs` and `next_obs`, and
   `r = compute_reward(next_obs.achieved_goal, g')`,
   `terminated = goal_reached(next_obs.achieved_goal, g')` (reaching the relabelled goal
   ends the episode); otherwise the stored reward and flag are kept. A truncated step
   that does not reach its (relabelled) goal stays non-terminal and bootstraps from its
   true next observation.

The state also carries the success statistics HER reports: `success_rate`, the fraction of
the episodes that ended during the last `add` whose final achieved goal reached the desired
goal (carried forward when none ended).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl.core.buffers import ReplayBuffer

STRATEGIES = ("future", "final", "episode", "random")


class EpisodeBufferState(NamedTuple):
    """Pytree state of the episode buffer (`E = episodes_per_env`, `T = T_max`)."""

    data: Any  # the transition pytree, leaves [num_envs, E, T, ...]
    lengths: jax.Array  # [num_envs, E] int32: valid steps of each episode row
    slot: jax.Array  # [num_envs] int32: the row each env is writing
    t: jax.Array  # [num_envs] int32: the step index of that row
    episodes: jax.Array  # int32: episodes ended so far (all envs)
    successes: jax.Array  # int32: of which reached their goal
    success_rate: jax.Array  # float32: success fraction of the last add's ended episodes


def relabel_probability(k: int) -> float:
    """`future_p = 1 - 1 / (1 + k)`: with `k` relabelled goals per real one (k=4: 0.8)."""
    return 1.0 - 1.0 / (1.0 + k)


def make_her_buffer(
    *,
    capacity: int,
    batch_size: int,
    num_envs: int,
    max_episode_steps: int,
    compute_reward: Callable[[jax.Array, jax.Array], jax.Array],
    goal_reached: Callable[[jax.Array, jax.Array], jax.Array],
    strategy: str = "future",
    k: int = 4,
) -> ReplayBuffer:
    """An episode buffer of about `capacity` transitions with HER relabelling at sample time.

    Args:
      capacity: transitions to keep; rounded up to `num_envs * E * max_episode_steps` with
        `E = max(2, ceil(capacity / (num_envs * max_episode_steps)))` episode rows per env.
      batch_size: transitions per `sample`.
      num_envs: the parallel envs whose steps arrive in `add` (time-major `[T * B]` items).
      max_episode_steps: T_max, the env's time limit (the longest episode).
      compute_reward, goal_reached: `(achieved_goal [..., G], desired_goal [..., G]) ->
        [...]`, the env's (`GoalEnv` protocol, params bound).
      strategy: `future` | `final` | `episode` | `random`.
      k: relabelled goals per real one; relabel probability `1 - 1 / (1 + k)` (0: none).

    Items are the off-policy transition dicts (`obs`, `action`, `reward`, `terminated`,
    `truncated`, `next_obs`) whose observations are goal dicts
    (`observation`, `achieved_goal`, `desired_goal`). `sample` adds `relabelled [N]` bool.

    Raises:
      ValueError: non-positive sizes, an unknown strategy or a negative `k`.
    """
    for name, v in (
        ("capacity", capacity),
        ("batch_size", batch_size),
        ("num_envs", num_envs),
        ("max_episode_steps", max_episode_steps),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"HER buffer: {name} must be a positive int, got {v!r}")
    if strategy not in STRATEGIES:
        raise ValueError(
            f"HER buffer: strategy must be one of {list(STRATEGIES)}, got {strategy!r}"
        )
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"HER buffer: k must be an int >= 0, got {k!r}")
    B, T = num_envs, max_episode_steps
    E = max(2, math.ceil(capacity / (B * T)))  # >= 2: a finished episode stays sampleable
    R = B * E  # episode rows
    future_p = relabel_probability(k)

    def init(item):
        data = jax.tree.map(
            lambda x: jnp.zeros((B, E, T) + jnp.shape(x), jnp.asarray(x).dtype), item
        )
        zi = jnp.zeros((), jnp.int32)
        return EpisodeBufferState(
            data=data,
            lengths=jnp.zeros((B, E), jnp.int32),
            slot=jnp.zeros((B,), jnp.int32),
            t=jnp.zeros((B,), jnp.int32),
            episodes=zi,
            successes=zi,
            success_rate=jnp.zeros((), jnp.float32),
        )

    def add(state, items):
        steps = jax.tree.map(lambda x: x.reshape((-1, B) + x.shape[1:]), items)  # [T', B]
        env = jnp.arange(B)

        def write(carry, item):
            state, n_done, n_success = carry
            slot, t = state.slot, state.t
            data = jax.tree.map(lambda d, x: d.at[env, slot, t].set(x), state.data, item)
            lengths = state.lengths.at[env, slot].set(t + 1)
            ended = item["terminated"] | item["truncated"]
            success = goal_reached(
                item["next_obs"]["achieved_goal"], item["next_obs"]["desired_goal"]
            )
            new_row = ended | (t + 1 >= T)  # (the second is a guard: T is the time limit)
            next_slot = jnp.where(new_row, (slot + 1) % E, slot)
            lengths = lengths.at[env, next_slot].set(jnp.where(new_row, 0, lengths[env, next_slot]))
            state = state._replace(
                data=data,
                lengths=lengths,
                slot=next_slot,
                t=jnp.where(new_row, 0, t + 1),
            )
            n_done = n_done + ended.sum(dtype=jnp.int32)
            n_success = n_success + (ended & success).sum(dtype=jnp.int32)
            return (state, n_done, n_success), None

        zi = jnp.zeros((), jnp.int32)
        (state, n_done, n_success), _ = jax.lax.scan(write, (state, zi, zi), steps)
        rate = n_success / jnp.maximum(n_done, 1)
        return state._replace(
            episodes=state.episodes + n_done,
            successes=state.successes + n_success,
            success_rate=jnp.where(n_done > 0, rate, state.success_rate).astype(jnp.float32),
        )

    def size(state):
        return state.lengths.sum()

    def can_sample(state):
        return size(state) >= 1

    def uniform_transitions(key, lengths, n):
        """`(row [n], t [n])` uniform over the valid transitions of the rows `lengths [R]`."""
        cum = jnp.cumsum(lengths)
        u = jax.random.randint(key, (n,), 0, jnp.maximum(cum[-1], 1))
        row = jnp.minimum(jnp.searchsorted(cum, u, side="right"), R - 1)
        return row, u - (cum[row] - lengths[row])

    def sample(state, key):
        k_idx, k_goal, k_relabel = jax.random.split(key, 3)
        lengths = state.lengths.reshape(R)
        rows = lambda d: d.reshape((R, T) + d.shape[3:])
        row, t = uniform_transitions(k_idx, lengths, batch_size)
        batch = jax.tree.map(lambda d: rows(d)[row, t], state.data)
        ag_next = rows(state.data["next_obs"]["achieved_goal"])  # [R, T, G]
        L = lengths[row]
        if strategy == "future":
            goal = ag_next[row, jax.random.randint(k_goal, (batch_size,), t, L)]
        elif strategy == "final":
            goal = ag_next[row, L - 1]
        elif strategy == "episode":
            goal = ag_next[row, jax.random.randint(k_goal, (batch_size,), 0, L)]
        else:  # random
            row2, t2 = uniform_transitions(k_goal, lengths, batch_size)
            goal = ag_next[row2, t2]
        relabel = jax.random.uniform(k_relabel, (batch_size,)) < future_p
        g = jnp.where(relabel[:, None], goal, batch["obs"]["desired_goal"])
        ag = batch["next_obs"]["achieved_goal"]
        return {
            **batch,
            "obs": {**batch["obs"], "desired_goal": g},
            "next_obs": {**batch["next_obs"], "desired_goal": g},
            "reward": jnp.where(
                relabel, compute_reward(ag, g).astype(jnp.float32), batch["reward"]
            ),
            "terminated": jnp.where(relabel, goal_reached(ag, g), batch["terminated"]),
            "relabelled": relabel,
        }

    return ReplayBuffer(init, add, sample, can_sample, size, R * T, batch_size)


__all__ = [
    "STRATEGIES",
    "EpisodeBufferState",
    "make_her_buffer",
    "relabel_probability",
]
