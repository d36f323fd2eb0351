"""Data-parallel PPO on 4 forced CPU devices (in a subprocess, see tests/conftest.py):
with one minibatch an update is the single-device update."""


def test_data_parallel_ppo_equals_single_device(run_on_devices):
    out = run_on_devices(
        """
        import dataclasses, json
        import jax, jax.numpy as jnp, numpy as np
        import purerl
        from purerl.algos import ppo
        from purerl.algos import ppo_parallel
        from purerl.core.devices import batch_mesh

        env, p = purerl.make_env("CartPole-v1")
        # one minibatch: the data-parallel update is the single-device update exactly
        cfg = ppo.Config(total_timesteps=3 * 8 * 16, num_envs=8, num_steps=16, num_epochs=2,
                         num_minibatches=1, hidden_sizes=(16,))
        key = jax.random.key(1)
        s0, m0 = purerl.train(ppo.make(env, p, cfg), key)
        dp = ppo_parallel.make(env, p, cfg, batch_mesh())
        s1, m1 = purerl.train(dp, key)
        res = {
            "params": max(float(jnp.max(jnp.abs(a - b)))
                          for a, b in zip(jax.tree.leaves(s0.params), jax.tree.leaves(s1.params))),
            "metrics": {k: float(np.max(np.abs(np.asarray(m0[k]) - np.asarray(m1[k]))))
                        for k in m0},
            "obs_devices": len(s1.obs.sharding.device_set),
            "eval": float(purerl.evaluate(dp, s1, jax.random.key(0), 4).mean()),
        }
        # several minibatches (a stratified split): runs, finite
        cfg2 = dataclasses.replace(cfg, num_minibatches=2)
        _, m2 = purerl.train(ppo_parallel.make(env, p, cfg2, batch_mesh()), key)
        res["finite2"] = bool(np.all(np.asarray(m2["finite"]) == 1))
        try:
            ppo_parallel.make(env, p, dataclasses.replace(cfg, num_envs=6), batch_mesh())
            res["error"] = None
        except ValueError as e:
            res["error"] = str(e)
        print("RESULT " + json.dumps(res))
        """
    )
    assert out["params"] < 1e-5, out
    for k in ("episode_return", "episodes", "env_steps", "entropy"):
        assert out["metrics"][k] < 1e-5, out
    assert out["metrics"]["loss/value"] < 1e-3, out
    assert out["obs_devices"] == 4
    assert out["eval"] > 0
    assert out["finite2"]
    assert "not divisible by 4 devices" in out["error"]
