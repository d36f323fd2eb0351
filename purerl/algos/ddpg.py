"""Deep Deterministic Policy Gradient (Lillicrap et al. 2016), Spinning Up's variant.

A deterministic actor `mu(s)` in [-1, 1]^d (`tanh` output; `purerl.make_env` rescales to
the env's bounds) and a Q critic, each with a target network that follows by Polyak
averaging (`tau`) after every gradient step. Each update is `purerl.core.offpolicy`'s
replay step: collect `train_frequency` steps per env with Gaussian exploration noise
`a = clip(mu(s) + exploration_noise * eps, -1, 1)` (uniform actions before
`learning_starts`), store them with the true next observation, then take
`gradient_steps` steps of

  critic:  L(phi)   = E[(Q_phi(s, a) - y)^2],
           y = r + gamma (1 - terminated) Q_targ(s', mu_targ(s'))
  actor:   L(theta) = -E[Q_phi(s, mu_theta(s))]

Truncated steps bootstrap. TD3 (`purerl.algos.td3`) is this loop with twin critics,
target policy smoothing and delayed actor updates; both are built by
`make_deterministic_agent` below.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl import envs
from purerl.core import counter, offpolicy
from purerl.core import validation as V
from purerl.core.buffers import make_replay_buffer
from purerl.core.losses import critic_loss
from purerl.core.offpolicy import polyak
from purerl.core.returns import td_target
from purerl.nets import ContinuousQEnsemble, DeterministicActor
from purerl.types import Agent

__all__ = [
    "Config",
    "DeterministicConfig",
    "State",
    "actor_loss",
    "critic_loss",
    "critic_targets",
    "exploration_actions",
    "make",
    "make_deterministic_agent",
]


@dataclasses.dataclass(frozen=True)
class DeterministicConfig(offpolicy.ActorCriticConfig):
    """The hyper-parameters DDPG and TD3 share: the replay loop's, the actor's and critic's
    Adam step sizes and the Gaussian exploration noise (defaults: a Pendulum-ready setting)."""

    exploration_noise: float = 0.1  # std of the Gaussian action noise, in [-1, 1] units

    def __post_init__(self):
        super().__post_init__()
        c = V.config_name(self)
        V.check_positive(c, "exploration_noise", self.exploration_noise, allow_zero=True)


@dataclasses.dataclass(frozen=True)
class Config(DeterministicConfig):
    """DDPG hyper-parameters (defaults: a Pendulum-ready setting; target networks follow by
    Polyak averaging with `tau` after every gradient step)."""


@struct.dataclass
class State:
    """DDPG / TD3 train state (a pytree)."""

    actor_params: dict
    critic_params: dict  # [num_critics] stacked
    target_actor_params: dict
    target_critic_params: dict
    actor_opt_state: optax.OptState
    critic_opt_state: optax.OptState
    grad_steps: counter.Count  # gradient steps taken (TD3's policy delay counts these)
    buffer_state: object
    env_state: object  # [num_envs]
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: counter.Count  # updates done (wide: exact past 2^31)


# ------------------------------------------------------------------- pure pieces
def exploration_actions(key, mu, noise_std):
    """`clip(mu + noise_std * eps, -1, 1)`, eps ~ N(0, I)."""
    return jnp.clip(mu + noise_std * jax.random.normal(key, mu.shape), -1.0, 1.0)


def critic_targets(
    key, r_t, terminated_t, mu_next, q_next_fn, gamma, target_noise=0.0, noise_clip=0.5
):
    """Bootstrapped critic targets of DDPG (no noise, one critic) and TD3.

      a'  = clip(mu_targ(s') + clip(target_noise * eps, -noise_clip, noise_clip), -1, 1)
      y   = r + gamma (1 - terminated) min_k Q_targ_k(s', a')

    Args:
      key: draws `eps = jax.random.normal(key, mu_next.shape)` (unused without noise).
      r_t, terminated_t: `[N]`.
      mu_next: the target actor's actions at the true next observations, `[N, d]`.
      q_next_fn: `a' [N, d] -> [K, N]`, the K target critics at the next observations.
      gamma, target_noise, noise_clip: scalars (may be traced; `target_noise` a Python 0
        skips the smoothing).

    Returns:
      `[N]` targets (no gradient flows through them).
    """
    a_next = mu_next
    if not (isinstance(target_noise, int | float) and target_noise == 0):
        eps = jax.random.normal(key, mu_next.shape)
        noise = jnp.clip(target_noise * eps, -noise_clip, noise_clip)
        a_next = jnp.clip(mu_next + noise, -1.0, 1.0)
    q_next = jnp.min(q_next_fn(a_next), axis=0)
    return jax.lax.stop_gradient(td_target(r_t, q_next, terminated_t, gamma))


def actor_loss(q_first):
    """`-E[Q_1(s, mu(s))]` (the first critic, as in TD3)."""
    return -jnp.mean(q_first)


# ------------------------------------------------------------------------- make
def make_deterministic_agent(
    env,
    env_params,
    config,
    name: str,
    *,
    num_critics: int,
    target_noise=0.0,
    noise_clip=0.5,
    policy_delay: int = 1,
    buffer=None,
    input_fn=None,
) -> Agent:
    """DDPG (`num_critics=1`, no smoothing, `policy_delay=1`) and TD3 (twin critics,
    target policy smoothing, actor and target updates every `policy_delay` critic steps)."""
    if envs.is_discrete(env, env_params):
        raise ValueError(
            f"{name} needs a continuous (Box) action space; {envs.env_name(env)} has "
            f"{env.action_space(env_params)}. Use dqn, c51, qrdqn or sac for discrete actions."
        )
    obs_ndim = len(envs.obs_shape(env, env_params))
    action_dim = envs.action_dim(env, env_params)
    action_shape = envs.action_shape(env, env_params)
    hidden = tuple(config.hidden_sizes)
    actor = DeterministicActor(action_dim, hidden, config.activation, obs_ndim, input_fn)
    critic = ContinuousQEnsemble(num_critics, hidden, config.activation, obs_ndim, input_fn)
    actor_tx = optax.adam(config.actor_learning_rate)
    critic_tx = optax.adam(config.critic_learning_rate)
    if buffer is None:
        buffer = make_replay_buffer(config.buffer_size, config.batch_size)

    def mu(params, obs):
        out = actor.apply(params, obs)  # [..., action_dim]
        return out.reshape(out.shape[:-1] + action_shape)

    def init(key) -> State:
        k_actor, k_critic, k_rest = jax.random.split(key, 3)
        fields = offpolicy.init_fields(k_rest, env, env_params, config.num_envs, buffer)
        obs = jax.tree.map(lambda x: x[:1], fields["obs"])
        actor_params = actor.init(k_actor, obs)
        critic_params = critic.init(k_critic, obs, mu(actor_params, obs))
        return State(
            actor_params=actor_params,
            critic_params=critic_params,
            target_actor_params=actor_params,
            target_critic_params=critic_params,
            actor_opt_state=actor_tx.init(actor_params),
            critic_opt_state=critic_tx.init(critic_params),
            grad_steps=counter.zero(),
            **fields,
        )

    def policy(state, obs, key, env_steps):
        return exploration_actions(key, mu(state.actor_params, obs), config.exploration_noise)

    def q_loss(critic_params, state, batch, key):
        target = critic_targets(
            key,
            batch["reward"],
            batch["terminated"],
            mu(state.target_actor_params, batch["next_obs"]),
            lambda a: critic.apply(state.target_critic_params, batch["next_obs"], a),
            config.gamma,
            target_noise,
            noise_clip,
        )
        q = critic.apply(critic_params, batch["obs"], batch["action"])
        return critic_loss(q, target), q[0].mean()

    def pi_loss(actor_params, critic_params, obs):
        q = critic.apply(critic_params, obs, mu(actor_params, obs))
        return actor_loss(q[0])

    def learn(state, batch, key):
        (loss_q, q_mean), grads = jax.value_and_grad(q_loss, has_aux=True)(
            state.critic_params, state, batch, key
        )
        updates, critic_opt = critic_tx.update(grads, state.critic_opt_state)
        critic_params = optax.apply_updates(state.critic_params, updates)
        state = state.replace(
            critic_params=critic_params,
            critic_opt_state=critic_opt,
            grad_steps=state.grad_steps + 1,
        )

        def actor_and_targets(state):
            loss_pi, grads = jax.value_and_grad(pi_loss)(
                state.actor_params, state.critic_params, batch["obs"]
            )
            updates, actor_opt = actor_tx.update(grads, state.actor_opt_state)
            actor_params = optax.apply_updates(state.actor_params, updates)
            state = state.replace(
                actor_params=actor_params,
                actor_opt_state=actor_opt,
                target_actor_params=polyak(state.target_actor_params, actor_params, config.tau),
                target_critic_params=polyak(
                    state.target_critic_params, state.critic_params, config.tau
                ),
            )
            return state, loss_pi

        if policy_delay == 1:
            state, loss_pi = actor_and_targets(state)
        else:
            due = counter.divisible(state.grad_steps, policy_delay)
            skip = lambda s: (s, pi_loss(s.actor_params, s.critic_params, batch["obs"]))
            state, loss_pi = jax.lax.cond(due, actor_and_targets, skip, state)
        return state, {"loss/critic": loss_q, "loss/actor": loss_pi, "q_mean": q_mean}

    update = offpolicy.make_update(
        env,
        env_params,
        buffer,
        config,
        policy=policy,
        learn=learn,
    )

    def act(state: State, obs, key):
        return mu(state.actor_params, obs)

    return Agent(init, update, act, config.num_updates, env, env_params, config)


def make(env, env_params, config: Config = Config(), *, buffer=None, input_fn=None) -> Agent:
    """Build DDPG for a continuous-action `env`. Raises ValueError on bad input.

    `buffer`: a custom `ReplayBuffer` in place of the uniform one; `input_fn`: what the
    networks read of an observation (both set by `purerl.algos.her` for goal dicts)."""
    if not isinstance(config, Config):
        raise ValueError(f"ddpg.make expects a ddpg.Config, got {type(config).__name__}")
    return make_deterministic_agent(
        env, env_params, config, "DDPG", num_critics=1, buffer=buffer, input_fn=input_fn
    )
