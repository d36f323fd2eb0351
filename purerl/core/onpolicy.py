"""Pieces shared by the on-policy actor-critic family (REINFORCE, VPG, A2C, A3C, TRPO, PPO).

* `RolloutConfig`: the hyper-parameters all six share (budget, rollout size, discount,
  network, recurrent cell), with `batch_size`, `num_updates` and the budget check.
* `make_actor_critic`: the policy/value network for an env (categorical or Gaussian head;
  a `RecurrentActorCritic` with `recurrent`).
* `segment`: one rollout of either network, with what the learner feeds it back
  (`Sequences` for a recurrent one); `forward` / `net_inputs` read a batch of either.
* `split_params` / `merge_params`: the policy and value halves of a separate-torso
  `ActorCritic`, for algorithms that give each its own optimiser (VPG, TRPO, REINFORCE's
  baseline).
* `collect`: one on-policy rollout recording `log_prob` and `value`, plus the values of
  the true next observations for truncation-aware bootstrapping.
* `fit_value`: full-batch value regression, `iters` optimiser steps.
* `make_optimizer`: Adam or RMSProp with optional gradient clipping and linear annealing.
* `merge_time_batch`: `[T, B, ...]` leaves to `[T * B, ...]`.

The losses the family shares (`policy_gradient_loss`, `value_loss`, ...) are in
`purerl.core.losses`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import optax

from purerl.core import schedules
from purerl.core import validation as V
from purerl.core.losses import masked_mean, normalize
from purerl.core.networks import (  # the network constructors, re-exported here
    TorsoConfig,
    config_actor_critic,  # noqa: F401
    first_obs,
    is_recurrent,
    make_actor_critic,  # noqa: F401
)
from purerl.core.returns import gae
from purerl.core.rollout import env_step, reset_envs, rollout
from purerl.nets import ACTIVATIONS, CELLS, reset_carry
from purerl.types import Activation

POLICY_KEYS = ("actor_torso", "policy_head")
VALUE_KEYS = ("critic_torso", "value_head")


@dataclasses.dataclass(frozen=True)
class RolloutConfig(TorsoConfig):
    """The hyper-parameters every on-policy `Config` shares, validated once here: each
    update collects `num_steps` steps from each of `num_envs` envs (`batch_size` env steps)
    and learns from them (defaults: VPG's; a subclass changes them with class keywords,
    see `validation.ConfigBase`)."""

    total_timesteps: int = 500_000  # env steps of one training run (per seed)
    num_envs: int = 8  # parallel envs
    num_steps: int = 128  # steps per env per update (rollout length)
    gamma: float = 0.99  # discount of the returns (1: the undiscounted objective)
    hidden_sizes: Sequence[int] = (64, 64)  # hidden layer widths
    activation: Activation = "tanh"
    log_std_init: float = -0.5  # continuous actions: initial log std of the Gaussian
    recurrent: str | None = None  # None (feed-forward) | "gru" | "lstm": a cell after the MLP
    recurrent_size: int = 64  # units of the recurrent cell

    # A Config class that sets this True in its own body takes `recurrent` (not inherited:
    # A3C's Config subclasses A2C's and does not).
    supports_recurrent: ClassVar[bool] = False

    def __post_init__(self):
        super().__post_init__()
        c = V.config_name(self)
        for name in ("total_timesteps", "num_envs", "num_steps", "recurrent_size"):
            V.check_int(c, name, getattr(self, name))
        V.check_unit(c, "gamma", self.gamma)
        V.check_sizes(c, "hidden_sizes", self.hidden_sizes)
        V.check_choice(c, "activation", self.activation, set(ACTIVATIONS))
        self.check_torso(c)
        if self.recurrent is not None:
            V.check_choice(c, "recurrent", self.recurrent, set(CELLS))
        if self.recurrent is not None and not type(self).__dict__.get("supports_recurrent"):
            raise ValueError(
                f"{c}.recurrent = {self.recurrent!r}: recurrent policies are implemented for "
                "PPO, A2C, REINFORCE and VPG, not this algorithm; leave it None"
            )
        V.check_budget(c, self.total_timesteps, self.batch_size, self._budget_unit())

    def _budget_unit(self) -> str:
        """What one update's env steps are called in the budget error."""
        return f"one batch (num_envs * num_steps = {self.batch_size})"

    @property
    def batch_size(self) -> int:
        """Env steps per update."""
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.batch_size


def split_params(params: dict) -> tuple[dict, dict]:
    """`(policy_params, value_params)` of a separate-torso `ActorCritic`."""
    p = params["params"]
    return {k: p[k] for k in POLICY_KEYS}, {k: p[k] for k in VALUE_KEYS}


def merge_params(policy_params: dict, value_params: dict) -> dict:
    """Inverse of `split_params`."""
    return {"params": {**policy_params, **value_params}}


def init_net_and_envs(key, net, env, env_params, num_envs: int):
    """A fresh start of an on-policy learner; the key is consumed: `num_envs` envs reset
    and `net` initialised on the first observation.

    Returns `(params, env_state, obs [num_envs, ...], key)`, `key` for the train state."""
    k_net, k_env, k_state = jax.random.split(key, 3)
    obs, env_state = reset_envs(k_env, env, env_params, num_envs)
    return init_params(k_net, net, obs), env_state, obs, k_state


def init_params(key, net, obs):
    """`net`'s parameters, initialised on the first of the batch `obs [B, ...]`."""
    if is_recurrent(net):
        return net.init(key, net.initial_carry((1,)), obs[None, :1], jnp.zeros((1, 1), bool))
    return net.init(key, first_obs(obs))


def initial_carry(net, num_envs: int):
    """The zero carry of `num_envs` envs for a recurrent `net`; None for a feed-forward one."""
    return net.initial_carry((num_envs,)) if is_recurrent(net) else None


def policy_step(net, params, opt_state, tx, obs, loss_fn):
    """One step of `tx` on the policy half of a separate-torso `ActorCritic` (the value
    half untouched): `loss_fn(dist) -> (loss, aux)` of the policy's distribution at `obs`.

    Returns `(params, opt_state, grads, aux)`."""
    pi_params, v_params = split_params(params)

    def loss(pi):
        return loss_fn(net.apply(merge_params(pi, v_params), *_args(obs), method="policy"))

    (_, aux), grads = jax.value_and_grad(loss, has_aux=True)(pi_params)
    upd, opt_state = tx.update(grads, opt_state, pi_params)
    return merge_params(optax.apply_updates(pi_params, upd), v_params), opt_state, grads, aux


def collect(key, net, params, env, env_params, env_state, obs, num_steps: int):
    """Roll out the stochastic policy of `net` for `num_steps` steps; the key is consumed.

    Returns `(env_state, obs, traj, v_tp1)`: `traj` is a time-major `Transition [T, B]`
    whose `extras` hold `log_prob` and `value` (of `traj.obs`); `v_tp1 [T, B]` are the
    values of the true next observations (the final observation where an episode ended),
    what GAE, n-step and TD targets bootstrap from on truncation.
    """

    def policy(o, k):
        dist, value = net.apply(params, o)
        action = dist.sample(seed=k)
        return action, {"log_prob": dist.log_prob(action), "value": value}

    env_state, obs, traj = rollout(key, env, env_params, policy, env_state, obs, num_steps)
    v_tp1 = net.apply(params, traj.next_obs, method="value")
    return env_state, obs, traj, v_tp1


class Sequences(NamedTuple):
    """What a recurrent network reads back over a collected segment (`segment`):

    carry: the carry before the segment's first step, `[B, ...]`;
    obs: the observations, `[T, B, ...]`;
    reset: `[T, B]` bool, zero the carry before step t (an episode ended at t - 1).
    """

    carry: Any
    obs: Any
    reset: jax.Array


def episode_starts(done):
    """`reset [T, B]` of a segment from its `done [T, B]`: `done` shifted one step later
    (the segment's first carry is already reset where needed)."""
    return jnp.concatenate([jnp.zeros_like(done[:1]), done[:-1]], axis=0)


def _args(inputs) -> tuple:
    """The positional network arguments of `obs` or of `Sequences`."""
    return tuple(inputs) if isinstance(inputs, Sequences) else (inputs,)


def net_inputs(batch: dict) -> tuple:
    """The network's positional arguments in a batch dict: `(carry, obs, reset)` when it
    holds a `"carry"` (a recurrent network's time-major sequences), else `(obs,)`."""
    if "carry" in batch:
        return batch["carry"], batch["obs"], batch["reset"]
    return (batch["obs"],)


def forward(net, params, batch: dict):
    """`(dist, value)` of `net` on a batch dict (see `net_inputs`)."""
    out = net.apply(params, *net_inputs(batch))
    return out[-2], out[-1]


def as_batch(inputs, data: dict) -> dict:
    """A learner's batch: `[T, B]` leaves of `data` and the network input `inputs` (from
    `segment`) merged into `[T * B]` for a feed-forward network; kept time-major for a
    recurrent one (`Sequences`: adds `carry [B, ...]` and `reset [T, B]`)."""
    if isinstance(inputs, Sequences):
        return {"carry": inputs.carry, "obs": inputs.obs, "reset": inputs.reset, **data}
    return merge_time_batch({"obs": inputs, **data})


def collect_recurrent(key, net, params, env, env_params, env_state, obs, carry, num_steps: int):
    """`collect` for a `RecurrentActorCritic`; the key is consumed (split as `rollout`
    splits it). `carry` is the memory before `obs`; after each step it is zeroed where the
    episode ended, so that the next episode starts fresh.

    Returns `(env_state, obs, carry, traj, v_tp1)`; `v_tp1 [T, B]` is the value of each
    true next observation given the memory of its own episode (before the reset).
    """

    def step(c, k):
        env_state, obs, carry = c

        def policy(o, k_act):
            new, dist, value = net.apply(params, carry, o, method="step")
            action = dist.sample(seed=k_act)
            return action, {"log_prob": dist.log_prob(action), "value": value, "carry": new}

        env_state, next_obs, tr = env_step(k, env, env_params, policy, env_state, obs)
        extras = dict(tr.extras)
        new = extras.pop("carry")
        return (env_state, next_obs, reset_carry(new, tr.done)), (tr._replace(extras=extras), new)

    keys = jax.random.split(key, num_steps)
    (env_state, obs, carry), (traj, carries) = jax.lax.scan(step, (env_state, obs, carry), keys)
    v_tp1 = net.apply(params, carries, traj.next_obs, method="value_step")
    return env_state, obs, carry, traj, v_tp1


def segment(key, net, params, env, env_params, env_state, obs, carry, num_steps: int):
    """One rollout of either network: `collect` (then `carry` is None) or
    `collect_recurrent`; the key is consumed.

    Returns `(env_state, obs, carry, traj, v_tp1, inputs)`: `inputs` is what the learner
    feeds the network back, `traj.obs` or `Sequences(carry before the segment, traj.obs,
    episode_starts(traj.done))`.
    """
    if not is_recurrent(net):
        env_state, obs, traj, v_tp1 = collect(
            key, net, params, env, env_params, env_state, obs, num_steps
        )
        return env_state, obs, None, traj, v_tp1, traj.obs
    carry0 = carry
    env_state, obs, carry, traj, v_tp1 = collect_recurrent(
        key, net, params, env, env_params, env_state, obs, carry, num_steps
    )
    inputs = Sequences(carry0, traj.obs, episode_starts(traj.done))
    return env_state, obs, carry, traj, v_tp1, inputs


def make_act(net):
    """`(act, initial_carry)` of the `Agent` of an on-policy `net`: the mode of its policy.
    Feed-forward: `act(state, obs, key) -> action`, `initial_carry` None. Recurrent:
    `act(state, obs, key, carry) -> (action, carry)` and `initial_carry() -> carry` of one
    env (`state.params` are read; the caller resets the carry when an episode ends)."""
    if not is_recurrent(net):
        return (lambda state, obs, key: net.apply(state.params, obs, method="policy").mode()), None

    def act(state, obs, key, carry):
        carry, dist, _ = net.apply(state.params, carry, obs, method="step")
        return dist.mode(), carry

    return act, lambda: net.initial_carry(())


def merge_time_batch(tree):
    """Merge the leading `[T, B]` axes of every leaf into one `[T * B]` axis."""
    return jax.tree.map(lambda x: x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:]), tree)


def make_optimizer(
    name: str,
    learning_rate,
    *,
    max_grad_norm: float | None = None,
    anneal_steps: int | None = None,
    eps: float = 1e-5,
    rmsprop_decay: float = 0.99,
) -> optax.GradientTransformation:
    """`"adam"` or `"rmsprop"`, optionally preceded by global-norm clipping and with the
    learning rate decayed linearly to 0 over `anneal_steps` optimiser steps."""
    lr = learning_rate
    if anneal_steps:
        lr = schedules.anneal_to_zero(learning_rate, anneal_steps)
    if name == "adam":
        opt = optax.adam(lr, eps=eps)
    elif name == "rmsprop":
        opt = optax.rmsprop(lr, decay=rmsprop_decay, eps=eps)
    else:
        raise ValueError(f"unknown optimizer {name!r}; choose 'adam' or 'rmsprop'")
    if max_grad_norm is None:
        return opt
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), opt)


def fit_value(net, params, opt_state, tx, obs, targets, iters: int, mask=None):
    """Regress the value half of a separate-torso `ActorCritic` on `targets`.

    Takes `iters` full-batch steps of `tx` on `0.5 * mean((V(obs) - targets)^2)` over the
    valid entries, leaving the policy half untouched. `tx`/`opt_state` act on the value
    half only (`split_params(params)[1]`).

    Returns `(params, opt_state, loss_before)`.
    """
    pi_params, v_params = split_params(params)
    targets = jax.lax.stop_gradient(targets)

    def loss(v):
        value = net.apply(merge_params(pi_params, v), *_args(obs), method="value")
        return 0.5 * masked_mean(jnp.square(value - targets), mask)

    def step(carry, _):
        v, opt = carry
        value_loss, g = jax.value_and_grad(loss)(v)
        upd, opt = tx.update(g, opt, v)
        return (optax.apply_updates(v, upd), opt), value_loss

    (v_params, opt_state), losses = jax.lax.scan(step, (v_params, opt_state), None, iters)
    return merge_params(pi_params, v_params), opt_state, losses[0]


def traj_gae(traj, v_tp1, gamma, lambda_):
    """`returns.gae` on a `collect`ed trajectory: its rewards, its values
    (`traj.extras["value"]`) and its episode ends, with `v_tp1 [T, B]` from `collect`.

    Returns `(advantages, returns)`, `[T, B]` each."""
    return gae(
        traj.reward, traj.extras["value"], v_tp1, traj.terminated, traj.truncated, gamma, lambda_
    )


def advantages_and_returns(traj, v_tp1, gamma, lambda_, normalize_advantages=False):
    """Spinning Up's targets for VPG and TRPO, truncation aware, `[T, B]` each:
    GAE-lambda advantages (standardised over the batch with `normalize_advantages`), and
    the discounted rewards-to-go bootstrapped from V wherever a time limit or the rollout's
    end cuts an episode (GAE with lambda = 1) for V's regression.
    """
    adv, _ = traj_gae(traj, v_tp1, gamma, lambda_)
    _, ret = traj_gae(traj, v_tp1, gamma, 1.0)
    return (normalize(adv) if normalize_advantages else adv), ret
