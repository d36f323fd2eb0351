"""Losses and batch statistics shared by several algorithms, written once.

* `masked_mean`, `normalize`: means over valid entries; advantage standardisation.
* `policy_gradient_loss`: the score-function surrogate (REINFORCE, VPG, A2C/A3C).
* `clip_policy_loss`, `value_loss`, `approx_kl`: PPO's clipped surrogate, (clipped) value
  regression and KL estimate (PPO, A2C/A3C, RLHF's PPO).
* `critic_loss`: the squared TD error summed over a critic ensemble (DDPG, TD3, SAC).

An algorithm module imports these from here (and may list them in its `__all__` as part of
its building blocks); no algorithm imports another algorithm's module for a loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def masked_mean(x, mask=None):
    """Mean of `x` over the entries where `mask` is true (all entries if `mask` is None)."""
    if mask is None:
        return jnp.mean(x)
    m = jnp.asarray(mask, x.dtype)
    return jnp.sum(x * m) / jnp.maximum(jnp.sum(m), 1.0)


def normalize(x, eps: float = 1e-8):
    """Standardise `x` to zero mean and unit variance."""
    return (x - x.mean()) / (x.std() + eps)


def policy_gradient_loss(log_prob, weights, mask=None):
    """The score-function surrogate `-(log pi(a|s) * weights).mean()` over valid steps.

    Its gradient is the policy-gradient estimate `-mean_t grad log pi(a_t|s_t) Psi_t` for
    any weights `Psi_t` (whole return, reward-to-go, advantage), which are held constant.
    """
    return -masked_mean(log_prob * jax.lax.stop_gradient(weights), mask)


def clip_policy_loss(log_prob, old_log_prob, advantages, clip_eps):
    """PPO-Clip surrogate (negated, to minimise; Schulman et al. 2017). Shapes `[N]`.

    Returns `(loss, clip_fraction)`.
    """
    ratio = jnp.exp(log_prob - old_log_prob)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    loss = -jnp.mean(jnp.minimum(unclipped, clipped))
    clip_fraction = jnp.mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32))
    return loss, clip_fraction


def value_loss(value, old_value, returns, clip_eps=None):
    """`0.5 E[(V - R)^2]`, or PPO2's clipped version `0.5 E[max((V-R)^2, (Vclip-R)^2)]`."""
    err = jnp.square(value - returns)
    if clip_eps is not None:
        v_clip = old_value + jnp.clip(value - old_value, -clip_eps, clip_eps)
        err = jnp.maximum(err, jnp.square(v_clip - returns))
    return 0.5 * jnp.mean(err)


def approx_kl(log_prob, old_log_prob):
    """Low-variance unbiased estimator of KL(pi_old || pi): E[(rho - 1) - log rho]."""
    log_ratio = log_prob - old_log_prob
    return jnp.mean(jnp.expm1(log_ratio) - log_ratio)


def critic_loss(q, target):
    """`sum_k E[(Q_k(s, a) - y)^2]` over the critics `q [K, N]` (targets `[N]`)."""
    return jnp.sum(jnp.mean(jnp.square(q - target[None]), axis=-1))


__all__ = [
    "approx_kl",
    "clip_policy_loss",
    "critic_loss",
    "masked_mean",
    "normalize",
    "policy_gradient_loss",
    "value_loss",
]
