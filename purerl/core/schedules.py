"""Schedules: the one linear schedule factory every algorithm uses (exploration epsilon,
DAgger's beta) and the learning-rate annealing built on the same line.

Every schedule stays in range after its budget: `linear(start, end, steps)(t)` is `end`
from `t = steps` on and never leaves `[min(start, end), max(start, end)]`, and an annealed
learning rate is exactly 0 from the end of its budget on, so continuing a finished run
(more updates than `total_timesteps` budgeted) never flips a learning rate's sign or
pushes an epsilon out of its range.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

Schedule = Callable[[object], object]  # t (scalar, may be traced) -> value


def linear(start, end, steps) -> Schedule:
    """`t -> start + clip(t / steps, 0, 1) * (end - start)`, clipped to `[min(start, end),
    max(start, end)]`: `start` at `t = 0`, exactly `end` from `t = steps` on. `start`, `end` and
    `steps` may be traced; `steps < 1` counts as 1."""

    def schedule(t):
        frac = jnp.clip(t / jnp.maximum(steps, 1.0), 0.0, 1.0)
        # in float32, start + 1.0 * (end - start) can round one ulp off `end`: clip it
        # into range, and return `end` itself from the end of the budget on
        value = start + frac * (end - start)
        value = jnp.clip(value, jnp.minimum(start, end), jnp.maximum(start, end))
        return jnp.where(frac >= 1.0, jnp.asarray(end, value.dtype), value)

    return schedule


def anneal_to_zero(learning_rate, steps: int, every: int = 1) -> Schedule:
    """An optax learning-rate schedule: `learning_rate` decayed linearly to 0 over `steps`
    decrements, one every `every` optimiser steps (e.g. once per update of `every`
    minibatch steps), then exactly 0:

      count -> learning_rate * (1 - k / steps)  if k < steps else 0,   k = count // every

    This is `linear(learning_rate, 0, steps)(k)` in exact arithmetic, written as the rate
    times the remaining fraction: the float order of optax's `linear_schedule` and of
    PPO's annealing, so annealed runs stay bit-identical within their budget (that order
    can round `1 - steps / steps` to +-1e-8, hence the explicit 0 from `k = steps` on).
    `learning_rate` may be traced; `steps` and `every` are Python ints >= 1.
    """
    if steps < 1 or every < 1:
        raise ValueError(f"anneal_to_zero: steps {steps} and every {every} must be >= 1")

    def schedule(count):
        k = count // every
        return jnp.where(k >= steps, 0.0, learning_rate * (1.0 - k / steps))

    return schedule


__all__ = ["Schedule", "anneal_to_zero", "linear"]
