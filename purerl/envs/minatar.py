"""A faster, step-for-step equivalent `SpaceInvaders-MinAtar` (gymnax's `MinSpaceInvaders`).

Why gymnax's is slow: its step is written with *dynamic* indexing that XLA:CPU lowers to
gathers, scatters and dynamic slices, most of them on the vmapped batch axis:

* `get_nearest_alien` (the alien that shoots) unrolls a Python loop over the 10 columns in
  a traced `argsort` order: 10 dynamic column gathers, a `max` and a 3-element scatter
  each (about 55 `dynamic_slice` and 28 `scatter` ops per step in the jaxpr, against 11
  scatters and no dynamic slice for Breakout);
* `jnp.roll(alien_map, alien_dir, axis=1)` with a traced shift (a dynamic slice of a
  concatenation), and `.at[loc, idx].set`, `.at[9, pos].set` with traced indices
  (scatters); `get_obs` builds the image with five scatters and a `select` of two
  copies.

Batched over envs, each of these becomes a gather / scatter over `[B, 10, 10]` that
XLA:CPU runs element by element. Measured here through `purerl.core.rollout` with
random actions (best of 5, CPU-seconds, on a loaded 2-core machine): 64 envs, Breakout
3.97M env steps per CPU-second, gymnax SpaceInvaders 0.66M (6x slower), this one 1.32M;
1024 envs: 4.46M, 0.86M, 1.47M. (The issue's "8k vs 2M steps/s", 250x, was not
reproduced: 6-11x here.)

`SpaceInvaders` below replaces each by dense one-hot arithmetic (an `argmin`
over a distance score for the nearest alien, two static rolls and a `where` for the
move, one-hot outer products for the writes, `stack` for the observation), 2x faster
with the same
states, observations, rewards and flags (tested step by step against gymnax), registered
under the gymnax id so `make_env("SpaceInvaders-MinAtar")` uses it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymnax.environments.minatar import space_invaders as si

_COLS = jnp.arange(10)


def _onehot(i) -> jax.Array:
    return i == _COLS


def nearest_alien(pos, alien_map):
    """`(exists, row, col)` of the shooting alien: the column nearest `pos` (ties: the
    lower column) holding an alien, and its lowest alien's row; `(0, 0, 0)` if none."""
    exists = jnp.sum(alien_map, axis=0) > 0  # [10] per column
    score = jnp.where(exists, jnp.abs(_COLS - pos) * 10 + _COLS, 1000)
    col = jnp.argmin(score)
    rows = jnp.max(alien_map * _COLS[:, None], axis=0)  # [10] lowest alien row per column
    any_alien = exists.any()
    row = jnp.where(any_alien, jnp.sum(jnp.where(_onehot(col), rows, 0)), 0)
    return any_alien.astype(jnp.int32), row.astype(jnp.int32), jnp.where(any_alien, col, 0)


def step_agent(action, state, params):
    fire = jnp.logical_and(action == 5, state.shot_timer == 0)
    cell = jnp.logical_and(_COLS[:, None] == 9, _onehot(state.pos)[None, :])
    f_bullet_map = jnp.where(jnp.logical_and(fire, cell), 1.0, state.f_bullet_map)
    shot_timer = jnp.where(fire, params.shot_cool_down, state.shot_timer)
    pos = jnp.where(action == 1, jnp.maximum(0, state.pos - 1), state.pos)
    pos = jnp.where(action == 3, jnp.minimum(9, pos + 1), pos)
    f_bullet_map = jnp.roll(f_bullet_map, -1, axis=0).at[9, :].set(0)
    e_bullet_map = jnp.roll(state.e_bullet_map, 1, axis=0).at[0, :].set(0)
    bullet_terminal = jnp.sum(jnp.where(_onehot(pos), e_bullet_map[9], 0)) > 0
    return state.replace(
        pos=pos,
        f_bullet_map=f_bullet_map,
        e_bullet_map=e_bullet_map,
        shot_timer=shot_timer,
        terminal=jnp.logical_or(state.terminal, bullet_terminal),
    )


def step_aliens(state):
    at_pos = lambda m: jnp.sum(jnp.where(_onehot(state.pos), m[9], 0)) > 0
    alien_terminal_1 = at_pos(state.alien_map)
    move = state.alien_move_timer == 0
    alien_move_timer = jnp.where(
        move,
        jnp.minimum(jnp.count_nonzero(state.alien_map), state.enemy_move_interval),
        state.alien_move_timer,
    )
    cond1 = jnp.logical_and(jnp.sum(state.alien_map[:, 0]) > 0, state.alien_dir < 0)
    cond2 = jnp.logical_and(jnp.sum(state.alien_map[:, 9]) > 0, state.alien_dir > 0)
    border = jnp.logical_and(move, jnp.logical_or(cond1, cond2))
    alien_dir = jnp.where(border, -1 * state.alien_dir, state.alien_dir)
    alien_terminal_2 = jnp.logical_and(border, jnp.sum(state.alien_map[9, :]) > 0)
    sideways = jnp.where(
        alien_dir > 0, jnp.roll(state.alien_map, 1, axis=1), jnp.roll(state.alien_map, -1, axis=1)
    )
    moved = jnp.where(border, jnp.roll(state.alien_map, 1, axis=0), sideways)
    alien_map = jnp.where(move, moved, state.alien_map)
    alien_terminal_3 = jnp.logical_and(move, at_pos(alien_map))
    alien_terminal = alien_terminal_1 | alien_terminal_2 | alien_terminal_3
    return state.replace(
        alien_move_timer=alien_move_timer,
        alien_dir=alien_dir,
        alien_map=alien_map,
        terminal=jnp.logical_or(state.terminal, alien_terminal),
    )


def step_shoot(state, params):
    shoot = state.alien_shot_timer == 0
    alien_shot_timer = jnp.where(shoot, params.enemy_shot_interval, state.alien_shot_timer)
    exists, row, col = nearest_alien(state.pos, state.alien_map)
    cell = jnp.logical_and(_onehot(row)[:, None], _onehot(col)[None, :])
    write = jnp.logical_and(jnp.logical_and(shoot, exists > 0), cell)
    e_bullet_map = jnp.where(write, 1.0, state.e_bullet_map)
    kill = jnp.logical_and(state.alien_map, state.alien_map == state.f_bullet_map)
    reward = jnp.sum(kill)
    return (
        state.replace(
            alien_shot_timer=alien_shot_timer,
            e_bullet_map=e_bullet_map,
            alien_map=state.alien_map * (1 - kill),
            f_bullet_map=state.f_bullet_map * (1 - kill),
        ),
        reward,
    )


class SpaceInvaders(si.MinSpaceInvaders):
    """gymnax's `MinSpaceInvaders` with the dense step of this module (same results)."""

    def step_env(self, key, state, action, params):
        a = self.action_set[action]
        state = step_agent(a, state, params)
        state = step_aliens(state)
        state, reward = step_shoot(state, params)
        shot_timer = state.shot_timer - (state.shot_timer > 0)
        cleared = jnp.count_nonzero(state.alien_map) == 0
        ramp = jnp.logical_and(
            cleared, jnp.logical_and(state.enemy_move_interval > 6, state.ramping)
        )
        wave = jnp.zeros((10, 10)).at[0:4, 2:8].set(1.0)
        alien_map = jnp.where(cleared, jnp.maximum(state.alien_map, wave), state.alien_map)
        time = state.time + 1
        done = self.is_terminal(state.replace(time=time), params)
        state = state.replace(
            shot_timer=shot_timer,
            alien_move_timer=state.alien_move_timer - 1,
            alien_shot_timer=state.alien_shot_timer - 1,
            enemy_move_interval=state.enemy_move_interval - ramp,
            ramp_index=state.ramp_index + ramp,
            alien_map=alien_map,
            time=time,
            terminal=done,
        )
        obs = jax.lax.stop_gradient(self.get_obs(state))
        return (
            obs,
            jax.lax.stop_gradient(state),
            reward.astype(jnp.float32),
            done,
            {"discount": 1 - done},
        )

    def get_obs(self, state, params=None, key=None):
        aliens = state.alien_map.astype(bool)
        left = state.alien_dir < 0
        cannon = jnp.logical_and(_COLS[:, None] == 9, _onehot(state.pos)[None, :])
        channels = [
            cannon,
            aliens,
            jnp.logical_and(aliens, left),
            jnp.logical_and(aliens, jnp.logical_not(left)),
            state.f_bullet_map.astype(bool),
            state.e_bullet_map.astype(bool),
        ]
        return jnp.stack(channels, axis=-1).astype(jnp.float32)


def make_space_invaders(**kwargs):
    env = SpaceInvaders(**kwargs)
    return env, env.default_params


__all__ = ["SpaceInvaders", "make_space_invaders", "nearest_alien"]
