"""REINFORCE: the estimator against a closed-form gradient, variance ordering, learning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import reinforce
from purerl.core import losses

# A multi-step bandit: every episode lasts H steps; at each step a state-independent softmax
# policy picks one of K arms with deterministic rewards r. J = H * sum_a pi_a r_a, so
# grad_theta J = H * pi * (r - pi . r). The estimator's loss is a mean over the H steps,
# hence E[-grad loss] = grad J / H.
H, K = 4, 3
THETA = jnp.array([0.3, -0.2, 0.1])
R = jnp.array([1.0, 0.0, 2.0])


def _estimates(kind, baseline, n=20_000, seed=0):
    pi = jax.nn.softmax(THETA)
    a = jax.random.categorical(jax.random.key(seed), THETA, shape=(H, n))  # [T, N]
    reward = R[a]
    term = jnp.zeros((H, n), bool).at[-1].set(True)
    trunc = jnp.zeros((H, n), bool)
    t = jnp.arange(H, dtype=jnp.float32)[:, None]
    value = jnp.broadcast_to((H - t) * jnp.dot(pi, R), (H, n)) if baseline else None
    w = reinforce.reinforce_weights(reward, term, trunc, kind, 1.0, value)

    def grad_one(a_n, w_n):
        logp = lambda th: jax.nn.log_softmax(th)[a_n]
        return -jax.grad(lambda th: losses.policy_gradient_loss(logp(th), w_n))(THETA)

    return jax.vmap(grad_one, in_axes=(1, 1))(a, w)  # [N, K]


def _true_grad():
    pi = jax.nn.softmax(THETA)
    return H * pi * (R - jnp.dot(pi, R)) / H


@pytest.mark.parametrize(
    "kind,baseline", [("return", False), ("reward_to_go", False), ("reward_to_go", True)]
)
def test_estimator_is_unbiased_on_bandit(kind, baseline):
    g = np.asarray(_estimates(kind, baseline))
    mean, se = g.mean(0), g.std(0) / np.sqrt(g.shape[0])
    truth = np.asarray(_true_grad())
    assert np.all(np.abs(mean - truth) < 4 * se + 1e-6), (mean, truth, se)


def test_reward_to_go_and_baseline_reduce_variance():
    var = {
        name: float(np.asarray(_estimates(kind, base)).var(0).sum())
        for name, (kind, base) in {
            "return": ("return", False),
            "rtg": ("reward_to_go", False),
            "baseline": ("reward_to_go", True),
        }.items()
    }
    assert var["rtg"] < 0.9 * var["return"], var
    assert var["baseline"] < 0.9 * var["rtg"], var


def test_weights_hand_computed():
    r = jnp.array([1.0, 2.0, 3.0, 4.0])
    term = jnp.array([False, True, False, False])
    trunc = jnp.array([False, False, False, True])
    ret = reinforce.reinforce_weights(r, term, trunc, "return")
    rtg = reinforce.reinforce_weights(r, term, trunc, "reward_to_go", gamma=0.5)
    np.testing.assert_allclose(ret, [3.0, 3.0, 7.0, 7.0])
    np.testing.assert_allclose(rtg, [1.0 + 0.5 * 2.0, 2.0, 3.0 + 0.5 * 4.0, 4.0])
    base = reinforce.reinforce_weights(r, term, trunc, "return", value=jnp.ones(4))
    np.testing.assert_allclose(base, [2.0, 2.0, 6.0, 6.0])


def test_complete_episode_mask_drops_unfinished_tails():
    term = jnp.array([[0, 0], [1, 0], [0, 0], [0, 1], [0, 0]], bool)
    trunc = jnp.zeros_like(term).at[2, 0].set(True)
    mask = reinforce.complete_episode_mask(term, trunc)
    np.testing.assert_array_equal(mask[:, 0], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(mask[:, 1], [1, 1, 1, 1, 0])


def test_num_steps_must_cover_an_episode():
    env, params = purerl.make_env("CartPole-v1")
    with pytest.raises(ValueError, match="whole episodes"):
        reinforce.make(env, params, reinforce.Config(num_steps=100))
    with pytest.raises(ValueError, match="weights"):
        reinforce.Config(weights="advantage")


@pytest.mark.learning
def test_reinforce_rtg_baseline_solves_cartpole(train_eval):
    env, params = purerl.make_env("CartPole-v1")
    agent = reinforce.make(env, params, reinforce.Config())  # 500k steps, rtg + baseline
    run = train_eval(agent)
    assert run.returns.mean() >= 400, run.returns
    # only steps of finished episodes are used, and most of each batch is
    assert float(run.metrics["valid_fraction"].mean()) > 0.5
