"""Behaviour cloning: supervised learning of the expert's actions from demonstrations.

Maximum likelihood on the demonstrated pairs (Pomerleau 1991; Bain and Sammut 1995):

  discrete:    L = -E_(s,a)~D[log pi(a|s)] - ent_coef H[pi(.|s)] + l2_coef ||theta||^2
  continuous:  the same Gaussian NLL, or `loss="mse"`: E||mu(s) - a||^2 + l2 (a
               deterministic policy)

(`purerl.imitation.policy`). Each `update` is one epoch: a fresh random permutation of the
`M` valid demo steps cut into `M // batch_size` minibatches (the remainder waits for a
later epoch), one Adam step each. BC never steps the environment (`env_steps` stays 0);
the agent's budget is `num_epochs`. `act` is the greedy / mean action, so
`purerl.evaluate(agent, state, key, n)` scores the clone.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl.core import validation as V
from purerl.imitation.demos import Demos, check_demos, flatten_episodes
from purerl.imitation.policy import Policy, PolicyConfig, bc_loss, l2_penalty, sgd_step
from purerl.types import Agent

__all__ = ["Config", "State", "bc_loss", "dataset", "l2_penalty", "make"]


@dataclasses.dataclass(frozen=True)
class Config(PolicyConfig):
    """BC hyper-parameters: `PolicyConfig`'s, plus the number of epochs."""

    num_epochs: int = 100  # passes over the demos; one `update` each

    def __post_init__(self):
        super().__post_init__()
        c = "bc.Config"
        self._validate(c)
        V.check_int(c, "num_epochs", self.num_epochs)

    @property
    def num_updates(self) -> int:
        return self.num_epochs


@struct.dataclass
class State:
    """BC train state (a pytree); the demos are constants of the agent."""

    params: dict
    opt_state: optax.OptState
    key: jax.Array
    step: jax.Array  # epochs done


def dataset(demos: Demos) -> dict[str, jax.Array]:
    """The valid `(obs, action)` pairs of `demos`: `{"obs": [M, ...], "action": [M, ...]}`."""
    flat = flatten_episodes(demos)
    return {"obs": jnp.asarray(flat.obs), "action": jnp.asarray(flat.action)}


def make(env, env_params, demos: Demos, config: Config = Config()) -> Agent:
    """Behaviour cloning of `demos` (`purerl.imitation.Demos`) for `env`.

    Raises:
      ValueError: a wrong config type, demos that do not fit `env` (observation / action
        shapes), or `loss="mse"` with discrete actions.
    """
    if not isinstance(config, Config):
        raise ValueError(f"bc.make expects a bc.Config, got {type(config).__name__}")
    check_demos(demos, "bc.make", env, env_params)
    policy = Policy(env, env_params, config, "bc.make")
    data = dataset(demos)
    M = int(data["obs"].shape[0])
    mb = min(config.batch_size, M)
    num_batches = M // mb

    def init(key) -> State:
        k_net, k_state = jax.random.split(key)
        params = policy.init(k_net, data["obs"][:1])
        return State(
            params=params,
            opt_state=policy.tx.init(params),
            key=k_state,
            step=jnp.zeros((), jnp.int32),
        )

    def update(state: State):
        key, k_perm = jax.random.split(state.key)
        perm = jax.random.permutation(k_perm, M)[: num_batches * mb]
        batches = jax.tree.map(lambda x: x[perm].reshape((num_batches, mb) + x.shape[1:]), data)

        def step(carry, batch):
            params, opt_state = carry
            params, opt_state, aux = sgd_step(policy, params, opt_state, batch)
            return (params, opt_state), aux

        (params, opt_state), aux = jax.lax.scan(step, (state.params, state.opt_state), batches)
        metrics = jax.tree.map(jnp.mean, aux)
        metrics["env_steps"] = jnp.zeros((), jnp.float32)
        new_state = State(params=params, opt_state=opt_state, key=key, step=state.step + 1)
        return new_state, metrics

    def act(state: State, obs, key):
        return policy.act(state.params, obs)

    return Agent(init, update, act, config.num_updates, env, env_params, config)
