"""Flax linen modules used by the algorithms."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import distrax
import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from purerl.envs.goal import network_input
from purerl.nets.init import orthogonal

ACTIVATIONS: dict[str, Callable] = {
    "tanh": jnp.tanh,
    "relu": nn.relu,
    "swish": nn.swish,
    "silu": nn.silu,
    "gelu": nn.gelu,
    "elu": nn.elu,
    "identity": lambda x: x,
}


def get_activation(name: str) -> Callable:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def _ortho(scale: float):
    return orthogonal(scale)


class MLP(nn.Module):
    """Fully connected torso: flattens trailing obs dims, then Dense + activation per layer.

    Input `[..., *obs_shape]` with `obs_ndim` trailing observation dims (a goal-conditioned
    observation dict enters as `concat(observation, desired_goal)`); output
    `[..., hidden_sizes[-1]]`. Orthogonal init with gain sqrt(2), zero biases.
    """

    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, x):
        x = jnp.asarray(network_input(x), jnp.float32)
        if self.obs_ndim != 1:
            x = x.reshape(x.shape[: x.ndim - self.obs_ndim] + (-1,))
        act = get_activation(self.activation)
        for h in self.hidden_sizes:
            x = act(nn.Dense(h, kernel_init=_ortho(np.sqrt(2)))(x))
        return x


class CategoricalHead(nn.Module):
    """Logits for `num_actions` choices -> `distrax.Categorical` (orthogonal init, gain 0.01)."""

    num_actions: int

    @nn.compact
    def __call__(self, h):
        logits = nn.Dense(self.num_actions, kernel_init=_ortho(0.01))(h)
        return distrax.Categorical(logits=logits)


class GaussianHead(nn.Module):
    """Diagonal Gaussian: state-dependent mean, state-independent learned log-std.

    Returns `distrax.MultivariateNormalDiag(mean [..., d], exp(log_std) [d])`.
    """

    action_dim: int
    log_std_init: float = 0.0

    @nn.compact
    def __call__(self, h):
        mean = nn.Dense(self.action_dim, kernel_init=_ortho(0.01))(h)
        log_std = self.param(
            "log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,)
        )
        scale = jnp.broadcast_to(jnp.exp(log_std), mean.shape)
        return distrax.MultivariateNormalDiag(mean, scale)


class ValueHead(nn.Module):
    """Scalar value `[...]` (orthogonal init, gain 1)."""

    @nn.compact
    def __call__(self, h):
        return nn.Dense(1, kernel_init=_ortho(1.0))(h)[..., 0]


class ActorCritic(nn.Module):
    """Policy and value function: `apply(params, obs) -> (distribution, value)`.

    `discrete=True`: categorical over `action_dim` actions; else diagonal Gaussian over
    `action_dim` dims. Separate torsos by default (`shared_torso=False`).
    """

    action_dim: int
    discrete: bool
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    obs_ndim: int = 1
    shared_torso: bool = False
    log_std_init: float = 0.0

    def setup(self):
        mlp = lambda: MLP(self.hidden_sizes, self.activation, self.obs_ndim)
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
        return self.policy_head(self.actor_torso(obs))

    def value(self, obs):
        return self.value_head(self.critic_torso(obs))


class QNetwork(nn.Module):
    """Action values `[..., num_actions]`; `dueling=True` splits value and advantage
    streams (Wang et al. 2016): Q = V + A - mean(A)."""

    num_actions: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "relu"
    obs_ndim: int = 1
    dueling: bool = False

    @nn.compact
    def __call__(self, obs):
        h = MLP(self.hidden_sizes, self.activation, self.obs_ndim)(obs)
        if not self.dueling:
            return nn.Dense(self.num_actions, kernel_init=_ortho(1.0))(h)
        a = nn.Dense(self.num_actions, kernel_init=_ortho(1.0))(h)
        v = nn.Dense(1, kernel_init=_ortho(1.0))(h)
        return v + a - a.mean(axis=-1, keepdims=True)


class DeterministicActor(nn.Module):
    """Deterministic policy `tanh(MLP(obs))` in [-1, 1]^d (DDPG / TD3)."""

    action_dim: int
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs):
        h = MLP(self.hidden_sizes, self.activation, self.obs_ndim)(obs)
        return jnp.tanh(nn.Dense(self.action_dim, kernel_init=_ortho(0.01))(h))


__all__ = [
    "ACTIVATIONS",
    "MLP",
    "ActorCritic",
    "CategoricalHead",
    "DeterministicActor",
    "GaussianHead",
    "QNetwork",
    "ValueHead",
    "get_activation",
]
