"""VPG: Spinning Up's targets, one policy step per batch, learning on CartPole."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import vpg
from purerl.core import onpolicy
from purerl.types import Transition


def test_targets_are_gae_and_bootstrapped_rewards_to_go():
    r = jnp.array([1.0, 1.0, 1.0])[:, None]
    v = jnp.array([0.5, 0.4, 0.3])[:, None]
    v_tp1 = jnp.array([0.4, 0.3, 2.0])[:, None]  # last: the bootstrap value at the cut
    f = jnp.zeros((3, 1), bool)
    traj = Transition(v, None, r, f, f, None, {"value": v}, {})
    g, lam = 0.9, 0.5
    adv, ret = onpolicy.advantages_and_returns(traj, v_tp1, g, lam)
    d = r[:, 0] + g * v_tp1[:, 0] - v[:, 0]
    a2 = d[2]
    a1 = d[1] + g * lam * a2
    a0 = d[0] + g * lam * a1
    np.testing.assert_allclose(adv[:, 0], [a0, a1, a2], rtol=1e-6)
    np.testing.assert_allclose(
        ret[:, 0], [1 + g + g**2 + g**3 * 2.0, 1 + g + g**2 * 2.0, 1 + g * 2.0], rtol=1e-6
    )


def test_one_policy_step_many_value_steps():
    env, params = purerl.make_env("CartPole-v1")
    config = vpg.Config(total_timesteps=512, num_envs=4, num_steps=64, value_iters=7)
    agent = vpg.make(env, params, config)
    state = agent.init(jax.random.key(0))
    new, _ = jax.jit(agent.update)(state)
    count = lambda opt: [int(x) for x in jax.tree.leaves(opt) if jnp.ndim(x) == 0]
    assert max(count(new.opt_state)) == 1  # Adam's step count
    assert max(count(new.value_opt_state)) == 7


@pytest.mark.learning
def test_vpg_solves_cartpole(train_eval):
    env, params = purerl.make_env("CartPole-v1")
    agent = vpg.make(env, params, vpg.Config(total_timesteps=200_000, value_iters=40))
    returns = train_eval(agent).returns
    assert returns.mean() >= 450, returns
