"""Soft Actor-Critic (Haarnoja et al. 2018a, 2018b), with a discrete-action option
(Christodoulou 2019).

Continuous actions: a tanh-squashed diagonal Gaussian policy, `a = tanh(u)`,
`u ~ N(mu(s), sigma(s)^2)`, whose log-density carries the exact change-of-variables term
(`purerl.nets.tanh_gaussian_log_prob`, stable for `|a| -> 1`), and twin Q critics with
Polyak-averaged targets. Each update is `purerl.core.offpolicy`'s replay step (stochastic
policy for exploration, uniform actions before `learning_starts`), then per gradient step

  critic:  sum_k E[(Q_k(s, a) - y)^2],
           y = r + gamma (1 - terminated) (min_k Q_targ_k(s', a') - alpha log pi(a'|s')),
           a' ~ pi(.|s')
  actor:   E[alpha log pi(a~|s) - min_k Q_k(s, a~)],  a~ ~ pi(.|s) reparameterised
  alpha:   E[-log(alpha) (log pi(a~|s) + target_entropy)]  (`autotune`; else alpha fixed)

then the target critics follow by Polyak averaging (`tau`). `target_entropy` defaults to
`-action_dim`. Truncated steps bootstrap.

Discrete actions (`Discrete` spaces): a categorical policy and Q heads over actions; the
expectations over `pi(.|s)` are computed exactly, and the default target entropy is
`target_entropy_scale * log(num_actions)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from purerl import envs
from purerl.core import counter, offpolicy
from purerl.core import validation as V
from purerl.core.buffers import make_replay_buffer
from purerl.core.losses import critic_loss
from purerl.core.offpolicy import polyak
from purerl.core.returns import td_target
from purerl.nets import (
    ContinuousQEnsemble,
    DiscreteActor,
    DiscreteQEnsemble,
    TanhGaussianActor,
    tanh_gaussian_sample,
)
from purerl.types import Agent

__all__ = [
    "Config",
    "Head",
    "State",
    "actor_loss",
    "alpha_loss",
    "continuous_head",
    "critic_loss",
    "discrete_head",
    "discrete_soft_value",
    "make",
    "soft_q_targets",
]


@dataclasses.dataclass(frozen=True)
class Config(offpolicy.ActorCriticConfig):
    """SAC hyper-parameters (defaults: a Pendulum-ready setting; the target critics follow
    by Polyak averaging with `tau` after every gradient step)."""

    alpha_learning_rate: float = 1e-3
    alpha: float = 0.2  # the initial (autotune) or fixed entropy temperature
    autotune: bool = True  # tune alpha toward target_entropy
    target_entropy: float | None = None  # None: -action_dim (continuous) / scaled log(A)
    target_entropy_scale: float = 0.5  # discrete default: scale * log(num_actions)
    num_critics: int = 2

    def __post_init__(self):
        super().__post_init__()
        c = "sac.Config"
        V.check_positive(c, "alpha_learning_rate", self.alpha_learning_rate)
        V.check_positive(c, "alpha", self.alpha)
        V.check_unit(c, "target_entropy_scale", self.target_entropy_scale)
        V.check_int(c, "num_critics", self.num_critics)


@struct.dataclass
class State:
    """SAC train state (a pytree)."""

    actor_params: dict
    critic_params: dict  # [num_critics] stacked
    target_critic_params: dict
    log_alpha: jax.Array
    actor_opt_state: optax.OptState
    critic_opt_state: optax.OptState
    alpha_opt_state: optax.OptState
    buffer_state: object
    env_state: object  # [num_envs]
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: counter.Count  # updates done (wide: exact past 2^31)


# ------------------------------------------------------------------- pure pieces
def soft_q_targets(r_t, terminated_t, q_next, log_prob_next, alpha, gamma):
    """`y = r + gamma (1 - terminated) (min_k q_next[k] - alpha log pi(a'|s'))`.

    q_next: `[K, N]` target critics at `(s', a')` with `a' ~ pi(.|s')`;
    log_prob_next: `[N]`. Returns `[N]` (no gradient).
    """
    v_next = jnp.min(q_next, axis=0) - alpha * log_prob_next
    return jax.lax.stop_gradient(td_target(r_t, v_next, terminated_t, gamma))


def discrete_soft_value(logits, q, alpha):
    """`V(s) = sum_a pi(a|s) (q(s, a) - alpha log pi(a|s))` for logits and `q` `[..., A]`."""
    log_pi = jax.nn.log_softmax(logits, axis=-1)
    return jnp.sum(jnp.exp(log_pi) * (q - alpha * log_pi), axis=-1)


def actor_loss(log_prob, q_min, alpha):
    """`E[alpha log pi(a|s) - min_k Q_k(s, a)]` for reparameterised `a ~ pi(.|s)`."""
    return jnp.mean(alpha * log_prob - q_min)


def alpha_loss(log_alpha, log_prob, target_entropy):
    """Temperature loss `E[-log(alpha) (log pi(a|s) + target_entropy)]` (Haarnoja et al.
    2018b, eq. 18, in log-space): alpha grows while the entropy is below the target."""
    return -jnp.mean(log_alpha * jax.lax.stop_gradient(log_prob + target_entropy))


# ------------------------------------------------------------------- the heads
class Head(NamedTuple):
    """What differs between continuous and discrete SAC, chosen once in `make`."""

    actor: Any  # the policy network (a flax module)
    critic: Any  # the critic ensemble (a flax module)
    default_target_entropy: float
    init_critic: Callable  # (key, obs [1, ...]) -> critic params
    explore: Callable  # (actor_params, obs, key) -> action: a sample of pi(.|s)
    q_values: Callable  # (critic_params, obs [N], action [N]) -> Q [K, N]
    target: Callable  # (actor_params, target_critic_params, batch, key, alpha) -> y [N]
    pi_loss: Callable  # (actor_params, critic_params, obs, key, alpha) -> (loss, entropy [N])
    act: Callable  # (actor_params, obs) -> the evaluation action


def continuous_head(env, env_params, config, obs_ndim: int, **net_kwargs) -> Head:
    """Tanh-squashed Gaussian actor, `Q(s, a)` critics; expectations over `pi` by one
    reparameterised sample."""
    action_shape = envs.action_shape(env, env_params)
    action_dim = envs.action_dim(env, env_params)
    hidden, act_fn = tuple(config.hidden_sizes), config.activation
    actor = TanhGaussianActor(action_dim, hidden, act_fn, obs_ndim, **net_kwargs)
    critic = ContinuousQEnsemble(config.num_critics, hidden, act_fn, obs_ndim, **net_kwargs)

    def sample(params, obs, key):
        """`(action [..., *action_shape], log_prob [...])`."""
        mean, log_std = actor.apply(params, obs)
        a, log_prob = tanh_gaussian_sample(key, mean, log_std)
        return a.reshape(a.shape[:-1] + action_shape), log_prob

    def q_values(params, obs, action):
        return critic.apply(params, obs, action.reshape(action.shape[:1] + (-1,)))

    def target(actor_params, target_critic_params, batch, key, alpha):
        a_next, logp_next = sample(actor_params, batch["next_obs"], key)
        q_next = q_values(target_critic_params, batch["next_obs"], a_next)
        r, term = batch["reward"], batch["terminated"]
        return soft_q_targets(r, term, q_next, logp_next, alpha, config.gamma)

    def pi_loss(actor_params, critic_params, obs, key, alpha):
        a, log_prob = sample(actor_params, obs, key)
        q = jnp.min(q_values(critic_params, obs, a), axis=0)
        return actor_loss(log_prob, q, alpha), -log_prob

    def act(params, obs):
        mean, _ = actor.apply(params, obs)
        return jnp.tanh(mean).reshape(mean.shape[:-1] + action_shape)

    return Head(
        actor=actor,
        critic=critic,
        default_target_entropy=-float(action_dim),
        init_critic=lambda key, obs: critic.init(key, obs, jnp.zeros((1, action_dim))),
        explore=lambda params, obs, key: sample(params, obs, key)[0],
        q_values=q_values,
        target=target,
        pi_loss=pi_loss,
        act=act,
    )


def discrete_head(env, env_params, config, obs_ndim: int, **net_kwargs) -> Head:
    """Categorical actor, `Q(s, .)` critics over all actions; expectations over `pi`
    computed exactly (Christodoulou 2019)."""
    n = envs.num_actions(env, env_params)
    hidden, act_fn = tuple(config.hidden_sizes), config.activation
    net_kwargs = {"torso": config.torso_spec, **net_kwargs}
    actor = DiscreteActor(n, hidden, act_fn, obs_ndim, **net_kwargs)
    critic = DiscreteQEnsemble(n, config.num_critics, hidden, act_fn, obs_ndim, **net_kwargs)

    def explore(params, obs, key):
        return jax.random.categorical(key, actor.apply(params, obs)).astype(jnp.int32)

    def q_values(params, obs, action):
        q = critic.apply(params, obs)  # [K, N, A]
        idx = jnp.broadcast_to(action.astype(jnp.int32)[None, :, None], q.shape[:-1] + (1,))
        return jnp.take_along_axis(q, idx, axis=-1)[..., 0]

    def target(actor_params, target_critic_params, batch, key, alpha):
        logits = actor.apply(actor_params, batch["next_obs"])
        q_next = jnp.min(critic.apply(target_critic_params, batch["next_obs"]), axis=0)
        v_next = discrete_soft_value(logits, q_next, alpha)
        return jax.lax.stop_gradient(
            td_target(batch["reward"], v_next, batch["terminated"], config.gamma)
        )

    def pi_loss(actor_params, critic_params, obs, key, alpha):
        log_pi = jax.nn.log_softmax(actor.apply(actor_params, obs), axis=-1)
        q = jnp.min(critic.apply(critic_params, obs), axis=0)
        pi = jnp.exp(log_pi)
        loss = jnp.mean(jnp.sum(pi * (alpha * log_pi - q), axis=-1))
        return loss, -jnp.sum(pi * log_pi, axis=-1)

    def act(params, obs):
        return jnp.argmax(actor.apply(params, obs), axis=-1).astype(jnp.int32)

    return Head(
        actor=actor,
        critic=critic,
        default_target_entropy=config.target_entropy_scale * float(np.log(n)),
        init_critic=critic.init,
        explore=explore,
        q_values=q_values,
        target=target,
        pi_loss=pi_loss,
        act=act,
    )


# ------------------------------------------------------------------------- make
def make(env, env_params, config: Config = Config(), *, buffer=None, input_fn=None) -> Agent:
    """Build SAC for a continuous- or discrete-action `env`. Raises ValueError on bad input.

    `buffer`: a custom `ReplayBuffer` in place of the uniform one; `input_fn`: what the
    networks read of an observation (both set by `purerl.algos.her` for goal dicts)."""
    if not isinstance(config, Config):
        raise ValueError(f"sac.make expects a sac.Config, got {type(config).__name__}")
    build = discrete_head if envs.is_discrete(env, env_params) else continuous_head
    obs_ndim = envs.obs_ndim(env, env_params)
    head = build(env, env_params, config, obs_ndim, input_fn=input_fn)
    actor = head.actor
    target_entropy = (
        head.default_target_entropy if config.target_entropy is None else config.target_entropy
    )
    actor_tx = optax.adam(config.actor_learning_rate)
    critic_tx = optax.adam(config.critic_learning_rate)
    alpha_tx = optax.adam(config.alpha_learning_rate)
    if buffer is None:
        buffer = make_replay_buffer(config.buffer_size, config.batch_size)

    def init(key) -> State:
        k_actor, k_critic, k_rest = jax.random.split(key, 3)
        fields = offpolicy.init_fields(k_rest, env, env_params, config.num_envs, buffer)
        obs = jax.tree.map(lambda x: x[:1], fields["obs"])
        actor_params = actor.init(k_actor, obs)
        critic_params = head.init_critic(k_critic, obs)
        log_alpha = jnp.log(jnp.asarray(config.alpha, jnp.float32))
        return State(
            actor_params=actor_params,
            critic_params=critic_params,
            target_critic_params=critic_params,
            log_alpha=log_alpha,
            actor_opt_state=actor_tx.init(actor_params),
            critic_opt_state=critic_tx.init(critic_params),
            alpha_opt_state=alpha_tx.init(log_alpha),
            **fields,
        )

    def policy(state, obs, key, env_steps):
        return head.explore(state.actor_params, obs, key)

    def q_loss(critic_params, state, batch, key):
        alpha = jnp.exp(state.log_alpha)
        target = head.target(state.actor_params, state.target_critic_params, batch, key, alpha)
        q = head.q_values(critic_params, batch["obs"], batch["action"])
        return critic_loss(q, target), q.min(axis=0).mean()

    def pi_loss(actor_params, state, obs, key):
        """Returns `(loss, entropy estimate)`; the entropy drives the temperature."""
        alpha = jnp.exp(state.log_alpha)
        return head.pi_loss(actor_params, state.critic_params, obs, key, alpha)

    def learn(state, batch, key):
        k_critic, k_actor = jax.random.split(key)
        (loss_q, q_mean), grads = jax.value_and_grad(q_loss, has_aux=True)(
            state.critic_params, state, batch, k_critic
        )
        updates, critic_opt = critic_tx.update(grads, state.critic_opt_state)
        critic_params = optax.apply_updates(state.critic_params, updates)
        state = state.replace(critic_params=critic_params, critic_opt_state=critic_opt)

        (loss_pi, entropy), grads = jax.value_and_grad(pi_loss, has_aux=True)(
            state.actor_params, state, batch["obs"], k_actor
        )
        updates, actor_opt = actor_tx.update(grads, state.actor_opt_state)
        actor_params = optax.apply_updates(state.actor_params, updates)
        state = state.replace(actor_params=actor_params, actor_opt_state=actor_opt)

        loss_alpha = jnp.zeros((), jnp.float32)
        if config.autotune:
            loss_alpha, grad = jax.value_and_grad(alpha_loss)(
                state.log_alpha, -entropy, target_entropy
            )
            updates, alpha_opt = alpha_tx.update(grad, state.alpha_opt_state)
            state = state.replace(
                log_alpha=optax.apply_updates(state.log_alpha, updates),
                alpha_opt_state=alpha_opt,
            )
        state = state.replace(
            target_critic_params=polyak(state.target_critic_params, critic_params, config.tau)
        )
        metrics = {
            "loss/critic": loss_q,
            "loss/actor": loss_pi,
            "loss/alpha": loss_alpha,
            "alpha": jnp.exp(state.log_alpha),
            "entropy": jnp.mean(entropy),
            "q_mean": q_mean,
        }
        return state, metrics

    update = offpolicy.make_update(
        env,
        env_params,
        buffer,
        config,
        policy=policy,
        learn=learn,
    )

    def act(state: State, obs, key):
        return head.act(state.actor_params, obs)

    return Agent(init, update, act, config.num_updates, env, env_params, config)
