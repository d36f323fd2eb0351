"""Monte Carlo tree search on discrete-action envs, through mctx, and an AlphaZero-style agent.

The search runs mctx's `muzero_policy` (PUCT, Silver et al. 2018; Schrittwieser et al. 2020)
or `gumbel_muzero_policy` (Danihelka et al. 2022, "Policy improvement by planning with
Gumbel") with a `recurrent_fn` that steps the *true* environment (`true_model`): the tree's
embeddings are env states, rewards and terminations are the env's own, and a node past the
end of an episode is absorbing (reward 0, discount 0). Leaves are valued by

* `rollout_evaluator`: the mean discounted return of uniformly random rollouts through the
  true model (classic MCTS), with a uniform prior; or
* `network_evaluator`: a policy/value network (`prior_logits`, value) on the state's
  observation (AlphaZero).

`controller(env, env_params, config)` is the search as a `Controller` (it plans from env
states; run it with `evaluate_controller`). `make(env, env_params, config)` builds the
AlphaZero-style `Agent` (Silver et al. 2018): act by search in `num_envs` envs; train the
network's policy on the search's action weights (cross-entropy) and its value on
lambda-returns of the observed rewards, bootstrapped with the search's root values
(regressed in symlog space, so the value scale needs no tuning). `Agent.act` is the raw
network's greedy policy; `controller(..., params=state.params)` evaluates it with search.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import mctx
import optax
from flax import struct

from purerl import envs
from purerl.core import validation as V
from purerl.core.buffers import make_replay_buffer
from purerl.core.returns import gae
from purerl.core.rollout import env_step, episode_metrics, reset_envs
from purerl.envs import wrappers as w
from purerl.nets import ACTIVATIONS
from purerl.nets.policy_value import PolicyValueNet
from purerl.planning.control import Controller
from purerl.planning.models import Model, true_model
from purerl.types import Agent, PRNGKey

# evaluate(params, key, state) -> (prior_logits [A], value []) for one unbatched state
Evaluator = Callable[[object, PRNGKey, object], tuple[jax.Array, jax.Array]]


@dataclasses.dataclass(frozen=True)
class Config:
    """Search and AlphaZero hyper-parameters (defaults: the AlphaZero agent on CartPole-v1).

    The search's Q-values are min-max normalised by mctx, so `pb_c_init` does not depend
    on the reward scale; a small one (0.5) searches deep and narrow, which suits CartPole's
    long-horizon failure (the cart drifting off the track).
    """

    # ---- search
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
    # ---- AlphaZero-style agent
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
        c = "mcts.Config"
        for name in (
            "num_simulations",
            "rollout_length",
            "num_rollouts",
            "max_num_considered_actions",
            "total_timesteps",
            "num_envs",
            "num_steps",
            "buffer_size",
            "batch_size",
            "gradient_steps",
        ):
            V.check_int(c, name, getattr(self, name))
        V.check_int(c, "max_depth", self.max_depth, minimum=0)
        V.check_choice(c, "search", self.search, {"gumbel", "muzero"})
        V.check_choice(c, "leaf_value", self.leaf_value, {"network", "rollout"})
        V.check_unit(c, "discount", self.discount)
        V.check_unit(c, "td_lambda", self.td_lambda)
        V.check_unit(c, "dirichlet_fraction", self.dirichlet_fraction)
        for name in ("pb_c_init", "dirichlet_alpha", "learning_rate", "max_grad_norm"):
            V.check_positive(c, name, getattr(self, name))
        for name in ("temperature", "gumbel_scale", "value_coef"):
            V.check_positive(c, name, getattr(self, name), allow_zero=True)
        V.check_sizes(c, "hidden_sizes", self.hidden_sizes)
        V.check_choice(c, "activation", self.activation, set(ACTIVATIONS))
        if self.batch_size > self.buffer_size:
            raise ValueError(
                f"mcts.Config: batch_size {self.batch_size} > buffer_size {self.buffer_size}"
            )
        if self.total_timesteps < self.num_envs * self.num_steps:
            raise ValueError(
                f"mcts.Config: total_timesteps {self.total_timesteps} is less than one update "
                f"(num_envs * num_steps = {self.num_envs * self.num_steps})"
            )

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // (self.num_envs * self.num_steps)


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
    config: Config,
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
def _check_env(env, env_params, who):
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


def _network(num_actions, obs_ndim, config):
    return PolicyValueNet(num_actions, tuple(config.hidden_sizes), config.activation, obs_ndim)


def make_evaluator(env, env_params, config: Config, model: Model | None = None) -> Evaluator:
    """The leaf evaluator `config.leaf_value` asks for, over `model` (default: true model)."""
    num_actions = _check_env(env, env_params, "mcts")
    model = true_model(env, env_params) if model is None else model
    if config.leaf_value == "rollout":
        return rollout_evaluator(
            model, num_actions, config.rollout_length, config.num_rollouts, config.discount
        )
    net = _network(num_actions, len(envs.obs_shape(env, env_params)), config)
    return network_evaluator(net, model)


def controller(env, env_params, config: Config = Config(), params=None, model=None, explore=False):
    """MCTS with the true model (or `model`) as a `Controller`; without exploration noise
    unless `explore` (see `search`).

    `params`: the network parameters when `config.leaf_value == "network"` (e.g. an
    AlphaZero agent's `state.params`); unused for rollout leaf values.
    """
    if not isinstance(config, Config):
        raise ValueError(f"mcts.controller expects an mcts.Config, got {type(config).__name__}")
    if config.leaf_value == "network" and params is None:
        raise ValueError("mcts.controller: leaf_value='network' needs the network's params")
    model = true_model(env, env_params) if model is None else model
    evaluate = make_evaluator(env, env_params, config, model)

    def act(key, carry, env_state, obs):
        states = jax.tree.map(lambda x: x[None], model.state_of(env_state))
        out = search(key, params, model, evaluate, states, config, explore=explore)
        return out.action[0], carry

    return Controller(lambda: jnp.zeros(()), act)


# ---------------------------------------------------------------- AlphaZero agent
@struct.dataclass
class State:
    """AlphaZero-style train state (a pytree)."""

    params: dict
    opt_state: optax.OptState
    buffer_state: object  # (obs, search policy, value target)
    env_state: object  # [num_envs]
    obs: jax.Array  # [num_envs, *obs_shape]
    key: jax.Array
    step: jax.Array  # updates done


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
        raise ValueError(f"mcts.make expects an mcts.Config, got {type(config).__name__}")
    if config.leaf_value != "network":
        raise ValueError("mcts.make trains a network: it needs leaf_value='network'")
    num_actions = _check_env(env, env_params, "mcts.make")
    obs_shape = envs.obs_shape(env, env_params)
    net = _network(num_actions, len(obs_shape), config)
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
            step=jnp.zeros((), jnp.int32),
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
            "env_steps": (state.step + 1) * (T * B),
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
