"""Actors: policy heads (distrax distributions), the deterministic actor (DDPG, TD3), the
tanh-squashed Gaussian actor and its numerically stable log-probability (SAC), discrete
actor logits (discrete SAC), and the on-policy `ActorCritic`."""

from __future__ import annotations

from collections.abc import Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from purerl.nets.critics import ValueHead
from purerl.nets.masks import action_mask, mask_logits
from purerl.nets.torsos import MLP, InputFn, Torso, TorsoSpec, mlp_named_torso, orthogonal

LOG_2PI = float(np.log(2.0 * np.pi))


class CategoricalHead(nn.Module):
    """Logits for `num_actions` choices -> `distrax.Categorical` (orthogonal init, gain 0.01).

    `mask` (`bool [..., num_actions]`, optional): illegal actions get probability 0, so
    sampling, `log_prob`, `entropy` and `mode` see only the legal ones."""

    num_actions: int

    @nn.compact
    def __call__(self, h, mask=None):
        logits = nn.Dense(self.num_actions, kernel_init=orthogonal(0.01))(h)
        return distrax.Categorical(logits=mask_logits(logits, mask))


class GaussianHead(nn.Module):
    """Diagonal Gaussian: state-dependent mean, state-independent learned log-std.

    Returns `distrax.MultivariateNormalDiag(mean [..., d], exp(log_std) [d])`.
    """

    action_dim: int
    log_std_init: float = 0.0

    @nn.compact
    def __call__(self, h):
        mean = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01))(h)
        log_std = self.param(
            "log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,)
        )
        scale = jnp.broadcast_to(jnp.exp(log_std), mean.shape)
        return distrax.MultivariateNormalDiag(mean, scale)


class ActorCritic(nn.Module):
    """Policy and value function: `apply(params, obs) -> (distribution, value)`.

    `discrete=True`: categorical over `action_dim` actions; else diagonal Gaussian over
    `action_dim` dims. Separate torsos by default (`shared_torso=False`). `torso` picks
    the CNN for image observations (`TorsoSpec`; None: the MLP); a dict observation's
    `"action_mask"` masks the categorical policy.
    """

    action_dim: int
    discrete: bool
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    obs_ndim: int | tuple = 1
    shared_torso: bool = False
    log_std_init: float = 0.0
    torso: TorsoSpec | None = None

    def setup(self):
        mlp = lambda: Torso(self.hidden_sizes, self.activation, self.obs_ndim, spec=self.torso)
        self.actor_torso = mlp()
        self.critic_torso = self.actor_torso if self.shared_torso else mlp()
        if self.discrete:
            self.policy_head = CategoricalHead(self.action_dim)
        else:
            self.policy_head = GaussianHead(self.action_dim, self.log_std_init)
        self.value_head = ValueHead()

    def __call__(self, obs):
        return self.policy(obs), self.value(obs)

    def policy(self, obs):
        h = self.actor_torso(obs)
        if self.discrete:
            return self.policy_head(h, action_mask(obs))
        return self.policy_head(h)

    def value(self, obs):
        return self.value_head(self.critic_torso(obs))


class DeterministicActor(nn.Module):
    """Deterministic policy `tanh(MLP(obs))` in [-1, 1]^d (DDPG / TD3)."""

    action_dim: int
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int = 1
    input_fn: InputFn = None

    @nn.compact
    def __call__(self, obs):
        h = MLP(self.hidden_sizes, self.activation, self.obs_ndim, self.input_fn)(obs)
        return jnp.tanh(nn.Dense(self.action_dim, kernel_init=orthogonal(0.01))(h))


class TanhGaussianActor(nn.Module):
    """SAC's actor: `apply(params, obs) -> (mean, log_std)`, each `[..., action_dim]`, of a
    diagonal Gaussian over the pre-squash action `u`; the action is `tanh(u)` in (-1, 1).

    `log_std` is squashed smoothly into `[log_std_min, log_std_max]`. Sample with
    `tanh_gaussian_sample`; the evaluation action is `tanh(mean)`.
    """

    action_dim: int
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int = 1
    log_std_min: float = -5.0
    log_std_max: float = 2.0
    input_fn: InputFn = None

    @nn.compact
    def __call__(self, obs):
        h = MLP(self.hidden_sizes, self.activation, self.obs_ndim, self.input_fn)(obs)
        mean = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01))(h)
        raw = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01))(h)
        lo, hi = self.log_std_min, self.log_std_max
        log_std = lo + 0.5 * (hi - lo) * (jnp.tanh(raw) + 1.0)
        return mean, log_std


class DiscreteActor(nn.Module):
    """Categorical policy logits `[..., num_actions]` (discrete SAC); illegal actions of a
    masked observation get the most negative finite logit."""

    num_actions: int
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int | tuple = 1
    input_fn: InputFn = None
    torso: TorsoSpec | None = None

    @nn.compact
    def __call__(self, obs):
        h = mlp_named_torso(self)(obs)
        logits = nn.Dense(self.num_actions, kernel_init=orthogonal(0.01))(h)
        return mask_logits(logits, action_mask(obs))


# ------------------------------------------------------------ tanh-Gaussian maths
def log_one_minus_tanh_sq(u):
    """`log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))`, exact and finite for every
    real `u` (the direct form is `log(0) = -inf` once `tanh(u)` rounds to +-1, at
    `|u| > 9` in float32)."""
    return 2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))


def tanh_gaussian_log_prob(u, mean, log_std):
    """Log-density of the action `a = tanh(u)` where `u ~ N(mean, exp(log_std)^2)`
    (diagonal, summed over the last axis), given the pre-squash sample `u`:

      log pi(a) = sum_d [log N(u_d; mean_d, std_d) - log(1 - tanh(u_d)^2)]

    (change of variables, Haarnoja et al. 2018, appendix C), with the Jacobian term in the
    stable form of `log_one_minus_tanh_sq`. Shapes `[..., d]` -> `[...]`.
    """
    z = (u - mean) * jnp.exp(-log_std)
    log_normal = -0.5 * z**2 - log_std - 0.5 * LOG_2PI
    return jnp.sum(log_normal - log_one_minus_tanh_sq(u), axis=-1)


def tanh_gaussian_sample(key, mean, log_std):
    """Reparameterised sample `a = tanh(mean + std * eps)` and its log-density.

    Returns `(action [..., d], log_prob [...])`; gradients flow to `mean` and `log_std`.
    """
    u = mean + jnp.exp(log_std) * jax.random.normal(key, jnp.shape(mean))
    return jnp.tanh(u), tanh_gaussian_log_prob(u, mean, log_std)


__all__ = [
    "ActorCritic",
    "CategoricalHead",
    "DeterministicActor",
    "DiscreteActor",
    "GaussianHead",
    "TanhGaussianActor",
    "log_one_minus_tanh_sq",
    "tanh_gaussian_log_prob",
    "tanh_gaussian_sample",
]
