"""C51: categorical distributional DQN (Bellemare et al. 2017).

The return of each action is a categorical distribution on the fixed support
`z_i = v_min + i (v_max - v_min) / (num_atoms - 1)`, with probabilities
`softmax(logits(s)[a])`; `Q(s, a) = sum_i p_i(s, a) z_i`. The target distribution of a
transition puts mass `p_j(s', a*)` (target network) on the atom `r + gamma (1 -
terminated) z_j`, projected back onto the support (`categorical_projection`), with
`a* = argmax_a Q_target(s', a)`, or `argmax_a Q(s', a)` with `double_dqn` (van Hasselt
et al. 2016). The loss is the cross-entropy `-sum_i m_i log p_i(s, a)`.

The replay loop, exploration and target updates are DQN's (`purerl.algos.dqn`, on
`purerl.core.offpolicy`). Truncated steps bootstrap.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from purerl.algos.dqn import State, ValueConfig, check_discrete, make_distributional_agent
from purerl.core import validation as V
from purerl.types import Agent

__all__ = [
    "Config",
    "State",
    "categorical_loss",
    "categorical_projection",
    "categorical_targets",
    "make",
    "support",
]


@dataclasses.dataclass(frozen=True)
class Config(ValueConfig, batch_size=256, learning_rate=5e-4):
    """C51 hyper-parameters (defaults: DQN's CartPole setting with 51 atoms on [-100, 100])."""

    num_atoms: int = 51
    v_min: float = -100.0  # support of the return distribution
    v_max: float = 100.0

    def __post_init__(self):
        super().__post_init__()
        c = "c51.Config"
        V.check_int(c, "num_atoms", self.num_atoms, minimum=2)
        if not (V.is_traced(self.v_min) or V.is_traced(self.v_max)) and not (
            float(self.v_min) < float(self.v_max)
        ):
            raise ValueError(f"{c}: v_min {self.v_min} must be < v_max {self.v_max}")


# ------------------------------------------------------------------- pure pieces
def support(v_min, v_max, num_atoms: int):
    """The fixed atoms `[num_atoms]`, evenly spaced from `v_min` to `v_max`."""
    return jnp.linspace(v_min, v_max, num_atoms)


def categorical_projection(z_p, probs, z_q, evenly_spaced: bool = False):
    """Project the distribution with atoms `z_p [n_p]` and probabilities `probs [n_p]`
    onto the support `z_q [n_q]` (increasing; need not be evenly spaced).

    Each atom `z_p[j]`, clipped to `[z_q[0], z_q[-1]]`, splits its mass between its two
    neighbouring atoms `z_q[i] <= z <= z_q[i+1]` by linear interpolation:
    `(z_q[i+1] - z) / (z_q[i+1] - z_q[i])` to `z_q[i]`, the rest to `z_q[i+1]`
    (Bellemare et al. 2017, algorithm 1). Mass is conserved, the mean is preserved for
    atoms inside the support, and a distribution already on `z_q` is unchanged. Cost
    `O(n_p log n_q)` (a sorted search and a scatter-add), not `O(n_p n_q)`; with
    `evenly_spaced=True` (a promise that `z_q` is a `linspace`) the neighbours come from
    one division instead of the search.

    Returns `probs_q [n_q]`.
    """
    n_q = z_q.shape[0]
    z = jnp.clip(z_p, z_q[0], z_q[-1])
    if evenly_spaced:
        below = jnp.floor((z - z_q[0]) / (z_q[1] - z_q[0])).astype(jnp.int32)
    else:
        below = jnp.searchsorted(z_q, z, side="right") - 1
    lower = jnp.clip(below, 0, n_q - 2)
    frac = (z - z_q[lower]) / (z_q[lower + 1] - z_q[lower])  # in [0, 1]
    out = jnp.zeros((n_q,), jnp.result_type(probs, z_q))
    return out.at[lower].add(probs * (1.0 - frac)).at[lower + 1].add(probs * frac)


def categorical_targets(r_t, terminated_t, probs_tp1, z, gamma, evenly_spaced=False):
    """Projected distributional Bellman targets `[N, n]`: the mass `probs_tp1 [N, n]` on
    atoms `r_t + gamma (1 - terminated_t) z`, projected onto `z [n]` (no gradient)."""
    not_term = 1.0 - terminated_t.astype(z.dtype)
    z_tp1 = r_t[:, None] + gamma * not_term[:, None] * z[None, :]
    project = lambda z_p, p: categorical_projection(z_p, p, z, evenly_spaced)
    target = jax.vmap(project)(z_tp1, probs_tp1)
    return jax.lax.stop_gradient(target)


def categorical_loss(logits, target_probs):
    """Mean cross-entropy `-sum_i m_i log softmax(logits)_i` over `[N, n]`."""
    return jnp.mean(-jnp.sum(target_probs * jax.nn.log_softmax(logits, axis=-1), axis=-1))


# ------------------------------------------------------------------------- make
def make(env, env_params, config: Config = Config()) -> Agent:
    """Build C51 for a discrete-action `env`. Raises ValueError on bad input."""
    if not isinstance(config, Config):
        raise ValueError(f"c51.make expects a c51.Config, got {type(config).__name__}")
    check_discrete("C51", env, env_params)
    z = support(config.v_min, config.v_max, config.num_atoms)
    to_q = lambda logits: jnp.sum(jax.nn.softmax(logits, axis=-1) * z, axis=-1)

    def loss_of(logits_sa, p_next, batch):  # p_next: target probabilities at a*
        target = categorical_targets(batch["reward"], batch["terminated"], p_next, z, config.gamma)
        return categorical_loss(logits_sa, target), {"q_mean": to_q(logits_sa).mean()}

    probs = lambda logits: jax.nn.softmax(logits, axis=-1)
    return make_distributional_agent(
        env, env_params, config, config.num_atoms, to_q, loss_of, "categorical", probs
    )
