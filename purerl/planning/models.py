"""Dynamics models for planning: the true environment, and a learned PETS ensemble.

`true_model(env, env_params)` turns any gymnax environment (raw, or wrapped by
`purerl.make_env`) into a pure `step(key, state, action) -> (next_state, reward, done)`
with *no auto-reset*: `done` reports the episode's end (termination or the time limit), and
stepping on goes on from the final state, so a planner masks every reward after it.

`make_ensemble(...)` is the probabilistic ensemble of Chua et al. (2018), "Deep
Reinforcement Learning in a Handful of Trials using Probabilistic Dynamics Models" (PETS):
`E` Gaussian MLPs, each predicting the next-observation delta and the reward from the
(normalised) observation and action, trained by maximum likelihood on bootstrapped batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from purerl.envs import wrappers as w
from purerl.nets.dynamics import GaussianMLP, bound_penalty
from purerl.types import PRNGKey

# ------------------------------------------------------------------------- true model
_STATEFUL_WRAPPERS = (w.EpisodeStatistics, w.NormalizeObservation, w.NormalizeReward)


class Model(NamedTuple):
    """A dynamics model over env states, as pure functions.

    step: `(key, state, action) -> (next_state, reward [], done [] bool)` for one unbatched
      state; the key is consumed. No auto-reset: after `done` the state is the final one.
    observe: `state -> obs`, the (raw, unnormalised) observation of a state.
    state_of: `env_state -> state`: the model state inside a (wrapped) env state, e.g. the
      `env_state` a purerl agent or `reset` holds.
    """

    step: Callable[[PRNGKey, Any, Any], tuple[Any, jax.Array, jax.Array]]
    observe: Callable[[Any], Any]
    state_of: Callable[[Any], Any]


def _unwrap(env):
    """The wrapper chain of a purerl env: `(base gymnax env, [wrappers outermost first])`."""
    chain = []
    while isinstance(env, w.Wrapper):
        if not isinstance(env, (w.RescaleAction, *_STATEFUL_WRAPPERS)):
            raise ValueError(
                f"true_model: unknown wrapper {type(env).__name__}; pass the raw gymnax env "
                "(true_model understands purerl's RescaleAction, EpisodeStatistics, "
                "NormalizeObservation and NormalizeReward)"
            )
        chain.append(env)
        env = env._env
    if not (hasattr(env, "step_env") and hasattr(env, "is_truncated")):
        raise ValueError(
            f"true_model needs a gymnax Environment (with step_env), got {type(env).__name__}"
        )
    return env, chain


def true_model(env, env_params=None, *, time_limit: bool = True) -> Model:
    """The environment itself as a planning model.

    Args:
      env: a gymnax `Environment`, or one wrapped by `purerl.make_env`. Actions are taken
        in the same space as `env`'s: with purerl's `RescaleAction` wrapper (continuous
        envs), in [-1, 1], rescaled exactly as the wrapper does.
      env_params: the env's parameters (None: its defaults).
      time_limit: count the time limit (`is_truncated`) as the end of an episode in `done`
        (default). Rewards after the limit are never received, so a planner should stop
        there; set False to plan as if the episode went on.

    Returns:
      a `Model`. `step(key, s, a)` computes exactly what `env.step(key, s, a, params)`
      computes before its auto-reset: the same key split, the same next state, reward and
      final observation (`observe(next_state)`); `reward` is the raw env reward (no reward
      normalisation) and `done = terminated | truncated` (`terminated` alone when
      `time_limit=False`).
    """
    base, chain = _unwrap(env)
    params = base.default_params if env_params is None else env_params
    rescale = any(isinstance(e, w.RescaleAction) for e in chain)
    if rescale:
        space = base.action_space(params)
        if not isinstance(space, spaces.Box):
            raise ValueError("true_model: RescaleAction over a non-Box action space")
        low = jnp.asarray(space.low, jnp.float32)
        high = jnp.asarray(space.high, jnp.float32)

    def step(key, state, action):
        if rescale:
            a = jnp.clip(jnp.asarray(action, jnp.float32), -1.0, 1.0)
            action = low + (a + 1.0) * 0.5 * (high - low)
        key_step, _ = jax.random.split(key)  # as gymnax's Environment.step splits it
        _, next_state, reward, terminated, _ = base.step_env(key_step, state, action, params)
        done = jnp.asarray(terminated, bool)
        if time_limit:
            done = done | jnp.asarray(base.is_truncated(next_state, params), bool)
        return next_state, jnp.asarray(reward, jnp.float32), done

    def observe(state):
        return base.get_obs(state, params)

    def state_of(env_state):
        for e in chain:
            if isinstance(e, _STATEFUL_WRAPPERS):
                env_state = env_state.env_state
        return env_state

    return Model(step, observe, state_of)


# --------------------------------------------------------------------- PETS ensemble
@struct.dataclass
class Normalizer:
    """Input (obs, action) and target (delta obs, reward) statistics, `[dim]` each."""

    in_mean: jax.Array
    in_std: jax.Array
    out_mean: jax.Array
    out_std: jax.Array


@struct.dataclass
class EnsembleParams:
    """Parameters of a PETS ensemble: `net` leaves have a leading `[num_members]` axis."""

    net: Any
    norm: Normalizer


class Ensemble(NamedTuple):
    """A probabilistic ensemble of `num_members` Gaussian MLPs, as pure functions.

    Targets are `y = concat(next_obs - obs, reward)`, `[obs_dim + 1]`. Arrays with a member
    axis carry it first: `[E, ..., dim]`.

    init(key) -> EnsembleParams: fresh members, identity normaliser.
    fit_normalizer(params, obs, action, next_obs, reward, weight=None) -> params: set the
      normaliser to the (weighted) mean and std of the data `[N, ...]`.
    predict(params, obs [E, ..., obs_dim], action [E, ..., act_dim]) -> (mean, var): each
      member's Gaussian over `y` in env units, `[E, ..., obs_dim + 1]`.
    sample(key, params, obs, action) -> (next_obs, reward): one draw per member and input
      (shapes as `predict`; next_obs `[E, ..., obs_dim]`, reward `[E, ...]`).
    loss(params_net, norm, batch) -> (loss, nll): the PETS training loss on member-wise
      batches (`batch` leaves `[E, N, ...]`): mean Gaussian negative log-likelihood in the
      normalised target space (beta-weighted if `beta > 0`), plus `bound_coef` times the
      log-variance bound penalty; `nll` is the plain (unweighted) mean NLL.
    log_likelihood(params, obs, action, next_obs, reward) -> [E]: each member's mean
      log-density (env units, per target dimension) of data `[N, ...]`.
    """

    init: Callable
    fit_normalizer: Callable
    predict: Callable
    sample: Callable
    loss: Callable
    log_likelihood: Callable
    num_members: int
    obs_dim: int
    action_dim: int


def make_ensemble(
    obs_dim: int,
    action_dim: int,
    num_members: int = 5,
    hidden_sizes: Sequence[int] = (200, 200, 200),
    activation: str = "swish",
    bound_coef: float = 0.01,
    beta: float = 0.0,
) -> Ensemble:
    """Build a PETS ensemble for flat observations `[obs_dim]` and actions `[action_dim]`.

    `beta > 0` weights each target's negative log-likelihood by `stop_gradient(var^beta)`
    (beta-NLL, Seitzer et al. 2022): with plain NLL (`beta = 0`, PETS) a member can explain a
    hard-to-fit target by a large variance, which divides that target's mean gradient by the
    variance and stalls its fit; `beta = 0.5` keeps the mean's gradients at MSE-like scale.
    """
    out_dim = obs_dim + 1
    in_dim = obs_dim + action_dim
    net = GaussianMLP(out_dim, tuple(hidden_sizes), activation)

    def init(key) -> EnsembleParams:
        keys = jax.random.split(key, num_members)
        p = jax.vmap(lambda k: net.init(k, jnp.zeros((1, in_dim))))(keys)
        norm = Normalizer(
            jnp.zeros(in_dim), jnp.ones(in_dim), jnp.zeros(out_dim), jnp.ones(out_dim)
        )
        return EnsembleParams(p, norm)

    def _inputs(obs, action):
        return jnp.concatenate(
            [jnp.asarray(obs, jnp.float32), jnp.asarray(action, jnp.float32)], axis=-1
        )

    def _targets(obs, next_obs, reward):
        return jnp.concatenate([next_obs - obs, jnp.asarray(reward)[..., None]], axis=-1)

    def fit_normalizer(params, obs, action, next_obs, reward, weight=None):
        x = _inputs(obs, action).reshape(-1, in_dim)
        y = _targets(obs, next_obs, reward).reshape(-1, out_dim)
        wt = jnp.ones(x.shape[0]) if weight is None else jnp.asarray(weight, jnp.float32)
        wt = wt.reshape(-1) / jnp.maximum(wt.sum(), 1e-8)

        def stats(z):
            mean = wt @ z
            std = jnp.sqrt(wt @ jnp.square(z - mean))
            return mean, jnp.where(std < 1e-6, 1.0, std)

        (im, isd), (om, osd) = stats(x), stats(y)
        return params.replace(norm=Normalizer(im, isd, om, osd))

    def _apply_norm(net_params, norm, obs, action):
        """Normalised-space (mean, log_var) `[E, ..., out]` for inputs `[E, ..., ...]`."""
        x = (_inputs(obs, action) - norm.in_mean) / norm.in_std
        return jax.vmap(net.apply)(net_params, x)

    def predict(params, obs, action):
        mean, log_var = _apply_norm(params.net, params.norm, obs, action)
        n = params.norm
        return mean * n.out_std + n.out_mean, jnp.exp(log_var) * jnp.square(n.out_std)

    def sample(key, params, obs, action):
        mean, var = predict(params, obs, action)
        y = mean + jnp.sqrt(var) * jax.random.normal(key, mean.shape)
        return obs + y[..., :obs_dim], y[..., obs_dim]

    def loss(net_params, norm, batch):
        mean, log_var = _apply_norm(net_params, norm, batch["obs"], batch["action"])
        y = _targets(batch["obs"], batch["next_obs"], batch["reward"])
        y = (y - norm.out_mean) / norm.out_std
        nll = 0.5 * (jnp.square(y - mean) * jnp.exp(-log_var) + log_var)
        weighted = nll * jax.lax.stop_gradient(jnp.exp(beta * log_var))
        penalty = jnp.sum(jax.vmap(bound_penalty)(net_params))
        return jnp.mean(weighted) + bound_coef * penalty, jnp.mean(nll)

    def log_likelihood(params, obs, action, next_obs, reward):
        e = lambda x: jnp.broadcast_to(x, (num_members, *jnp.shape(x)))
        mean, var = predict(params, e(obs), e(action))
        y = _targets(obs, next_obs, reward)
        lp = -0.5 * (jnp.square(y - mean) / var + jnp.log(2 * jnp.pi * var))
        return jnp.mean(lp, axis=tuple(range(1, lp.ndim)))

    return Ensemble(
        init,
        fit_normalizer,
        predict,
        sample,
        loss,
        log_likelihood,
        num_members,
        obs_dim,
        action_dim,
    )


def bootstrap_batches(key: PRNGKey, size: jax.Array, num_members: int, batch_size: int):
    """Indices `[num_members, batch_size]` drawn uniformly with replacement from
    `[0, size)`, independently per member: each member sees its own bootstrap of the data."""
    u = jax.random.uniform(key, (num_members, batch_size))
    return jnp.minimum((u * size).astype(jnp.int32), jnp.maximum(size - 1, 0))
