"""An AlphaZero-style agent (Silver et al. 2018): tree search with the true model and a
learned policy/value network.

`make(env, env_params, config)` builds the `Agent`: act by search (`search.search`, with the
network's leaf values) in `num_envs` envs; train the network's policy on the search's action
weights (cross-entropy) and its value on lambda-returns of the observed rewards,
bootstrapped with the search's root values (regressed in symlog space, so the value scale
needs no tuning). `Agent.act` is the raw network's greedy policy;
`controller(env, env_params, config, state.params)` evaluates it with search.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl import envs
from purerl.core import counter
from purerl.core import validation as V
from purerl.core.buffers import make_replay_buffer
from purerl.core.returns import gae
from purerl.core.rollout import env_step, episode_metrics, reset_envs
from purerl.nets import ACTIVATIONS, PolicyValueNet
from purerl.planning import mcts
from purerl.planning.models import true_model
from purerl.planning.search import (
    SearchConfig,
    check_env,
    network_evaluator,
    search,
    symexp,
    symlog,
)
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(SearchConfig):
    """AlphaZero hyper-parameters: the search's (`search.SearchConfig`, whose defaults are
    this agent's on CartPole-v1; `leaf_value` must be "network") and the training's."""

    total_timesteps: int = 40_960  # env steps of one training run (per seed)
    num_envs: int = 8
    num_steps: int = 32  # steps per env per update
    buffer_size: int = 10_000
    batch_size: int = 256
    gradient_steps: int = 16  # minibatch steps per update
    learning_rate: float = 1e-3
    max_grad_norm: float = 1.0
    value_coef: float = 1.0
    td_lambda: float = 0.95  # lambda of the value targets
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"

    def __post_init__(self):
        super().__post_init__()
        c = self._name()
        for name in (
            "total_timesteps",
            "num_envs",
            "num_steps",
            "buffer_size",
            "batch_size",
            "gradient_steps",
        ):
            V.check_int(c, name, getattr(self, name))
        V.check_unit(c, "td_lambda", self.td_lambda)
        for name in ("learning_rate", "max_grad_norm"):
            V.check_positive(c, name, getattr(self, name))
        V.check_positive(c, "value_coef", self.value_coef, allow_zero=True)
        V.check_sizes(c, "hidden_sizes", self.hidden_sizes)
        V.check_choice(c, "activation", self.activation, set(ACTIVATIONS))
        if self.batch_size > self.buffer_size:
            raise ValueError(f"{c}: batch_size {self.batch_size} > buffer_size {self.buffer_size}")
        if self.total_timesteps < self.num_envs * self.num_steps:
            raise ValueError(
                f"{c}: total_timesteps {self.total_timesteps} is less than one update "
                f"(num_envs * num_steps = {self.num_envs * self.num_steps})"
            )

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // (self.num_envs * self.num_steps)


@struct.dataclass
class State:
    """AlphaZero-style train state (a pytree)."""

    params: dict
    opt_state: optax.OptState
    buffer_state: object  # (obs, search policy, value target)
    env_state: object  # [num_envs]
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: counter.Count  # updates done (wide: exact past 2^31)


def _network(env, env_params, config: Config, who: str) -> PolicyValueNet:
    num_actions = check_env(env, env_params, who)
    obs_ndim = len(envs.obs_shape(env, env_params))
    return PolicyValueNet(num_actions, tuple(config.hidden_sizes), config.activation, obs_ndim)


def controller(env, env_params, config: Config, params, explore=False):
    """The agent's network (`params`, e.g. a trained `state.params`) inside the search, as
    a `Controller` (see `mcts.controller`)."""
    net = _network(env, env_params, config, "mcts")
    return mcts.controller(env, env_params, config, params=params, explore=explore, net=net)


def loss_fn(params, net, batch, value_coef):
    """AlphaZero's loss: `CE(pi_search, pi_theta) + value_coef * 0.5 (h - symlog(z))^2`,
    with `h` the value head's output (a symlog value). `batch`: `obs, policy [N, A],
    target [N]`."""
    logits, h = net.apply(params, batch["obs"])
    policy_loss = jnp.mean(optax.softmax_cross_entropy(logits, batch["policy"]))
    value_loss = 0.5 * jnp.mean(jnp.square(h - symlog(batch["target"])))
    return policy_loss + value_coef * value_loss, (policy_loss, value_loss)


def make(env, env_params, config: Config = Config()) -> Agent:
    """AlphaZero-style agent with the true model of a discrete-action `env`. Raises
    ValueError on bad input."""
    if not isinstance(config, Config):
        raise ValueError(f"alphazero.make expects an alphazero.Config, got {type(config).__name__}")
    if config.leaf_value != "network":
        raise ValueError("alphazero.make trains a network: it needs leaf_value='network'")
    net = _network(env, env_params, config, "alphazero.make")
    num_actions = net.num_actions
    model = true_model(env, env_params)
    evaluate = network_evaluator(net, model)
    tx = optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate)
    )
    buffer = make_replay_buffer(config.buffer_size, config.batch_size)
    B, T = config.num_envs, config.num_steps
    grad_fn = jax.grad(loss_fn, has_aux=True)

    def init(key) -> State:
        k_net, k_env, k_state = jax.random.split(key, 3)
        obs, env_state = reset_envs(k_env, env, env_params, B)
        params = net.init(k_net, obs[:1])
        item = {
            "obs": obs[0],
            "policy": jnp.zeros(num_actions),
            "target": jnp.zeros(()),
        }
        return State(
            params=params,
            opt_state=tx.init(params),
            buffer_state=buffer.init(item),
            env_state=env_state,
            obs=obs,
            key=k_state,
            step=counter.zero(),
        )

    def update(state: State):
        key, k_roll, k_learn = jax.random.split(state.key, 3)

        def step(carry, k):
            env_state, obs = carry
            states = model.state_of(env_state)

            def policy(obs, k):
                out = search(k, state.params, model, evaluate, states, config)
                root_value = out.search_tree.summary().value
                extras = {"policy": out.action_weights, "root_value": root_value}
                return out.action.astype(jnp.int32), extras

            env_state, obs, tr = env_step(k, env, env_params, policy, env_state, obs)
            return (env_state, obs), tr

        (env_state, obs), traj = jax.lax.scan(
            step, (state.env_state, state.obs), jax.random.split(k_roll, T)
        )
        # Lambda-returns over the search's root values v_t. Within an episode the next
        # state's value is the next root value (GAE telescopes only if v_tp1[t] = v_t[t+1]);
        # after a truncation and at the rollout's end, the network's value of the true next
        # observation.
        v_t = traj.extras["root_value"]
        _, h_tp1 = net.apply(state.params, traj.next_obs)
        v_next = jnp.concatenate([v_t[1:], symexp(h_tp1[-1:])], axis=0)
        v_tp1 = jnp.where(traj.done, symexp(h_tp1), v_next)
        _, targets = gae(
            traj.reward,
            v_t,
            v_tp1,
            traj.terminated,
            traj.truncated,
            config.discount,
            config.td_lambda,
        )
        flat = lambda x: x.reshape((T * B,) + x.shape[2:])
        items = {
            "obs": flat(traj.obs),
            "policy": flat(traj.extras["policy"]),
            "target": flat(targets),
        }
        buffer_state = buffer.add(state.buffer_state, items)

        def grad_step(carry, k):
            params, opt_state = carry
            batch = buffer.sample(buffer_state, k)
            grads, (pl, vl) = grad_fn(params, net, batch, config.value_coef)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), (pl, vl)

        (params, opt_state), (pl, vl) = jax.lax.scan(
            grad_step,
            (state.params, state.opt_state),
            jax.random.split(k_learn, config.gradient_steps),
        )
        weights = traj.extras["policy"]
        metrics = {
            "loss/policy": pl.mean(),
            "loss/value": vl.mean(),
            "search_value": traj.extras["root_value"].mean(),
            "search_entropy": -jnp.sum(weights * jnp.log(weights + 1e-8), -1).mean(),
            "env_steps": counter.to_float(state.step + 1, T * B),
        }
        metrics.update(episode_metrics(traj.info))
        new_state = State(
            params=params,
            opt_state=opt_state,
            buffer_state=buffer_state,
            env_state=env_state,
            obs=obs,
            key=key,
            step=state.step + 1,
        )
        return new_state, metrics

    def act(state: State, obs, key):
        logits, _ = net.apply(state.params, obs)
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)

    return Agent(init, update, act, config.num_updates, env, env_params, config)
