"""The synthetic task's exact quantities against brute-force enumeration and hand values."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.rlhf import tasks
from purerl.rlhf.tasks import BOS, EOS, PAD


def _probs(teacher):
    lp = np.asarray(teacher.log_p, np.float64)
    return np.where(lp > -1e8, np.exp(lp), 0.0)


def test_teacher_rows_are_distributions_over_emittable_tokens():
    t = tasks.make_teacher(jax.random.key(0), vocab_size=9, branching=2, smoothing=0.05)
    p = _probs(t)
    for tok in [BOS] + list(range(tasks.NUM_SPECIAL, 9)):
        assert p[tok].sum() == pytest.approx(1.0, abs=1e-6)
        assert p[tok, PAD] == 0 and p[tok, BOS] == 0
        # sparse: `branching` (+1 for BOS) successors carry all but the smoothing mass
        n_big = 3 if tok == BOS else 2
        big = np.sort(p[tok, tasks.NUM_SPECIAL :])[::-1][:n_big].sum()
        eos = p[tok, EOS] - 0.05 / 7
        assert big + eos >= 0.95 - 1e-6
    assert p[BOS, EOS] == pytest.approx(0.05 / 7)  # BOS never ends a sequence but by smoothing


def _enumerate(teacher, length):
    """Every sequence of at most `length` tokens with its probability (brute force)."""
    p = _probs(teacher)
    V = p.shape[0]
    emit = [EOS] + list(range(tasks.NUM_SPECIAL, V))
    out = []
    for n in range(1, length + 1):
        for seq in itertools.product(emit, repeat=n):
            if EOS in seq[:-1] or (n < length and seq[-1] != EOS):
                continue  # EOS only last; shorter than `length` only if ended by EOS
            prob, prev = 1.0, BOS
            for tok in seq:
                prob *= p[prev, tok]
                prev = tok
            out.append((seq, prob))
    return out


def test_entropy_rate_matches_enumeration():
    t = tasks.make_teacher(jax.random.key(1), vocab_size=6, branching=2, smoothing=0.1)
    p = _probs(t)
    length = 4
    seqs = _enumerate(t, length)
    assert sum(pr for _, pr in seqs) == pytest.approx(1.0, abs=1e-5)
    h_row = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0), axis=1)
    # E[sum over positions of H(next | prev)] / E[number of tokens]
    h_tot = sum(pr * sum(h_row[prev] for prev in (BOS,) + s[:-1]) for s, pr in seqs)
    n_tot = sum(pr * len(s) for s, pr in seqs)
    assert tasks.entropy_rate(t, length) == pytest.approx(h_tot / n_tot, rel=1e-6)
    # and it is the expected NLL per token of the teacher's own samples
    toks = tasks.sample(t, jax.random.key(2), 50_000, length)
    lp = tasks.token_log_probs(t, toks, 1)
    mask = tasks.valid_mask(toks, 1)
    mc = -float(lp.sum() / mask.sum())
    assert mc == pytest.approx(h_tot / n_tot, abs=0.01)


def test_sample_shapes_pad_after_eos_and_prompts_without_eos():
    t = tasks.make_teacher(jax.random.key(3), vocab_size=8)
    toks = np.asarray(tasks.sample(t, jax.random.key(4), 512, 10))
    assert toks.shape == (512, 11) and (toks[:, 0] == BOS).all()
    for row in toks:
        ends = np.where(row == EOS)[0]
        if len(ends):
            assert (row[ends[0] + 1 :] == PAD).all()
        assert (row[1:] != BOS).all()
    prompts = np.asarray(tasks.sample_prompts(t, jax.random.key(5), 512, 3))
    assert prompts.shape == (512, 4)
    assert (prompts[:, 1:] >= tasks.NUM_SPECIAL).all()


def test_valid_mask_by_hand():
    toks = jnp.array(
        [[BOS, 5, 6, EOS, PAD, PAD], [BOS, 5, EOS, PAD, PAD, PAD], [BOS, 5, 6, 7, 8, 9]]
    )
    m = tasks.valid_mask(toks, 2)  # from index 2 on
    np.testing.assert_array_equal(m, [[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]])


def test_gold_score_by_hand():
    V = 8
    log_p = jnp.full((V, V), math.log(0.1)).at[:, PAD].set(-1e9).at[:, BOS].set(-1e9)
    log_p = log_p.at[4, 5].set(math.log(0.5)).at[5, EOS].set(math.log(0.25))
    lex = jnp.zeros(V).at[5].set(2.0).at[6].set(-1.0)
    task = tasks.Task(tasks.Teacher(log_p), tasks.Oracle(lex, 0.5, 3.0, 0.2), 1, 3)
    toks = jnp.array(
        [
            [BOS, 4, 5, EOS, PAD],  # words {5}: lex 2; log-probs log .5, log .25
            [BOS, 4, 6, 5, 7],  # no EOS: words {6, 5, 7}: lex 1/3; penalty 3
            [BOS, 4, EOS, PAD, PAD],  # no words: lex 0; one token log .1
        ]
    )
    want = [
        2.0 + 0.5 * (math.log(0.5) + math.log(0.25)) / 2,
        1 / 3 + 0.5 * 3 * math.log(0.1) / 3 - 3.0,
        0.0 + 0.5 * math.log(0.1),
    ]
    np.testing.assert_allclose(tasks.gold_score(task, toks), want, rtol=1e-6)


def test_bradley_terry_probability_labels_and_bayes_ceiling():
    task = tasks.make_task(jax.random.key(0), temperature=0.5)
    p = tasks.preference_prob(task, jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))
    s = 1 / (1 + math.exp(-2.0))
    np.testing.assert_allclose(p, [s, 1 - s], rtol=1e-6)
    assert float(tasks.bayes_accuracy(jnp.array([0.9, 0.2, 0.5]))) == pytest.approx(
        (0.9 + 0.8 + 0.5) / 3
    )
    labels = tasks.sample_labels(jax.random.key(1), jnp.full((100_000,), 0.3))
    assert float(labels.mean()) == pytest.approx(0.3, abs=0.005)


def test_token_kl_by_hand():
    pi = jnp.log(jnp.array([0.5, 0.5, 0.0]) + jnp.array([0, 0, 1e-38]))
    q = jnp.log(jnp.array([0.25, 0.25, 0.5]))
    assert float(tasks.token_kl(pi, q)) == pytest.approx(math.log(2), rel=1e-5)


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="branching"):
        tasks.make_teacher(jax.random.key(0), vocab_size=6, branching=3)
    with pytest.raises(ValueError, match="prompt_len"):
        tasks.make_task(jax.random.key(0), prompt_len=0)
