"""Planning kernels: trajectory optimisers over action sequences, and the objectives
they maximise.

* `cem`: the cross-entropy method (Rubinstein 1999; as used by PETS, Chua et al. 2018).
* `mppi`: model-predictive path integral control (Williams et al. 2017).
* `shift_plan`: the receding-horizon warm start.
* `true_model_objective` / `ensemble_objective`: predicted returns of action sequences
  under the true env or a learned PETS ensemble (trajectory sampling).

Every kernel is unbatched (one plan); batching over envs is the caller's `jax.vmap`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from purerl.planning.models import Ensemble, EnsembleParams, Model
from purerl.types import PRNGKey

Objective = Callable[[PRNGKey, jax.Array], jax.Array]  # (key, actions [N, H, A]) -> [N]


# ------------------------------------------------------------------ optimisers
def shift_plan(plan: jax.Array, fill: float | jax.Array = 0.0) -> jax.Array:
    """Warm start: `plan [H, A]` advanced one step, `fill` appended as the last action."""
    tail = jnp.broadcast_to(jnp.asarray(fill, plan.dtype), plan[:1].shape)
    return jnp.concatenate([plan[1:], tail], axis=0)


def _candidates(objective: Objective, num_samples: int, low, high):
    """`(key, mean [H, A], std) -> (actions [N, H, A], returns [N])`: `num_samples`
    sequences `clip(mean + std * eps, low, high)` (the mean itself is candidate 0) and their
    `objective` (NaN counts as -inf). One iteration's candidates in `cem` and `mppi`."""

    def sample(key, mean, std):
        k_noise, k_obj = jax.random.split(key)
        eps = jax.random.normal(k_noise, (num_samples, *mean.shape))
        eps = eps.at[0].set(0.0)
        actions = jnp.clip(mean + std * eps, low, high)
        returns = objective(k_obj, actions)
        return actions, jnp.where(jnp.isnan(returns), -jnp.inf, returns)

    return sample


def cem(
    key: PRNGKey,
    objective: Objective,
    mean: jax.Array,
    std: jax.Array | float,
    *,
    num_samples: int,
    num_elites: int,
    num_iterations: int,
    momentum: float = 0.1,
    low: jax.Array | float = -1.0,
    high: jax.Array | float = 1.0,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Cross-entropy method over action sequences; the key is consumed.

    Each iteration samples `a_i = clip(mean + std * eps_i, low, high)` (the current mean is
    always candidate 0), keeps the `num_elites` sequences of highest `objective`, and sets
    `mean <- momentum * mean + (1 - momentum) * mean(elites)` (likewise the std).

    Args:
      objective: `(key, actions [N, H, A]) -> returns [N]`.
      mean: `[H, A]` initial mean (the warm start); std: initial std (scalar or `[H, A]`).

    Returns:
      `(mean [H, A], info)`; info has `return` (objective of the best sequence of the last
      iteration) and `std` (mean final std).
    """
    std = jnp.broadcast_to(jnp.asarray(std, mean.dtype), mean.shape)

    candidates = _candidates(objective, num_samples, low, high)

    def iteration(carry, k):
        mean, std = carry
        actions, returns = candidates(k, mean, std)
        top, idx = jax.lax.top_k(returns, num_elites)
        elites = actions[idx]
        mean = momentum * mean + (1.0 - momentum) * elites.mean(0)
        std = momentum * std + (1.0 - momentum) * elites.std(0)
        return (mean, std), top[0]

    (mean, std), best = jax.lax.scan(iteration, (mean, std), jax.random.split(key, num_iterations))
    return mean, {"return": best[-1], "std": std.mean()}


def mppi(
    key: PRNGKey,
    objective: Objective,
    mean: jax.Array,
    std: jax.Array | float,
    *,
    num_samples: int,
    temperature: float,
    num_iterations: int = 1,
    low: jax.Array | float = -1.0,
    high: jax.Array | float = 1.0,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Model-predictive path integral control (Williams et al. 2017); the key is consumed.

    Each iteration perturbs the plan, `a_i = clip(mean + std * eps_i, low, high)` (the mean
    itself is candidate 0), and moves it to the return-weighted average
    `mean <- sum_i w_i a_i`, `w = softmax((R - max R) / temperature)`. (The paper's
    control-cost term `lambda u^T Sigma^-1 eps` is left out, as in most MPPI code for RL.)

    Args and returns as `cem` (info: `return` of the best sample, `weight_max`: the largest
    weight of the last iteration, near 1 when the temperature is too low).
    """
    std = jnp.broadcast_to(jnp.asarray(std, mean.dtype), mean.shape)

    candidates = _candidates(objective, num_samples, low, high)

    def iteration(mean, k):
        actions, returns = candidates(k, mean, std)
        w = jax.nn.softmax((returns - returns.max()) / temperature)
        mean = jnp.tensordot(w, actions, axes=1)
        return mean, (returns.max(), w.max())

    mean, (best, wmax) = jax.lax.scan(iteration, mean, jax.random.split(key, num_iterations))
    return mean, {"return": best[-1], "weight_max": wmax[-1]}


# ------------------------------------------------------------------- objectives
def true_model_objective(model: Model, state, discount: float = 1.0) -> Objective:
    """Returns of action sequences from `state` under `model` (e.g. `true_model(env)`).

    `R_i = sum_t discount^t r_t` over the steps before the model reports `done` (the reward
    of the step that ends the episode counts; nothing after it does).
    """

    def one(key, actions):
        def step(carry, xs):
            s, alive, g, disc = carry
            k, a = xs
            s, r, done = model.step(k, s, a)
            g = g + jnp.where(alive, disc * r, 0.0)
            return (s, alive & ~done, g, disc * discount), None

        init = (state, jnp.asarray(True), jnp.zeros((), jnp.float32), jnp.ones(()))
        keys = jax.random.split(key, actions.shape[0])
        (_, _, g, _), _ = jax.lax.scan(step, init, (keys, actions))
        return g

    def objective(key, actions):
        return jax.vmap(one)(jax.random.split(key, actions.shape[0]), actions)

    return objective


def ensemble_objective(
    ensemble: Ensemble,
    params: EnsembleParams,
    obs: jax.Array,
    num_particles: int,
    propagation: str = "ts_inf",
    discount: float = 1.0,
) -> Objective:
    """Returns of action sequences from `obs [obs_dim]` under a PETS ensemble, by trajectory
    sampling (Chua et al. 2018, sec. 5).

    Each sequence is followed by `num_particles` particles, `num_particles / E` per member.
    At each step a particle samples its next observation and reward from its member's
    Gaussian. `"ts_inf"`: a particle keeps its member for the whole horizon; `"ts1"`: the
    particles are randomly re-assigned to members (a random permutation) at every step.
    The objective is the mean over particles of `sum_t discount^t r_t`. The learned model
    predicts no terminations.
    """
    E = ensemble.num_members
    K = num_particles // E

    def objective(key, actions):
        N, H = actions.shape[:2]
        M = N * K  # particles per member
        a_flat = jnp.repeat(actions, K, axis=0)  # [N*K, H, A], particle j -> sequence j // K
        a_flat = jnp.tile(a_flat, (E, 1, 1))  # [E*M, H, A], slot e*M + j
        o = jnp.broadcast_to(obs, (E * M, obs.shape[-1]))
        idx = jnp.arange(E * M)

        def step(carry, xs):
            o, g, idx = carry
            k, t, disc = xs
            k_perm, k_sample = jax.random.split(k)
            if propagation == "ts1":
                perm = jax.random.permutation(k_perm, E * M)
                o, g, idx = o[perm], g[perm], idx[perm]
            a = a_flat[idx, t]
            o2, r = ensemble.sample(k_sample, params, o.reshape(E, M, -1), a.reshape(E, M, -1))
            return (o2.reshape(E * M, -1), g + disc * r.reshape(-1), idx), None

        xs = (jax.random.split(key, H), jnp.arange(H), discount ** jnp.arange(H))
        (_, g, idx), _ = jax.lax.scan(step, (o, jnp.zeros(E * M), idx), xs)
        g = jnp.zeros(E * M).at[idx].set(g)  # back to slot order e*M + n*K + k
        return g.reshape(E, N, K).mean(axis=(0, 2))

    return objective
