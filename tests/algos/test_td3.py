"""TD3: the clipped double-Q target with target policy smoothing, computed by hand on a
tiny net; delayed actor and target updates; a Pendulum learning test."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import td3
from purerl.nets import ContinuousQEnsemble, DeterministicActor

OBS_DIM, HIDDEN = 3, 2


def _tiny_nets():
    """A 3-2-1 tanh actor and two 4-2-1 critics (relu), with fixed random weights."""
    actor = DeterministicActor(1, (HIDDEN,), "relu")
    critic = ContinuousQEnsemble(2, (HIDDEN,), "relu")
    rng = np.random.default_rng(0)
    fill = lambda tree: jax.tree.map(
        lambda x: jnp.asarray(rng.normal(size=x.shape), jnp.float32), tree
    )
    pa = fill(actor.init(jax.random.key(0), jnp.zeros((1, OBS_DIM))))
    pc = fill(critic.init(jax.random.key(1), jnp.zeros((1, OBS_DIM)), jnp.zeros((1, 1))))
    return actor, critic, pa, pc


def _np_actor(p, s):
    h = np.maximum(s @ p["MLP_0"]["Dense_0"]["kernel"] + p["MLP_0"]["Dense_0"]["bias"], 0)
    return np.tanh(h @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"])


def _np_critic(p, k, s, a):
    x = np.concatenate([s, a], axis=-1)
    d0, d1 = p["MLP_0"]["Dense_0"], p["Dense_0"]
    h = np.maximum(x @ d0["kernel"][k] + d0["bias"][k], 0)
    return (h @ d1["kernel"][k] + d1["bias"][k])[:, 0]


@pytest.mark.parametrize("target_noise", [0.0, 0.2, 10.0])
def test_target_equals_hand_computation_on_tiny_net(target_noise):
    actor, critic, pa, pc = _tiny_nets()
    s_next = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-2.0, 1.0, 0.1]], np.float32)
    r = np.array([1.0, -0.5, 2.0], np.float32)
    term = np.array([False, True, False])
    gamma, clip, key = 0.9, 0.5, jax.random.key(3)
    y = td3.critic_targets(
        key,
        jnp.asarray(r),
        jnp.asarray(term),
        actor.apply(pa, s_next),
        lambda a: critic.apply(pc, s_next, a),
        gamma,
        target_noise,
        clip,
    )
    npa = jax.tree.map(np.asarray, pa["params"])
    npc = jax.tree.map(np.asarray, pc["params"]["VmapContinuousQNetwork_0"])
    a = _np_actor(npa, s_next)
    if target_noise:
        eps = np.asarray(jax.random.normal(key, (3, 1)))
        a = np.clip(a + np.clip(target_noise * eps, -clip, clip), -1, 1)
        if target_noise == 10.0:  # every noise sample clipped to +-0.5
            assert np.all(np.abs(np.clip(target_noise * eps, -clip, clip)) == clip)
    q = np.minimum(_np_critic(npc, 0, s_next, a), _np_critic(npc, 1, s_next, a))
    expected = r + gamma * (1 - term) * q
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    assert expected[1] == r[1]  # terminated: no bootstrap


def test_losses_hand_computed():
    q = jnp.array([[1.0, 2.0], [0.0, 4.0]])  # [K=2, N=2]
    y = jnp.array([2.0, 2.0])
    assert float(td3.critic_loss(q, y)) == pytest.approx((1 + 0) / 2 + (4 + 4) / 2)
    assert float(td3.actor_loss(jnp.array([1.0, 3.0]))) == pytest.approx(-2.0)
    a = td3.exploration_actions(jax.random.key(0), jnp.full((10_000, 1), 0.9), 0.3)
    assert float(a.max()) == 1.0 and float(a.min()) >= -1.0
    assert float(jnp.mean(a == 1.0)) == pytest.approx(0.37, abs=0.02)  # P(eps > 1/3)


def test_actor_and_targets_update_every_policy_delay_steps():
    env, params = purerl.make_env("Pendulum-v1")
    config = td3.Config(
        num_envs=2,
        learning_starts=0,
        batch_size=4,
        buffer_size=64,
        hidden_sizes=(8,),
        policy_delay=3,
        total_timesteps=40,
    )
    agent = td3.make(env, params, config)
    update = jax.jit(agent.update)
    state = agent.init(jax.random.key(0))
    changed = []
    for _ in range(6):
        new, _ = update(state)
        same = lambda a, b: all(
            np.array_equal(x, y)
            for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
        )
        assert not same(new.critic_params, state.critic_params)  # critics learn every step
        changed.append(
            (
                not same(new.actor_params, state.actor_params),
                not same(new.target_actor_params, state.target_actor_params),
                not same(new.target_critic_params, state.target_critic_params),
            )
        )
        state = new
    expected = [(s % 3 == 0,) * 3 for s in range(1, 7)]  # after grad steps 3 and 6
    assert changed == expected
    assert int(state.grad_steps) == 6


def test_bad_input():
    with pytest.raises(ValueError, match="continuous"):
        env, params = purerl.make_env("CartPole-v1")
        td3.make(env, params, td3.Config())
    with pytest.raises(ValueError, match="policy_delay"):
        td3.Config(policy_delay=0)
    with pytest.raises(ValueError, match="target_noise"):
        td3.Config(target_noise=-0.1)
    with pytest.raises(ValueError, match="batch_size"):
        td3.Config(batch_size=512, buffer_size=256)


@pytest.mark.learning
def test_td3_solves_pendulum(train_eval):
    # Measured (greedy return, 16 episodes per seed, PENDULUM budget):
    # key 0 -> [-121, -150, -145, -144] (mean -140); key 1 -> mean -150.
    env, params = purerl.make_env("Pendulum-v1")
    returns = train_eval(td3.make(env, params, td3.Config(**PENDULUM))).returns
    assert returns.mean() >= -250, returns


PENDULUM = dict(total_timesteps=15_000)
