"""Action masks over whole training runs: on `LegalMoves-v0` (legal actions redrawn every
step; an illegal action earns -100 and ends the episode) PPO and DQN never take an illegal
action, while a policy that ignores the mask does at once (so the check can fail)."""

import jax
import jax.numpy as jnp
import numpy as np

import purerl
from purerl.algos import dqn, ppo
from purerl.core.rollout import reset_envs, rollout


def _train(agent):
    state, update = agent.init(jax.random.key(0)), jax.jit(agent.update)
    rets, lens = [], []
    for _ in range(agent.num_updates):
        state, m = update(state)
        if float(m["episodes"]) > 0:
            rets.append(float(m["episode_return"]))
            lens.append(float(m["episode_length"]))
    return state, np.array(rets), np.array(lens)


def test_the_env_punishes_a_policy_that_ignores_the_mask():
    env, params = purerl.make_env("LegalMoves-v0")
    obs, env_state = reset_envs(jax.random.key(0), env, params, 16)
    uniform = lambda o, k: (jax.random.randint(k, (16,), 0, 6), {})
    _, _, traj = rollout(jax.random.key(1), env, params, uniform, env_state, obs, 16)
    legal = jnp.take_along_axis(traj.obs["action_mask"], traj.action[..., None], -1)[..., 0]
    assert not bool(legal.all())
    np.testing.assert_array_equal(traj.terminated, ~legal)
    assert float(traj.reward.min()) == -100.0


def test_ppo_never_takes_an_illegal_action_over_a_training_run():
    env, params = purerl.make_env("LegalMoves-v0")
    config = ppo.Config(total_timesteps=2048, num_envs=8, num_steps=64, num_minibatches=4)
    _, rets, lens = _train(ppo.make(env, params, config))
    assert len(rets) == config.num_updates
    # every completed episode ran its 8 steps with rewards in [0, 1): not one illegal action
    np.testing.assert_array_equal(lens, 8.0)
    assert (rets >= 0).all(), rets


def test_dqn_never_takes_an_illegal_action_in_acting_or_exploring():
    env, params = purerl.make_env("LegalMoves-v0")
    config = dqn.Config(
        total_timesteps=1024,
        num_envs=4,
        train_frequency=4,
        learning_starts=256,  # the first 256 steps act uniformly at random: legal ones only
        batch_size=32,
        buffer_size=1024,
    )
    state, rets, lens = _train(dqn.make(env, params, config))
    np.testing.assert_array_equal(lens, 8.0)
    assert (rets >= 0).all(), rets
    # every stored transition (the whole run: the buffer never wrapped) took a legal action
    exp = state.buffer_state["experience"]
    n = config.total_timesteps
    mask = np.asarray(exp["obs"]["action_mask"]).reshape(-1, 6)
    action = np.asarray(exp["action"]).reshape(-1)
    assert mask.shape[0] == n
    assert mask[np.arange(n), action].all()
    assert not np.asarray(exp["terminated"]).any()
    # the greedy evaluation action is legal too
    obs, _ = reset_envs(jax.random.key(5), env, params, 64)
    act = np.asarray(dqn.make(env, params, config).act(state, obs, jax.random.key(6)))
    assert np.asarray(obs["action_mask"])[np.arange(64), act].all()
