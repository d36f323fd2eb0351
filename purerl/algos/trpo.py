"""Trust Region Policy Optimization (Schulman et al. 2015), as in Spinning Up.

Each update collects a batch (env state carried across updates), computes GAE-lambda
advantages from a learned V, and solves

    max_theta  L(theta) = E[pi_theta(a|s) / pi_old(a|s) A]   s.t.   KL(pi_old || pi_theta) <= delta

approximately: with g = grad L and H the Hessian of the mean KL at theta_old (the Fisher
information), x ~= H^-1 g by `cg_iters` steps of conjugate gradient on Fisher-vector
products (`fisher_vector_product`: forward-over-reverse `jax.jvp` of `jax.grad`, H never
formed), then the natural-gradient step

    theta = theta_old + alpha^j sqrt(2 delta / x^T H x) x

with a backtracking line search over j = 0..`backtrack_iters`-1 that accepts the first
candidate whose exact mean KL is <= delta and whose surrogate improves (L(theta) > L(old)),
else keeps the old policy. V is fitted by `value_iters` full-batch Adam steps on the
bootstrapped rewards-to-go. Metrics: `kl`, `surrogate_gain`, `backtrack_steps`,
`step_accepted`, `step_size`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl.core import counter, onpolicy
from purerl.core import validation as V
from purerl.core.rollout import episode_metrics
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(onpolicy.RolloutConfig, num_steps=256):
    """TRPO hyper-parameters (defaults: Spinning Up's, batch sized for CartPole)."""

    max_kl: float = 0.01  # delta, the trust-region radius in mean KL
    damping: float = 0.1  # added to the Fisher matrix: (H + damping I)
    cg_iters: int = 10
    backtrack_iters: int = 10  # K, line-search candidates
    backtrack_coef: float = 0.8  # alpha
    value_learning_rate: float = 1e-3
    value_iters: int = 80
    gae_lambda: float = 0.97
    normalize_advantages: bool = True

    def __post_init__(self):
        super().__post_init__()
        c = "trpo.Config"
        for name in ("cg_iters", "backtrack_iters", "value_iters"):
            V.check_int(c, name, getattr(self, name))
        V.check_positive(c, "max_kl", self.max_kl)
        V.check_positive(c, "damping", self.damping, allow_zero=True)
        V.check_unit(c, "backtrack_coef", self.backtrack_coef)
        V.check_positive(c, "value_learning_rate", self.value_learning_rate)
        V.check_unit(c, "gae_lambda", self.gae_lambda)


@struct.dataclass
class State:
    """TRPO train state (a pytree)."""

    params: dict  # separate-torso ActorCritic
    value_opt_state: optax.OptState  # the value half's Adam; the policy has no optimiser
    env_state: object  # [num_envs]
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: counter.Count  # updates done (wide: exact past 2^31)


# ------------------------------------------------------------------ pytree algebra
def _vdot(a, b):
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def _axpy(alpha, x, y):
    """alpha * x + y on pytrees."""
    return jax.tree.map(lambda xi, yi: alpha * xi + yi, x, y)


# ------------------------------------------------------------------- pure pieces
def fisher_vector_product(kl_fn: Callable, params, v, damping=0.0):
    """`(H + damping I) v`, H the Hessian of `kl_fn` at `params`, without forming H.

    `kl_fn(params)` is the mean KL from the fixed old policy to the policy at `params`; at
    the old parameters its Hessian is the Fisher information matrix. Computed as the
    forward-mode derivative of the reverse-mode gradient (`jax.jvp` of `jax.grad`): one
    extra forward-and-backward pass per product, for any params pytree.
    """
    _, hv = jax.jvp(jax.grad(kl_fn), (params,), (v,))
    return _axpy(damping, v, hv)


def conjugate_gradient(matvec: Callable, b, iters: int = 10, tol: float = 1e-10):
    """Solve `A x = b` for symmetric positive-definite A given as `matvec(x) = A x`.

    Pytree-valued; starts at x = 0 and stops after `iters` iterations or once the squared
    residual norm r^T r falls below `tol` (Hestenes & Stiefel 1952; Nocedal & Wright alg.
    5.2). Jittable (a `lax.while_loop`).
    """
    x = jax.tree.map(jnp.zeros_like, b)
    r = b
    p = b
    rr = _vdot(r, r)

    def cond(c):
        i, _, _, _, rr = c
        return jnp.logical_and(i < iters, rr > tol)

    def body(c):
        i, x, r, p, rr = c
        ap = matvec(p)
        alpha = rr / _vdot(p, ap)
        x = _axpy(alpha, p, x)
        r = _axpy(-alpha, ap, r)
        rr_new = _vdot(r, r)
        p = _axpy(rr_new / rr, p, r)
        return i + 1, x, r, p, rr_new

    _, x, _, _, _ = jax.lax.while_loop(cond, body, (0, x, r, p, rr))
    return x


def natural_gradient_step(g, hvp: Callable, max_kl, cg_iters: int = 10):
    """The maximal step along the natural gradient: `sqrt(2 delta / x^T H x) x`, x = H^-1 g.

    Returns `(step, expected_improvement)` where the latter is `g^T step`, the
    surrogate's first-order improvement.
    """
    x = conjugate_gradient(hvp, g, cg_iters)
    xhx = _vdot(x, hvp(x))
    scale = jnp.sqrt(2.0 * max_kl / jnp.maximum(xhx, 1e-12))
    step = jax.tree.map(lambda xi: scale * xi, x)
    return step, _vdot(g, step)


def line_search(params, step, surrogate_fn, kl_fn, max_kl, backtrack_iters, backtrack_coef):
    """Backtracking line search over `params + alpha^j step`, j = 0..K-1.

    Accepts the first candidate with `kl_fn <= max_kl` and `surrogate_fn` greater than at
    `params`; if none qualifies, returns `params` unchanged. All K candidates are evaluated
    in one vmap (a fixed cost, no data-dependent loop).

    Returns `(new_params, info)` with `kl`, `surrogate_gain`, `backtrack_steps`,
    `step_accepted`.
    """
    base = surrogate_fn(params)
    coefs = backtrack_coef ** jnp.arange(backtrack_iters, dtype=jnp.float32)

    def evaluate(c):
        cand = _axpy(c, step, params)
        return surrogate_fn(cand) - base, kl_fn(cand)

    gains, kls = jax.vmap(evaluate)(coefs)
    ok = jnp.logical_and(kls <= max_kl, gains > 0.0)
    accepted = jnp.any(ok)
    j = jnp.argmax(ok)  # first acceptable candidate
    c = jnp.where(accepted, coefs[j], 0.0)
    new_params = _axpy(c, step, params)
    info = {
        "kl": jnp.where(accepted, kls[j], 0.0),
        "surrogate_gain": jnp.where(accepted, gains[j], 0.0),
        "backtrack_steps": jnp.where(accepted, j, backtrack_iters).astype(jnp.float32),
        "step_accepted": accepted.astype(jnp.float32),
    }
    return new_params, info


# ------------------------------------------------------------------------- make
def make(env, env_params, config: Config = Config()) -> Agent:
    """Build TRPO for `env` (from `purerl.make_env`). Raises ValueError on bad input."""
    if not isinstance(config, Config):
        raise ValueError(f"trpo.make expects a trpo.Config, got {type(config).__name__}")
    net = onpolicy.config_actor_critic(env, env_params, config)
    tx_v = onpolicy.make_optimizer("adam", config.value_learning_rate)
    T, B = config.num_steps, config.num_envs

    def init(key) -> State:
        params, env_state, obs, k_state = onpolicy.init_net_and_envs(key, net, env, env_params, B)
        _, v = onpolicy.split_params(params)
        return State(params, tx_v.init(v), env_state, obs, k_state, counter.zero())

    def update(state: State):
        key, k_roll = jax.random.split(state.key)
        env_state, obs, traj, v_tp1 = onpolicy.collect(
            k_roll, net, state.params, env, env_params, state.env_state, state.obs, T
        )
        adv, ret = onpolicy.advantages_and_returns(
            traj, v_tp1, config.gamma, config.gae_lambda, config.normalize_advantages
        )
        batch = onpolicy.merge_time_batch({"obs": traj.obs, "action": traj.action, "adv": adv})
        old_logp = onpolicy.merge_time_batch(traj.extras["log_prob"])
        pi_old, v_params = onpolicy.split_params(state.params)
        policy = lambda pi: net.apply(
            onpolicy.merge_params(pi, v_params), batch["obs"], method="policy"
        )
        old_dist = policy(pi_old)

        def surrogate(pi):
            ratio = jnp.exp(policy(pi).log_prob(batch["action"]) - old_logp)
            return jnp.mean(ratio * batch["adv"])

        def kl_fn(pi):
            return jnp.mean(old_dist.kl_divergence(policy(pi)))

        g = jax.grad(surrogate)(pi_old)
        hvp = lambda v: fisher_vector_product(kl_fn, pi_old, v, config.damping)
        step, expected = natural_gradient_step(g, hvp, config.max_kl, config.cg_iters)
        pi_new, info = line_search(
            pi_old,
            step,
            surrogate,
            kl_fn,
            config.max_kl,
            config.backtrack_iters,
            config.backtrack_coef,
        )
        params = onpolicy.merge_params(pi_new, v_params)
        params, value_opt_state, v_loss = onpolicy.fit_value(
            net, params, state.value_opt_state, tx_v, traj.obs, ret, config.value_iters
        )
        metrics = {
            **info,
            "expected_improvement": expected,
            "step_size": optax.tree.norm(step),
            "loss/value": v_loss,
            "entropy": jnp.mean(old_dist.entropy()),
            "env_steps": counter.to_float(state.step + 1, T * B),
            **episode_metrics(traj.info),
        }
        new_state = State(params, value_opt_state, env_state, obs, key, state.step + 1)
        return new_state, metrics

    def act(state: State, obs, key):
        return net.apply(state.params, obs, method="policy").mode()

    return Agent(init, update, act, config.num_updates, env, env_params, config)
