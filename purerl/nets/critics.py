"""Networks of the off-policy family: distributional Q heads (C51, QR-DQN), continuous Q
critics and their ensembles (DDPG, TD3, SAC), the tanh-squashed Gaussian actor (SAC) and
its numerically stable log-probability.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from purerl.envs.goal import network_input
from purerl.nets.init import orthogonal
from purerl.nets.modules import MLP, QNetwork

LOG_2PI = float(np.log(2.0 * np.pi))


class DistributionalQNetwork(nn.Module):
    """`num_outputs` numbers per action, `[..., num_actions, num_outputs]`: the logits of
    a categorical return distribution on a fixed support (C51) or the values of quantiles
    (QR-DQN)."""

    num_actions: int
    num_outputs: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "relu"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs):
        h = MLP(self.hidden_sizes, self.activation, self.obs_ndim)(obs)
        out = nn.Dense(self.num_actions * self.num_outputs, kernel_init=orthogonal(1.0))(h)
        return out.reshape(out.shape[:-1] + (self.num_actions, self.num_outputs))


class ContinuousQNetwork(nn.Module):
    """`Q(s, a)` for continuous actions: an MLP over `[obs, action]`, output `[...]`."""

    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs, action):
        obs = jnp.asarray(network_input(obs), jnp.float32)
        if self.obs_ndim != 1:
            obs = obs.reshape(obs.shape[: obs.ndim - self.obs_ndim] + (-1,))
        x = jnp.concatenate([obs, jnp.asarray(action, jnp.float32)], axis=-1)
        h = MLP(self.hidden_sizes, self.activation, 1)(x)
        return nn.Dense(1, kernel_init=orthogonal(1.0))(h)[..., 0]


class ContinuousQEnsemble(nn.Module):
    """`num_critics` independent `ContinuousQNetwork`s (TD3's and SAC's twin critics):
    `apply(params, obs, action) -> [num_critics, ...]`."""

    num_critics: int = 2
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs, action):
        ensemble = nn.vmap(
            ContinuousQNetwork,
            variable_axes={"params": 0},
            split_rngs={"params": True},
            in_axes=None,
            out_axes=0,
            axis_size=self.num_critics,
        )
        return ensemble(self.hidden_sizes, self.activation, self.obs_ndim)(obs, action)


class DiscreteQEnsemble(nn.Module):
    """`num_critics` independent `QNetwork`s (discrete SAC): `[num_critics, ..., A]`."""

    num_actions: int
    num_critics: int = 2
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs):
        ensemble = nn.vmap(
            QNetwork,
            variable_axes={"params": 0},
            split_rngs={"params": True},
            in_axes=None,
            out_axes=0,
            axis_size=self.num_critics,
        )
        return ensemble(self.num_actions, self.hidden_sizes, self.activation, self.obs_ndim)(obs)


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

    @nn.compact
    def __call__(self, obs):
        h = MLP(self.hidden_sizes, self.activation, self.obs_ndim)(obs)
        mean = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01))(h)
        raw = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01))(h)
        lo, hi = self.log_std_min, self.log_std_max
        log_std = lo + 0.5 * (hi - lo) * (jnp.tanh(raw) + 1.0)
        return mean, log_std


class DiscreteActor(nn.Module):
    """Categorical policy logits `[..., num_actions]` (discrete SAC)."""

    num_actions: int
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs):
        h = MLP(self.hidden_sizes, self.activation, self.obs_ndim)(obs)
        return nn.Dense(self.num_actions, kernel_init=orthogonal(0.01))(h)


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
    "ContinuousQEnsemble",
    "ContinuousQNetwork",
    "DiscreteActor",
    "DiscreteQEnsemble",
    "DistributionalQNetwork",
    "TanhGaussianActor",
    "log_one_minus_tanh_sq",
    "tanh_gaussian_log_prob",
    "tanh_gaussian_sample",
]
