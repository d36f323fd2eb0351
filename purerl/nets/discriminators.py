"""Discriminators of adversarial imitation: GAIL's discriminator and AIRL's shaped reward."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from purerl.nets.torsos import CNN, MLP, Torso, TorsoSpec, network_array, orthogonal


class Discriminator(nn.Module):
    """GAIL's discriminator logit `l(s, a)` (`D = sigmoid(l)`, the probability of "expert").

    `apply(params, obs [..., *obs_shape], action [..., *action_shape]) -> [...]`. Discrete
    actions (`num_actions > 0`) enter one-hot; continuous ones as they are (`action_ndim`
    trailing dims, 0 for a scalar action). `torso`: image observations go through its
    CNN before joining the action (None: flattened as they are).
    """

    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    obs_ndim: int = 1
    num_actions: int = 0
    action_ndim: int = 1
    torso: TorsoSpec | None = None

    @nn.compact
    def __call__(self, obs, action):
        t = self.torso
        if t is not None and t.uses_cnn(self.obs_ndim):
            s = CNN(t.cnn_channels, t.cnn_kernels, t.cnn_strides)(obs)
        else:
            s = network_array(obs, self.obs_ndim)
        if self.num_actions:
            a = jax.nn.one_hot(action, self.num_actions)
        elif self.action_ndim == 0:
            a = jnp.asarray(action, jnp.float32)[..., None]
        else:
            a = network_array(action, self.action_ndim)
        h = MLP(self.hidden_sizes, self.activation, obs_ndim=1)(jnp.concatenate([s, a], -1))
        return nn.Dense(1, kernel_init=orthogonal(1.0))(h)[..., 0]


class ShapedReward(nn.Module):
    """AIRL's `f(s, a, s') = g(s) + gamma (1 - terminated) h(s') - h(s)` (Fu et al. 2018):
    a state-only reward `g` and a potential `h`, two MLPs.

    `apply(params, obs, next_obs, terminated, gamma) -> f [...]`;
    `apply(params, obs, method="reward") -> g(s)`; `method="potential"` -> `h(s)`.
    """

    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    obs_ndim: int | tuple = 1
    torso: TorsoSpec | None = None  # None: MLPs

    def setup(self):
        torso = lambda: Torso(self.hidden_sizes, self.activation, self.obs_ndim, spec=self.torso)
        self.g_torso = torso()
        self.g_head = nn.Dense(1, kernel_init=orthogonal(1.0))
        self.h_torso = torso()
        self.h_head = nn.Dense(1, kernel_init=orthogonal(1.0))

    def reward(self, obs):
        return self.g_head(self.g_torso(obs))[..., 0]

    def potential(self, obs):
        return self.h_head(self.h_torso(obs))[..., 0]

    def __call__(self, obs, next_obs, terminated, gamma):
        not_term = 1.0 - jnp.asarray(terminated, jnp.float32)
        return self.reward(obs) + gamma * not_term * self.potential(next_obs) - self.potential(obs)


__all__ = ["Discriminator", "ShapedReward"]
