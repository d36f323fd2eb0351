"""Recurrent torsos: GRU and LSTM cells, a reset-aware scan over time, and the recurrent
on-policy `RecurrentActorCritic`.

Conventions (PureJaxRL's `ppo_rnn`, written anew here):

* A *carry* is the cell's memory: `h [..., H]` for the GRU, `(c, h)` for the LSTM; a fresh
  episode starts from zeros (`zero_carry`).
* Sequences are time-major: observations `[T, *batch, *obs_shape]` and `reset [T, *batch]`
  bool, where `reset[t]` zeroes the carry *before* step t reads `obs[t]` (an episode ended
  at step t - 1, so `obs[t]` is the first observation of the next one).
* Cells are fused (one input and one recurrent matmul for all gates); each gate's block of
  a kernel is initialised orthogonally (gain 1), biases at zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from purerl.nets.actors import CategoricalHead, GaussianHead
from purerl.nets.critics import ValueHead
from purerl.nets.torsos import MLP, orthogonal

CELLS = ("gru", "lstm")


def _stacked_orthogonal(num_gates: int):
    """A `[in, num_gates * H]` kernel made of `num_gates` orthogonal `[in, H]` blocks."""
    base = orthogonal(1.0)

    def init(key, shape, dtype=jnp.float32):
        n_in, n_out = shape
        h = n_out // num_gates
        keys = jax.random.split(key, num_gates)
        return jnp.concatenate([base(k, (n_in, h), dtype) for k in keys], axis=-1)

    return init


class GRUCell(nn.Module):
    """Gated recurrent unit (Cho et al. 2014), PyTorch's form:

        r = sigmoid(x W_ir + b_ir + h W_hr + b_hr)
        z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
        n = tanh(x W_in + b_in + r * (h W_hn + b_hn))
        h' = (1 - z) * n + z * h

    `input` holds `[W_ir | W_iz | W_in]` and its biases, `hidden` `[W_hr | W_hz | W_hn]` and
    theirs. `__call__(h [..., H], x [..., F]) -> (h', h')`.
    """

    features: int

    @nn.compact
    def __call__(self, carry, x):
        H = self.features
        gi = nn.Dense(3 * H, kernel_init=_stacked_orthogonal(3), name="input")(x)
        gh = nn.Dense(3 * H, kernel_init=_stacked_orthogonal(3), name="hidden")(carry)
        r = jax.nn.sigmoid(gi[..., :H] + gh[..., :H])
        z = jax.nn.sigmoid(gi[..., H : 2 * H] + gh[..., H : 2 * H])
        n = jnp.tanh(gi[..., 2 * H :] + r * gh[..., 2 * H :])
        h = (1.0 - z) * n + z * carry
        return h, h


class LSTMCell(nn.Module):
    """Long short-term memory (Hochreiter and Schmidhuber 1997), no peepholes:

        [i | f | g | o] = x W_x + b + h W_h
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h' = sigmoid(o) * tanh(c')

    `input` holds `W_x` and `b`, `hidden` `W_h` (no bias). `__call__((c, h), x) ->
    ((c', h'), h')`.
    """

    features: int

    @nn.compact
    def __call__(self, carry, x):
        H = self.features
        c, h = carry
        g = nn.Dense(4 * H, kernel_init=_stacked_orthogonal(4), name="input")(x) + nn.Dense(
            4 * H, use_bias=False, kernel_init=_stacked_orthogonal(4), name="hidden"
        )(h)
        i, f, gg, o = (g[..., k * H : (k + 1) * H] for k in range(4))
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(gg)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (c, h), h


def zero_carry(cell: str, features: int, batch_shape: Sequence[int] = ()):
    """The carry of a fresh episode: zeros of `[*batch_shape, features]` (a pair for the LSTM)."""
    z = jnp.zeros((*batch_shape, features), jnp.float32)
    if cell == "gru":
        return z
    if cell == "lstm":
        return (z, z)
    raise ValueError(f"unknown recurrent cell {cell!r}; choose from {CELLS}")


def reset_carry(carry, reset):
    """Zero the carry where `reset [*batch]` is True (leaves `[*batch, H]`)."""
    return jax.tree.map(lambda c: jnp.where(reset[..., None], jnp.zeros_like(c), c), carry)


class _ResetStep(nn.Module):
    """One step of the cell on `(x, reset)`, the carry zeroed first where `reset`."""

    cell: str
    features: int

    @nn.compact
    def __call__(self, carry, inputs):
        x, reset = inputs
        cls = {"gru": GRUCell, "lstm": LSTMCell}[self.cell]
        return cls(self.features, name="cell")(reset_carry(carry, reset), x)


class RecurrentTorso(nn.Module):
    """`MLP(hidden_sizes)` then a `cell` of `features` units, scanned over time.

    `__call__(carry [*batch, H], obs [T, *batch, *obs_shape], reset [T, *batch])
    -> (carry, y [T, *batch, H])`.
    """

    cell: str = "gru"
    features: int = 64
    hidden_sizes: Sequence[int] = (64,)
    activation: str = "tanh"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, carry, obs, reset):
        x = MLP(tuple(self.hidden_sizes), self.activation, self.obs_ndim)(obs)
        scan = nn.scan(
            _ResetStep,
            variable_broadcast="params",
            split_rngs={"params": False},
            in_axes=0,
            out_axes=0,
        )
        return scan(self.cell, self.features, name="rnn")(carry, (x, reset))


class RecurrentActorCritic(nn.Module):
    """The recurrent `ActorCritic`: each torso is a `RecurrentTorso` (MLP, then the cell);
    heads as in `ActorCritic`. Parameter names match `ActorCritic`'s (`actor_torso`,
    `policy_head`, `critic_torso`, `value_head`), so `onpolicy.split_params` applies.

    The carry is a dict: `{"actor": ...}`, plus `"critic"` with separate torsos.

    * `__call__(carry, obs [T, B, ...], reset [T, B]) -> (carry, dist [T, B], value [T, B])`;
    * `policy(...) -> dist`, `value(...) -> value`: the same sequences, one half each;
    * `step(carry, obs [*batch, ...]) -> (carry, dist, value)`: one step, no reset (the
      caller resets the carry after an episode ends);
    * `value_step(carry, obs)`: the value of one step (the true next observations).
    """

    action_dim: int
    discrete: bool
    hidden_sizes: Sequence[int] = (64,)
    activation: str = "tanh"
    obs_ndim: int = 1
    shared_torso: bool = False
    log_std_init: float = 0.0
    cell: str = "gru"
    recurrent_size: int = 64

    def setup(self):
        torso = lambda: RecurrentTorso(
            self.cell, self.recurrent_size, self.hidden_sizes, self.activation, self.obs_ndim
        )
        self.actor_torso = torso()
        self.critic_torso = self.actor_torso if self.shared_torso else torso()
        if self.discrete:
            self.policy_head = CategoricalHead(self.action_dim)
        else:
            self.policy_head = GaussianHead(self.action_dim, self.log_std_init)
        self.value_head = ValueHead()

    def initial_carry(self, batch_shape: Sequence[int] = ()):
        """The zero carry of `batch_shape` envs (needs no parameters)."""
        z = lambda: zero_carry(self.cell, self.recurrent_size, batch_shape)
        return {"actor": z()} if self.shared_torso else {"actor": z(), "critic": z()}

    def _torsos(self, carry, obs, reset):
        ca, ha = self.actor_torso(carry["actor"], obs, reset)
        if self.shared_torso:
            return {"actor": ca}, ha, ha
        cc, hc = self.critic_torso(carry["critic"], obs, reset)
        return {"actor": ca, "critic": cc}, ha, hc

    def __call__(self, carry, obs, reset):
        carry, ha, hc = self._torsos(carry, obs, reset)
        return carry, self.policy_head(ha), self.value_head(hc)

    def policy(self, carry, obs, reset):
        return self.policy_head(self.actor_torso(carry["actor"], obs, reset)[1])

    def value(self, carry, obs, reset):
        c = carry["actor"] if self.shared_torso else carry["critic"]
        return self.value_head(self.critic_torso(c, obs, reset)[1])

    def step(self, carry, obs):
        reset = jnp.zeros(jax.tree.leaves(carry)[0].shape[:-1], bool)
        carry, ha, hc = self._torsos(carry, obs[None], reset[None])
        return carry, self.policy_head(ha[0]), self.value_head(hc[0])

    def value_step(self, carry, obs):
        reset = jnp.zeros(jax.tree.leaves(carry)[0].shape[:-1], bool)
        return self.value(carry, obs[None], reset[None])[0]


__all__ = [
    "CELLS",
    "GRUCell",
    "LSTMCell",
    "RecurrentActorCritic",
    "RecurrentTorso",
    "reset_carry",
    "zero_carry",
]
