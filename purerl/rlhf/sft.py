"""Supervised pre-training / fine-tuning of a language model on teacher samples.

Each update draws a fresh batch of teacher sequences (an unlimited corpus), and takes one
AdamW step on the mean next-token negative log-likelihood over their tokens (EOS included,
PAD after it excluded). The teacher's exact entropy rate (`tasks.entropy_rate`) is the
floor this loss can reach: NLL - entropy rate is the per-token KL(teacher || model).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from purerl.core import validation as V
from purerl.rlhf import tasks
from purerl.rlhf.lm import LM, log_probs
from purerl.rlhf.tasks import Task
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(V.ConfigBase):
    """SFT hyper-parameters."""

    num_updates: int = 1500
    batch_size: int = 64  # teacher sequences per update
    learning_rate: float = 3e-3  # peak; linear warm-up, then cosine decay to 10%
    warmup: int = 100
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        c = "sft.Config"
        for name in ("num_updates", "batch_size"):
            V.check_int(c, name, getattr(self, name))
        V.check_int(c, "warmup", self.warmup, minimum=0)
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_positive(c, "weight_decay", self.weight_decay, allow_zero=True)
        V.check_positive(c, "max_grad_norm", self.max_grad_norm)


class State(NamedTuple):
    params: dict
    opt_state: optax.OptState
    key: jax.Array
    step: jax.Array


def nll(apply, params, tokens: jax.Array, start: int = 1) -> jax.Array:
    """Mean negative log-likelihood per token of `tokens [B, S]` from index `start` on
    (valid tokens only: up to and including EOS)."""
    lp_all = log_probs(apply(params, tokens)[:, start - 1 : -1])
    lp = jnp.take_along_axis(lp_all, tokens[:, start:, None], axis=-1)[..., 0]
    mask = tasks.valid_mask(tokens, start)
    return -jnp.sum(jnp.where(mask, lp, 0.0)) / jnp.maximum(mask.sum(), 1)


def optimizer(config: Config) -> optax.GradientTransformation:
    decay = max(config.num_updates - config.warmup, 1)
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, config.learning_rate, max(config.warmup, 1), config.warmup + decay, 0.1
    )
    return optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm),
        optax.adamw(schedule, b2=0.95, weight_decay=config.weight_decay),
    )


def make(task: Task, lm: LM, config: Config = Config(), params=None) -> Agent:
    """SFT of `lm` on the teacher of `task` (sequences of `prompt_len + response_len` tokens).

    `params`: start from these (fine-tuning) instead of `lm.init(key)` (pre-training).
    `Agent.act(state, prompts, key)` samples one response per prompt.
    """
    if not isinstance(config, Config):
        raise ValueError(f"sft.make expects an sft.Config, got {type(config).__name__}")
    if lm.max_len is not None and task.seq_len > lm.max_len:
        raise ValueError(f"sft.make: task sequences ({task.seq_len}) exceed lm.max_len")
    length = task.seq_len - 1
    tx = optimizer(config)
    grad_fn = jax.value_and_grad(lambda p, toks: nll(lm.apply, p, toks))

    def init(key) -> State:
        k_net, k_state = jax.random.split(key)
        p = lm.init(k_net) if params is None else params
        return State(p, tx.init(p), k_state, jnp.zeros((), jnp.int32))

    def update(state: State):
        key, k_data = jax.random.split(state.key)
        toks = tasks.sample(task.teacher, k_data, config.batch_size, length)
        loss, grads = grad_fn(state.params, toks)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        new = State(optax.apply_updates(state.params, updates), opt_state, key, state.step + 1)
        return new, {"loss/nll": loss, "grad_norm": optax.tree.norm(grads)}

    def act(state: State, prompts, key):
        return lm.generate(state.params, prompts, key, task.response_len, 1.0)

    return Agent(init, update, act, config.num_updates, None, None, config)


def heldout_nll(task: Task, lm: LM, params, key, num_sequences: int = 2048) -> jax.Array:
    """Mean per-token NLL of `params` on fresh teacher sequences (compare with
    `tasks.entropy_rate(task.teacher, task.seq_len - 1)`)."""
    toks = tasks.sample(task.teacher, key, num_sequences, task.seq_len - 1)
    return nll(lm.apply, params, toks)


__all__ = ["Config", "State", "heldout_nll", "make", "nll", "optimizer"]
