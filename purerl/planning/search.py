"""Monte Carlo tree search on discrete-action envs, through mctx: the search and its settings.

`search` runs mctx's `muzero_policy` (PUCT, Silver et al. 2018; Schrittwieser et al. 2020)
or `gumbel_muzero_policy` (Danihelka et al. 2022, "Policy improvement by planning with
Gumbel") with a `recurrent_fn` that steps a `Model` (e.g. the *true* environment,
`true_model`): the tree's embeddings are model states, rewards and terminations are the
model's own, and a node past the end of an episode is absorbing (reward 0, discount 0).
Leaves are valued by

* `rollout_evaluator`: the mean discounted return of uniformly random rollouts through the
  model (classic MCTS), with a uniform prior; or
* `network_evaluator`: a policy/value network (`prior_logits`, value) on the state's
  observation (AlphaZero).

`SearchConfig` holds the search's settings; `purerl.planning.mcts` (the true-model MCTS
controller) and `purerl.planning.alphazero` (the AlphaZero-style agent) build on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import mctx
from flax import struct

from purerl import envs
from purerl.core import validation as V
from purerl.envs import wrappers as w
from purerl.planning.models import Model, true_model
from purerl.types import PRNGKey

# evaluate(params, key, state) -> (prior_logits [A], value []) for one unbatched state
Evaluator = Callable[[object, PRNGKey, object], tuple[jax.Array, jax.Array]]


@dataclasses.dataclass(frozen=True)
class SearchConfig(V.ConfigBase):
    """The tree search's settings (defaults: the AlphaZero agent on CartPole-v1).

    The search's Q-values are min-max normalised by mctx, so `pb_c_init` does not depend
    on the reward scale; a small one (0.5) searches deep and narrow, which suits CartPole's
    long-horizon failure (the cart drifting off the track). Error messages name the
    concrete class (`mcts.Config`, `alphazero.Config`).
    """

    search: str = "muzero"  # "muzero" (PUCT) | "gumbel" (gumbel_muzero_policy)
    num_simulations: int = 16
    max_depth: int = 0  # deepest node the search may expand; 0: no limit
    discount: float = 0.99  # discount inside the tree (and of the value targets)
    leaf_value: str = "network"  # "network" | "rollout" (random rollouts, uniform prior)
    rollout_length: int = 50  # rollout leaf values: most steps per rollout (stops at the end)
    num_rollouts: int = 1  # rollout leaf values: rollouts averaged per leaf
    pb_c_init: float = 0.5  # muzero: PUCT exploration constant (mctx's default: 1.25)
    dirichlet_alpha: float = 0.3  # muzero: root noise in training
    dirichlet_fraction: float = 0.25
    temperature: float = 1.0  # muzero: acting temperature on visit counts in training
    gumbel_scale: float = 1.0  # gumbel: scale of the root Gumbel noise in training
    max_num_considered_actions: int = 16  # gumbel

    def _name(self) -> str:
        """`<module>.<class>` of the concrete Config, for error messages."""
        return f"{type(self).__module__.rsplit('.', 1)[-1]}.{type(self).__name__}"

    def __post_init__(self):
        super().__post_init__()
        c = self._name()
        for name in ("num_simulations", "rollout_length", "num_rollouts"):
            V.check_int(c, name, getattr(self, name))
        V.check_int(c, "max_num_considered_actions", self.max_num_considered_actions)
        V.check_int(c, "max_depth", self.max_depth, minimum=0)
        V.check_choice(c, "search", self.search, {"gumbel", "muzero"})
        V.check_choice(c, "leaf_value", self.leaf_value, {"network", "rollout"})
        V.check_unit(c, "discount", self.discount)
        V.check_unit(c, "dirichlet_fraction", self.dirichlet_fraction)
        for name in ("pb_c_init", "dirichlet_alpha"):
            V.check_positive(c, name, getattr(self, name))
        for name in ("temperature", "gumbel_scale"):
            V.check_positive(c, name, getattr(self, name), allow_zero=True)


# ----------------------------------------------------------------- value transform
def symlog(x):
    """`sign(x) log(1 + |x|)` (Hafner et al. 2023): regression targets of any scale."""
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


def symexp(x):
    """Inverse of `symlog`."""
    return jnp.sign(x) * jnp.expm1(jnp.abs(x))


# --------------------------------------------------------------------- leaf values
def random_rollout_return(
    key: PRNGKey, model: Model, state, num_actions: int, length: int, discount: float
) -> jax.Array:
    """Discounted return of one uniformly random rollout of at most `length` steps from
    `state`, stopping at the episode's end (rewards after `done` do not count). Step `t`
    draws from `fold_in(key, t)`. A while loop: it costs the rollout's survival, not
    `length` (under vmap, the longest rollout's)."""

    def cond(carry):
        _, alive, _, _, t = carry
        return alive & (t < length)

    def body(carry):
        s, _, g, disc, t = carry
        k_a, k_s = jax.random.split(jax.random.fold_in(key, t))
        a = jax.random.randint(k_a, (), 0, num_actions)
        s, r, done = model.step(k_s, s, a)
        return s, ~done, g + disc * r, disc * discount, t + 1

    zero = jnp.zeros((), jnp.float32)
    init = (state, jnp.asarray(True), zero, jnp.ones((), jnp.float32), jnp.zeros((), jnp.int32))
    return jax.lax.while_loop(cond, body, init)[2]


def rollout_evaluator(
    model: Model, num_actions: int, length: int, num_rollouts: int = 1, discount: float = 1.0
) -> Evaluator:
    """Leaf evaluation by random rollouts: uniform prior logits, value the mean return of
    `num_rollouts` random rollouts (params unused)."""

    def evaluate(params, key, state):
        keys = jax.random.split(key, num_rollouts)
        one = lambda k: random_rollout_return(k, model, state, num_actions, length, discount)
        return jnp.zeros(num_actions), jax.vmap(one)(keys).mean()

    return evaluate


def network_evaluator(net, model: Model) -> Evaluator:
    """Leaf evaluation by a policy/value network (`PolicyValueNet`, whose value head regresses
    symlog values) on the state's observation."""

    def evaluate(params, key, state):
        logits, h = net.apply(params, model.observe(state))
        return logits, symexp(h)

    return evaluate


# --------------------------------------------------------------------------- search
@struct.dataclass
class Node:
    """A search-tree embedding: the model state and whether its episode has ended."""

    state: object
    done: jax.Array


def make_recurrent_fn(model: Model, evaluate: Evaluator, discount: float):
    """mctx `recurrent_fn(params, key, action [B], Node [B])` stepping `model`.

    The transition's reward is the model's; the discount is 0 once the episode has ended
    (so the child's value is not bootstrapped); a node past the end is absorbing (reward 0).
    """

    def recurrent_fn(params, key, action, node):
        B = action.shape[0]
        k_step, k_eval = jax.random.split(key)
        state, r, d = jax.vmap(model.step)(jax.random.split(k_step, B), node.state, action)
        logits, value = jax.vmap(evaluate, in_axes=(None, 0, 0))(
            params, jax.random.split(k_eval, B), state
        )
        done = node.done | d
        out = mctx.RecurrentFnOutput(
            reward=jnp.where(node.done, 0.0, r),
            discount=jnp.where(done, 0.0, discount).astype(jnp.float32),
            prior_logits=logits,
            value=jnp.where(done, 0.0, value),
        )
        return out, Node(state, done)

    return recurrent_fn


def search(
    key: PRNGKey,
    params,
    model: Model,
    evaluate: Evaluator,
    states,
    config: SearchConfig,
    *,
    explore: bool = True,
) -> mctx.PolicyOutput:
    """Run the configured mctx search from a batch of model `states [B]`; the key is consumed.

    `explore=True` (training): root Dirichlet noise and visit-count sampling (muzero) or
    Gumbel noise (gumbel). `explore=False` (evaluation): no noise; the action is the most
    visited (muzero) or Gumbel's deterministic choice (gumbel).

    Returns mctx's `PolicyOutput`: `action [B]`, `action_weights [B, A]` (the policy
    targets) and the `search_tree` (`search_tree.summary().value`: root values `[B]`).
    """
    k_root, k_search = jax.random.split(key)
    B = jax.tree.leaves(states)[0].shape[0]
    logits, value = jax.vmap(evaluate, in_axes=(None, 0, 0))(
        params, jax.random.split(k_root, B), states
    )
    root = mctx.RootFnOutput(
        prior_logits=logits, value=value, embedding=Node(states, jnp.zeros(B, bool))
    )
    recurrent_fn = make_recurrent_fn(model, evaluate, config.discount)
    common = dict(
        params=params,
        rng_key=k_search,
        root=root,
        recurrent_fn=recurrent_fn,
        num_simulations=config.num_simulations,
        max_depth=config.max_depth or None,
    )
    if config.search == "muzero":
        return mctx.muzero_policy(
            **common,
            pb_c_init=config.pb_c_init,
            dirichlet_alpha=config.dirichlet_alpha,
            dirichlet_fraction=config.dirichlet_fraction if explore else 0.0,
            temperature=config.temperature if explore else 0.0,
        )
    return mctx.gumbel_muzero_policy(
        **common,
        max_num_considered_actions=config.max_num_considered_actions,
        gumbel_scale=config.gumbel_scale if explore else 0.0,
    )


# ------------------------------------------------------------------------- helpers
def check_env(env, env_params, who: str) -> int:
    """The number of actions of a discrete-action `env` whose observations are raw (the
    search evaluates observations of model states); ValueError naming `who` otherwise."""
    if not envs.is_discrete(env, env_params):
        raise ValueError(
            f"{who} searches over discrete actions; {envs.env_name(env)} has "
            f"{env.action_space(env_params)}. Use purerl.planning.mpc for continuous actions."
        )
    e = env
    while isinstance(e, w.Wrapper):
        if isinstance(e, w.NormalizeObservation):
            raise ValueError(
                f"{who}: the search evaluates raw observations of model states; build the env "
                "without normalize_obs"
            )
        e = e._env
    return envs.num_actions(env, env_params)


def make_evaluator(
    env, env_params, config: SearchConfig, model: Model | None = None, net=None
) -> Evaluator:
    """The leaf evaluator `config.leaf_value` asks for, over `model` (default: true model):
    random rollouts, or the policy/value network `net` (needed for "network")."""
    num_actions = check_env(env, env_params, "mcts")
    model = true_model(env, env_params) if model is None else model
    if config.leaf_value == "rollout":
        return rollout_evaluator(
            model, num_actions, config.rollout_length, config.num_rollouts, config.discount
        )
    if net is None:
        raise ValueError("leaf_value='network' needs the policy/value network (net=...)")
    return network_evaluator(net, model)
