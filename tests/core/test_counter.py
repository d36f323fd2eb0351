"""`purerl.core.counter`: the wide update counter against Python ints (brute force over
edge values around every word boundary, up to 10^12 env steps and beyond)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.core import counter

B = 2**31
EDGES = sorted(
    {
        v
        for base in (0, 1, 2**24, B // 3, B, 2 * B, 7 * B, 10**12 // 7, 10**12, B * B // 5)
        for v in (base - 2, base - 1, base, base + 1, base + 2)
        if 0 <= v <= counter.MAX_COUNT
    }
    | {counter.MAX_COUNT, counter.MAX_COUNT - 1, B - 1 + 12345 * B}
)


def _batch(values):
    """One batched Count of many values (a single compile per test, not one per value)."""
    hi, lo = zip(*(divmod(v, B) for v in values), strict=True)
    return counter.Count(jnp.asarray(hi, jnp.int32), jnp.asarray(lo, jnp.int32))


def test_of_round_trips_and_rejects_out_of_range():
    for v in EDGES:
        c = counter.of(v)
        assert int(c) == v and 0 <= int(c.lo) < B
    for bad in (-1, counter.MAX_COUNT + 1):
        with pytest.raises(ValueError, match="outside"):
            counter.of(bad)
    np.testing.assert_array_equal(np.asarray(_batch(EDGES)), np.asarray(EDGES, np.int64))


@pytest.mark.parametrize("k", [0, 1, 3, 1000, B - 1])
def test_add_carries_exactly(k):
    values = [v for v in EDGES if v + k <= counter.MAX_COUNT]
    out = jax.jit(lambda c: counter.add(c, k))(_batch(values))
    assert np.asarray(out).tolist() == [v + k for v in values]
    assert np.all(np.asarray(out.lo) >= 0)


def test_add_repeated_across_the_int32_boundary_under_scan():
    def body(c, _):
        return c + 1, c

    last, seen = jax.lax.scan(body, counter.of(B - 3), None, length=6)
    assert int(last) == B + 3
    assert np.asarray(seen).tolist() == list(range(B - 3, B + 3))


def test_at_least_matches_python():
    thresholds = [-5, 0, 1, 2, 2**24, B - 1, B, B + 1, 10**12, 3 * B + 7, counter.MAX_COUNT]
    thresholds += [counter.MAX_COUNT + 1, 2**70]
    c = _batch(EDGES)
    for n in thresholds:
        got = np.asarray(jax.jit(lambda c, n=n: c >= n)(c)).tolist()
        assert got == [v >= n for v in EDGES], n
        assert np.asarray(c < n).tolist() == [v < n for v in EDGES]


@pytest.mark.parametrize("m", [1, 2, 3, 10, 1000, 46341, 99991, 2**30 + 3, B - 1])
def test_mod_and_divisible_match_python(m):
    c = _batch(EDGES)
    assert np.asarray(counter.mod(c, m)).tolist() == [v % m for v in EDGES]
    assert np.asarray(counter.divisible(c, m)).tolist() == [v % m == 0 for v in EDGES]


def _crossed(u, p, i):
    return ((u + 1) * p) // i > (u * p) // i


@pytest.mark.parametrize(
    ("per_update", "interval"),
    [(1, 1), (10, 10), (10, 7), (4, 10), (3, 1000), (1, 46341), (7, 99991), (12, B - 1), (5, 3)],
)
def test_event_in_update_matches_the_env_step_definition(per_update, interval):
    values = [v for v in EDGES if v < 2**50] + list(range(0, 40))
    got = np.asarray(counter.event_in_update(_batch(values), per_update, interval)).tolist()
    assert got == [_crossed(v, per_update, interval) for v in values]


def test_updates_to_reach_is_the_exact_ceiling():
    for steps, p in itertools.product([-3, 0, 1, 9, 10, 11, 10**12, 10**12 + 1], [1, 3, 10]):
        u = counter.updates_to_reach(steps, p)
        assert u * p >= steps and (u == 0 or (u - 1) * p < steps)


def test_to_float_is_exact_below_2_24_and_keeps_rising():
    small = counter.to_float(_batch([0, 1, 12345, 2**24 // 10]), 10)
    np.testing.assert_array_equal(small, np.asarray([0, 10, 123450, (2**24 // 10) * 10]))
    big = [B - 1000, B + 1000, 10**11, 10**12, 2**50]
    f = np.asarray(counter.to_float(_batch(big), 10), np.float64)
    np.testing.assert_allclose(f, np.asarray(big, np.float64) * 10, rtol=1e-7)
    assert np.all(np.diff(f) > 0)


def test_budget_beyond_the_counter_is_rejected():
    counter.check_budget("x.Config", 10**15, 1)
    with pytest.raises(ValueError, match="total_timesteps"):
        counter.check_budget("x.Config", 2**63, 1)


def test_count_is_a_pytree_that_vmaps():
    c = jax.vmap(lambda c: c + 1)(_batch([5, B - 1, 10**12]))
    assert c.tolist() == [6, B, 10**12 + 1]
