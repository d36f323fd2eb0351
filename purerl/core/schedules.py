"""Schedules: the one linear schedule factory every algorithm uses (exploration epsilon,
DAgger's beta, learning-rate annealing).

Every schedule stays in range after its budget: `linear(start, end, steps)(t)` is clamped
to `end` for `t >= steps` (and to `start` for `t <= 0`), so continuing a finished run (more
updates than `total_timesteps` budgeted) never drives a learning rate below 0 or an
epsilon out of `[min(start, end), max(start, end)]`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

Schedule = Callable[[object], object]  # t (scalar, may be traced) -> value


def linear(start, end, steps) -> Schedule:
    """`t -> start + clip(t / steps, 0, 1) * (end - start)`: `start` at `t = 0`, `end` from
    `t = steps` on. `start`, `end` and `steps` may be traced; `steps < 1` counts as 1."""

    def schedule(t):
        frac = jnp.clip(t / jnp.maximum(steps, 1.0), 0.0, 1.0)
        return start + frac * (end - start)

    return schedule


def anneal_to_zero(learning_rate, steps: int, every: int = 1) -> Schedule:
    """An optax learning-rate schedule: `learning_rate` decayed linearly to 0 over `steps`
    decrements, one every `every` optimiser steps (e.g. once per update of `every`
    minibatch steps), then held at 0:

      count -> learning_rate * (1 - min(count // every, steps) / steps)

    This is `linear(learning_rate, 0, steps)(count // every)` in exact arithmetic, written
    as the rate times the remaining fraction: the float order of optax's
    `linear_schedule` and of PPO's annealing, so annealed runs stay bit-identical.
    `learning_rate` may be traced; `steps` and `every` are Python ints >= 1.
    """
    if steps < 1 or every < 1:
        raise ValueError(f"anneal_to_zero: steps {steps} and every {every} must be >= 1")

    def schedule(count):
        k = jnp.clip(count // every, 0, steps)
        return learning_rate * (1.0 - k / steps)

    return schedule


__all__ = ["Schedule", "anneal_to_zero", "linear"]
