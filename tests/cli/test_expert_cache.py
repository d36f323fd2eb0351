"""The expert cache's lock-file protocol (`purerl.cli.expert_cache`)."""

import os

import jax

import purerl
from purerl.cli import expert_cache


def test_expert_cache_lock_protocol(tmp_path, monkeypatch):
    """The cache protocol, with training replaced by writing an initial state: the first
    call trains once and leaves no lock; a fresh lock held by another process makes the
    caller wait for that writer's checkpoint (no training); a stale lock is ignored."""
    import threading
    import time

    calls = []

    def fake_train(agent, spec, env, env_params, path):
        calls.append(path)
        state = agent.init(jax.random.key(spec.seed))
        purerl.save(path, state, {"expert_return": 1.0, "random_return": 0.0})

    monkeypatch.setattr(expert_cache, "_train", fake_train)
    cache = tmp_path / "a"
    e = expert_cache.expert("CartPole-v1", cache)
    (ckpt,) = os.listdir(cache)
    assert ckpt.endswith(".ckpt") and len(calls) == 1  # no lock or temporary left behind
    assert (e.expert_return, e.random_return) == (1.0, 0.0)

    # another writer holds the lock: wait, then load what it wrote
    other = tmp_path / "b"
    other.mkdir()
    lock = other / (ckpt + ".lock")
    lock.touch()
    writer = threading.Timer(1.5, lambda: (os.replace(cache / ckpt, other / ckpt), lock.unlink()))
    writer.start()
    t0 = time.time()
    waited = expert_cache.expert("CartPole-v1", other)
    writer.join()
    assert time.time() - t0 >= 1.5 and len(calls) == 1 and waited.expert_return == 1.0

    # a stale lock (its writer died) is ignored: the caller trains and writes itself
    stale = tmp_path / "c"
    stale.mkdir()
    (stale / (ckpt + ".lock")).touch()
    old = time.time() - 2 * expert_cache.LOCK_TIMEOUT
    os.utime(stale / (ckpt + ".lock"), (old, old))
    expert_cache.expert("CartPole-v1", stale)
    assert (stale / ckpt).exists() and len(calls) == 2
