"""`train_many`: sharded over forced CPU devices (in a subprocess, see tests/conftest.py)
equals unsharded per seed and per setting; bad input is rejected."""

import jax
import pytest

import purerl
from purerl.algos import ppo
from purerl.core import many

TINY = (
    "ppo.Config(total_timesteps=3 * 4 * 8, num_envs=4, num_steps=8, num_epochs=2, "
    "num_minibatches=2, hidden_sizes=(8,))"
)


def test_train_many_sharded_equals_unsharded_per_seed(run_on_devices):
    out = run_on_devices(
        f"""
        import dataclasses, json
        import jax, jax.numpy as jnp, numpy as np
        import purerl
        from purerl.algos import ppo
        from purerl.core.many import train_many

        assert jax.device_count() == 4
        env, p = purerl.make_env("CartPole-v1")
        cfg = {TINY}
        agent = ppo.make(env, p, cfg)
        keys = jax.random.split(jax.random.key(0), 6)  # 6 seeds on 4 devices: padded to 8

        def diff(a, b):
            return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
                       for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))

        res = {{}}
        states, metrics = train_many(agent, keys)  # default: all 4 devices
        res["shape"] = list(metrics["loss/value"].shape)
        res["seeds"] = max(
            max(diff(jax.tree.map(lambda x: x[i], (states.params, metrics)),
                     (s.params, m))
                for s, m in [purerl.train(agent, keys[i])])
            for i in range(6))

        make = lambda h: ppo.make(env, p, dataclasses.replace(cfg, learning_rate=h["lr"]))
        hp = {{"lr": jnp.array([1e-3, 3e-4])}}
        _, m = train_many(make, keys[:2], hp)  # cross: [2 settings, 2 seeds], no padding
        res["cross_shape"] = list(m["loss/value"].shape)
        res["cross_devices"] = len(m["loss/value"].sharding.device_set)
        res["cross"] = max(
            diff(jax.tree.map(lambda x: x[h, s], m), purerl.train(make({{"lr": lr}}), keys[s])[1])
            for h, lr in enumerate([1e-3, 3e-4]) for s in range(2))
        _, mz = train_many(make, keys[:2], hp, combine="zip")
        res["zip_shape"] = list(mz["loss/value"].shape)
        res["zip"] = diff(jax.tree.map(lambda x: x[1], mz), jax.tree.map(lambda x: x[1, 1], m))
        print("RESULT " + json.dumps(res))
        """
    )
    assert out["shape"] == [6, 3]
    assert out["seeds"] < 1e-4, out
    assert out["cross_shape"] == [2, 2, 3]
    assert out["cross_devices"] == 4  # unpadded results stay sharded
    assert out["cross"] < 1e-4, out
    assert out["zip_shape"] == [2, 3]
    assert out["zip"] < 1e-4, out


def test_train_many_continues_states_in_chunks(run_on_devices):
    """Chunks (init with num_updates=0, then states=) equal one call, padded and crossed."""
    out = run_on_devices(
        f"""
        import dataclasses, json
        import jax, jax.numpy as jnp, numpy as np
        import purerl
        from purerl.algos import ppo
        from purerl.core.many import train_many

        env, p = purerl.make_env("CartPole-v1")
        cfg = {TINY}
        make = lambda h: ppo.make(env, p, dataclasses.replace(cfg, learning_rate=h["lr"]))
        hp = {{"lr": jnp.array([1e-3, 3e-4])}}
        keys = jax.random.split(jax.random.key(0), 3)  # 2 x 3 runs on 4 devices: padded

        def diff(a, b):
            return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
                       for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))

        whole, m = train_many(make, keys, hp, num_updates=3)
        s, m0 = train_many(make, keys, hp, num_updates=0)
        s, m1 = train_many(make, keys, hp, num_updates=1, states=s)
        s, m2 = train_many(make, keys, hp, num_updates=2, states=s)
        chunked = {{k: np.concatenate([m1[k], m2[k]], axis=2) for k in m}}
        res = {{"state": diff(whole.params, s.params), "metrics": diff(m, chunked),
                "init_shape": list(m0["finite"].shape), "shape": list(m["finite"].shape)}}
        print("RESULT " + json.dumps(res))
        """
    )
    assert out["init_shape"] == [2, 3, 0] and out["shape"] == [2, 3, 3]
    assert out["state"] == 0.0 and out["metrics"] == 0.0, out


def test_train_many_rejects_bad_input():
    env, p = purerl.make_env("CartPole-v1")
    agent = ppo.make(env, p, ppo.Config(total_timesteps=64, num_envs=4, num_steps=16))
    keys = jax.random.split(jax.random.key(0), 2)
    with pytest.raises(ValueError, match="combine"):
        many.train_many(agent, keys, combine="outer")
    with pytest.raises(ValueError, match="factory"):
        many.train_many(agent, keys, {"lr": jax.numpy.ones(2)})
    with pytest.raises(ValueError, match="zip"):
        many.train_many(lambda h: agent, keys, {"lr": jax.numpy.ones(3)}, combine="zip")
    states, _ = many.train_many(agent, keys, num_updates=0)
    with pytest.raises(ValueError, match="states must come from an earlier call"):
        many.train_many(agent, keys[:1], num_updates=1, states=states)
