"""`purerl.core.onpolicy`'s recurrent rollout: the memory is reset exactly after every
episode end (terminated or truncated), checked against a hand-built table of flags, and the
`Sequences` it hands the learner replay the rollout's own log-probs and values."""

import jax
import jax.numpy as jnp
import numpy as np

from purerl.core import onpolicy
from purerl.nets import RecurrentActorCritic, reset_carry

T, B = 8, 3
# The hand-built episode ends: TERM[t, b] / TRUNC[t, b] end env b's episode at step t.
TERM = np.zeros((T, B), bool)
TRUNC = np.zeros((T, B), bool)
TERM[2, 0] = TERM[6, 0] = True  # env 0: two terminations
TRUNC[4, 1] = True  # env 1: a time limit
TERM[1, 2] = TRUNC[5, 2] = True  # env 2: both kinds
TRUNC[7, 2] = True  # ... and one at the segment's last step


class Scripted:
    """A batched-by-vmap env whose flags come from `TERM` / `TRUNC` (indexed by a global step
    counter kept across auto-resets) and whose observations tell the steps apart."""

    def action_space(self, params=None):
        from gymnax.environments import spaces

        return spaces.Discrete(2)

    def _obs(self, t, b, first):
        return jnp.stack([jnp.sin(t + 0.3 * b), jnp.cos(2.0 * t), jnp.where(first, 1.0, 0.0)])

    def step(self, key, state, action, params=None):
        t, b = state
        term, trunc = jnp.asarray(TERM)[t, b], jnp.asarray(TRUNC)[t, b]
        final = self._obs(t + 1, b, False)
        obs = jnp.where(term | trunc, self._obs(t + 1, b, True), final)
        info = {"final_observation": final}
        reward = jnp.float32(1.0)
        return obs, (t + 1, b), reward, term, trunc, info


def _setup(cell="gru"):
    net = RecurrentActorCritic(2, True, (6,), cell=cell, recurrent_size=5)
    env = Scripted()
    state = (jnp.zeros(B, jnp.int32), jnp.arange(B))
    obs = jax.vmap(env._obs, in_axes=(0, 0, None))(state[0], state[1], True)
    # a non-zero memory at the segment's start: it must be used, not reset
    carry0 = jax.tree.map(lambda z: z + 0.7, net.initial_carry((B,)))
    params = net.init(jax.random.key(0), carry0, obs[None], jnp.zeros((1, B), bool))
    return net, env, state, obs, carry0, params


def test_carry_is_reset_exactly_after_each_episode_end_both_flags():
    net, env, state, obs0, carry0, params = _setup("lstm")
    _, _, carry_end, traj, v_tp1 = onpolicy.collect_recurrent(
        jax.random.key(1), net, params, env, None, state, obs0, carry0, T
    )
    np.testing.assert_array_equal(np.asarray(traj.terminated), TERM)
    np.testing.assert_array_equal(np.asarray(traj.truncated), TRUNC)

    # By hand: step the network on the recorded observations; zero env b's memory after
    # every step t where the table ends its episode, and nowhere else.
    step = jax.jit(lambda c, o: net.apply(params, c, o, method="step"))
    c = carry0
    for t in range(T):
        c_new, _, value = step(c, traj.obs[t])
        np.testing.assert_allclose(traj.extras["value"][t], value, rtol=1e-5, atol=1e-6)
        # v_tp1: the final observation read with the episode's own memory (before the reset)
        v_next = step(c_new, traj.next_obs[t])[2]
        np.testing.assert_allclose(v_tp1[t], v_next, rtol=1e-5, atol=1e-6)
        ended = jnp.asarray(TERM[t] | TRUNC[t])
        c = jax.tree.map(lambda x, e=ended: jnp.where(e[:, None], 0.0, x), c_new)
    for a, b in zip(jax.tree.leaves(carry_end), jax.tree.leaves(c), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # env 2 ended at the last step: its memory is zero; env 0 and 1 carry on
    for leaf in jax.tree.leaves(carry_end):
        assert np.all(np.asarray(leaf[2]) == 0.0) and np.all(np.abs(np.asarray(leaf[:2])) > 0)


def test_sequences_replay_the_rollout_and_resets_follow_the_table():
    net, env, state, obs0, carry0, params = _setup("gru")
    *_, traj, _, inputs = onpolicy.segment(
        jax.random.key(1), net, params, env, None, state, obs0, carry0, T
    )
    want_reset = np.zeros((T, B), bool)
    want_reset[1:] = (TERM | TRUNC)[:-1]
    np.testing.assert_array_equal(np.asarray(inputs.reset), want_reset)
    _, dist, value = net.apply(params, *inputs)
    np.testing.assert_allclose(dist.log_prob(traj.action), traj.extras["log_prob"], atol=1e-5)
    np.testing.assert_allclose(value, traj.extras["value"], rtol=1e-5, atol=1e-5)
    # the check can fail: resets one step late give other values
    late = inputs._replace(reset=jnp.asarray(np.roll(want_reset, 1, axis=0)))
    assert np.max(np.abs(net.apply(params, *late)[2] - traj.extras["value"])) > 1e-3


def test_reset_carry_zeroes_only_the_marked_envs():
    c = (jnp.ones((3, 2)), 2 * jnp.ones((3, 2)))
    out = reset_carry(c, jnp.array([False, True, False]))
    np.testing.assert_array_equal(out[0], [[1, 1], [0, 0], [1, 1]])
    np.testing.assert_array_equal(out[1], [[2, 2], [0, 0], [2, 2]])
