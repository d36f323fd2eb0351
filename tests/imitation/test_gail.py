"""GAIL: the discriminator loss and reward by hand, the discriminator's fit on a fixed batch,
the absorbing-state wrapper, validation, no retrace, and the CartPole learning test."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import purerl
from purerl.algos import ppo
from purerl.cli.expert_cache import expert
from purerl.core.rollout import reset_envs, rollout
from purerl.imitation import collect_demos, gail
from purerl.imitation import discriminator as disc
from purerl.imitation.absorbing import fixed_horizon_env


def test_logistic_loss_and_reward_by_hand():
    le, lp = jnp.array([2.0, -1.0]), jnp.array([0.5, -3.0, 1.0])
    loss, m = disc.logistic_loss(le, lp)
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))
    ref = -np.mean(np.log(sig(np.array([2.0, -1.0])))) - np.mean(
        np.log(1.0 - sig(np.array([0.5, -3.0, 1.0])))
    )
    assert float(loss) == pytest.approx(ref, rel=1e-6)
    assert float(m["disc_acc_expert"]) == pytest.approx(0.5)
    assert float(m["disc_acc_policy"]) == pytest.approx(1 / 3)
    # -log(1 - D) with D = sigmoid(l), and AIRL's logit f - log pi
    for logit in (-4.0, 0.0, 3.0):
        assert float(disc.gail_reward(logit)) == pytest.approx(-np.log(1 - sig(logit)), rel=1e-5)
    assert float(disc.airl_logit(1.5, -0.5)) == 2.0


SMALL = gail.Config(ppo=ppo.Config(total_timesteps=512, num_envs=4, num_steps=64), disc_steps=4)


def test_discriminator_loss_decreases_on_a_fixed_batch(cartpole_demos):
    env, params, demos = cartpole_demos
    net = gail.discriminator_net(env, params, SMALL)
    expert = disc.expert_data(demos)
    # the policy batch: the demo states with the other action (separable only through a)
    policy = {"obs": expert["obs"], "action": 1 - expert["action"]}
    d_params = net.init(jax.random.key(1), expert["obs"][:1], expert["action"][:1])
    tx = optax.adam(3e-3)

    def loss_fn(p, exp, pol, key=None):
        return disc.logistic_loss(
            net.apply(p, exp["obs"], exp["action"]), net.apply(p, pol["obs"], pol["action"])
        )

    before = float(loss_fn(d_params, expert, policy)[0])
    d_params, _, aux = disc.fit(
        jax.random.key(2), loss_fn, d_params, tx.init(d_params), tx, policy, expert, 1000, 128
    )
    after, m = loss_fn(d_params, expert, policy)
    assert float(after) < 0.2 * before, (before, float(after))
    assert float(m["disc_acc_expert"]) > 0.95 and float(m["disc_acc_policy"]) > 0.95


@pytest.mark.parametrize("absorbing_steps", [None, 1])
def test_absorbing_termination(absorbing_steps):
    env, params = fixed_horizon_env("CartPole-v1", absorbing_steps=absorbing_steps)
    plain, _ = purerl.make_env("CartPole-v1")
    obs, state = reset_envs(jax.random.key(0), env, params, 2)
    push_left = lambda o, k: (jnp.zeros(o.shape[0], jnp.int32), {})  # falls in ~10 steps
    _, _, tr = rollout(jax.random.key(1), env, params, push_left, state, obs, 1000)
    assert not bool(tr.terminated.any())
    # the same first episode in the plain env: the env return is unchanged
    obs_p, state_p = reset_envs(jax.random.key(0), plain, params, 2)
    _, _, tp = rollout(jax.random.key(1), plain, params, push_left, state_p, obs_p, 20)
    death = int(np.argmax(np.asarray(tp.terminated[:, 0])))
    first = np.asarray(tr.reward[: death + 1, 0])
    np.testing.assert_allclose(first, np.asarray(tp.reward[: death + 1, 0]))
    np.testing.assert_allclose(np.asarray(tr.obs[: death + 1, 0]), tp.obs[: death + 1, 0])
    terminal = np.asarray(tp.next_obs[death, 0])
    np.testing.assert_allclose(np.asarray(tr.next_obs[death, 0]), terminal)
    # one step in the absorbing state: its observation is the terminal one, reward 0
    np.testing.assert_allclose(np.asarray(tr.obs[death + 1, 0]), terminal)
    np.testing.assert_allclose(np.asarray(tr.next_obs[death + 1, 0]), terminal)
    assert float(tr.reward[death + 1, 0]) == 0.0
    ends = np.nonzero(np.asarray(tr.truncated[:, 0]))[0]
    if absorbing_steps is None:
        np.testing.assert_array_equal(ends, [499, 999])  # every episode lasts 500 steps
        assert float(tr.reward[death + 1 : 500, 0].sum()) == 0.0
        np.testing.assert_allclose(np.asarray(tr.obs[499, 0]), terminal)
    else:
        assert ends[0] == death + 1  # truncated after one absorbing step, then reset
        assert float(jnp.abs(tr.obs[death + 2, 0]).max()) <= 0.05
    assert int(tr.info["episode_length"][ends[0], 0]) == ends[0] + 1
    assert float(tr.info["episode_return"][ends[0], 0]) == death + 1


def test_validation(cartpole_demos):
    env, params, demos = cartpole_demos
    pend, pparams = purerl.make_env("Pendulum-v1")
    with pytest.raises(ValueError, match="demos.obs has shape"):
        gail.make(pend, pparams, demos, SMALL)
    with pytest.raises(ValueError, match="demos.action has shape"):
        gail.make(env, params, demos._replace(action=demos.action[..., None]), SMALL)
    with pytest.raises(ValueError, match="disc_batch_size"):
        gail.make(env, params, demos, gail.Config(ppo=SMALL.ppo, disc_batch_size=1024))
    with pytest.raises(ValueError, match="expects a gail.Config"):
        gail.make(env, params, demos, SMALL.ppo)
    for bad in (dict(disc_learning_rate=-1.0), dict(disc_steps=0), dict(ppo=1)):
        with pytest.raises(ValueError, match="gail.Config"):
            gail.Config(**bad)
    with pytest.raises(ValueError, match="absorbing_steps"):
        fixed_horizon_env("CartPole-v1", absorbing_steps=0)


def test_update_does_not_retrace(cartpole_demos):
    env, params, demos = cartpole_demos
    agent = gail.make(env, params, demos, SMALL)
    update = jax.jit(agent.update)
    state = agent.init(jax.random.key(0))
    state, m1 = update(state)
    state, m2 = update(state)
    assert update._cache_size() == 1
    for k in ("disc_loss", "disc_acc_expert", "disc_acc_policy", "loss/policy"):
        assert np.isfinite(float(m2[k])), k


@pytest.mark.learning
def test_gail_cartpole_ten_episodes(expert_cache, train_score):
    """10 PPO-expert episodes; GAIL trains in the absorbing-state setting (one absorbing
    step, then bootstrapped) and is scored on plain CartPole-v1. Target: >= 0.8 normalised."""
    e = expert("CartPole-v1", expert_cache)
    demos = collect_demos(e.act_fn, e.env, e.env_params, jax.random.key(42), 10)
    env, params = fixed_horizon_env("CartPole-v1", absorbing_steps=1)
    agent = gail.make(env, params, demos, gail.Config(ppo=ppo.Config(total_timesteps=300_000)))
    score, _ = train_score(agent, e)
    assert score.mean() >= 0.8, score


def test_gradient_penalty_by_hand():
    """A linear logit l(s, a) = w.s + v a has gradient (w, v) everywhere: the penalty is
    (|(w, v)| - 1)^2 whatever the interpolation; with discrete actions only w counts."""
    w, v = jnp.array([3.0, 0.0, 4.0]), 12.0  # |(w, v)| = 13, |w| = 5
    logit = lambda o, a: o @ w + v * jnp.reshape(a, (a.shape[0], -1)).sum(-1)
    k1, k2 = jax.random.split(jax.random.key(0))
    exp = {"obs": jax.random.normal(k1, (8, 3)), "action": jnp.ones((8, 1))}
    pol = {"obs": jax.random.normal(k2, (8, 3)), "action": jnp.zeros((8, 1))}
    gp = disc.gradient_penalty(jax.random.key(1), logit, exp, pol, continuous_action=True)
    assert float(gp) == pytest.approx(144.0, rel=1e-5)
    gp = disc.gradient_penalty(jax.random.key(1), logit, exp, pol, continuous_action=False)
    assert float(gp) == pytest.approx(16.0, rel=1e-5)


@pytest.mark.learning
def test_gail_pendulum_ten_episodes(expert_cache, train_score):
    """10 SAC-expert episodes on Pendulum-v1 (no early termination, so no survival bias: the
    plain env), PPO at its Pendulum setting for 1M env steps. Target: >= 0.7 normalised.
    `scripts/imitation.py` (other demo keys): 0.88 / 0.97 / 0.96 / 0.95 for 1/4/10/25 episodes."""
    e = expert("Pendulum-v1", expert_cache)
    demos = collect_demos(e.act_fn, e.env, e.env_params, jax.random.key(42), 10)
    agent = gail.make(e.env, e.env_params, demos, gail.Config(ppo=ppo.Config(**ppo.PENDULUM)))
    score, _ = train_score(agent, e)
    assert score.mean() >= 0.7, score
