"""Proximal Policy Optimization (Schulman et al. 2017), PPO-Clip and PPO-Penalty.

Each update collects `num_steps` steps from `num_envs` envs, computes truncation-aware GAE
advantages (`purerl.core.returns.gae`), then runs `num_epochs` passes of `num_minibatches`
Adam steps on

  clip:     L = -E[min(rho A, clip(rho, 1 - eps, 1 + eps) A)]
  penalty:  L = -E[rho A] + beta * E[KL(pi_old(.|s) || pi(.|s))]

plus `vf_coef` times the (optionally clipped) value loss, minus `ent_coef` times the
entropy; rho = pi(a|s) / pi_old(a|s). With the penalty objective, beta adapts after every
update toward `target_kl` (halved when KL < target/1.5, doubled when KL > 1.5 target).
Advantages are normalised per minibatch; gradients clipped by global norm; the learning
rate optionally annealed linearly to zero.

With `recurrent` ("gru" | "lstm") the policy and value function carry a memory
(`purerl.nets.RecurrentActorCritic`): the train state holds it, it is zeroed after every
episode end, each rollout keeps its initial value, and minibatches are whole env sequences
(`num_minibatches` splits the envs, not the steps), re-read from that initial memory.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl.core import counter, onpolicy, schedules
from purerl.core import validation as V
from purerl.core.losses import approx_kl, clip_policy_loss, normalize, value_loss
from purerl.core.rollout import episode_metrics, reset_envs
from purerl.types import Agent

# PPO's tuned Pendulum-v1 setting (keyword overrides of Config): a short horizon (gamma 0.9,
# as in rl-zoo), 1M env steps. The learning test trains it with normalised observations and
# rewards; GAIL on Pendulum (scripts/imitation.py and its test) uses it as the learner.
PENDULUM = dict(
    num_envs=16,
    num_steps=256,
    num_epochs=10,
    num_minibatches=32,
    gamma=0.9,
    ent_coef=0.0,
    total_timesteps=1_000_000,
)


@dataclasses.dataclass(frozen=True)
class Config(
    onpolicy.RolloutConfig, total_timesteps=150_000, num_envs=16, num_steps=64, log_std_init=0.0
):
    """PPO hyper-parameters (defaults: a CartPole-ready setting)."""

    num_epochs: int = 8  # passes over each batch
    num_minibatches: int = 4  # minibatches per pass; must divide num_envs * num_steps
    learning_rate: float = 1e-3
    anneal_lr: bool = True  # linear decay of the learning rate to 0
    gae_lambda: float = 0.95
    objective: Literal["clip", "penalty"] = "clip"  # "clip" | "penalty"
    clip_eps: float = 0.2  # clip range of the ratio (and of the value, with clip_value)
    clip_value: bool = False  # PPO2-style value clipping
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float = 0.01  # penalty: KL target of the adaptive coefficient
    kl_coef: float = 1.0  # penalty: initial KL coefficient beta
    kl_early_stop: bool = False  # clip: stop the epochs once approx KL > 1.5 target_kl
    normalize_advantages: bool = True
    shared_torso: bool = False

    supports_recurrent = True

    def __post_init__(self):
        super().__post_init__()
        c = "ppo.Config"
        for name in ("num_epochs", "num_minibatches"):
            V.check_int(c, name, getattr(self, name))
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_unit(c, "gae_lambda", self.gae_lambda)
        V.check_choice(c, "objective", self.objective, {"clip", "penalty"})
        V.check_positive(c, "clip_eps", self.clip_eps)
        for name in ("ent_coef", "vf_coef", "kl_coef"):
            V.check_positive(c, name, getattr(self, name), allow_zero=True)
        V.check_positive(c, "max_grad_norm", self.max_grad_norm)
        V.check_positive(c, "target_kl", self.target_kl)
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"ppo.Config: the batch num_envs * num_steps = {self.batch_size} is not "
                f"divisible by num_minibatches = {self.num_minibatches}"
            )
        if self.recurrent is not None and self.num_envs % self.num_minibatches:
            raise ValueError(
                f"ppo.Config: a recurrent policy's minibatches are whole env sequences, so "
                f"num_envs = {self.num_envs} must be divisible by num_minibatches = "
                f"{self.num_minibatches}"
            )


@struct.dataclass
class State:
    """PPO train state (a pytree)."""

    params: dict
    opt_state: optax.OptState
    env_state: object  # [num_envs] batched env state
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: counter.Count  # updates done (wide: exact past 2^31)
    kl_coef: jax.Array  # penalty objective's beta
    carry: Any = None  # recurrent policy: the memory before `obs` ([num_envs, ...]); else None


# ------------------------------------------------------------------- pure losses
def penalty_policy_loss(log_prob, old_log_prob, advantages, kl, kl_coef):
    """PPO-Penalty surrogate: `-E[rho A] + beta * E[KL(pi_old || pi)]`. `kl` is `[N]`."""
    ratio = jnp.exp(log_prob - old_log_prob)
    return -jnp.mean(ratio * advantages) + kl_coef * jnp.mean(kl)


def adapt_kl_coef(kl_coef, kl, target_kl):
    """Schulman et al. (2017) sec. 4: halve beta when KL < target/1.5, double when > 1.5 target."""
    kl_coef = jnp.where(kl < target_kl / 1.5, kl_coef / 2.0, kl_coef)
    return jnp.where(kl > target_kl * 1.5, kl_coef * 2.0, kl_coef)


def loss_fn(params, old_params, net, batch, kl_coef, config: Config):
    """Total PPO loss on one minibatch; returns `(loss, aux metrics)`.

    batch: dict of `[N, ...]` with `obs, action, log_prob, value, advantage, return`; for a
    recurrent `net`, `[T, N]` sequences plus `carry [N, ...]` and `reset [T, N]`
    (`onpolicy.as_batch`).
    """
    dist, value = onpolicy.forward(net, params, batch)
    log_prob = dist.log_prob(batch["action"])
    adv = batch["advantage"]
    if config.normalize_advantages:
        adv = normalize(adv)
    if config.objective == "clip":
        pg_loss, clip_frac = clip_policy_loss(log_prob, batch["log_prob"], adv, config.clip_eps)
    else:
        old = jax.lax.stop_gradient(old_params)
        old_dist = net.apply(old, *onpolicy.net_inputs(batch), method="policy")
        kl = old_dist.kl_divergence(dist)
        pg_loss = penalty_policy_loss(log_prob, batch["log_prob"], adv, kl, kl_coef)
        ratio = jnp.exp(log_prob - batch["log_prob"])
        clip_frac = jnp.mean((jnp.abs(ratio - 1.0) > config.clip_eps).astype(jnp.float32))
    v_loss = value_loss(
        value, batch["value"], batch["return"], config.clip_eps if config.clip_value else None
    )
    entropy = jnp.mean(dist.entropy())
    total = pg_loss + config.vf_coef * v_loss - config.ent_coef * entropy
    aux = {
        "loss/policy": pg_loss,
        "loss/value": v_loss,
        "entropy": entropy,
        "approx_kl": approx_kl(log_prob, batch["log_prob"]),
        "clip_fraction": clip_frac,
    }
    return total, aux


# ------------------------------------------------------------------------ learn
def learn(
    key,
    net,
    tx,
    config: Config,
    params,
    opt_state,
    kl_coef,
    traj,
    v_tp1,
    *,
    reduce=None,
    normalize_advantage=None,
    inputs=None,
):
    """PPO's learning step on one collected batch; the key is consumed.

    GAE on `traj.reward` (time-major `Transition [T, B]` from `onpolicy.collect`, whose
    extras hold `log_prob` and `value`; `v_tp1 [T, B]` the values of the true next
    observations), then `num_epochs` passes of `num_minibatches` steps of `tx` on
    `loss_fn`, and the penalty objective's KL-coefficient adaptation. Algorithms that
    train PPO on another reward (GAIL, AIRL) replace `traj.reward` and call this.

    Data-parallel PPO (`purerl.algos.ppo_parallel.make`) calls it on each
    device's share of the batch with `reduce` (applied to every minibatch's gradients and
    loss metrics, and to the penalty objective's KL: `jax.lax.pmean` over the devices) and
    `normalize_advantage` (each minibatch's advantages, with statistics over all devices;
    `config.normalize_advantages` must then be False so that `loss_fn` does not redo it).

    `inputs` is the network input `onpolicy.segment` returns (default `traj.obs`); with a
    recurrent network's `onpolicy.Sequences`, each minibatch is `num_envs / num_minibatches`
    whole env sequences (`env_minibatches`).

    Returns `(params, opt_state, kl_coef, metrics)`.
    """
    n = traj.reward.size  # T * B
    mb_size = n // config.num_minibatches
    adv, ret = onpolicy.traj_gae(traj, v_tp1, config.gamma, config.gae_lambda)
    data = {
        "action": traj.action,
        "log_prob": traj.extras["log_prob"],
        "value": traj.extras["value"],
        "advantage": adv,
        "return": ret,
    }
    batch = onpolicy.as_batch(traj.obs if inputs is None else inputs, data)
    recurrent = "carry" in batch
    old_params, old_kl_coef = params, kl_coef
    grad_fn = jax.grad(loss_fn, has_aux=True)

    def minibatch_step(carry, mb):
        params, opt_state, stopped = carry
        if normalize_advantage is not None:
            mb = {**mb, "advantage": normalize_advantage(mb["advantage"])}
        grads, aux = grad_fn(params, old_params, net, mb, kl_coef, config)
        if reduce is not None:
            grads, aux = reduce((grads, aux))
        updates, new_opt = tx.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        if config.kl_early_stop and config.objective == "clip":
            keep = lambda new, old: jax.tree.map(lambda x, y: jnp.where(stopped, y, x), new, old)
            new_params, new_opt = keep(new_params, params), keep(new_opt, opt_state)
            stopped = stopped | (aux["approx_kl"] > 1.5 * config.target_kl)
        return (new_params, new_opt, stopped), aux

    def epoch(carry, k):
        if recurrent:
            perm = jax.random.permutation(k, traj.reward.shape[1])
            mbs = env_minibatches(batch, perm, config.num_minibatches)
            return jax.lax.scan(minibatch_step, carry, mbs)
        perm = jax.random.permutation(k, n)
        mbs = jax.tree.map(
            lambda x: x[perm].reshape((config.num_minibatches, mb_size) + x.shape[1:]),
            batch,
        )
        return jax.lax.scan(minibatch_step, carry, mbs)

    (params, opt_state, _), aux = jax.lax.scan(
        epoch,
        (params, opt_state, jnp.asarray(False)),
        jax.random.split(key, config.num_epochs),
    )
    if config.objective == "penalty":
        old_dist = net.apply(old_params, *onpolicy.net_inputs(batch), method="policy")
        new_dist = net.apply(params, *onpolicy.net_inputs(batch), method="policy")
        kl = jnp.mean(old_dist.kl_divergence(new_dist))
        if reduce is not None:
            kl = reduce(kl)
        kl_coef = adapt_kl_coef(kl_coef, kl, config.target_kl)
    metrics = jax.tree.map(jnp.mean, aux)
    metrics["approx_kl"] = jnp.mean(aux["approx_kl"][-1])  # last epoch
    metrics["kl_coef"] = old_kl_coef
    return params, opt_state, kl_coef, metrics


def env_minibatches(batch: dict, perm, num_minibatches: int) -> dict:
    """A recurrent batch (`onpolicy.as_batch`: `carry [B, ...]`, the rest `[T, B, ...]`)
    split over its envs in the order `perm [B]` into `num_minibatches` minibatches of whole
    sequences: `carry [M, B / M, ...]`, the rest `[M, T, B / M, ...]`."""
    M = num_minibatches

    def split(x, time_major):
        if not time_major:
            return x[perm].reshape((M, -1) + x.shape[1:])
        x = x[:, perm]
        return jnp.swapaxes(x.reshape((x.shape[0], M, -1) + x.shape[2:]), 0, 1)

    rest = {k: v for k, v in batch.items() if k != "carry"}
    out = jax.tree.map(lambda x: split(x, True), rest)
    out["carry"] = jax.tree.map(lambda x: split(x, False), batch["carry"])
    return out


# ------------------------------------------------------------------------- make
def build(env, env_params, config: Config, *, allow_recurrent: bool = False):
    """PPO's network and optimiser for `env`: Adam behind global-norm clipping, its step size
    optionally annealed linearly to 0 over the run (one decrement per update).

    The learners built on PPO's pieces (data-parallel PPO, GAIL, AIRL) train feed-forward
    policies: `config.recurrent` is a ValueError unless `allow_recurrent` (`make`)."""
    if config.recurrent is not None and not allow_recurrent:
        raise ValueError(
            f"ppo.Config.recurrent = {config.recurrent!r}: this learner trains a feed-forward "
            "policy (recurrent policies: ppo.make); leave it None"
        )
    net = onpolicy.config_actor_critic(env, env_params, config, config.shared_torso)
    lr = config.learning_rate
    if config.anneal_lr:
        steps_per_update = config.num_epochs * config.num_minibatches
        lr = schedules.anneal_to_zero(lr, config.num_updates, every=steps_per_update)
    tx = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(lr, eps=1e-5))
    return net, tx


def init_state(k_net, k_env, k_state, net, tx, env, env_params, config: Config) -> State:
    """PPO's first train state: `config.num_envs` envs reset with `k_env`, the params of
    `net` initialised with `k_net`, `tx`'s optimiser state, `k_state` the state's key.
    (Used by `make`, data-parallel PPO and the imitation learners that train PPO.)"""
    obs, env_state = reset_envs(k_env, env, env_params, config.num_envs)
    params = onpolicy.init_params(k_net, net, obs)
    return State(
        params=params,
        opt_state=tx.init(params),
        env_state=env_state,
        obs=obs,
        key=k_state,
        step=counter.zero(),
        kl_coef=jnp.asarray(config.kl_coef, jnp.float32),
        carry=onpolicy.initial_carry(net, config.num_envs),
    )


def next_state(state: State, params, opt_state, kl_coef, env_state, obs, key, carry=None) -> State:
    """The train state after one update (`learn`'s results, the rollout's envs, the next
    key, a recurrent policy's memory); the update counter advances by one."""
    return state.replace(
        carry=carry,
        params=params,
        opt_state=opt_state,
        env_state=env_state,
        obs=obs,
        key=key,
        step=state.step + 1,
        kl_coef=kl_coef,
    )


def make(env, env_params, config: Config = Config()) -> Agent:
    """Build PPO for `env` (from `purerl.make_env`). Raises ValueError on bad input."""
    if not isinstance(config, Config):
        raise ValueError(f"ppo.make expects a ppo.Config, got {type(config).__name__}")
    net, tx = build(env, env_params, config, allow_recurrent=True)
    T, B = config.num_steps, config.num_envs

    def init(key) -> State:
        k_net, k_env, k_state = jax.random.split(key, 3)
        return init_state(k_net, k_env, k_state, net, tx, env, env_params, config)

    def update(state: State):
        key, k_roll, k_learn = jax.random.split(state.key, 3)
        env_state, obs, carry, traj, v_tp1, inputs = onpolicy.segment(
            k_roll, net, state.params, env, env_params, state.env_state, state.obs, state.carry, T
        )
        params, opt_state, kl_coef, metrics = learn(
            k_learn,
            net,
            tx,
            config,
            state.params,
            state.opt_state,
            state.kl_coef,
            traj,
            v_tp1,
            inputs=inputs,
        )
        metrics["env_steps"] = counter.to_float(state.step + 1, T * B)
        metrics.update(episode_metrics(traj.info))
        new_state = next_state(state, params, opt_state, kl_coef, env_state, obs, key, carry)
        return new_state, metrics

    act, initial_carry = onpolicy.make_act(net)
    return Agent(init, update, act, config.num_updates, env, env_params, config, initial_carry)
