"""The `log` hook and evaluation during training of `purerl.train` / `train_many`."""

import jax
import jax.numpy as jnp
import numpy as np

import purerl
from purerl.algos import ppo
from purerl.core.train import eval_key_at, train_loop
from purerl.types import Agent


class Recorder:
    def __init__(self):
        self.records = []

    def __call__(self, data):
        self.records.append({k: np.asarray(v).item() for k, v in data.items()})


def _toy_agent():
    """A random walk as an 'agent': compiles in a blink; its metrics differ per key."""

    def init(key):
        return {"x": jnp.zeros(()), "key": key, "step": jnp.zeros((), jnp.int32)}

    def update(s):
        key, k = jax.random.split(s["key"])
        x = s["x"] + jax.random.uniform(k)
        s = {"x": x, "key": key, "step": s["step"] + 1}
        return s, {"env_steps": s["step"] * 10, "episode_return": x, "episodes": jnp.ones(())}

    return Agent(init, update, lambda s, o, k: 0, num_updates=6)


def test_log_under_vmap_gives_one_stream_per_seed():
    agent, rec = _toy_agent(), Recorder()
    keys = jax.random.split(jax.random.key(0), 4)
    run = jax.vmap(lambda k, i: purerl.train(agent, k, log=rec, log_every=2, log_id=i))
    _, metrics = run(keys, jnp.arange(4))
    jax.effects_barrier()
    by_run = {}
    for r in rec.records:
        by_run.setdefault(r["run"], []).append(r)
    assert sorted(by_run) == [0, 1, 2, 3]
    for i, stream in by_run.items():
        stream.sort(key=lambda r: r["update"])
        assert [r["update"] for r in stream] == [2, 4, 6]
        got = [r["episode_return"] for r in stream]
        np.testing.assert_allclose(got, np.asarray(metrics["episode_return"])[i, 1::2])
        assert [r["env_steps"] for r in stream] == [20, 40, 60]
    finals = {round(s[-1]["episode_return"], 6) for s in by_run.values()}
    assert len(finals) == 4  # four distinct streams, not one copied


def test_train_many_log_runs_cover_the_batch_and_continue_numbering():
    agent, rec = _toy_agent(), Recorder()
    keys = jax.random.split(jax.random.key(1), 3)
    states, _ = purerl.train_many(agent, keys, num_updates=0)
    # chunks of one compiled length 4: 4 updates, then 2 (run_updates) numbered 5, 6
    for offset, n in ((0, 4), (4, 2)):
        states, m = purerl.train_many(agent, keys, num_updates=4, states=states, log=rec,
                                      update_offset=offset, run_updates=n)  # fmt: skip
    jax.effects_barrier()
    assert np.asarray(states["step"]).tolist() == [6, 6, 6]
    assert np.asarray(m["env_steps"])[:, 2:].tolist() == [[0, 0]] * 3  # not run: zeros
    real = [r for r in rec.records if r["run"] >= 0]  # -1: padding runs of a sharded batch
    assert sorted({r["run"] for r in real}) == [0, 1, 2]
    for i in range(3):
        assert sorted(r["update"] for r in real if r["run"] == i) == [1, 2, 3, 4, 5, 6]


def test_logging_memory_does_not_grow_with_the_run():
    """What grows with the run's length is the per-update scalar metrics the loop returns
    (16 bytes per update here: four float32) and, with logging, one more scalar per update
    (measured: 20 bytes per update with the hook, 16 without; the working memory is
    otherwise constant: 2.3 kB for 100 and 10,000 updates without the metrics). Nothing
    per env step, and nothing accumulates on the host."""
    agent, rec = _toy_agent(), Recorder()

    def mem(n, log):
        fn = jax.jit(lambda k: train_loop(agent, k, None, n, log=log, log_every=1))
        m = fn.lower(jax.random.key(0)).compile().memory_analysis()
        return m.temp_size_in_bytes + m.output_size_in_bytes, m.output_size_in_bytes

    (short, out_short), (long, out_long) = mem(100, rec), mem(10_000, rec)
    metrics_per_update = (out_long - out_short) / 9_900
    assert metrics_per_update == 16  # the stacked metrics themselves
    assert (long - short) / 9_900 <= 1.5 * metrics_per_update
    # and a long run really logs every update through the bounded hook
    _, m = jax.jit(lambda k: train_loop(agent, k, None, 2_000, log=rec))(jax.random.key(0))
    jax.effects_barrier()
    assert len(rec.records) == 2_000 and m["episode_return"].shape == (2_000,)


def test_evaluation_curve_equals_evaluate_on_the_same_states_and_keys():
    env, p = purerl.make_env("CartPole-v1")
    cfg = ppo.Config(total_timesteps=4 * 32 * 4, num_envs=4, num_steps=32, hidden_sizes=(8,))
    agent = ppo.make(env, p, cfg)
    key = jax.random.key(3)
    state, m = purerl.train(agent, key, eval_every=2, eval_episodes=4)
    curve = np.asarray(m["eval_return"])
    assert np.isnan(curve[[0, 2]]).all() and np.isfinite(curve[[1, 3]]).all()
    # evaluation does not change training: the same final state without it
    plain, _ = purerl.train(agent, key)
    assert jax.tree.all(
        jax.tree.map(lambda a, b: bool(jnp.all(a == b)), state.params, plain.params)
    )
    s2, _ = purerl.train(agent, key, num_updates=2)
    ek = jax.random.fold_in(key, 1)
    for u, s in ((2, s2), (4, state)):
        ref = purerl.evaluate(agent, s, eval_key_at(ek, u), 4).mean()
        np.testing.assert_allclose(curve[u - 1], ref, rtol=1e-6)
