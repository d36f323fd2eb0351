"""Experts for imitation learning, trained by purerl itself.

* `"CartPole-v1"`: PPO-Clip (`ppo.Config()` defaults, 150k env steps), greedy.
* `"Pendulum-v1"`: SAC (`sac.Config(total_timesteps=10_000)`), the tanh of the Gaussian
  mean.

A single PPO run is seed-sensitive, so `train_expert` trains `candidates` seeds split from
a fixed key in one vmap and keeps the one with the best mean return (fixed keys, so
deterministically). `purerl.cli.expert_cache.expert(env_id, cache_dir)` trains an expert
once and caches it as a checkpoint.

`mean_return` is the mean undiscounted return of `EVAL_EPISODES` fresh episodes of a
policy (the expert's, or `random_act_fn`'s uniform-random one); the normalised return of a
score is `(score - random) / (expert - random)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl import envs
from purerl.algos import ppo, sac
from purerl.core.train import train
from purerl.imitation.demos import collect_demos, demo_returns

EVAL_EPISODES = 64


class ExpertSpec(NamedTuple):
    algo: Any  # module with Config and make
    config: Any
    seed: int
    candidates: int  # seeds trained in one vmap; the best (by mean return) is kept


EXPERTS: dict[str, ExpertSpec] = {
    "CartPole-v1": ExpertSpec(ppo, ppo.Config(total_timesteps=150_000), 0, 4),
    "Pendulum-v1": ExpertSpec(sac, sac.Config(total_timesteps=10_000, buffer_size=10_000), 0, 2),
}


def random_act_fn(env, env_params) -> Callable:
    """A uniform-random policy `act_fn(obs, key) -> action` for `env` (continuous actions
    uniform in [-1, 1], the space of `purerl.make_env`'s `RescaleAction`)."""
    if envs.is_discrete(env, env_params):
        n = envs.num_actions(env, env_params)
        return lambda obs, key: jax.random.randint(key, (), 0, n).astype(jnp.int32)
    shape = envs.action_shape(env, env_params)
    return lambda obs, key: jax.random.uniform(key, shape, jnp.float32, -1.0, 1.0)


def mean_return(act_fn, env, env_params, key, num_episodes: int = EVAL_EPISODES) -> float:
    """Mean undiscounted return of `num_episodes` fresh episodes of `act_fn`."""
    demos = jax.jit(lambda k: collect_demos(act_fn, env, env_params, k, num_episodes))(key)
    return float(jnp.mean(demo_returns(demos)))


def normalised_return(score, expert_return, random_return):
    """`(score - random_return) / (expert_return - random_return)`: 0 random, 1 expert."""
    return (score - random_return) / (expert_return - random_return)


def train_expert(agent, spec: ExpertSpec, env, env_params):
    """Train `spec.candidates` seeds of `agent` (`spec.algo.make(env, env_params,
    spec.config)`) in one vmap and keep the best by `mean_return`.

    Returns `(state, info)`: the best candidate's train state and a dict with its
    `expert_return`, the `random_return` of `random_act_fn`, every `candidate_returns`,
    the `algo`, `config` and `seed`, and whether every metric stayed `finite`.
    """
    keys = jax.random.split(jax.random.key(spec.seed), spec.candidates)
    states, metrics = jax.jit(jax.vmap(lambda k: train(agent, k)))(keys)
    k_exp, k_rand = jax.random.split(jax.random.key(spec.seed + 1))
    scores = []
    for i in range(spec.candidates):
        state_i = jax.tree.map(lambda x, i=i: x[i], states)
        act = lambda o, k, s=state_i: agent.act(s, o, k)
        scores.append(mean_return(act, env, env_params, k_exp))
    best = max(range(spec.candidates), key=lambda i: scores[i])
    state = jax.tree.map(lambda x: x[best], states)
    info = {
        "expert_return": scores[best],
        "random_return": mean_return(random_act_fn(env, env_params), env, env_params, k_rand),
        "candidate_returns": scores,
        "algo": spec.algo.__name__,
        "config": repr(spec.config),
        "seed": spec.seed,
        "finite": bool(jnp.all(metrics["finite"] == 1)),
    }
    return state, info
