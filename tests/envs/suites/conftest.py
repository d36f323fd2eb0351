"""Shared checks of the suite adapters (`purerl.envs.suites`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest


def _tree_close(a, b, **kw):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **kw)


def _ppo_smoke(env, params, num_seeds: int = 2, **config):
    """Tiny PPO on `env`: init vmapped over seeds, then the vmapped update jitted once and
    called twice; it traces once and its metrics are finite."""
    from purerl.algos import ppo

    cfg = dict(
        total_timesteps=16,
        num_envs=2,
        num_steps=4,
        num_epochs=1,
        num_minibatches=1,
        hidden_sizes=(8,),
    )
    agent = ppo.make(env, params, ppo.Config(**{**cfg, **config}))
    states = jax.jit(jax.vmap(agent.init))(jax.random.split(jax.random.key(0), num_seeds))
    traces = []

    def update(s):
        traces.append(1)
        return jax.vmap(agent.update)(s)

    update = jax.jit(update)
    for _ in range(2):
        states, metrics = update(states)
    assert len(traces) == 1
    for k, v in metrics.items():
        assert np.all(np.isfinite(np.asarray(v, np.float64))), k
    assert np.asarray(metrics["env_steps"]).shape == (num_seeds,)
    return states, metrics


def _flags_and_final(env, params, key, actions, edit=None):
    """Step a purerl env (make_env-wrapped) through `actions`; per step
    `(obs, reward, terminated, truncated, final_observation)` stacked. With `edit`,
    `actions` is a pair `(actions, marks)` and each step first sets
    `state = edit(state, mark)` (e.g. to force a termination inside the same program)."""
    obs, state = env.reset(key, params)

    def body(carry, a):
        state, k = carry
        k, sk = jax.random.split(k)
        if edit is not None:
            a, mark = a
            state = edit(state, mark)
        obs, state, r, term, trunc, info = env.step(sk, state, a, params)
        return (state, k), (obs, r, term, trunc, info["final_observation"])

    _, out = jax.lax.scan(body, (state, key), actions)
    return obs, out


def _reference(raw_reset, raw_step, key, actions, limit=None):
    """The suite stepped by hand, as the adapter must step it under `_flags_and_final`'s
    keys: `raw_reset(key) -> (obs, s)`, `raw_step(key, s, a) -> (obs, s, reward,
    terminated, truncated)` in the suite's own API (`a` an `(action, mark)` pair when
    `actions` is a pair of arrays, as with `_flags_and_final`'s `edit`). Episode ends reset
    with the key gymnax's auto-reset uses (the second half of the step key). Returns the
    same stacked tuple."""
    raw_reset, raw_step = jax.jit(raw_reset), jax.jit(raw_step)
    _, s = raw_reset(key)
    k, t, out = key, 0, []
    steps = zip(*actions, strict=True) if isinstance(actions, tuple) else actions
    for a in steps:
        k, sk = jax.random.split(k)
        k_step, k_reset = jax.random.split(sk)
        obs, s, r, term, trunc = raw_step(k_step, s, a)
        t += 1
        term = bool(term)
        trunc = (bool(trunc) or (limit is not None and t >= limit)) and not term
        final = obs
        if term or trunc:
            obs, s = raw_reset(k_reset)
            t = 0
        out.append((obs, np.float32(r), term, trunc, final))
    return jax.tree.map(lambda *x: np.stack([np.asarray(v) for v in x]), *out)


def _assert_same_rollout(got, want, atol=1e-5):
    """Observations, rewards, flags and final observations equal; both flags occur."""
    obs, r, term, trunc, final = got
    w_obs, w_r, w_term, w_trunc, w_final = want
    np.testing.assert_array_equal(np.asarray(term), w_term)
    np.testing.assert_array_equal(np.asarray(trunc), w_trunc)
    _tree_close(r, w_r, atol=atol, rtol=1e-5)
    _tree_close(obs, w_obs, atol=atol, rtol=1e-5)
    _tree_close(final, w_final, atol=atol, rtol=1e-5)
    assert w_term.any() and w_trunc.any(), (w_term, w_trunc)


@pytest.fixture
def reference():
    return _reference


@pytest.fixture
def same_rollout():
    return _assert_same_rollout


@pytest.fixture
def tree_close():
    return _tree_close


@pytest.fixture
def ppo_smoke():
    return _ppo_smoke


@pytest.fixture
def rollout():
    return jax.jit(_flags_and_final, static_argnums=0, static_argnames="edit")


__all__ = ["jnp"]
