"""Dynamics models: one member of a probabilistic ensemble (PETS)."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from purerl.nets.torsos import MLP, orthogonal


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


def bound_penalty(params) -> jnp.ndarray:
    """`sum(max_log_var) - sum(min_log_var)` of one member's params (PETS' bound loss)."""
    p = params["params"]
    return jnp.sum(p["max_log_var"]) - jnp.sum(p["min_log_var"])


__all__ = ["GaussianMLP", "bound_penalty"]
