"""Demonstrations: collect_demos against a step-by-step loop, .npz round trip, flatten,
and the cached PPO / SAC experts."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.cli.expert_cache import expert
from purerl.imitation import demos as D
from purerl.imitation import experts


def balance(obs, key):
    """An analytic CartPole controller: push toward the side the pole falls to."""
    return (obs[2] + 0.5 * obs[3] > 0).astype(jnp.int32)


def wobbly(obs, key):
    """Fails within a few dozen steps (pushes the cart one way)."""
    return jnp.int32(1)


@pytest.fixture(scope="module")
def cartpole():
    return purerl.make_env("CartPole-v1")


def _loop_reference(act_fn, env, params, key, n, T):
    """One unbatched episode per column, stepped in Python (CartPole's step is
    deterministic, so the reset keys fix everything)."""
    k_reset, _ = jax.random.split(key)
    out = []
    for k in jax.random.split(k_reset, n):
        obs, state = env.reset(k, params)
        ep = []
        for _ in range(T):
            a = act_fn(obs, None)
            nobs, state, r, term, trunc, info = env.step(jax.random.key(0), state, a, params)
            ep.append(
                (
                    np.asarray(obs),
                    int(a),
                    float(r),
                    bool(term),
                    bool(trunc),
                    np.asarray(info["final_observation"]),
                )
            )
            obs = nobs
            if term or trunc:
                break
        out.append(ep)
    return out


@pytest.mark.parametrize("policy", [wobbly, balance])
def test_collect_demos_matches_loop(cartpole, policy):
    env, params = cartpole
    T = 60
    demos = D.collect_demos(policy, env, params, jax.random.key(3), 3, max_steps=T)
    ref = _loop_reference(policy, env, params, jax.random.key(3), 3, T)
    for n, ep in enumerate(ref):
        L = len(ep)
        assert int(demos.mask[:, n].sum()) == L
        assert bool(demos.mask[:L, n].all()) and not bool(demos.mask[L:, n].any())
        for t, (o, a, r, term, trunc, nxt) in enumerate(ep):
            np.testing.assert_allclose(demos.obs[t, n], o, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(demos.next_obs[t, n], nxt, rtol=1e-5, atol=1e-6)
            assert int(demos.action[t, n]) == a and float(demos.reward[t, n]) == r
            assert bool(demos.terminated[t, n]) == term
            # an episode still running at step T is cut there by the demo's time limit
            assert bool(demos.truncated[t, n]) == (trunc or (t == T - 1 and not term))
        # after the episode: zeros, no flags
        assert not np.any(np.asarray(demos.obs[L:, n]))
        assert not bool(demos.terminated[L:, n].any() | demos.truncated[L:, n].any())
    np.testing.assert_allclose(
        D.demo_returns(demos), [sum(s[2] for s in ep) for ep in ref], rtol=1e-6
    )


def test_full_time_limit_and_flatten(cartpole):
    env, params = cartpole
    demos = jax.jit(lambda k: D.collect_demos(balance, env, params, k, 2))(jax.random.key(0))
    assert demos.obs.shape == (500, 2, 4) and demos.action.shape == (500, 2)
    ends = demos.terminated | demos.truncated
    assert (np.asarray(ends.sum(0)) == 1).all()  # exactly one episode per column
    flat = D.flatten_episodes(demos)
    lengths = np.asarray(D.episode_lengths(demos))
    assert flat.obs.shape == (lengths.sum(), 4) and flat.mask.all()
    # episode 0's steps first, in time order, then episode 1's
    np.testing.assert_array_equal(flat.obs[: lengths[0]], demos.obs[: lengths[0], 0])
    np.testing.assert_array_equal(flat.obs[lengths[0] :], demos.obs[: lengths[1], 1])
    sub = D.select(demos, 1)
    assert sub.mask.shape == (500, 1)


def test_save_load_roundtrip_and_errors(cartpole, tmp_path):
    env, params = cartpole
    demos = D.collect_demos(wobbly, env, params, jax.random.key(1), 2, max_steps=20)
    path = tmp_path / "d.npz"
    assert D.save_demos(path, demos) == str(path)
    assert os.listdir(tmp_path) == ["d.npz"]  # no temporary left behind
    back = D.load_demos(path)
    for a, b in zip(demos, back, strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == b.dtype
    D.check_demos(back, env=env, env_params=params)
    np.save(tmp_path / "x.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not a purerl demos file"):
        np.savez(tmp_path / "bad.npz", obs=np.zeros(3))
        D.load_demos(tmp_path / "bad.npz")
    bad = demos._replace(reward=demos.reward[:-1])
    with pytest.raises(ValueError, match="reward has shape"):
        D.save_demos(tmp_path / "e.npz", bad)
    pend, pparams = purerl.make_env("Pendulum-v1")
    with pytest.raises(ValueError, match="observations have shape"):
        D.check_demos(demos, env=pend, env_params=pparams)
    with pytest.raises(ValueError, match="num_episodes"):
        D.collect_demos(wobbly, env, params, jax.random.key(1), 0)


def test_normalised_return():
    assert experts.normalised_return(500.0, 500.0, 20.0) == 1.0
    assert experts.normalised_return(20.0, 500.0, 20.0) == 0.0
    assert experts.normalised_return(-600.0, -150.0, -1200.0) == pytest.approx(600 / 1050)


@pytest.mark.parametrize("env_id, threshold", [("CartPole-v1", 475.0), ("Pendulum-v1", -200.0)])
def test_experts_are_experts_and_cached(expert_cache, env_id, threshold):
    e = expert(env_id, expert_cache)
    assert e.expert_return >= threshold, e.expert_return
    assert e.random_return < e.expert_return - 100
    files = [f for f in os.listdir(expert_cache) if f.startswith(env_id)]
    assert len(files) == 1 and files[0].endswith(".ckpt")
    again = expert(env_id, expert_cache)  # loads the checkpoint
    assert again.expert_return == e.expert_return
    obs, _ = e.env.reset(jax.random.key(5), e.env_params)
    np.testing.assert_array_equal(
        e.act_fn(obs, jax.random.key(0)), again.act_fn(obs, jax.random.key(1))
    )
    # the measured return is reproduced by fresh episodes of the deterministic act_fn
    score = experts.mean_return(e.act_fn, e.env, e.env_params, jax.random.key(7), 16)
    assert score >= threshold
    with pytest.raises(ValueError, match="no expert"):
        expert("Acrobot-v1", expert_cache)
