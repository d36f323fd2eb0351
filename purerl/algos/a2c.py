"""Advantage actor-critic, synchronous (A2C; the synchronous variant of Mnih et al. 2016).

Each update runs `num_envs` envs for `num_steps` steps (n = num_steps), forms n-step
returns bootstrapped from V at the segment's end or at a time-limit truncation (GAE with
`gae_lambda = 1`, the A3C/A2C estimator; lambda < 1 gives GAE), and takes one optimiser step
(RMSProp by default, as in the paper, or Adam) on

    L = -mean(log pi(a|s) A) + vf_coef * 0.5 mean((V(s) - R)^2) - ent_coef * mean(H[pi(.|s)])

with shared or separate torsos. With `recurrent` ("gru" | "lstm") the networks carry a
memory (kept in the train state, zeroed after every episode end); the loss re-reads each
segment from the memory it started with. `segment_gradients` is the whole "collect a segment and
differentiate" half, reused by `a3c` for its asynchronous workers.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl.core import counter, onpolicy
from purerl.core import validation as V
from purerl.core.losses import normalize, policy_gradient_loss, value_loss
from purerl.core.rollout import episode_metrics
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(onpolicy.RolloutConfig, log_std_init=0.0):
    """A2C hyper-parameters (defaults: Stable-Baselines3's A2C, CartPole-ready)."""

    num_steps: int = 5  # n of the n-step returns: steps per env per update
    learning_rate: float = 7e-4
    optimizer: Literal["rmsprop", "adam"] = "rmsprop"  # "rmsprop" | "adam"
    rmsprop_decay: float = 0.99
    optimizer_eps: float = 1e-5
    anneal_lr: bool = False
    gae_lambda: float = 1.0  # 1: plain n-step returns
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    normalize_advantages: bool = False
    shared_torso: bool = False

    supports_recurrent = True

    def __post_init__(self):
        super().__post_init__()
        c = V.config_name(self)
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_choice(c, "optimizer", self.optimizer, {"rmsprop", "adam"})
        V.check_unit(c, "rmsprop_decay", self.rmsprop_decay)
        V.check_positive(c, "optimizer_eps", self.optimizer_eps)
        V.check_unit(c, "gae_lambda", self.gae_lambda)
        V.check_positive(c, "ent_coef", self.ent_coef, allow_zero=True)
        V.check_positive(c, "vf_coef", self.vf_coef, allow_zero=True)
        V.check_positive(c, "max_grad_norm", self.max_grad_norm)

    def _budget_unit(self) -> str:
        return f"one update's env steps ({self.batch_size})"


@struct.dataclass
class State:
    """A2C train state (a pytree)."""

    params: dict
    opt_state: optax.OptState
    env_state: object  # [num_envs]
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: counter.Count  # updates done (wide: exact past 2^31)
    carry: Any = None  # recurrent policy: the memory before `obs` ([num_envs, ...]); else None


# ------------------------------------------------------------------- pure pieces
def loss_fn(params, net, batch, config: Config):
    """A2C loss on a flat batch `{obs, action, advantage, return}` of `[N, ...]` (a
    recurrent network's: time-major, with `carry` and `reset`; `onpolicy.as_batch`).

    Returns `(loss, aux)`.
    """
    dist, value = onpolicy.forward(net, params, batch)
    adv = batch["advantage"]
    if config.normalize_advantages:
        adv = normalize(adv)
    pg = policy_gradient_loss(dist.log_prob(batch["action"]), adv)
    v_loss = value_loss(value, None, batch["return"])
    entropy = jnp.mean(dist.entropy())
    total = pg + config.vf_coef * v_loss - config.ent_coef * entropy
    return total, {"loss/policy": pg, "loss/value": v_loss, "entropy": entropy}


def make_optimizer(config: Config, num_updates: int) -> optax.GradientTransformation:
    return onpolicy.make_optimizer(
        config.optimizer,
        config.learning_rate,
        max_grad_norm=config.max_grad_norm,
        anneal_steps=num_updates if config.anneal_lr else None,
        eps=config.optimizer_eps,
        rmsprop_decay=config.rmsprop_decay,
    )


def segment_gradients(
    key, net, params, env, env_params, env_state, obs, config: Config, carry=None
):
    """Collect one `num_steps` segment with `params` and return the A2C gradient at `params`
    (`carry`: a recurrent network's memory before `obs`).

    Returns `(grads, env_state, obs, metrics)`, plus the carry after the segment when
    `carry` is given; the key is consumed.
    """
    env_state, obs, new_carry, traj, v_tp1, inputs = onpolicy.segment(
        key, net, params, env, env_params, env_state, obs, carry, config.num_steps
    )
    adv, ret = onpolicy.traj_gae(traj, v_tp1, config.gamma, config.gae_lambda)
    batch = onpolicy.as_batch(inputs, {"action": traj.action, "advantage": adv, "return": ret})
    grads, aux = jax.grad(loss_fn, has_aux=True)(params, net, batch, config)
    aux["grad_norm"] = optax.tree.norm(grads)
    aux.update(episode_metrics(traj.info))
    if carry is None:
        return grads, env_state, obs, aux
    return grads, env_state, obs, aux, new_carry


def build(env, env_params, config: Config):
    """The network and optimiser of A2C/A3C for `env` (validates the pairing)."""
    net = onpolicy.config_actor_critic(env, env_params, config, config.shared_torso)
    return net, make_optimizer(config, config.num_updates)


# ------------------------------------------------------------------------- make
def make(env, env_params, config: Config = Config()) -> Agent:
    """Build A2C for `env` (from `purerl.make_env`). Raises ValueError on bad input."""
    if type(config) is not Config:
        raise ValueError(f"a2c.make expects an a2c.Config, got {type(config).__name__}")
    net, tx = build(env, env_params, config)
    B = config.num_envs

    def init(key) -> State:
        params, env_state, obs, k_state = onpolicy.init_net_and_envs(key, net, env, env_params, B)
        state = State(params, tx.init(params), env_state, obs, k_state, counter.zero())
        return state.replace(carry=onpolicy.initial_carry(net, B))

    def update(state: State):
        key, k_seg = jax.random.split(state.key)
        out = segment_gradients(
            k_seg,
            net,
            state.params,
            env,
            env_params,
            state.env_state,
            state.obs,
            config,
            state.carry,
        )
        grads, env_state, obs, metrics = out[:4]
        carry = out[4] if len(out) > 4 else None
        upd, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, upd)
        metrics["env_steps"] = counter.to_float(state.step + 1, config.batch_size)
        new_state = State(params, opt_state, env_state, obs, key, state.step + 1)
        return new_state.replace(carry=carry), metrics

    act, initial_carry = onpolicy.make_act(net)
    return Agent(init, update, act, config.num_updates, env, env_params, config, initial_carry)
