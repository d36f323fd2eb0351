"""Fixtures shared by the imitation tests."""

import os

import jax
import jax.numpy as jnp
import pytest

import purerl
from purerl.imitation import collect_demos, experts


def _balance(obs, key):
    """An analytic CartPole expert: push toward the side the pole falls to."""
    return (obs[2] + 0.5 * obs[3] > 0).astype(jnp.int32)


@pytest.fixture(scope="session")
def balance():
    """`balance(obs, key) -> action`: an analytic CartPole expert."""
    return _balance


@pytest.fixture(scope="session")
def cartpole_demos():
    """`(env, params, demos)`: CartPole-v1 and two 100-step episodes of `balance`."""
    env, params = purerl.make_env("CartPole-v1")
    demos = collect_demos(_balance, env, params, jax.random.key(0), 2, max_steps=100)
    return env, params, demos


@pytest.fixture
def train_score(train_eval):
    """`train_score(agent, e) -> (score, run)`: `train_eval(agent)` with evaluation keys
    from key 1, scored on the expert `e`'s env, each seed's return normalised between `e`'s
    and random play's (`experts.normalised_return`)."""

    def score(agent, e):
        scored = agent._replace(env=e.env, env_params=e.env_params)
        run = train_eval(agent, eval_seed=1, scored=scored)
        return experts.normalised_return(run.returns, e.expert_return, e.random_return), run

    return score


@pytest.fixture(scope="session")
def expert_cache(tmp_path_factory):
    """A folder of cached expert checkpoints shared by the whole test session.

    Pass it to `purerl.cli.expert_cache.expert(env_id, cache_dir=expert_cache)`: the first call
    for an env trains its expert (PPO on CartPole-v1, SAC on Pendulum-v1, fixed seeds) and
    saves it there; later calls, in this process or in other pytest-xdist workers (the
    folder sits under the session's common base temp dir), load it. Concurrent first calls
    serialise on a lock file; checkpoint writes are atomic.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # common to every worker of this session
    path = base / "purerl-experts"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)
