"""MaxEnt IRL: soft value iteration and visitation frequencies against brute force, the
gradient against autodiff, and the learning result on a 5x5 gridworld."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.imitation import maxent_irl as M


def _random_reward(seed, num_states):
    return jax.random.normal(jax.random.key(seed), (num_states,))


def test_gridworld_dynamics():
    w = M.gridworld(size=3, slip=0.2, horizon=4)
    P = np.asarray(w.transition)
    assert P.shape == (9, 5, 9)
    np.testing.assert_allclose(P.sum(axis=2), 1.0, atol=1e-6)
    # from the centre (s=4) "up" reaches s=1 w.p. 0.8 + 0.2/5; every move w.p. 0.2/5
    assert P[4, 1, 1] == pytest.approx(0.8 + 0.04)
    assert P[4, 1, 7] == pytest.approx(0.04)
    # from the corner s=0 "up" and "left" bump the wall: stay
    assert P[0, 1, 0] == pytest.approx(0.8 + 3 * 0.04)


def test_soft_value_iteration_matches_trajectory_enumeration():
    """Deterministic dynamics: V_0(s0) = log sum over all action sequences of
    exp(sum_t r(s_t)) and the forward pass gives the visitation frequencies of
    P(zeta) ~ exp(R(zeta)) (Ziebart et al. 2008)."""
    H = 3
    w = M.gridworld(size=2, slip=0.0, horizon=H)
    r = np.asarray(_random_reward(0, 4), np.float64)
    P = np.asarray(w.transition)
    _, v, policy = M.soft_value_iteration(w, jnp.asarray(r, jnp.float32))
    svf = np.asarray(M.expected_svf(w, policy))
    hard_q, hard_v, _ = M.value_iteration(w, jnp.asarray(r, jnp.float32))
    d_ref = np.zeros((H, 4))
    for s0 in range(4):
        paths, returns = [], []
        for actions in itertools.product(range(5), repeat=H):
            s, path = s0, []
            for a in actions:
                path.append(s)
                s = int(np.argmax(P[s, a]))
            paths.append(path)
            returns.append(sum(r[x] for x in path))
        returns = np.array(returns)
        log_z = np.log(np.sum(np.exp(returns)))
        assert float(v[0, s0]) == pytest.approx(log_z, rel=1e-5, abs=1e-5)
        assert float(hard_v[0, s0]) == pytest.approx(returns.max(), rel=1e-5, abs=1e-5)
        prob = np.exp(returns - log_z)
        for path, p in zip(paths, prob, strict=True):
            for t, s in enumerate(path):
                d_ref[t, s] += 0.25 * p
    np.testing.assert_allclose(svf, d_ref, atol=1e-5)


def test_soft_value_iteration_stochastic_matches_loops():
    """Stochastic dynamics: Q, V against a plain-Python backward recursion, and
    p0 . V_0 equals the entropy-regularised return E[sum_t r(s_t) - log pi_t(a_t|s_t)]
    computed by enumerating every (action, next state) sequence."""
    H = 3
    w = M.gridworld(size=2, slip=0.3, horizon=H)
    r = np.asarray(_random_reward(1, 4), np.float64)
    P = np.asarray(w.transition, np.float64)
    q, v, policy = M.soft_value_iteration(w, jnp.asarray(r, jnp.float32))
    S, A = 4, 5
    V = [[0.0] * S for _ in range(H + 1)]
    Q = [[[0.0] * A for _ in range(S)] for _ in range(H)]
    for t in reversed(range(H)):
        for s in range(S):
            for a in range(A):
                Q[t][s][a] = r[s] + sum(P[s, a, s2] * V[t + 1][s2] for s2 in range(S))
            V[t][s] = math.log(sum(math.exp(x) for x in Q[t][s]))
    np.testing.assert_allclose(np.asarray(q), np.array(Q), atol=1e-5)
    np.testing.assert_allclose(np.asarray(v), np.array(V), atol=1e-5)
    pi = np.asarray(policy, np.float64)
    objective = 0.0
    for s0 in range(S):
        for seq in itertools.product(range(A * S), repeat=H):
            s, p, ret = s0, 0.25, 0.0
            for t, x in enumerate(seq):
                a, s2 = divmod(x, S)
                p *= pi[t, s, a] * P[s, a, s2]
                ret += r[s] - math.log(pi[t, s, a])
                s = s2
            objective += p * ret
    assert objective == pytest.approx(float(jnp.mean(v[0])), abs=1e-4)


def test_expected_svf_matches_loop_and_samples():
    w = M.gridworld(size=3, slip=0.2, horizon=6)
    _, _, policy = M.soft_value_iteration(w, _random_reward(2, 9))
    d = np.asarray(M.expected_svf(w, policy))
    P, pi = np.asarray(w.transition), np.asarray(policy)
    ref = np.zeros((6, 9))
    ref[0] = 1.0 / 9
    for t in range(5):
        for s in range(9):
            for a in range(5):
                ref[t + 1] += ref[t, s] * pi[t, s, a] * P[s, a]
    np.testing.assert_allclose(d, ref, atol=1e-6)
    states = M.sample_trajectories(jax.random.key(0), w, policy, 20_000)
    counts = np.asarray(M.empirical_feature_expectations(w, states))
    np.testing.assert_allclose(counts, d.sum(axis=0), atol=0.03)


def test_gradient_is_the_log_likelihood_gradient():
    w = M.gridworld(size=3, slip=0.1, horizon=5)
    _, _, expert = M.soft_value_iteration(w, _random_reward(3, 9))
    f_demo = M.feature_expectations(w, expert)
    theta = 0.5 * _random_reward(4, 9)
    auto = jax.grad(M.log_likelihood, argnums=1)(w, theta, f_demo)
    np.testing.assert_allclose(M.gradient(w, theta, f_demo), auto, atol=1e-5)
    # at the demonstrator's own reward the gradient vanishes
    np.testing.assert_allclose(M.gradient(w, _random_reward(3, 9), f_demo), 0.0, atol=1e-5)


def _task():
    """5x5 grid, slip 0.1, horizon 15: +1 in the far corner, -1 on a wall of four cells."""
    w = M.gridworld(size=5, slip=0.1, horizon=15)
    r = jnp.zeros(25).at[24].set(1.0).at[jnp.array([6, 7, 12, 17])].set(-1.0)
    return w, r


def _normalised(w, r, policy):
    _, _, optimal = M.value_iteration(w, r)
    uniform = jnp.full(policy.shape, 1.0 / w.num_actions)
    ret = lambda p: float(M.policy_return(w, p, r))
    return (ret(policy) - ret(uniform)) / (ret(optimal) - ret(uniform))


@pytest.mark.learning
def test_maxent_irl_recovers_the_expert_from_exact_counts():
    """Demo counts: the exact expected feature counts of a Boltzmann-rational expert
    (soft-optimal for 5 r). Targets: learned reward's optimal policy >= 0.95 normalised
    return (random 0, optimal 1) and expected counts matching the demos' to 1e-2."""
    w, r = _task()
    _, _, expert = M.soft_value_iteration(w, 5.0 * r)
    f_demo = M.feature_expectations(w, expert)
    fit = M.fit(w, f_demo, num_iters=1000, learning_rate=0.1)
    mismatch = float(jnp.max(jnp.abs(M.feature_expectations(w, fit.policy) - f_demo)))
    assert mismatch < 1e-2, mismatch
    assert float(fit.grad_norm[-1]) < float(fit.grad_norm[0]) / 100
    _, _, greedy = M.value_iteration(w, fit.reward)
    assert _normalised(w, r, greedy) >= 0.95


@pytest.mark.learning
def test_maxent_irl_from_sampled_demos():
    """Demo counts from 500 sampled episodes of the Boltzmann-rational expert."""
    w, r = _task()
    _, _, expert = M.soft_value_iteration(w, 5.0 * r)
    states = M.sample_trajectories(jax.random.key(0), w, expert, 500)
    f_demo = M.empirical_feature_expectations(w, states)
    fit = M.fit(w, f_demo, num_iters=1000, learning_rate=0.1)
    mismatch = float(jnp.max(jnp.abs(M.feature_expectations(w, fit.policy) - f_demo)))
    assert mismatch < 1e-2, mismatch
    _, _, greedy = M.value_iteration(w, fit.reward)
    assert _normalised(w, r, greedy) >= 0.95


def test_bad_input_raises():
    w = M.gridworld(size=2, horizon=2)
    with pytest.raises(ValueError, match="demo_counts"):
        M.fit(w, jnp.zeros(3))
    with pytest.raises(ValueError, match="slip"):
        M.gridworld(slip=1.5)
    with pytest.raises(ValueError, match="features"):
        M.gridworld(size=2, features=jnp.ones((3, 2)))
