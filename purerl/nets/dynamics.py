"""Networks of model-based control: the probabilistic MLP of a PETS ensemble, and
AlphaZero's policy/value network."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from purerl.nets.init import orthogonal
from purerl.nets.modules import MLP


class GaussianMLP(nn.Module):
    """One member of a probabilistic ensemble (Chua et al. 2018, PETS): a diagonal Gaussian
    over `out_dim` targets.

    Input `[..., in_dim]`; returns `(mean, log_var)`, each `[..., out_dim]`. The log-variance
    is softly bounded between two learned vectors, as in PETS:

      log_var = max_lv - softplus(max_lv - raw);  log_var = min_lv + softplus(log_var - min_lv)

    so it never leaves `[min_lv, max_lv]` on data far from the training set; a loss term
    `bound_penalty(params)` keeps the bounds tight.
    """

    out_dim: int
    hidden_sizes: Sequence[int] = (200, 200, 200)
    activation: str = "swish"
    init_max_log_var: float = 0.5
    init_min_log_var: float = -10.0

    @nn.compact
    def __call__(self, x):
        h = MLP(tuple(self.hidden_sizes), self.activation)(x)
        mean = nn.Dense(self.out_dim, kernel_init=orthogonal(1.0))(h)
        raw = nn.Dense(self.out_dim, kernel_init=orthogonal(1.0))(h)
        max_lv = self.param(
            "max_log_var", nn.initializers.constant(self.init_max_log_var), (self.out_dim,)
        )
        min_lv = self.param(
            "min_log_var", nn.initializers.constant(self.init_min_log_var), (self.out_dim,)
        )
        log_var = max_lv - nn.softplus(max_lv - raw)
        log_var = min_lv + nn.softplus(log_var - min_lv)
        return mean, log_var


class PolicyValueNet(nn.Module):
    """AlphaZero's two-headed network: `apply(params, obs) -> (logits [..., A], value [...])`.

    A shared MLP torso; both heads start near zero (orthogonal init, gain 0.01), so a fresh
    network is a uniform prior and a zero value: a search bootstrapping from it starts from
    the rewards it sees, not from random values.
    """

    num_actions: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs):
        h = MLP(tuple(self.hidden_sizes), self.activation, self.obs_ndim)(obs)
        logits = nn.Dense(self.num_actions, kernel_init=orthogonal(0.01))(h)
        value = nn.Dense(1, kernel_init=orthogonal(0.01))(h)[..., 0]
        return logits, value


def bound_penalty(params) -> jnp.ndarray:
    """`sum(max_log_var) - sum(min_log_var)` of one member's params (PETS' bound loss)."""
    p = params["params"]
    return jnp.sum(p["max_log_var"]) - jnp.sum(p["min_log_var"])


__all__ = ["GaussianMLP", "PolicyValueNet", "bound_penalty"]
