"""RLHF kernels against hand computations: Bradley-Terry, DPO, REINFORCE, token rewards and
GAE over tokens, the adaptive KL controller, best-of-n."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.rlhf import best_of_n, dpo, ppo, reinforce
from purerl.rlhf import reward_model as rm

log_sigmoid = lambda x: -math.log1p(math.exp(-x))


def test_bradley_terry_loss_by_hand():
    loss = rm.bradley_terry_loss(jnp.array([1.0, 0.0]), jnp.array([0.0, 2.0]))
    assert float(loss) == pytest.approx(-(log_sigmoid(1.0) + log_sigmoid(-2.0)) / 2, rel=1e-6)
    # its gradient pushes the chosen score up by sigmoid(-(r_c - r_r)) / N
    g = jax.grad(lambda rc: rm.bradley_terry_loss(rc, jnp.array([0.0, 2.0])))(jnp.array([1.0, 0.0]))
    np.testing.assert_allclose(
        g, [-(1 - 1 / (1 + math.exp(-1))) / 2, -(1 / (1 + math.exp(-2))) / 2], rtol=1e-5
    )


def test_dpo_loss_by_hand():
    lp_w, lp_l = jnp.array([-1.0, -2.0]), jnp.array([-3.0, -1.0])
    ref_w, ref_l = jnp.array([-2.0, -2.0]), jnp.array([-2.0, -2.0])
    loss, margin = dpo.dpo_loss(lp_w, lp_l, ref_w, ref_l, beta=0.5)
    # margins: 0.5 * ((-1 + 2) - (-3 + 2)) = 1;  0.5 * ((-2 + 2) - (-1 + 2)) = -0.5
    np.testing.assert_allclose(margin, [1.0, -0.5], rtol=1e-6)
    assert float(loss) == pytest.approx(-(log_sigmoid(1.0) + log_sigmoid(-0.5)) / 2, rel=1e-6)
    loss_s, _ = dpo.dpo_loss(lp_w, lp_l, ref_w, ref_l, beta=0.5, label_smoothing=0.1)
    want = -np.mean([0.9 * log_sigmoid(m) + 0.1 * log_sigmoid(-m) for m in (1.0, -0.5)])
    assert float(loss_s) == pytest.approx(want, rel=1e-6)
    # with the policy equal to the reference the loss is log 2 whatever beta
    l0, _ = dpo.dpo_loss(ref_w, ref_l, ref_w, ref_l, beta=3.0)
    assert float(l0) == pytest.approx(math.log(2.0), rel=1e-6)


def test_reinforce_loss_by_hand():
    seq_lp, ret, base = jnp.array([-1.0, -2.0]), jnp.array([1.0, 3.0]), jnp.array([0.0, 1.0])
    loss, adv = reinforce.reinforce_loss(seq_lp, ret, base, normalize_advantages=False)
    np.testing.assert_allclose(adv, [1.0, 2.0])
    assert float(loss) == pytest.approx(-(1.0 * -1.0 + 2.0 * -2.0) / 2)
    g_lp, g_base = jax.grad(
        lambda lp, b: reinforce.reinforce_loss(lp, ret, b, False)[0], argnums=(0, 1)
    )(seq_lp, base)
    np.testing.assert_allclose(g_lp, [-0.5, -1.0])
    np.testing.assert_allclose(g_base, [0.0, 0.0])  # the baseline is held fixed


def test_token_rewards_and_gae_over_tokens_by_hand():
    beta, lam = 0.1, 0.5
    kl_t = jnp.array([[0.5, -0.2, 0.0], [0.1, 0.2, 0.3]])
    score = jnp.array([2.0, -1.0])
    last = jnp.array([1, 2])  # first response ends (EOS) at token 1; second is cut at 2
    mask = jnp.array([[True, True, False], [True, True, True]])
    r = ppo.token_rewards(score, kl_t, last, beta)
    np.testing.assert_allclose(
        r, [[-0.05, 0.02 + 2.0, 0.0], [-0.01, -0.02, -0.03 - 1.0]], rtol=1e-6
    )
    v = jnp.array([[0.3, 0.7, 9.9], [0.1, 0.2, 0.4]])  # 9.9 lies past the end: ignored
    adv, ret = ppo.token_advantages(r, v, mask, last, 1.0, lam)
    a1 = 2.02 - 0.7
    a0 = -0.05 + 0.7 - 0.3 + lam * a1
    b2 = -1.03 - 0.4
    b1 = -0.02 + 0.4 - 0.2 + lam * b2
    b0 = -0.01 + 0.2 - 0.1 + lam * b1
    np.testing.assert_allclose(adv, [[a0, a1, 0.0], [b0, b1, b2]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        ret, [[a0 + 0.3, a1 + 0.7, 0.0], [b0 + 0.1, b1 + 0.2, b2 + 0.4]], rtol=1e-5, atol=1e-6
    )


def test_adaptive_kl_controller_by_hand():
    # Ziegler et al.: e = clip(KL / target - 1, -0.2, 0.2); beta *= 1 + e * batch / horizon
    assert float(ppo.adaptive_kl_coef(0.1, 3.0, 2.0, 64, 1000)) == pytest.approx(
        0.1 * (1 + 0.2 * 0.064)
    )
    assert float(ppo.adaptive_kl_coef(0.1, 1.9, 2.0, 64, 1000)) == pytest.approx(
        0.1 * (1 - 0.05 * 0.064)
    )
    assert float(ppo.adaptive_kl_coef(0.1, 0.0, 2.0, 64, 1000)) == pytest.approx(
        0.1 * (1 - 0.2 * 0.064)
    )


def test_best_of_n_kl_bound_and_selection():
    assert best_of_n.kl_bound(1) == 0.0
    assert best_of_n.kl_bound(4) == pytest.approx(math.log(4) - 0.75)
    scores = jnp.array([[0.1, 5.0], [0.3, -1.0], [0.2, 2.0]])  # [n=3, B=2]
    cands = jnp.arange(3 * 2 * 4).reshape(3, 2, 4)
    np.testing.assert_array_equal(best_of_n.select(scores, cands), [cands[1, 0], cands[0, 1]])


def test_configs_reject_bad_values():
    with pytest.raises(ValueError, match="divisible"):
        ppo.Config(batch_size=10, num_minibatches=4)
    with pytest.raises(ValueError, match="learning_rate"):
        reinforce.Config(learning_rate=-1.0)
    with pytest.raises(ValueError, match="beta"):
        dpo.Config(beta=0.0)
    with pytest.raises(ValueError, match="num_epochs"):
        rm.Config(num_epochs=0)
