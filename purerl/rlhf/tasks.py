"""Synthetic RLHF tasks: a teacher language and a "human" preference oracle, made in code.

Everything a real RLHF run can only estimate is known exactly here.

* The **teacher** is a random sparse bigram chain over a small vocabulary: token 0 is PAD,
  1 is BOS, 2 is EOS, 3.. are words. From BOS and from every word a few successors (and EOS)
  carry almost all the mass, smoothed by `smoothing` over every emittable token so that any
  policy has a finite KL to it. Sequences start with BOS and run until EOS or `length`
  tokens. Its exact per-token log-probabilities give the exact entropy rate
  (`entropy_rate`) and the exact per-step KL of any policy to it (`token_kl`).
* **Prompts** are teacher prefixes of `prompt_len` words (EOS excluded, renormalised).
* The **oracle** scores a response (the tokens after the prompt, up to and including EOS)
  with a known gold score
      gold = mean_{words} lexicon[w] + fluency_coef * mean_{tokens} log P_teacher(x_t | x_{t-1})
             - no_eos_penalty * [no EOS within the response length]
  and labels a pair (a, b) by Bradley-Terry with a temperature tau:
      P(a preferred) = sigmoid((gold_a - gold_b) / tau),
  so the label noise and the Bayes ceiling E[max(p, 1 - p)] of any classifier are known.

Token arrays are `[B, S]` int32 with `S = 1 + prompt_len + response_len`; responses are
PAD after their EOS. Shapes are stated per function.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purerl.core import validation as V

PAD, BOS, EOS = 0, 1, 2
NUM_SPECIAL = 3
_NEG = -1e9  # log-prob of tokens a policy may never emit (PAD, BOS)


class Teacher(NamedTuple):
    """A bigram chain: `log_p[prev, next]` `[V, V]`; rows of PAD and EOS are unused.

    Columns PAD and BOS hold `-1e9` (never emitted)."""

    log_p: jax.Array


class Oracle(NamedTuple):
    """The gold score's parameters. `lexicon [V]` is 0 on special tokens."""

    lexicon: jax.Array
    fluency_coef: float | jax.Array
    no_eos_penalty: float | jax.Array
    temperature: float | jax.Array  # Bradley-Terry tau


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Task:
    """A teacher, an oracle and the prompt / response sizes (Python ints: they fix shapes).

    A pytree (the sizes are static), so it can be passed to jitted functions."""

    teacher: Teacher
    oracle: Oracle
    prompt_len: int = dataclasses.field(metadata={"static": True})  # words after BOS
    response_len: int = dataclasses.field(metadata={"static": True})  # tokens after the prompt

    def __post_init__(self):
        V.check_int("tasks.Task", "prompt_len", self.prompt_len, minimum=1)
        V.check_int("tasks.Task", "response_len", self.response_len, minimum=1)

    @property
    def vocab_size(self) -> int:
        return self.teacher.log_p.shape[0]

    @property
    def prompt_tokens(self) -> int:
        """`P = 1 + prompt_len`: the index of the first response token."""
        return 1 + self.prompt_len

    @property
    def seq_len(self) -> int:
        return 1 + self.prompt_len + self.response_len


def emit_mask(vocab_size: int) -> jax.Array:
    """Additive logit mask `[V]`: 0 on tokens a model may emit (EOS, words), -1e9 on PAD, BOS."""
    return jnp.zeros(vocab_size).at[PAD].set(_NEG).at[BOS].set(_NEG)


def make_teacher(
    key, vocab_size: int = 16, branching: int = 3, smoothing: float = 0.02, eos_prob=(0.05, 0.25)
) -> Teacher:
    """A random sparse bigram teacher.

    Each word row puts mass `e ~ U(eos_prob)` on EOS and `1 - e` on `branching` random
    successor words with Dirichlet(1) weights; the BOS row spreads over `branching + 1`
    words (never EOS). Every row is then mixed with the uniform distribution over the
    emittable tokens (EOS and words) with weight `smoothing`.
    """
    V.check_int("make_teacher", "vocab_size", vocab_size, minimum=NUM_SPECIAL + 2)
    n_words = vocab_size - NUM_SPECIAL
    V.check_int("make_teacher", "branching", branching, minimum=1)
    if branching + 1 > n_words:
        raise ValueError(f"make_teacher: branching {branching} + 1 > {n_words} words")
    V.check_unit("make_teacher", "smoothing", smoothing, closed_low=False)
    return _make_teacher(key, vocab_size, branching, smoothing, tuple(eos_prob))


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _make_teacher(key, vocab_size, branching, smoothing, eos_prob):
    n_words = vocab_size - NUM_SPECIAL

    def row(k, tok):
        k_succ, k_w, k_e = jax.random.split(k, 3)
        succ = NUM_SPECIAL + jax.random.choice(k_succ, n_words, (branching + 1,), replace=False)
        # Dirichlet(1) weights as normalised Exp(1) draws; only BOS uses the extra successor
        w = jax.random.exponential(k_w, (branching + 1,))
        w = w.at[-1].multiply(tok == BOS)
        row = jnp.zeros(vocab_size).at[succ].set(w / w.sum())
        e = jax.random.uniform(k_e, minval=eos_prob[0], maxval=eos_prob[1])
        e = jnp.where(tok == BOS, 0.0, e)
        return (1 - e) * row + e * jax.nn.one_hot(EOS, vocab_size)

    toks = jnp.arange(vocab_size)
    p = jax.vmap(row)(jax.random.split(key, vocab_size), toks)
    uniform = jnp.zeros(vocab_size).at[EOS:].set(1.0 / (vocab_size - 2))
    p = (1 - smoothing) * p + smoothing * uniform[None]
    log_p = jnp.where(p > 0, jnp.log(jnp.maximum(p, 1e-30)), _NEG)
    return Teacher(log_p)


def make_oracle(
    key,
    vocab_size: int,
    fluency_coef: float = 0.25,
    no_eos_penalty: float = 1.0,
    temperature: float = 0.1,
) -> Oracle:
    """A random lexicon `N(0, 1)` on words (0 on special tokens) and the score's weights."""
    lex = jax.random.normal(key, (vocab_size,)).at[:NUM_SPECIAL].set(0.0)
    return Oracle(lex, fluency_coef, no_eos_penalty, temperature)


def make_task(
    key, vocab_size=16, branching=3, smoothing=0.02, prompt_len=2, response_len=16, **oracle
) -> Task:
    """`Task(make_teacher(...), make_oracle(...), prompt_len, response_len)`."""
    k_t, k_o = jax.random.split(key)
    return Task(
        make_teacher(k_t, vocab_size, branching, smoothing),
        make_oracle(k_o, vocab_size, **oracle),
        prompt_len,
        response_len,
    )


# ----------------------------------------------------------------------------- sampling
def _chain(key, log_p, first, length, allow_eos=True):
    """Continue `first [B]` by `length` tokens of the chain; PAD after EOS. `[B, length]`."""
    if not allow_eos:
        log_p = log_p.at[:, EOS].set(_NEG)

    def step(carry, k):
        prev, done = carry
        tok = jax.random.categorical(k, log_p[prev])
        tok = jnp.where(done, PAD, tok)
        return (tok, done | (tok == EOS)), tok

    done0 = jnp.zeros(first.shape, bool)
    _, toks = jax.lax.scan(step, (first, done0), jax.random.split(key, length))
    return toks.T.astype(jnp.int32)


@functools.partial(jax.jit, static_argnums=(2, 3))
def sample(teacher: Teacher, key, batch: int, length: int) -> jax.Array:
    """Teacher sequences `[batch, 1 + length]`: BOS, then up to `length` tokens (EOS ends)."""
    bos = jnp.full((batch,), BOS, jnp.int32)
    return jnp.concatenate([bos[:, None], _chain(key, teacher.log_p, bos, length)], axis=1)


@functools.partial(jax.jit, static_argnums=(2, 3))
def sample_prompts(teacher: Teacher, key, batch: int, prompt_len: int) -> jax.Array:
    """Prompts `[batch, 1 + prompt_len]`: BOS and `prompt_len` teacher words (no EOS)."""
    bos = jnp.full((batch,), BOS, jnp.int32)
    words = _chain(key, teacher.log_p, bos, prompt_len, allow_eos=False)
    return jnp.concatenate([bos[:, None], words], axis=1)


@functools.partial(jax.jit, static_argnums=(3,))
def sample_responses(teacher: Teacher, key, prompts: jax.Array, response_len: int) -> jax.Array:
    """The teacher's own continuation of `prompts [B, P]`: `[B, P + response_len]`."""
    return jnp.concatenate([prompts, _chain(key, teacher.log_p, prompts[:, -1], response_len)], 1)


# ------------------------------------------------------------------------- exact values
def valid_mask(tokens: jax.Array, start: int) -> jax.Array:
    """`[B, S - start]` bool: token t (index `start + t`) is part of the sequence, i.e. no
    EOS came before it at or after `start`, and it is not PAD."""
    seg = tokens[:, start:]
    eos_before = jnp.cumsum(seg == EOS, axis=1) - (seg == EOS)
    return (eos_before == 0) & (seg != PAD)


def token_log_probs(teacher: Teacher, tokens: jax.Array, start: int = 1) -> jax.Array:
    """`log P_teacher(x_t | x_{t-1})` of tokens from index `start` on, 0 where not valid.

    Returns `[B, S - start]`."""
    lp = teacher.log_p[tokens[:, start - 1 : -1], tokens[:, start:]]
    return jnp.where(valid_mask(tokens, start), lp, 0.0)


def entropy_rate(teacher: Teacher, length: int) -> float:
    """Exact per-token entropy (nats) of teacher sequences of at most `length` tokens.

    `sum_t E[H(P(.|x_{t-1})) 1{alive_t}] / sum_t P(alive_t)`, where alive_t means no EOS
    among x_1..x_{t-1}: the expected NLL per token of the teacher itself, with the same
    token weighting as a model's mean NLL over sampled sequences (EOS included). Computed
    by propagating the distribution of x_{t-1} on surviving sequences (float64, numpy).
    """
    log_p = np.asarray(teacher.log_p, np.float64)
    p = np.where(log_p > _NEG / 2, np.exp(log_p), 0.0)
    row_h = -np.sum(np.where(p > 0, p * log_p, 0.0), axis=1)
    d = np.zeros(p.shape[0])
    d[BOS] = 1.0
    h_sum = n_sum = 0.0
    for _ in range(length):
        h_sum += d @ row_h
        n_sum += d.sum()
        d = d @ p
        d[EOS] = 0.0
    return float(h_sum / n_sum)


def token_kl(log_pi: jax.Array, log_q: jax.Array) -> jax.Array:
    """`KL(pi || q)` per position over the last axis: `sum_v pi_v (log pi_v - log q_v)`.

    Both are normalised log-probabilities (masked tokens at -1e9 give 0 terms)."""
    pi = jnp.exp(log_pi)
    return jnp.sum(jnp.where(pi > 0, pi * (log_pi - log_q), 0.0), axis=-1)


def teacher_next_log_probs(teacher: Teacher, tokens: jax.Array, start: int) -> jax.Array:
    """The teacher's next-token log-probabilities for positions `start..S-1`: `[B, S-start, V]`."""
    return teacher.log_p[tokens[:, start - 1 : -1]]


# --------------------------------------------------------------------------- the oracle
@jax.jit
def gold_score(task: Task, tokens: jax.Array) -> jax.Array:
    """The oracle's gold score of each response in `tokens [B, S]`. Returns `[B]`.

    `mean_words lexicon + fluency_coef * mean_tokens log P_teacher - no_eos_penalty * [no EOS]`
    (means over an empty set are 0)."""
    P, o = task.prompt_tokens, task.oracle
    resp = tokens[:, P:]
    valid = valid_mask(tokens, P)
    words = valid & (resp != EOS)
    n_words = words.sum(axis=1)
    lexicon = jnp.sum(jnp.where(words, o.lexicon[resp], 0.0), axis=1) / jnp.maximum(n_words, 1)
    n_tok = valid.sum(axis=1)
    fluency = token_log_probs(task.teacher, tokens, P).sum(axis=1) / jnp.maximum(n_tok, 1)
    ended = jnp.any(valid & (resp == EOS), axis=1)
    return lexicon + o.fluency_coef * fluency - o.no_eos_penalty * (1.0 - ended)


def preference_prob(task: Task, gold_a: jax.Array, gold_b: jax.Array) -> jax.Array:
    """Bradley-Terry probability that a is preferred: `sigmoid((gold_a - gold_b) / tau)`."""
    return jax.nn.sigmoid((gold_a - gold_b) / task.oracle.temperature)


def sample_labels(key, p_a: jax.Array) -> jax.Array:
    """Noisy human labels: 1 where a is preferred, drawn with probability `p_a`. int32."""
    return jax.random.bernoulli(key, p_a).astype(jnp.int32)


def bayes_accuracy(p_a: jax.Array) -> jax.Array:
    """The Bayes ceiling: the best expected accuracy against sampled labels, E[max(p, 1-p)]."""
    return jnp.mean(jnp.maximum(p_a, 1.0 - p_a))


__all__ = [
    "BOS",
    "EOS",
    "NUM_SPECIAL",
    "PAD",
    "Oracle",
    "Task",
    "Teacher",
    "bayes_accuracy",
    "emit_mask",
    "entropy_rate",
    "gold_score",
    "make_oracle",
    "make_task",
    "make_teacher",
    "preference_prob",
    "sample",
    "sample_labels",
    "sample_prompts",
    "sample_responses",
    "teacher_next_log_probs",
    "token_kl",
    "token_log_probs",
    "valid_mask",
]
