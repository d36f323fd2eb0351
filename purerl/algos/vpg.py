"""Vanilla Policy Gradient with a learned value baseline, as in Spinning Up.

Each update collects `num_steps` steps from each of `num_envs` envs (env state carried
across updates) and computes GAE-lambda advantages from the learned V (Schulman et al.
2016), truncation aware. Then

* one policy-gradient step (Adam, `learning_rate`) on `-mean_t log pi(a_t|s_t) A_t`
  (advantages standardised over the batch, as Spinning Up does);
* `value_iters` full-batch Adam steps (`value_learning_rate`) regressing V on the
  discounted rewards-to-go, bootstrapped from V where a time limit or the rollout's end
  cuts an episode.

The policy and the value function have separate torsos and separate optimisers. With
`recurrent` ("gru" | "lstm") each torso carries a memory (kept in the train state, zeroed
after every episode end); both steps re-read the segment from the memory it started with.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl.core import counter, onpolicy
from purerl.core import validation as V
from purerl.core.losses import policy_gradient_loss
from purerl.core.rollout import episode_metrics
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(onpolicy.RolloutConfig):
    """VPG hyper-parameters (defaults: CartPole-ready; Spinning Up's gamma and lambda)."""

    learning_rate: float = 3e-3  # policy Adam step size (one step per update)
    value_learning_rate: float = 1e-3
    value_iters: int = 80  # full-batch value regression steps per update
    gae_lambda: float = 0.97
    normalize_advantages: bool = True
    ent_coef: float = 0.0
    max_grad_norm: float | None = None

    supports_recurrent = True

    def __post_init__(self):
        super().__post_init__()
        c = "vpg.Config"
        V.check_int(c, "value_iters", self.value_iters)
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_positive(c, "value_learning_rate", self.value_learning_rate)
        V.check_unit(c, "gae_lambda", self.gae_lambda)
        V.check_positive(c, "ent_coef", self.ent_coef, allow_zero=True)
        if self.max_grad_norm is not None:
            V.check_positive(c, "max_grad_norm", self.max_grad_norm)


@struct.dataclass
class State:
    """VPG train state (a pytree)."""

    params: dict  # separate-torso ActorCritic
    opt_state: optax.OptState  # policy half
    value_opt_state: optax.OptState  # value half
    env_state: object  # [num_envs]
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: counter.Count  # updates done (wide: exact past 2^31)
    carry: Any = None  # recurrent policy: the memory before `obs` ([num_envs, ...]); else None


def make(env, env_params, config: Config = Config()) -> Agent:
    """Build VPG for `env` (from `purerl.make_env`). Raises ValueError on bad input."""
    if not isinstance(config, Config):
        raise ValueError(f"vpg.make expects a vpg.Config, got {type(config).__name__}")
    net = onpolicy.config_actor_critic(env, env_params, config)
    tx = onpolicy.make_optimizer("adam", config.learning_rate, max_grad_norm=config.max_grad_norm)
    tx_v = onpolicy.make_optimizer("adam", config.value_learning_rate)
    T, B = config.num_steps, config.num_envs

    def init(key) -> State:
        params, env_state, obs, k_state = onpolicy.init_net_and_envs(key, net, env, env_params, B)
        pi, v = onpolicy.split_params(params)
        state = State(params, tx.init(pi), tx_v.init(v), env_state, obs, k_state, counter.zero())
        return state.replace(carry=onpolicy.initial_carry(net, B))

    def update(state: State):
        key, k_roll = jax.random.split(state.key)
        env_state, obs, carry, traj, v_tp1, inputs = onpolicy.segment(
            k_roll, net, state.params, env, env_params, state.env_state, state.obs, state.carry, T
        )
        adv, ret = onpolicy.advantages_and_returns(
            traj, v_tp1, config.gamma, config.gae_lambda, config.normalize_advantages
        )

        def loss(dist):
            entropy = jnp.mean(dist.entropy())
            pg = policy_gradient_loss(dist.log_prob(traj.action), adv)
            return pg - config.ent_coef * entropy, (pg, entropy)

        params, opt_state, grads, (pg, entropy) = onpolicy.policy_step(
            net, state.params, state.opt_state, tx, inputs, loss
        )
        params, value_opt_state, v_loss = onpolicy.fit_value(
            net, params, state.value_opt_state, tx_v, inputs, ret, config.value_iters
        )
        metrics = {
            "loss/policy": pg,
            "loss/value": v_loss,
            "entropy": entropy,
            "grad_norm": optax.tree.norm(grads),
            "env_steps": counter.to_float(state.step + 1, T * B),
            **episode_metrics(traj.info),
        }
        new_state = State(params, opt_state, value_opt_state, env_state, obs, key, state.step + 1)
        return new_state.replace(carry=carry), metrics

    act, initial_carry = onpolicy.make_act(net)
    return Agent(init, update, act, config.num_updates, env, env_params, config, initial_carry)
