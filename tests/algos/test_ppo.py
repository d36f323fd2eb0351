"""PPO: loss kernels against hand-computed values, and learning tests with thresholds."""

import jax
import jax.numpy as jnp
import pytest

import purerl
from purerl.algos import ppo


def test_clip_policy_loss_hand_computed():
    old = jnp.log(jnp.array([0.5, 0.5, 0.5, 0.5]))
    new = jnp.log(jnp.array([0.75, 0.25, 0.55, 0.5]))  # ratios 1.5, 0.5, 1.1, 1.0
    adv = jnp.array([1.0, 1.0, -1.0, 2.0])
    loss, frac = ppo.clip_policy_loss(new, old, adv, 0.2)
    # min(1.5, 1.2)*1 = 1.2; min(0.5, 0.8)*1 = 0.5; min(-1.1, -1.1) = -1.1; 1.0*2 = 2
    assert float(loss) == pytest.approx(-(1.2 + 0.5 - 1.1 + 2.0) / 4, rel=1e-5)
    assert float(frac) == pytest.approx(0.5)


def test_penalty_loss_and_adaptive_coefficient():
    lp = jnp.log(jnp.array([0.6, 0.4]))
    old = jnp.log(jnp.array([0.5, 0.5]))
    adv = jnp.array([1.0, -1.0])
    kl = jnp.array([0.02, 0.04])
    loss = ppo.penalty_policy_loss(lp, old, adv, kl, 2.0)
    assert float(loss) == pytest.approx(-(1.2 - 0.8) / 2 + 2.0 * 0.03, rel=1e-5)
    assert float(ppo.adapt_kl_coef(1.0, 0.001, 0.01)) == 0.5  # KL < target / 1.5: halve
    assert float(ppo.adapt_kl_coef(1.0, 0.02, 0.01)) == 2.0  # KL > 1.5 target: double
    assert float(ppo.adapt_kl_coef(1.0, 0.01, 0.01)) == 1.0


def test_value_loss_clipping():
    v, old, ret = jnp.array([2.0]), jnp.array([0.0]), jnp.array([3.0])
    assert float(ppo.value_loss(v, old, ret)) == pytest.approx(0.5)
    # clipped value 0.2 is further from 3 than 2: the max picks (0.2 - 3)^2
    assert float(ppo.value_loss(v, old, ret, 0.2)) == pytest.approx(0.5 * 2.8**2)


def test_approx_kl_matches_exact_kl_in_expectation():
    p = jnp.array([0.2, 0.5, 0.3])
    q = jnp.array([0.3, 0.4, 0.3])
    a = jax.random.categorical(jax.random.key(0), jnp.log(p), shape=(200_000,))
    est = ppo.approx_kl(jnp.log(q)[a], jnp.log(p)[a])
    exact = jnp.sum(p * jnp.log(p / q))
    assert float(est) == pytest.approx(float(exact), rel=0.05)


@pytest.mark.learning
def test_ppo_clip_solves_cartpole(train_eval):
    env, params = purerl.make_env("CartPole-v1")
    agent = ppo.make(env, params, ppo.Config(total_timesteps=150_000))
    returns = train_eval(agent, num_seeds=8).returns
    assert returns.mean() >= 475, returns
    assert returns.min() >= 400, returns


PENDULUM = ppo.Config(**ppo.PENDULUM)


@pytest.mark.learning
def test_ppo_clip_pendulum(train_eval):
    env, params = purerl.make_env(
        "Pendulum-v1", normalize_obs=True, normalize_reward=True, reward_gamma=0.9
    )
    returns = train_eval(ppo.make(env, params, PENDULUM)).returns
    assert returns.mean() >= -300, returns


@pytest.mark.learning
def test_ppo_penalty_cartpole(train_eval):
    env, params = purerl.make_env("CartPole-v1")
    # The KL penalty restrains each update, so it takes a larger step size than clip.
    config = ppo.Config(
        objective="penalty",
        num_envs=8,
        num_steps=128,
        num_epochs=10,
        learning_rate=1e-3,
        total_timesteps=150_000,
    )
    returns = train_eval(ppo.make(env, params, config)).returns
    assert returns.mean() >= 450, returns
