"""Action masks (`purerl.types.ACTION_MASK`): masked categorical log-probs and entropies
against a hand computation, and masked sampling, greedy actions, Q-argmaxes, random
actions and DQN targets never picking an illegal action."""

import jax
import jax.numpy as jnp
import numpy as np

from purerl.algos.dqn import epsilon_greedy, q_targets
from purerl.nets import (
    ActorCritic,
    CategoricalHead,
    action_mask,
    mask_logits,
    masked_argmax,
    uniform_legal_action,
)

LOGITS = np.array([[0.3, 2.0, -1.0, 0.5], [1.5, -0.2, 0.1, 3.0]], np.float32)
MASK = np.array([[True, False, True, True], [False, True, True, False]])


def _masked_softmax_numpy(logits, mask):
    z = np.where(mask, np.exp(logits.astype(np.float64)), 0.0)
    return z / z.sum(-1, keepdims=True)


def test_masked_categorical_log_prob_entropy_and_mode_against_a_hand_computation():
    import distrax

    dist = distrax.Categorical(logits=mask_logits(jnp.asarray(LOGITS), jnp.asarray(MASK)))
    p = _masked_softmax_numpy(LOGITS, MASK)
    legal_actions = np.array([3, 2])
    np.testing.assert_allclose(
        dist.log_prob(legal_actions), np.log(p[[0, 1], legal_actions]), rtol=1e-5
    )
    ent = -np.sum(np.where(MASK, p * np.log(np.where(MASK, p, 1.0)), 0.0), -1)
    np.testing.assert_allclose(dist.entropy(), ent, rtol=1e-5)
    assert np.isfinite(np.asarray(dist.entropy())).all()
    # the greedy action is the best *legal* one (the unmasked argmax is illegal in both rows)
    np.testing.assert_array_equal(dist.mode(), [3, 2])
    assert (np.argmax(LOGITS, -1) != dist.mode()).all()
    # gradients stay finite, and are zero for the illegal logits
    g = jax.grad(lambda lg: distrax.Categorical(logits=mask_logits(lg, MASK)).entropy().sum())(
        jnp.asarray(LOGITS)
    )
    assert np.isfinite(np.asarray(g)).all()
    np.testing.assert_array_equal(np.asarray(g)[~MASK], 0.0)


def test_masked_sampling_only_draws_legal_actions_with_the_renormalised_frequencies():
    import distrax

    dist = distrax.Categorical(logits=mask_logits(jnp.asarray(LOGITS), jnp.asarray(MASK)))
    samples = np.asarray(dist.sample(seed=jax.random.key(0), sample_shape=(20_000,)))
    for row in range(2):
        freq = np.bincount(samples[:, row], minlength=4) / samples.shape[0]
        assert (freq[~MASK[row]] == 0).all()
        np.testing.assert_allclose(freq, _masked_softmax_numpy(LOGITS, MASK)[row], atol=0.015)


def test_actor_critic_reads_the_mask_from_the_observation_dict():
    net = ActorCritic(
        action_dim=4, discrete=True, hidden_sizes=(8,), obs_ndim=(("action_mask", 1), ("obs", 1))
    )
    obs = {"obs": jnp.ones((2, 3)), "action_mask": jnp.asarray(MASK)}
    params = net.init(jax.random.key(0), obs)
    dist, _ = net.apply(params, obs)
    probs = np.asarray(dist.probs)
    np.testing.assert_array_equal(probs[~MASK], 0.0)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-6)
    # the head alone without a mask: every action possible
    head = CategoricalHead(4)
    hp = head.init(jax.random.key(0), jnp.ones((2, 3)))
    assert (np.asarray(head.apply(hp, jnp.ones((2, 3))).probs) > 0).all()
    assert action_mask(jnp.ones(3)) is None and action_mask({"obs": jnp.ones(3)}) is None


def test_q_argmax_random_actions_and_epsilon_greedy_stay_legal():
    q = jnp.asarray(LOGITS)
    np.testing.assert_array_equal(masked_argmax(q, MASK), [3, 2])
    np.testing.assert_array_equal(masked_argmax(q, None), [1, 3])
    keys = jax.random.split(jax.random.key(1), 4000)
    rand = np.asarray(jax.vmap(lambda k: uniform_legal_action(k, MASK, 4))(keys))
    for row in range(2):
        assert set(np.unique(rand[:, row])) == set(np.flatnonzero(MASK[row]))
    eps = np.asarray(jax.vmap(lambda k: epsilon_greedy(k, q, 1.0, MASK))(keys))
    assert MASK[np.arange(2)[None, :], eps].all()
    assert set(np.unique(eps[:, 0])) == {0, 2, 3}
    greedy = np.asarray(epsilon_greedy(jax.random.key(2), q, 0.0, MASK))
    np.testing.assert_array_equal(greedy, [3, 2])


def test_dqn_targets_bootstrap_from_the_best_legal_next_action():
    q_t = jnp.asarray(LOGITS)
    q_o = jnp.asarray(LOGITS[:, ::-1].copy())
    r, term = jnp.asarray([1.0, 0.0]), jnp.asarray([False, False])
    got = q_targets(q_t, None, r, term, 0.5, False, jnp.asarray(MASK))
    np.testing.assert_allclose(got, [1.0 + 0.5 * 0.5, 0.5 * 0.1], rtol=1e-6)
    # double DQN: the online net's best legal action, valued by the target net
    got = q_targets(q_t, q_o, r, term, 0.5, True, jnp.asarray(MASK))
    a_star = [int(np.argmax(np.where(MASK[i], LOGITS[i, ::-1], -np.inf))) for i in range(2)]
    want = [1.0 + 0.5 * LOGITS[0, a_star[0]], 0.5 * LOGITS[1, a_star[1]]]
    np.testing.assert_allclose(got, want, rtol=1e-6)
