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

from purerl.rlhf import rollout, tasks
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


def sample(
    task: Task, lm: LM, params, reward_fn: rollout.RewardFn, key, num_prompts: int, n: int
) -> jax.Array:
    """`num_prompts` teacher prompts, n responses each from `lm`, the best by `reward_fn`.

    Returns the chosen sequences `[num_prompts, S]`."""
    k_prompt, k_gen = jax.random.split(key)
    prompts = tasks.sample_prompts(task.teacher, k_prompt, num_prompts, task.prompt_len)
    gen = lambda k: lm.generate(params, prompts, k, task.response_len, 1.0)
    candidates = jax.lax.map(gen, jax.random.split(k_gen, n))  # [n, B, S]
    scores = jax.lax.map(reward_fn, candidates)  # [n, B]
    return select(scores, candidates)


def evaluate(
    task: Task, lm: LM, params, reward_fn: rollout.RewardFn, key, num_prompts: int, n: int
) -> dict:
    """Gold and proxy reward (mean and standard error) of best-of-n, with `kl_bound(n)`."""
    tokens = sample(task, lm, params, reward_fn, key, num_prompts, n)
    out = {}
    for name, v in (("gold", tasks.gold_score(task, tokens)), ("proxy", reward_fn(tokens))):
        out[name], out[name + "_se"] = jnp.mean(v), jnp.std(v) / jnp.sqrt(v.shape[0])
    out["kl/bound"] = jnp.asarray(kl_bound(n))
    resp = rollout.responses(tokens, task.prompt_tokens)
    out["response_length"] = jnp.mean(resp.length.astype(jnp.float32))
    return out


__all__ = ["evaluate", "kl_bound", "sample", "select"]
