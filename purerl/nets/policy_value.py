"""AlphaZero's policy/value network."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn

from purerl.nets.torsos import MLP, orthogonal


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


__all__ = ["PolicyValueNet"]
