"""Best-of-n sampling: draw n responses from the reference policy, keep the one the reward
model scores highest (Nakano et al. 2021; Stiennon et al. 2020; Gao et al. 2022).

No training: the KL coefficient's role is played by n. The KL of the best-of-n policy to
the reference is at most `log n - (n - 1) / n` (the analytic formula of Stiennon et al.,
exact for continuous, tie-free rewards and an upper bound in general; Beirami et al. 2024).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from purerl.rlhf import sampling, tasks
from purerl.rlhf.lm import LM
from purerl.rlhf.tasks import Task


def kl_bound(n: int) -> float:
    """`log n - (n - 1) / n`: the best-of-n KL to the sampling policy (upper bound)."""
    return math.log(n) - (n - 1) / n


def select(scores: jax.Array, candidates: jax.Array) -> jax.Array:
    """The highest-scoring candidate per prompt: `scores [n, B]`, `candidates [n, B, S]`
    -> `[B, S]` (ties: the first)."""
    best = jnp.argmax(scores, axis=0)
    return jnp.take_along_axis(candidates, best[None, :, None], axis=0)[0]


def candidates(
    task: Task, lm: LM, params, reward_fn: sampling.RewardFn, key, num_prompts: int, n: int
) -> tuple[jax.Array, jax.Array]:
    """`num_prompts` teacher prompts with `n` responses each from `lm`, and their scores.

    Returns `(tokens [n, num_prompts, S], scores [n, num_prompts])`."""
    k_prompt, k_gen = jax.random.split(key)
    prompts = tasks.sample_prompts(task.teacher, k_prompt, num_prompts, task.prompt_len)
    gen = lambda k: lm.generate(params, prompts, k, task.response_len, 1.0)
    tokens = jax.lax.map(gen, jax.random.split(k_gen, n))
    return tokens, jax.lax.map(reward_fn, tokens)


def sample(
    task: Task, lm: LM, params, reward_fn: sampling.RewardFn, key, num_prompts: int, n: int
) -> jax.Array:
    """Best-of-n responses `[num_prompts, S]` to fresh teacher prompts."""
    tokens, scores = candidates(task, lm, params, reward_fn, key, num_prompts, n)
    return select(scores, tokens)


def evaluate(
    task: Task,
    lm: LM,
    params,
    reward_fn: sampling.RewardFn,
    key,
    num_prompts: int,
    ns=(1, 2, 4, 8, 16, 32),
) -> dict:
    """Best-of-n for every n in `ns` from one pool of `max(ns)` candidates per prompt (the
    first n of them): gold and proxy reward (mean and standard error), `kl/bound`, and
    `response_length`, each an array over `ns`."""
    ns = tuple(int(n) for n in ns)
    if not ns or min(ns) < 1:
        raise ValueError(f"best_of_n.evaluate: ns must be positive ints, got {ns}")
    tokens, scores = candidates(task, lm, params, reward_fn, key, num_prompts, max(ns))
    rows = []
    for n in ns:
        best = select(scores[:n], tokens[:n])
        gold, proxy = tasks.gold_score(task, best), jnp.max(scores[:n], axis=0)
        length = sampling.responses(best, task.prompt_tokens).length.astype(jnp.float32)
        se = lambda v: jnp.std(v) / jnp.sqrt(v.shape[0])
        rows.append(
            {
                "gold": jnp.mean(gold),
                "gold_se": se(gold),
                "proxy": jnp.mean(proxy),
                "proxy_se": se(proxy),
                "kl/bound": jnp.asarray(kl_bound(n)),
                "response_length": jnp.mean(length),
            }
        )
    out = {k: jnp.stack([r[k] for r in rows]) for k in rows[0]}
    out["n"] = jnp.asarray(ns)
    return out


__all__ = ["candidates", "evaluate", "kl_bound", "sample", "select"]
