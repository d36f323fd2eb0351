"""Critics: state values, action values (dueling, distributional), continuous `Q(s, a)`
and the ensembles of twin critics (TD3, SAC)."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from purerl.nets.torsos import (
    MLP,
    InputFn,
    TorsoSpec,
    mlp_named_torso,
    network_array,
    orthogonal,
)


class ValueHead(nn.Module):
    """Scalar value `[...]` (orthogonal init, gain 1)."""

    @nn.compact
    def __call__(self, h):
        return nn.Dense(1, kernel_init=orthogonal(1.0))(h)[..., 0]


class QNetwork(nn.Module):
    """Action values `[..., num_actions]`; `dueling=True` splits value and advantage
    streams (Wang et al. 2016): Q = V + A - mean(A)."""

    num_actions: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "relu"
    obs_ndim: int | tuple = 1
    dueling: bool = False
    input_fn: InputFn = None
    torso: TorsoSpec | None = None  # None: the MLP

    @nn.compact
    def __call__(self, obs):
        h = mlp_named_torso(self)(obs)
        if not self.dueling:
            return nn.Dense(self.num_actions, kernel_init=orthogonal(1.0))(h)
        a = nn.Dense(self.num_actions, kernel_init=orthogonal(1.0))(h)
        v = nn.Dense(1, kernel_init=orthogonal(1.0))(h)
        return v + a - a.mean(axis=-1, keepdims=True)


class DistributionalQNetwork(nn.Module):
    """`num_outputs` numbers per action, `[..., num_actions, num_outputs]`: the logits of
    a categorical return distribution on a fixed support (C51) or the values of quantiles
    (QR-DQN)."""

    num_actions: int
    num_outputs: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "relu"
    obs_ndim: int | tuple = 1
    input_fn: InputFn = None
    torso: TorsoSpec | None = None  # None: the MLP

    @nn.compact
    def __call__(self, obs):
        h = mlp_named_torso(self)(obs)
        out = nn.Dense(self.num_actions * self.num_outputs, kernel_init=orthogonal(1.0))(h)
        return out.reshape(out.shape[:-1] + (self.num_actions, self.num_outputs))


class ContinuousQNetwork(nn.Module):
    """`Q(s, a)` for continuous actions: an MLP over `[obs, action]`, output `[...]`."""

    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int = 1
    input_fn: InputFn = None

    @nn.compact
    def __call__(self, obs, action):
        obs = network_array(obs, self.obs_ndim, self.input_fn)
        x = jnp.concatenate([obs, jnp.asarray(action, jnp.float32)], axis=-1)
        h = MLP(self.hidden_sizes, self.activation, 1)(x)
        return nn.Dense(1, kernel_init=orthogonal(1.0))(h)[..., 0]


def _ensemble(module, num: int):
    """`num` independent copies of `module` (params stacked on a leading axis)."""
    return nn.vmap(
        module,
        variable_axes={"params": 0},
        split_rngs={"params": True},
        in_axes=None,
        out_axes=0,
        axis_size=num,
    )


class ContinuousQEnsemble(nn.Module):
    """`num_critics` independent `ContinuousQNetwork`s (TD3's and SAC's twin critics):
    `apply(params, obs, action) -> [num_critics, ...]`."""

    num_critics: int = 2
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int = 1
    input_fn: InputFn = None

    @nn.compact
    def __call__(self, obs, action):
        ensemble = _ensemble(ContinuousQNetwork, self.num_critics)
        critic = ensemble(self.hidden_sizes, self.activation, self.obs_ndim, self.input_fn)
        return critic(obs, action)


class DiscreteQEnsemble(nn.Module):
    """`num_critics` independent `QNetwork`s (discrete SAC): `[num_critics, ..., A]`."""

    num_actions: int
    num_critics: int = 2
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    obs_ndim: int | tuple = 1
    input_fn: InputFn = None
    torso: TorsoSpec | None = None  # None: the MLP

    @nn.compact
    def __call__(self, obs):
        ensemble = _ensemble(QNetwork, self.num_critics)
        critic = ensemble(
            self.num_actions,
            self.hidden_sizes,
            self.activation,
            self.obs_ndim,
            input_fn=self.input_fn,
            torso=self.torso,
        )
        return critic(obs)


__all__ = [
    "ContinuousQEnsemble",
    "ContinuousQNetwork",
    "DiscreteQEnsemble",
    "DistributionalQNetwork",
    "QNetwork",
    "ValueHead",
]
