"""Monte Carlo tree search with the true model, as a `Controller`.

`controller(env, env_params, config)` runs `purerl.planning.search.search` from the env's
state at every step (it plans from env states; run it with `evaluate_controller`). Leaves
are valued by random rollouts through the true model (`leaf_value="rollout"`, classic MCTS)
or by a policy/value network (`leaf_value="network"`, with its `params` and `net`; an
AlphaZero agent's: `purerl.planning.alphazero.controller`).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from purerl.planning.control import Controller
from purerl.planning.models import true_model
from purerl.planning.search import SearchConfig, make_evaluator, search


@dataclasses.dataclass(frozen=True)
class Config(SearchConfig):
    """The MCTS controller's settings: those of the search (`search.SearchConfig`: the
    policy, simulations, leaf values, rollouts, exploration noise), with its defaults."""


def controller(
    env,
    env_params,
    config: SearchConfig = Config(),
    params=None,
    model=None,
    explore=False,
    net=None,
):
    """MCTS with the true model (or `model`) as a `Controller`; without exploration noise
    unless `explore` (see `search.search`).

    `params`, `net`: the policy/value network and its parameters when
    `config.leaf_value == "network"` (e.g. an AlphaZero agent's `state.params`); unused for
    rollout leaf values. `config`: an `mcts.Config` (or any `search.SearchConfig`, e.g. an
    `alphazero.Config`).
    """
    if not isinstance(config, SearchConfig):
        raise ValueError(f"mcts.controller expects an mcts.Config, got {type(config).__name__}")
    if config.leaf_value == "network" and params is None:
        raise ValueError("mcts.controller: leaf_value='network' needs the network's params")
    model = true_model(env, env_params) if model is None else model
    evaluate = make_evaluator(env, env_params, config, model, net)

    def act(key, carry, env_state, obs):
        states = jax.tree.map(lambda x: x[None], model.state_of(env_state))
        out = search(key, params, model, evaluate, states, config, explore=explore)
        return out.action[0], carry

    return Controller(lambda: jnp.zeros(()), act)
