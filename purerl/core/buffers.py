"""Replay buffer: pure `init / add / sample` functions over a pytree state.

Backed by flashbax's item buffer (a well-kept JAX replay library): a circular buffer with
uniform sampling over the filled slots, jittable and vmappable. This module fixes the one
shape every purerl algorithm uses: items are whole transitions (observation, action, reward,
terminated, truncated and the *true* next observation), added `[B, ...]` at a time, so no
next-observation is ever read from a neighbouring slot (which would be the auto-reset one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import flashbax as fbx
import jax
import jax.numpy as jnp

BufferState = Any  # flashbax TrajectoryBufferState: experience [1, capacity, ...], index, is_full


class ReplayBuffer(NamedTuple):
    """Pure replay-buffer functions (the buffer's state is passed in and returned).

    init(item) -> state: `item` is one example transition (no batch axis); it fixes shapes.
    add(state, items) -> state: `items` leaves `[B, ...]`; oldest slots are overwritten.
    sample(state, key) -> items: `[batch_size, ...]`, uniform over the filled slots.
    can_sample(state) -> bool array: at least `min_size` items stored.
    size(state) -> int array: number of filled slots.
    """

    init: Callable[[Any], BufferState]
    add: Callable[[BufferState, Any], BufferState]
    sample: Callable[[BufferState, jax.Array], Any]
    can_sample: Callable[[BufferState], jax.Array]
    size: Callable[[BufferState], jax.Array]
    capacity: int
    batch_size: int


def make_replay_buffer(capacity: int, batch_size: int, min_size: int = 1) -> ReplayBuffer:
    """A uniform replay buffer of `capacity` items, sampling `batch_size` at a time.

    Raises:
      ValueError: non-positive sizes, or `min_size` larger than `capacity`.
    """
    for name, v in (("capacity", capacity), ("batch_size", batch_size), ("min_size", min_size)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"replay buffer: {name} must be a positive int, got {v!r}")
    if min_size > capacity:
        raise ValueError(f"replay buffer: min_size {min_size} > capacity {capacity}")
    buf = fbx.make_item_buffer(
        max_length=capacity,
        min_length=min_size,
        sample_batch_size=batch_size,
        add_sequences=True,
        add_batches=False,
    )

    def init(item):
        return buf.init(item)

    def add(state, items):
        return buf.add(state, items)

    def sample(state, key):
        return buf.sample(state, key).experience

    def size(state):
        return jnp.where(state.is_full, capacity, state.current_index)

    def can_sample(state):
        return size(state) >= min_size

    return ReplayBuffer(init, add, sample, can_sample, size, capacity, batch_size)
