"""The transformer LM: KV-cached generation equals uncached generation; generation rules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.rlhf import lm, sft, tasks
from purerl.rlhf.tasks import BOS, EOS, PAD

CFG = lm.Config(vocab_size=10, max_len=12, d_model=16, num_layers=2, num_heads=2)


@pytest.fixture(scope="module")
def model():
    m = lm.make(CFG)
    params = m.init(jax.random.key(0))
    # larger weights than the N(0, 0.02) init, so the logits depend strongly on the context
    params = jax.jit(jax.tree.map, static_argnums=0)(
        lambda x: x * 8.0 if x.ndim >= 2 else x, params
    )
    return m, params


def test_cached_extend_logits_equal_full_forward(model):
    m, params = model
    from purerl.nets.transformer import TransformerLM, init_cache

    net = TransformerLM(vocab_size=10, max_len=12, d_model=16, num_layers=2, num_heads=2)
    toks = jax.random.randint(jax.random.key(1), (3, 12), 3, 10).at[:, 0].set(BOS)
    full = m.apply(params, toks)

    @jax.jit
    def incremental(toks):
        cache = init_cache(3, 12, num_layers=2, num_heads=2, d_model=16)
        first, cache = net.apply(params, toks[:, :5], cache, 0, method=TransformerLM.extend)

        def step(cache, t):
            tok = jax.lax.dynamic_slice_in_dim(toks, t, 1, axis=1)
            logits, cache = net.apply(params, tok, cache, t, method=TransformerLM.extend)
            return cache, logits[:, 0]

        _, rest = jax.lax.scan(step, cache, jnp.arange(5, 12))
        return jnp.concatenate([first, rest.transpose(1, 0, 2)], axis=1)

    np.testing.assert_allclose(incremental(toks), full, atol=1e-4, rtol=1e-4)


def test_kv_cache_generation_equals_uncached_generation(model):
    m, params = model
    prompts = jnp.array([[BOS, 3, 4], [BOS, 5, 6], [BOS, 7, 7], [BOS, 9, 3]] * 4)
    for temperature in (1.0, 0.5):
        cached = jax.jit(m.generate, static_argnums=3)(
            params, prompts, jax.random.key(7), 9, temperature
        )
        plain = jax.jit(lambda p, x, k, t: lm.generate_uncached(m.apply, p, x, k, 9, t, m.max_len))(
            params, prompts, jax.random.key(7), temperature
        )
        np.testing.assert_array_equal(cached, plain)
        assert cached.shape == (16, 12)
        assert len(np.unique(np.asarray(cached[:, 3:]))) > 3  # not a degenerate sampler


def test_generation_never_emits_pad_or_bos_and_pads_after_eos(model):
    m, params = model
    prompts = jnp.tile(jnp.array([[BOS, 3, 4]]), (256, 1))
    out = np.asarray(jax.jit(m.generate, static_argnums=3)(params, prompts, jax.random.key(3), 9))
    np.testing.assert_array_equal(out[:, :3], np.asarray(prompts))
    ended = 0
    for row in out[:, 3:]:
        ends = np.where(row == EOS)[0]
        if len(ends):
            ended += 1
            assert (row[ends[0] + 1 :] == PAD).all()
            assert (row[: ends[0]] >= tasks.NUM_SPECIAL).all()
        else:
            assert (row >= tasks.NUM_SPECIAL).all()
    assert 0 < ended < 256


def test_low_temperature_is_greedy(model):
    m, params = model
    prompts = jnp.array([[BOS, 3, 4], [BOS, 8, 5]])
    out = m.generate(params, prompts, jax.random.key(0), 1, 1e-4)
    logits = m.apply(params, prompts)[:, -1]
    np.testing.assert_array_equal(out[:, -1], jnp.argmax(logits[:, 2:], -1) + 2)


def test_any_apply_is_a_policy_the_teacher_table_samples_its_own_language():
    """`lm.from_apply`: a bigram table as `apply` generates (uncached) the teacher's
    language: its samples' NLL under the teacher is the exact entropy rate."""
    task = tasks.make_task(jax.random.key(0), vocab_size=10, prompt_len=1, response_len=6)
    table = lm.from_apply(lambda log_p, toks: log_p[toks], vocab_size=10)
    prompts = jnp.full((20_000, 1), BOS)
    toks = jax.jit(lambda k: table.generate(task.teacher.log_p, prompts, k, 7))(jax.random.key(1))
    nll = float(jax.jit(lambda t: sft.nll(table.apply, task.teacher.log_p, t))(toks))
    assert nll == pytest.approx(tasks.entropy_rate(task.teacher, 7), abs=0.02)


def test_errors_at_build_and_call_time(model):
    m, params = model
    with pytest.raises(ValueError, match="divisible"):
        lm.Config(d_model=30, num_heads=4)
    with pytest.raises(ValueError, match="max_len"):
        m.generate(params, jnp.ones((2, 5), jnp.int32), jax.random.key(0), 8)
