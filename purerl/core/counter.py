"""A wide update counter: exact past 2^31, without `jax_enable_x64`.

JAX runs in 32-bit by default, so an `int32` step counter wraps at 2^31 (and
`step * steps_per_update` env steps wraps far sooner): a long GPU run's `env_steps` turns
negative and every decision derived from it (learning starts, target updates, exploration)
silently flips. `Count` keeps a non-negative count as two int32 words,

    value = hi * 2^31 + lo,   0 <= lo < 2^31,  0 <= hi < 2^31,

so it is exact up to `MAX_COUNT = 2^62 - 1`. Every decision is an exact integer comparison
against Python-int thresholds, taken in update units (`at_least`, `event_in_update`,
`divisible`); schedules and metrics read a float32 view (`to_float`), exact below 2^24
and within float32's relative precision (6e-8) beyond.

A `Count` is a pytree (it jits, vmaps, scans and checkpoints like an array); on the host
`int(c)` and `np.asarray(c)` (int64) give its value, and `c >= n`, `c < n` compare it with a
Python int (traced or not).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

BASE = 2**31  # the value of one `hi` unit
MAX_COUNT = 2**62 - 1  # the largest count a `Count` holds exactly
_LOW_BITS = 0x7FFFFFFF


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True, eq=False)
class Count:
    """A non-negative integer `hi * 2^31 + lo` held in two int32 arrays (any equal shape)."""

    hi: jax.Array
    lo: jax.Array

    def __int__(self) -> int:
        return int(np.asarray(self))

    __index__ = __int__

    def __array__(self, dtype=None, copy=None):
        value = np.asarray(np.asarray(self.hi, np.int64) * BASE + np.asarray(self.lo, np.int64))
        return value if dtype is None else value.astype(dtype)

    def __add__(self, k: int) -> Count:
        return add(self, k)

    def __ge__(self, n: int):
        return at_least(self, n)

    def __lt__(self, n: int):
        return ~at_least(self, n)

    def tolist(self):
        return np.asarray(self).tolist()

    @property
    def shape(self):
        return jnp.shape(self.lo)


def zero() -> Count:
    """A scalar count of 0 (strongly typed int32 words)."""
    return of(0)


def of(n: int) -> Count:
    """The count `n` (a Python int in `[0, MAX_COUNT]`), e.g. to start a run near 2^31."""
    n = int(n)
    if not 0 <= n <= MAX_COUNT:
        raise ValueError(f"counter: {n} is outside [0, {MAX_COUNT}]")
    hi, lo = divmod(n, BASE)
    return Count(jnp.asarray(hi, jnp.int32), jnp.asarray(lo, jnp.int32))


def add(c: Count, k: int = 1) -> Count:
    """`c + k` for a Python int `0 <= k < 2^31` (the carry moves into `hi`)."""
    if not (isinstance(k, int) and 0 <= k < BASE):
        raise ValueError(f"counter.add: k must be an int in [0, 2^31), got {k!r}")
    new = c.lo + jnp.int32(k)  # < 2^32: wraps at most once, to a negative int32
    carry = new < 0
    return Count(c.hi + carry.astype(jnp.int32), jnp.bitwise_and(new, jnp.int32(_LOW_BITS)))


def at_least(c: Count, n: int):
    """`c >= n` (bool array), exact, for a Python int `n` (any size, negative included)."""
    n = int(n)
    if n <= 0:
        return jnp.ones(jnp.shape(c.lo), bool)
    n_hi, n_lo = divmod(n, BASE)
    if n_hi >= BASE:  # beyond MAX_COUNT: never reached
        return jnp.zeros(jnp.shape(c.lo), bool)
    return (c.hi > n_hi) | ((c.hi == n_hi) & (c.lo >= n_lo))


def updates_to_reach(env_steps: int, per_update: int) -> int:
    """The fewest updates of `per_update` env steps that reach `env_steps`:
    `ceil(env_steps / per_update)` (0 for `env_steps <= 0`). With `c` counting updates,
    `c * per_update >= env_steps` iff `c >= updates_to_reach(env_steps, per_update)`."""
    return max(0, -(-int(env_steps) // int(per_update)))


def _mulmod(a, b: int, m: int):
    """`(a * b) mod m` for an int32 array `0 <= a < m` and Python ints `0 <= b < m < 2^31`,
    without overflow: a direct product when it fits in int32, else double-and-add in uint32
    (every partial sum is below `2m < 2^32`)."""
    if b == 0:
        return jnp.zeros_like(a)
    if (m - 1) * b < BASE:
        return (a * jnp.int32(b)) % jnp.int32(m)
    a, acc, m_u = a.astype(jnp.uint32), jnp.zeros_like(a, jnp.uint32), jnp.uint32(m)
    while b:
        if b & 1:
            acc = (acc + a) % m_u
        a = (a + a) % m_u
        b >>= 1
    return acc.astype(jnp.int32)


def mod(c: Count, m: int):
    """`c mod m` (int32 array) for a Python int `1 <= m < 2^31`."""
    if not (isinstance(m, int) and 1 <= m < BASE):
        raise ValueError(f"counter.mod: m must be an int in [1, 2^31), got {m!r}")
    hi_part = _mulmod(c.hi % jnp.int32(m), BASE % m, m)
    # hi_part + lo % m < 2m < 2^32: add in uint32
    total = hi_part.astype(jnp.uint32) + (c.lo % jnp.int32(m)).astype(jnp.uint32)
    return (total % jnp.uint32(m)).astype(jnp.int32)


def divisible(c: Count, m: int):
    """`c mod m == 0` (bool array), exact."""
    return mod(c, m) == 0


def event_in_update(c: Count, per_update: int, interval: int):
    """Whether update number `c` (0-based; it covers env steps `(c * per_update, (c + 1) *
    per_update]`) contains a multiple of `interval`: an event every `interval` env steps
    (e.g. a target-network update) falls within it. Exact: with `x = (c + 1) * per_update`,
    the last multiple of `interval` at or below `x` is `x - (x mod interval)`, which lies
    in the update iff `x mod interval < per_update`."""
    if per_update >= interval:
        return jnp.ones(jnp.shape(c.lo), bool)
    next_mod = (mod(c, interval) + 1) % jnp.int32(interval)  # (c + 1) mod interval
    return _mulmod(next_mod, per_update % interval, interval) < per_update


def to_float(c: Count, scale: int | float = 1):
    """`c * scale` as float32 (for schedules and metrics): exact below 2^24, rounded to
    float32 beyond (it keeps rising; decisions never read it)."""
    hi = c.hi.astype(jnp.float32) * jnp.float32(float(BASE) * scale)
    return hi + c.lo.astype(jnp.float32) * jnp.float32(scale)


def check_budget(cls: str, total_timesteps: int, per_update: int) -> None:
    """A budget whose update count would not fit a `Count` is a clear error (at Config time)."""
    if int(total_timesteps) // max(int(per_update), 1) > MAX_COUNT:
        raise ValueError(
            f"{cls}: total_timesteps {total_timesteps} needs more than {MAX_COUNT} updates of "
            f"{per_update} env steps, beyond purerl's update counter; lower total_timesteps"
        )


__all__ = [
    "BASE",
    "MAX_COUNT",
    "Count",
    "add",
    "at_least",
    "check_budget",
    "divisible",
    "event_in_update",
    "mod",
    "of",
    "to_float",
    "updates_to_reach",
    "zero",
]
