"""Return estimators, time-major and truncation aware.

All kernels take arrays `[T, ...]` (any trailing batch shape) and two boolean flags:

* `terminated_t`: the episode really ended at step t: nothing is bootstrapped after it.
* `truncated_t`: a time limit cut the episode at step t: its continuation is estimated by
  the value of the true final observation (`v_tp1[t]`), never by the next episode's start.

Both flags stop every recursion at the episode boundary, so estimates never leak across
episodes. References: Sutton & Barto (2018) ch. 7 and 12; Schulman et al. (2016), "High
Dimensional Continuous Control Using Generalized Advantage Estimation"; Pardo et al. (2018),
"Time Limits in Reinforcement Learning".
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def _f(x: Array, like: Array) -> Array:
    return jnp.asarray(x, dtype=like.dtype)


def gae(
    r_t: Array,
    v_t: Array,
    v_tp1: Array,
    terminated_t: Array,
    truncated_t: Array,
    gamma: float | Array,
    lambda_: float | Array,
) -> tuple[Array, Array]:
    """Generalised advantage estimation (Schulman et al. 2016), truncation aware.

    delta_t = r_t + gamma * (1 - terminated_t) * v_tp1[t] - v_t[t]
    A_t     = delta_t + gamma * lambda_ * (1 - done_t) * A_{t+1},   A_T = 0
    where done_t = terminated_t or truncated_t. The returns `A_t + v_t` are the
    lambda-returns, the usual value-regression targets.

    Args:
      r_t: rewards `[T, ...]`.
      v_t: values of the observations the actions were taken in, `[T, ...]`.
      v_tp1: values of the true next observations, `[T, ...]` (for a truncated step, the
        value of the final observation; for the last step, the bootstrap value).
      terminated_t, truncated_t: episode-end flags `[T, ...]`.
      gamma: discount; lambda_: GAE trace parameter (both may be traced).

    Returns:
      `(advantages, returns)`, each `[T, ...]`.
    """
    r_t = jnp.asarray(r_t)
    not_term = 1.0 - _f(terminated_t, r_t)
    not_done = 1.0 - _f(jnp.logical_or(terminated_t, truncated_t), r_t)
    delta = r_t + gamma * not_term * v_tp1 - v_t
    decay = gamma * lambda_ * not_done

    def step(a_tp1, xs):
        delta_t, decay_t = xs
        a_t = delta_t + decay_t * a_tp1
        return a_t, a_t

    _, adv = jax.lax.scan(step, jnp.zeros_like(delta[0]), (delta, decay), reverse=True)
    return adv, adv + v_t


def reward_to_go(
    r_t: Array, terminated_t: Array, truncated_t: Array, gamma: float | Array = 1.0
) -> Array:
    """Within-episode discounted reward-to-go, no bootstrap.

    G_t = r_t + gamma * (1 - done_t) * G_{t+1},   G_T = 0,
    i.e. the discounted sum of rewards from t to the end of the episode or of the rollout,
    whichever comes first. With `gamma=1` and whole episodes this is the "reward-to-go"
    weight of the policy gradient (Spinning Up, part 3).

    Args:
      r_t: rewards `[T, ...]`; terminated_t, truncated_t: flags `[T, ...]`; gamma: discount.

    Returns:
      `[T, ...]` returns.
    """
    r_t = jnp.asarray(r_t)
    cont = gamma * (1.0 - _f(jnp.logical_or(terminated_t, truncated_t), r_t))

    def step(g_tp1, xs):
        r, c = xs
        g = r + c * g_tp1
        return g, g

    _, g = jax.lax.scan(step, jnp.zeros_like(r_t[0]), (r_t, cont), reverse=True)
    return g


def episode_returns(r_t: Array, terminated_t: Array, truncated_t: Array) -> Array:
    """The whole undiscounted return R(tau) of the episode each step belongs to.

    Every step of an episode gets the same value: the sum of all its rewards within the
    rollout (an episode still running at the rollout's end is cut there). This is the
    weight of the simplest policy gradient, `grad log pi(a_t|s_t) R(tau)`.

    Returns `[T, ...]`.
    """
    r_t = jnp.asarray(r_t)
    done = jnp.logical_or(terminated_t, truncated_t)
    rtg = reward_to_go(r_t, terminated_t, truncated_t, 1.0)  # sum from t to episode end
    # Carry forward the reward-to-go at each episode's first step.
    is_first = jnp.concatenate([jnp.ones_like(done[:1]), done[:-1]], axis=0)

    def step(g_start, xs):
        first, g = xs
        g_start = jnp.where(first, g, g_start)
        return g_start, g_start

    _, out = jax.lax.scan(step, jnp.zeros_like(r_t[0]), (is_first, rtg))
    return out


def _shift(x: Array, k: int, fill=0) -> Array:
    """x[t + k] along axis 0, padded with `fill` past the end."""
    if k == 0:
        return x
    pad = jnp.full((k, *x.shape[1:]), fill, dtype=x.dtype)
    return jnp.concatenate([x[k:], pad], axis=0)


def n_step_targets(
    r_t: Array,
    v_tp1: Array,
    terminated_t: Array,
    truncated_t: Array,
    gamma: float | Array,
    n: int,
) -> Array:
    """n-step bootstrapped targets, truncation aware (Sutton & Barto 2018, sec. 7.1).

    G_t = sum_{k=0}^{m-1} gamma^k r_{t+k} + gamma^m (1 - terminated_{t+m-1}) v_tp1[t+m-1]
    where m <= n is cut short at the first episode end (terminated or truncated) and at the
    rollout's end. With `n=1` this is the one-step TD target
    `r_t + gamma (1 - terminated_t) v_tp1[t]`.

    Args:
      r_t: rewards `[T, ...]`.
      v_tp1: bootstrap values of the true next observations `[T, ...]`
        (e.g. `max_a q_target(s_{t+1}, a)`).
      terminated_t, truncated_t: flags `[T, ...]`.
      gamma: discount (may be traced); n: number of steps (a Python int >= 1).

    Returns:
      `[T, ...]` targets.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n_step_targets: n must be a Python int >= 1, got {n!r}")
    r_t = jnp.asarray(r_t)
    T = r_t.shape[0]
    done = jnp.logical_or(terminated_t, truncated_t)
    g = jnp.zeros_like(r_t)
    alive = jnp.ones(r_t.shape, dtype=bool)
    disc = jnp.ones_like(r_t)
    t_idx = jnp.arange(T).reshape((T,) + (1,) * (r_t.ndim - 1))
    for k in range(n):
        r_k = _shift(r_t, k)
        term_k = _shift(terminated_t, k, False)
        done_k = _shift(done, k, True)
        v_k = _shift(v_tp1, k)
        g = g + jnp.where(alive, disc * r_k, 0.0)
        stop = alive & (done_k | (k == n - 1) | (t_idx + k >= T - 1))
        boot = disc * gamma * (1.0 - _f(term_k, r_t)) * v_k
        g = g + jnp.where(stop, boot, 0.0)
        alive = alive & ~stop
        disc = disc * gamma
    return g


def td_target(r_t: Array, v_tp1: Array, terminated_t: Array, gamma: float | Array) -> Array:
    """One-step TD target `r_t + gamma * (1 - terminated_t) * v_tp1` (any shape).

    Truncated steps bootstrap: `v_tp1` must be the value of the true next observation.
    """
    r_t = jnp.asarray(r_t)
    return r_t + gamma * (1.0 - _f(terminated_t, r_t)) * v_tp1
