"""`purerl.envs.minatar`: the dense SpaceInvaders step equals gymnax's, state by state, and
`make_env("SpaceInvaders-MinAtar")` uses it."""

import itertools

import gymnax
import jax
import jax.numpy as jnp
import numpy as np

import purerl
from purerl.envs.minatar import SpaceInvaders, nearest_alien


def _nearest_alien_loop(pos, alien_map):
    """The MinAtar rule by brute force: the column nearest `pos` (ties: lower column)
    holding an alien, and the row of its lowest alien; (0, 0, 0) if there is none."""
    for col in sorted(range(10), key=lambda c: (abs(c - pos), c)):
        rows = np.flatnonzero(alien_map[:, col])
        if len(rows):
            return 1, int(rows.max()), col
    return 0, 0, 0


def test_nearest_alien_against_a_loop():
    rng = np.random.default_rng(0)
    for density, pos in itertools.product((0.0, 0.02, 0.1, 0.5), range(10)):
        m = (rng.random((10, 10)) < density).astype(np.float32)
        got = tuple(int(x) for x in nearest_alien(jnp.int32(pos), jnp.asarray(m)))
        assert got == _nearest_alien_loop(pos, m), (pos, m)


def test_space_invaders_equals_gymnax_step_by_step():
    ref, params = gymnax.make("SpaceInvaders-MinAtar")
    fast = SpaceInvaders()

    def run(env, key, steps=1500):
        _, state = env.reset(key, params)

        def body(s, k):
            k_a, k_s = jax.random.split(k)
            a = jax.random.randint(k_a, (), 0, 4)
            obs, s, r, term, trunc, _ = env.step(k_s, s, a, params)
            return s, (obs, r, term, trunc, s)

        return jax.lax.scan(body, state, jax.random.split(key, steps))[1]

    for seed in range(2):
        want = jax.jit(lambda k: run(ref, k))(jax.random.key(seed))
        got = jax.jit(lambda k: run(fast, k))(jax.random.key(seed))
        assert int(want[2].sum()) > 10 and float(want[1].sum()) > 20  # many episodes, kills
        for w, g in zip(jax.tree.leaves(want), jax.tree.leaves(got), strict=True):
            assert w.dtype == g.dtype
            np.testing.assert_array_equal(w, g)
    env, _ = purerl.make_env("SpaceInvaders-MinAtar")
    assert isinstance(env.unwrapped, SpaceInvaders)
