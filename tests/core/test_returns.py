"""Return estimators against slow Python loops, with mixed terminated/truncated steps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.core import returns as R


def _data(seed, T=37, B=5):
    rng = np.random.default_rng(seed)
    r = rng.normal(size=(T, B)).astype(np.float32)
    v = rng.normal(size=(T, B)).astype(np.float32)
    v_tp1 = rng.normal(size=(T, B)).astype(np.float32)
    u = rng.uniform(size=(T, B))
    term = u < 0.1
    trunc = (u >= 0.1) & (u < 0.2)
    return r, v, v_tp1, term, trunc


def slow_gae(r, v, v_tp1, term, trunc, gamma, lam):
    T, B = r.shape
    adv = np.zeros_like(r)
    for b in range(B):
        a = 0.0
        for t in reversed(range(T)):
            boot = 0.0 if term[t, b] else v_tp1[t, b]
            delta = r[t, b] + gamma * boot - v[t, b]
            episode_ends = term[t, b] or trunc[t, b] or t == T - 1
            a = delta if episode_ends else delta + gamma * lam * a
            adv[t, b] = a
    return adv, adv + v


def slow_rtg(r, term, trunc, gamma):
    T, B = r.shape
    out = np.zeros_like(r)
    for b in range(B):
        for t in range(T):
            g, disc = 0.0, 1.0
            for k in range(t, T):
                g += disc * r[k, b]
                disc *= gamma
                if term[k, b] or trunc[k, b]:
                    break
            out[t, b] = g
    return out


def slow_nstep(r, v_tp1, term, trunc, gamma, n):
    T, B = r.shape
    out = np.zeros_like(r)
    for b in range(B):
        for t in range(T):
            g, disc = 0.0, 1.0
            for k in range(t, min(t + n, T)):
                g += disc * r[k, b]
                disc *= gamma
                if term[k, b]:
                    break
                if trunc[k, b] or k == t + n - 1 or k == T - 1:
                    g += disc * v_tp1[k, b]
                    break
            out[t, b] = g
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.9, 1.0), (1.0, 0.0)])
def test_gae_matches_slow_loop(seed, gamma, lam):
    r, v, v_tp1, term, trunc = _data(seed)
    adv, ret = R.gae(r, v, v_tp1, term, trunc, gamma, lam)
    adv_ref, ret_ref = slow_gae(r, v, v_tp1, term, trunc, gamma, lam)
    np.testing.assert_allclose(adv, adv_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret, ret_ref, rtol=1e-5, atol=1e-5)


def test_gae_truncation_bootstraps_from_final_observation():
    # One env, 3 steps; the episode is cut by a time limit at t=1, a new one starts at t=2.
    r = jnp.array([1.0, 1.0, 1.0])[:, None]
    v = jnp.array([0.5, 0.5, 0.5])[:, None]
    v_tp1 = jnp.array([0.5, 10.0, 2.0])[:, None]  # 10.0: value of the final observation
    term = jnp.array([False, False, False])[:, None]
    trunc = jnp.array([False, True, False])[:, None]
    adv, _ = R.gae(r, v, v_tp1, term, trunc, 0.5, 1.0)
    # t=1: delta = 1 + 0.5 * 10 - 0.5 = 5.5, and nothing flows back from t=2.
    assert float(adv[1, 0]) == pytest.approx(5.5)
    # t=2: delta = 1 + 0.5 * 2 - 0.5 = 1.5 (bootstrap at the rollout's end).
    assert float(adv[2, 0]) == pytest.approx(1.5)
    # t=0: delta = 1 + 0.25 - 0.5 = 0.75; plus 0.5 * 5.5.
    assert float(adv[0, 0]) == pytest.approx(0.75 + 0.5 * 5.5)
    # Termination instead: no bootstrap at t=1.
    adv_t, _ = R.gae(r, v, v_tp1, trunc, term, 0.5, 1.0)
    assert float(adv_t[1, 0]) == pytest.approx(0.5)


def test_gae_any_trailing_shape_and_jit():
    r, v, v_tp1, term, trunc = _data(3, T=11, B=6)
    rs = lambda x: x.reshape(11, 2, 3)
    adv, _ = jax.jit(R.gae)(rs(r), rs(v), rs(v_tp1), rs(term), rs(trunc), 0.99, 0.95)
    adv_ref, _ = slow_gae(r, v, v_tp1, term, trunc, 0.99, 0.95)
    np.testing.assert_allclose(adv.reshape(11, 6), adv_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_reward_to_go_matches_slow_loop(seed, gamma):
    r, _, _, term, trunc = _data(seed)
    np.testing.assert_allclose(
        R.reward_to_go(r, term, trunc, gamma), slow_rtg(r, term, trunc, gamma), rtol=1e-5, atol=1e-5
    )


def test_reward_to_go_hand_computed():
    r = jnp.array([1.0, 2.0, 3.0, 4.0])
    term = jnp.array([False, True, False, False])
    trunc = jnp.zeros(4, bool)
    np.testing.assert_allclose(R.reward_to_go(r, term, trunc, 0.5), [2.0, 2.0, 5.0, 4.0])


def test_episode_returns_whole_episode_weight():
    r = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0])
    term = jnp.array([False, True, False, False, False])
    trunc = jnp.array([False, False, False, True, False])
    np.testing.assert_allclose(R.episode_returns(r, term, trunc), [3.0, 3.0, 7.0, 7.0, 5.0])


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("n", [1, 3, 5])
def test_n_step_targets_match_slow_loop(seed, n):
    r, _, v_tp1, term, trunc = _data(seed)
    got = R.n_step_targets(r, v_tp1, term, trunc, 0.9, n)
    np.testing.assert_allclose(got, slow_nstep(r, v_tp1, term, trunc, 0.9, n), rtol=1e-5, atol=1e-5)


def test_one_step_target_is_td_target():
    r, _, v_tp1, term, trunc = _data(4)
    np.testing.assert_allclose(
        R.n_step_targets(r, v_tp1, term, trunc, 0.97, 1),
        R.td_target(r, v_tp1, term, 0.97),
        rtol=1e-6,
    )


def test_n_step_rejects_bad_n():
    r, _, v_tp1, term, trunc = _data(0)
    with pytest.raises(ValueError, match="n must be"):
        R.n_step_targets(r, v_tp1, term, trunc, 0.9, 0)
