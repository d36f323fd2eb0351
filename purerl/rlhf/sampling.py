"""What every fine-tuning method shares: sample responses, score them, measure them.

A batch of responses is `tokens [B, S]` with the prompt in `[:, :P]` and the response in
`[:, P:]` (`R = S - P` tokens, PAD after EOS). Response token t (index `P + t`) is predicted
by the logits at index `P + t - 1`.

KL to the reference, per sequence, is reported two ways:

* `kl/k1`: the sampled estimate `sum_t log pi(y_t|h_t) - log ref(y_t|h_t)` (Schulman's k1).
* `kl/exact`: `sum_t KL(pi(.|h_t) || ref(.|h_t))` with each per-token KL summed exactly over
  the vocabulary. Both are unbiased for the sequence KL `KL(pi(.|x) || ref(.|x))`; the
  second (a Rao-Blackwellisation of the first) is exact given the sampled prefixes and has
  far lower variance. `tests/rlhf` checks both against the KL computed by enumerating every
  response of a tiny model.

`kl_teacher` is the same exact-per-token KL to the teacher chain, and `entropy` the mean
per-token entropy of the policy over response tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from purerl.rlhf import tasks
from purerl.rlhf.lm import LM, log_probs
from purerl.rlhf.tasks import EOS, Task

RewardFn = Callable[[jax.Array], jax.Array]  # tokens [B, S] -> scores [B]


class Responses(NamedTuple):
    """Sampled responses. `mask [B, R]`: valid response tokens (up to and including EOS);
    `last [B]`: response index of the last valid token; `ended [B]`: an EOS was emitted;
    `length [B]`: number of valid tokens."""

    tokens: jax.Array
    mask: jax.Array
    last: jax.Array
    ended: jax.Array
    length: jax.Array


def responses(tokens: jax.Array, prompt_tokens: int) -> Responses:
    mask = tasks.valid_mask(tokens, prompt_tokens)
    length = mask.sum(axis=1)
    ended = jnp.any(mask & (tokens[:, prompt_tokens:] == EOS), axis=1)
    return Responses(tokens, mask, jnp.maximum(length - 1, 0), ended, length)


def response_log_probs(logits: jax.Array, tokens: jax.Array, prompt_tokens: int):
    """From full-sequence logits `[B, S, V]`: `(log pi(y_t) [B, R], log pi(.) [B, R, V])`."""
    lp_all = log_probs(logits[:, prompt_tokens - 1 : -1])
    lp = jnp.take_along_axis(lp_all, tokens[:, prompt_tokens:, None], axis=-1)[..., 0]
    return lp, lp_all


def last_token_features(h: jax.Array, resp: Responses, prompt_tokens: int) -> jax.Array:
    """Features `[B, D]` at each response's last valid token (from `h [B, S, D]`)."""
    idx = prompt_tokens + resp.last
    return jnp.take_along_axis(h, idx[:, None, None], axis=1)[:, 0]


def masked_mean(x: jax.Array, mask: jax.Array, axis=None) -> jax.Array:
    m = mask.astype(x.dtype)
    return jnp.sum(x * m, axis=axis) / jnp.maximum(jnp.sum(m, axis=axis), 1.0)


def masked_whiten(x: jax.Array, mask: jax.Array, eps: float = 1e-8) -> jax.Array:
    """`(x - mean) / std` over the valid entries (statistics from those alone), 0 elsewhere."""
    mean = masked_mean(x, mask)
    var = masked_mean(jnp.square(x - mean), mask)
    return jnp.where(mask, (x - mean) / jnp.sqrt(var + eps), 0.0)


def sample(task: Task, lm: LM, params, key, batch: int, temperature=1.0) -> Responses:
    """`batch` fresh prompts from the teacher, each continued by `lm` (`response_len` tokens)."""
    k_prompt, k_gen = jax.random.split(key)
    prompts = tasks.sample_prompts(task.teacher, k_prompt, batch, task.prompt_len)
    tokens = lm.generate(params, prompts, k_gen, task.response_len, temperature)
    return responses(tokens, task.prompt_tokens)


def sequence_stats(task: Task, resp: Responses, lp, lp_all, ref_lp, ref_lp_all) -> dict:
    """Per-sequence measurements `[B]`: k1 and exact KL to the reference, exact KL to the
    teacher, mean per-token entropy, length, ended."""
    m = resp.mask
    teacher_lp = tasks.teacher_next_log_probs(task.teacher, resp.tokens, task.prompt_tokens)
    entropy = -jnp.sum(jnp.exp(lp_all) * jnp.where(lp_all > -1e8, lp_all, 0.0), axis=-1)
    return {
        "kl/k1": jnp.sum(jnp.where(m, lp - ref_lp, 0.0), axis=1),
        "kl/exact": jnp.sum(jnp.where(m, tasks.token_kl(lp_all, ref_lp_all), 0.0), axis=1),
        "kl_teacher": jnp.sum(jnp.where(m, tasks.token_kl(lp_all, teacher_lp), 0.0), axis=1),
        "entropy": masked_mean(entropy, m, axis=1),
        "response_length": resp.length.astype(jnp.float32),
        "eos_rate": resp.ended.astype(jnp.float32),
    }


def measure(
    task: Task, lm: LM, params, ref_params, reward_fn: RewardFn, resp: Responses, logits=None
) -> dict:
    """Per-sequence `[B]` gold, proxy and `sequence_stats` of sampled responses under
    `params` (`logits`: the policy's full-sequence logits if already computed)."""
    P = task.prompt_tokens
    if logits is None:
        logits = lm.apply(params, resp.tokens)
    lp, lp_all = response_log_probs(logits, resp.tokens, P)
    ref_lp, ref_lp_all = response_log_probs(lm.apply(ref_params, resp.tokens), resp.tokens, P)
    out = sequence_stats(task, resp, lp, lp_all, ref_lp, ref_lp_all)
    out["gold"] = tasks.gold_score(task, resp.tokens)
    out["proxy"] = reward_fn(resp.tokens)
    return out


def evaluate(
    task: Task,
    lm: LM,
    params,
    ref_params,
    reward_fn: RewardFn,
    key,
    num_prompts: int = 1024,
    temperature=1.0,
) -> dict:
    """Mean and standard error (`<name>_se`) of every `measure` over fresh samples."""
    resp = sample(task, lm, params, key, num_prompts, temperature)
    per_seq = measure(task, lm, params, ref_params, reward_fn, resp)
    out = {}
    for k, v in per_seq.items():
        out[k] = jnp.mean(v)
        out[k + "_se"] = jnp.std(v) / jnp.sqrt(v.shape[0])
    return out


__all__ = [
    "Responses",
    "RewardFn",
    "evaluate",
    "last_token_features",
    "masked_mean",
    "masked_whiten",
    "measure",
    "response_log_probs",
    "responses",
    "sample",
    "sequence_stats",
]
