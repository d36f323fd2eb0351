"""The sampled (k1) and exact-per-token KL estimates against the KL of a tiny transformer
policy to another, computed by enumerating every response."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.rlhf import lm, sampling, tasks
from purerl.rlhf.tasks import BOS, EOS, NUM_SPECIAL, PAD

V, R = 6, 3  # PAD, BOS, EOS and 3 words; responses of at most 3 tokens


def _responses():
    emit = [EOS] + list(range(NUM_SPECIAL, V))
    out = []
    for n in range(1, R + 1):
        for seq in itertools.product(emit, repeat=n):
            if EOS in seq[:-1] or (n < R and seq[-1] != EOS):
                continue
            out.append(list(seq) + [PAD] * (R - n))
    return np.array(out)  # [40, R]


def test_k1_and_exact_kl_match_enumeration():
    task = tasks.make_task(
        jax.random.key(0), vocab_size=V, branching=2, prompt_len=1, response_len=R, smoothing=0.2
    )
    m = lm.make(lm.Config(vocab_size=V, max_len=1 + 1 + R, d_model=16, num_layers=1, num_heads=2))
    scale = jax.jit(lambda p: jax.tree.map(lambda x: x * 6.0 if x.ndim >= 2 else x, p))
    pi, ref = scale(m.init(jax.random.key(1))), scale(m.init(jax.random.key(2)))

    ys = _responses()
    P = task.prompt_tokens
    words = list(range(NUM_SPECIAL, V))
    prompt_lp = np.asarray(task.teacher.log_p[BOS, NUM_SPECIAL:], np.float64)
    prompt_p = np.exp(prompt_lp) / np.exp(prompt_lp).sum()  # prompts exclude EOS

    @jax.jit
    def seq_log_probs(params, toks):
        lp, _ = sampling.response_log_probs(m.apply(params, toks), toks, P)
        mask = tasks.valid_mask(toks, P)
        return jnp.sum(jnp.where(mask, lp, 0.0), axis=1)

    kl_ref = kl_teacher = 0.0
    for x, px in zip(words, prompt_p, strict=True):
        toks = jnp.asarray(np.concatenate([np.tile([[BOS, x]], (len(ys), 1)), ys], axis=1))
        lp_pi = np.asarray(seq_log_probs(pi, toks), np.float64)
        lp_ref = np.asarray(seq_log_probs(ref, toks), np.float64)
        lp_teacher = np.asarray(tasks.token_log_probs(task.teacher, toks, P).sum(1), np.float64)
        p_pi = np.exp(lp_pi)
        assert p_pi.sum() == pytest.approx(1.0, abs=1e-4)  # the responses are all of them
        kl_ref += px * np.sum(p_pi * (lp_pi - lp_ref))
        kl_teacher += px * np.sum(p_pi * (lp_pi - lp_teacher))
    assert kl_ref > 0.3  # the two policies really differ

    n = 40_000
    sample = jax.jit(
        lambda k: sampling.measure(
            task,
            m,
            pi,
            ref,
            lambda t: jnp.zeros(t.shape[0]),
            sampling.sample(task, m, pi, k, n),
        )
    )
    stats = jax.tree.map(np.asarray, sample(jax.random.key(3)))
    for name, want in (("kl/k1", kl_ref), ("kl/exact", kl_ref), ("kl_teacher", kl_teacher)):
        x = stats[name]
        se = x.std() / np.sqrt(n)
        assert abs(x.mean() - want) < 4 * se + 1e-3, (name, x.mean(), want, se)
    # the per-token exact sum is the lower-variance estimator of the same quantity
    assert stats["kl/exact"].std() < stats["kl/k1"].std()


def test_masked_mean_and_whiten():
    x = jnp.array([[1.0, 2.0, 100.0], [3.0, 4.0, -50.0]])
    mask = jnp.array([[True, True, False], [True, True, False]])
    assert float(sampling.masked_mean(x, mask)) == pytest.approx(2.5)
    w = sampling.masked_whiten(x, mask)
    valid = np.asarray(w)[np.asarray(mask)]
    np.testing.assert_allclose(valid, (np.array([1, 2, 3, 4]) - 2.5) / np.sqrt(1.25), rtol=1e-5)
    assert float(jnp.abs(w[:, 2]).max()) == 0.0
