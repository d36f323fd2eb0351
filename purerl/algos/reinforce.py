"""REINFORCE (Williams 1992): the simplest policy gradient, on batches of whole episodes.

    g = 1/|D| sum_tau sum_t grad log pi(a_t|s_t) Psi_t,
    Psi_t = R(tau)                    weights="return"       (the basic estimator)
          = sum_{t'>=t} gamma^(t'-t) r_t'  weights="reward_to_go" (actions only get credit
                                                               for what follows them)
    and with `baseline=True`, Psi_t - V(s_t), where V is regressed on the rewards-to-go
    (`value_iters` full-batch Adam steps per update): the baseline estimator.

Every update resets `num_envs` envs (keeping observation-normalisation statistics) and runs
them `num_steps` steps with auto-reset; only steps of episodes that finish inside this
window enter the gradient, so every weight is an exact Monte-Carlo return: no bootstrap, no
truncated tails. `num_steps` must therefore cover an episode (it must be at least the env's
time limit); the steps of each env's last, unfinished episode are spent but not used. The
loss is Spinning Up's `-(logp * weights).mean()` over the valid steps, one Adam step per
update. With `recurrent` ("gru" | "lstm") the policy (and baseline) carry a memory that
starts at zero with each update's fresh envs (so the train state holds none) and is zeroed
after every episode end.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl.core import counter, onpolicy
from purerl.core import validation as V
from purerl.core.losses import masked_mean, policy_gradient_loss
from purerl.core.returns import episode_returns, reward_to_go
from purerl.core.rollout import episode_metrics, reset_envs
from purerl.envs.wrappers import inherit_statistics
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(onpolicy.RolloutConfig, gamma=1.0, hidden_sizes=(32,)):
    """REINFORCE hyper-parameters (defaults: reward-to-go with a baseline, CartPole-ready)."""

    num_steps: int = 625  # steps per env per update; must cover one whole episode
    weights: Literal["return", "reward_to_go"] = "reward_to_go"  # "return": R(tau)
    baseline: bool = True  # subtract a learned V(s_t) regressed on the rewards-to-go
    learning_rate: float = 1e-2  # policy Adam step size
    value_learning_rate: float = 1e-2
    value_iters: int = 80  # full-batch value regression steps per update
    normalize_weights: bool = False  # standardise the weights over each batch
    max_grad_norm: float | None = None

    supports_recurrent = True

    def __post_init__(self):
        super().__post_init__()
        c = "reinforce.Config"
        V.check_int(c, "value_iters", self.value_iters)
        V.check_choice(c, "weights", self.weights, {"return", "reward_to_go"})
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_positive(c, "value_learning_rate", self.value_learning_rate)
        if self.max_grad_norm is not None:
            V.check_positive(c, "max_grad_norm", self.max_grad_norm)


@struct.dataclass
class State:
    """REINFORCE train state (a pytree)."""

    params: dict  # separate-torso ActorCritic (the value half is unused without baseline)
    opt_state: optax.OptState  # policy half
    value_opt_state: optax.OptState  # value half
    env_state: object  # [num_envs]; reset every update, statistics kept
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: counter.Count  # updates done (wide: exact past 2^31)


# ------------------------------------------------------------------- pure pieces
def complete_episode_mask(terminated, truncated):
    """`[T, B]` bool: step t belongs to an episode that ends at or after t within the
    rollout (the envs were reset at t=0, so every episode in it started there or later)."""
    done = jnp.logical_or(terminated, truncated).astype(jnp.int32)
    ends_later = jnp.flip(jnp.cumsum(jnp.flip(done, 0), 0), 0)
    return ends_later > 0


def reinforce_weights(reward, terminated, truncated, kind: str, gamma=1.0, value=None):
    """Per-step policy-gradient weights Psi_t `[T, ...]`.

    kind="return": R(tau) of the step's episode (undiscounted, as in the basic estimator);
    kind="reward_to_go": the discounted sum of rewards from t to the episode's end. With
    `value` `[T, ...]` given, the baseline is subtracted: Psi_t - V(s_t).
    """
    if kind == "return":
        w = episode_returns(reward, terminated, truncated)
    elif kind == "reward_to_go":
        w = reward_to_go(reward, terminated, truncated, gamma)
    else:
        raise ValueError(f"unknown weights {kind!r}; choose 'return' or 'reward_to_go'")
    return w if value is None else w - value


# ------------------------------------------------------------------------- make
def make(env, env_params, config: Config = Config()) -> Agent:
    """Build REINFORCE for `env` (from `purerl.make_env`). Raises ValueError on bad input."""
    if not isinstance(config, Config):
        raise ValueError(f"reinforce.make expects a reinforce.Config, got {type(config).__name__}")
    limit = getattr(env_params, "max_steps_in_episode", None)
    if isinstance(limit, int) and config.num_steps < limit:
        raise ValueError(
            f"reinforce: num_steps = {config.num_steps} cannot cover an episode of this env "
            f"(time limit {limit} steps); REINFORCE learns from whole episodes, so set "
            f"num_steps >= {limit}"
        )
    net = onpolicy.config_actor_critic(env, env_params, config)
    tx = onpolicy.make_optimizer(
        "adam", config.learning_rate, max_grad_norm=config.max_grad_norm, eps=1e-8
    )
    tx_v = onpolicy.make_optimizer("adam", config.value_learning_rate, eps=1e-8)
    T, B = config.num_steps, config.num_envs

    def init(key) -> State:
        params, env_state, obs, k_state = onpolicy.init_net_and_envs(key, net, env, env_params, B)
        pi, v = onpolicy.split_params(params)
        return State(params, tx.init(pi), tx_v.init(v), env_state, obs, k_state, counter.zero())

    def update(state: State):
        key, k_reset, k_roll = jax.random.split(state.key, 3)
        obs, env_state = reset_envs(k_reset, env, env_params, B)
        env_state = inherit_statistics(env_state, state.env_state, freeze=False)
        # fresh envs, fresh memory
        env_state, obs, _, traj, _, inputs = onpolicy.segment(
            k_roll,
            net,
            state.params,
            env,
            env_params,
            env_state,
            obs,
            onpolicy.initial_carry(net, B),
            T,
        )
        mask = complete_episode_mask(traj.terminated, traj.truncated)
        rtg = reward_to_go(traj.reward, traj.terminated, traj.truncated, config.gamma)
        value = traj.extras["value"] if config.baseline else None
        w = reinforce_weights(
            traj.reward, traj.terminated, traj.truncated, config.weights, config.gamma, value
        )
        if config.normalize_weights:
            mean = masked_mean(w, mask)
            std = jnp.sqrt(masked_mean(jnp.square(w - mean), mask))
            w = (w - mean) / (std + 1e-8)

        def loss(dist):
            pg = policy_gradient_loss(dist.log_prob(traj.action), w, mask)
            return pg, (pg, masked_mean(dist.entropy(), mask))

        params, opt_state, grads, (pi_loss, entropy) = onpolicy.policy_step(
            net, state.params, state.opt_state, tx, inputs, loss
        )
        value_opt_state, v_loss = state.value_opt_state, jnp.float32(0.0)
        if config.baseline:
            params, value_opt_state, v_loss = onpolicy.fit_value(
                net, params, value_opt_state, tx_v, inputs, rtg, config.value_iters, mask
            )
        metrics = {
            "loss/policy": pi_loss,
            "loss/value": v_loss,
            "entropy": entropy,
            "grad_norm": optax.tree.norm(grads),
            "valid_fraction": jnp.mean(mask.astype(jnp.float32)),
            "env_steps": counter.to_float(state.step + 1, T * B),
            **episode_metrics(traj.info),
        }
        new_state = State(params, opt_state, value_opt_state, env_state, obs, key, state.step + 1)
        return new_state, metrics

    act, initial_carry = onpolicy.make_act(net)
    return Agent(init, update, act, config.num_updates, env, env_params, config, initial_carry)
