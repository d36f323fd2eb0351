"""Maximum-entropy inverse RL (Ziebart et al. 2008) on a tabular MDP with known dynamics.

The reward is linear in state features, `r_theta(s) = phi(s) . theta`. The demonstrator is
modelled as soft-optimal for `r_theta` over a finite horizon `H`:

  backward pass (soft value iteration), V_H(s) = 0,
    Q_t(s, a) = r(s) + sum_s' P(s'|s, a) V_{t+1}(s')
    V_t(s)    = log sum_a exp Q_t(s, a)
    pi_t(a|s) = exp(Q_t(s, a) - V_t(s))
  forward pass (expected state-visitation frequencies), D_0 = p0,
    D_{t+1}(s') = sum_{s, a} D_t(s) pi_t(a|s) P(s'|s, a)

and theta maximises the log-likelihood of the demonstrations, whose gradient is the demo
feature counts minus the expected ones,

  grad L(theta) = f_demo - sum_t sum_s D_t(s) phi(s),    f_demo = E_demo[sum_t phi(s_t)].

The backup above is the maximum *causal* entropy one (Ziebart et al. 2010): with stochastic
dynamics it is the one for which this gradient is exact (the log-likelihood is
`theta . f_demo - E_{p0}[V_0(s_0)]`, see `log_likelihood`); with deterministic dynamics it
is exactly Ziebart et al. (2008)'s algorithm, whose trajectory distribution is
`P(zeta) ~ exp(sum_t r(s_t))` (the tests check this by enumerating every trajectory).

Everything here is tabular and pure: arrays `[H, S, A]` for time-dependent Q and policies,
`[H, S]` for visitation frequencies, `[S, A, S]` for the transition tensor.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

Array = jax.Array

# The actions of `gridworld`: stay, up, down, left, right (row, column offsets).
MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


@dataclasses.dataclass(frozen=True)
class GridWorld:
    """A finite-horizon tabular MDP with known dynamics (a pytree; `horizon` is static).

    Attributes:
      transition: `P(s'|s, a)`, `[S, A, S]`, rows summing to 1.
      features: state features `phi(s)`, `[S, F]`.
      initial: initial-state distribution `p0`, `[S]`.
      horizon: H, the number of steps of an episode (a Python int).
    """

    transition: Array
    features: Array
    initial: Array
    horizon: int

    @property
    def num_states(self) -> int:
        return self.transition.shape[0]

    @property
    def num_actions(self) -> int:
        return self.transition.shape[1]


jax.tree_util.register_dataclass(
    GridWorld, data_fields=["transition", "features", "initial"], meta_fields=["horizon"]
)


def gridworld(size: int = 5, slip: float = 0.1, horizon: int = 15, features=None) -> GridWorld:
    """A `size x size` grid, 5 actions (stay, up, down, left, right), walls at the border.

    With probability `1 - slip` the chosen move happens, otherwise one of the 5 moves
    uniformly at random. Start uniformly at random; features one-hot per state unless given
    (`[S, F]`). State index `s = row * size + col`.
    """
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"gridworld: size must be a positive int, got {size!r}")
    if not 0.0 <= slip <= 1.0:
        raise ValueError(f"gridworld: slip must lie in [0, 1], got {slip!r}")
    if not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"gridworld: horizon must be a positive int, got {horizon!r}")
    S, A = size * size, len(MOVES)
    moved = np.zeros((S, A, S), np.float32)
    for r in range(size):
        for c in range(size):
            for a, (dr, dc) in enumerate(MOVES):
                r2 = min(max(r + dr, 0), size - 1)
                c2 = min(max(c + dc, 0), size - 1)
                moved[r * size + c, a, r2 * size + c2] = 1.0
    moved = jnp.asarray(moved)
    transition = (1.0 - slip) * moved + slip * moved.mean(axis=1, keepdims=True)
    phi = jnp.eye(S) if features is None else jnp.asarray(features, jnp.float32)
    if phi.ndim != 2 or phi.shape[0] != S:
        raise ValueError(f"gridworld: features must be [{S}, F], got shape {phi.shape}")
    return GridWorld(transition, phi, jnp.full((S,), 1.0 / S), horizon)


# ------------------------------------------------------------------ backward passes
def soft_value_iteration(world: GridWorld, reward: Array):
    """Finite-horizon soft (maximum causal entropy) value iteration for state rewards.

    Args:
      world: the MDP. reward: `r(s)`, `[S]`.

    Returns:
      `(q [H, S, A], v [H + 1, S], policy [H, S, A])`: `v[H] = 0`,
      `q[t] = r + P v[t + 1]`, `v[t] = logsumexp_a q[t]`, `policy[t] = exp(q[t] - v[t])`.
    """

    def backup(v_tp1, _):
        q = reward[:, None] + world.transition @ v_tp1
        v = jax.nn.logsumexp(q, axis=1)
        return v, (q, v)

    v_H = jnp.zeros(world.num_states)
    _, (q, v) = jax.lax.scan(backup, v_H, None, length=world.horizon, reverse=True)
    policy = jnp.exp(q - v[:, :, None])
    return q, jnp.concatenate([v, v_H[None]]), policy


def value_iteration(world: GridWorld, reward: Array):
    """Finite-horizon (hard) value iteration: the optimal policy of `reward` `[S]`.

    Returns `(q [H, S, A], v [H + 1, S], policy [H, S, A])`, the policy deterministic
    (one-hot on the first maximising action).
    """

    def backup(v_tp1, _):
        q = reward[:, None] + world.transition @ v_tp1
        return q.max(axis=1), q

    v_H = jnp.zeros(world.num_states)
    _, q = jax.lax.scan(backup, v_H, None, length=world.horizon, reverse=True)
    v = jnp.concatenate([q.max(axis=2), v_H[None]])
    policy = jax.nn.one_hot(jnp.argmax(q, axis=2), world.num_actions)
    return q, v, policy


# ------------------------------------------------------------------- forward passes
def expected_svf(world: GridWorld, policy: Array) -> Array:
    """Expected state-visitation frequencies `D [H, S]` of a time-dependent policy
    `[H, S, A]`: `D_0 = p0`, `D_{t+1}(s') = sum_{s,a} D_t(s) pi_t(a|s) P(s'|s, a)`."""

    def forward(d_t, pi_t):
        d_tp1 = jnp.einsum("s,sa,sap->p", d_t, pi_t, world.transition)
        return d_tp1, d_t

    _, d = jax.lax.scan(forward, world.initial, policy)
    return d


def feature_expectations(world: GridWorld, policy: Array) -> Array:
    """Expected feature counts `E_pi[sum_t phi(s_t)] = sum_t D_t phi`, `[F]`."""
    return expected_svf(world, policy).sum(axis=0) @ world.features


def empirical_feature_expectations(world: GridWorld, states: Array, mask=None) -> Array:
    """Demo feature counts `mean_n sum_t phi(s_t^n)` from visited states `[H, N]` (int),
    optionally with a validity mask `[H, N]`."""
    phi = world.features[states]  # [H, N, F]
    if mask is not None:
        phi = phi * jnp.asarray(mask, phi.dtype)[..., None]
    return phi.sum(axis=0).mean(axis=0)


def policy_return(world: GridWorld, policy: Array, reward: Array) -> Array:
    """Expected undiscounted return `sum_t D_t . r` of a policy `[H, S, A]` (a scalar)."""
    return jnp.sum(expected_svf(world, policy) @ reward)


def sample_trajectories(key, world: GridWorld, policy: Array, num: int) -> Array:
    """Sample `num` episodes of a policy `[H, S, A]`; returns visited states `[H, num]`.

    The key is consumed.
    """
    k0, k_steps = jax.random.split(key)
    s0 = jax.random.categorical(k0, jnp.log(world.initial), shape=(num,))

    def step(s, xs):
        k, pi_t = xs
        ka, ks = jax.random.split(k)
        a = jax.random.categorical(ka, jnp.log(pi_t[s]))
        s_next = jax.random.categorical(ks, jnp.log(world.transition[s, a]))
        return s_next, s

    _, states = jax.lax.scan(step, s0, (jax.random.split(k_steps, world.horizon), policy))
    return states


# ------------------------------------------------------------------------ learning
def log_likelihood(world: GridWorld, theta: Array, demo_counts: Array) -> Array:
    """The (causal) log-likelihood of the demos up to a constant,
    `theta . f_demo - E_{p0}[V_0(s_0)]`; its gradient is `gradient(...)`."""
    _, v, _ = soft_value_iteration(world, world.features @ theta)
    return theta @ demo_counts - world.initial @ v[0]


def gradient(world: GridWorld, theta: Array, demo_counts: Array) -> Array:
    """`f_demo - E_{pi_theta}[sum_t phi(s_t)]`, `[F]`: the ascent direction of MaxEnt IRL."""
    _, _, policy = soft_value_iteration(world, world.features @ theta)
    return demo_counts - feature_expectations(world, policy)


class FitResult(NamedTuple):
    theta: Array  # [F] learned reward weights
    reward: Array  # [S] learned state reward phi theta
    policy: Array  # [H, S, A] soft-optimal policy of the learned reward
    grad_norm: Array  # [num_iters] max |f_demo - f_expected| before each step


def fit(
    world: GridWorld,
    demo_counts: Array,
    num_iters: int = 500,
    learning_rate: float = 0.1,
    l2: float = 0.0,
) -> FitResult:
    """MaxEnt IRL: Adam ascent on the log-likelihood, `num_iters` steps from theta = 0.

    Args:
      world: the MDP (known dynamics). demo_counts: `f_demo [F]` (from
        `empirical_feature_expectations` or `feature_expectations` of an expert policy).
      num_iters, learning_rate: Adam steps and step size. l2: weight of `-l2/2 |theta|^2`.

    Returns:
      `FitResult`; `grad_norm[i]` is the max feature-count mismatch before step i.
    """
    if not isinstance(num_iters, int) or num_iters < 1:
        raise ValueError(f"maxent_irl.fit: num_iters must be a positive int, got {num_iters!r}")
    demo_counts = jnp.asarray(demo_counts, jnp.float32)
    if demo_counts.shape != world.features.shape[1:]:
        raise ValueError(
            f"maxent_irl.fit: demo_counts must have shape {world.features.shape[1:]} "
            f"(one count per feature), got {demo_counts.shape}"
        )
    tx = optax.adam(learning_rate)

    @jax.jit
    def run(world, demo_counts):
        def step(carry, _):
            theta, opt_state = carry
            g = gradient(world, theta, demo_counts)
            updates, opt_state = tx.update(-(g - l2 * theta), opt_state, theta)
            return (optax.apply_updates(theta, updates), opt_state), jnp.max(jnp.abs(g))

        theta0 = jnp.zeros(world.features.shape[1])
        return jax.lax.scan(step, (theta0, tx.init(theta0)), None, length=num_iters)

    (theta, _), grad_norm = run(world, demo_counts)
    reward = world.features @ theta
    _, _, policy = soft_value_iteration(world, reward)
    return FitResult(theta, reward, policy, grad_norm)
