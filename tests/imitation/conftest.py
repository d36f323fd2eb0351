"""Fixtures shared by the imitation tests."""

import os

import pytest


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
