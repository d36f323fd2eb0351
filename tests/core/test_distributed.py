"""Scale-out tests, each in a subprocess with several forced CPU devices (the device count
is fixed when JAX starts, so it cannot change inside the pytest process)."""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import pytest

import purerl
from purerl.algos import ppo
from purerl.core import distributed

ROOT = Path(__file__).resolve().parents[2]
SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def _env(devices: int) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices} {SINGLE_THREAD}"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(code: str, devices: int = 4) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=_env(devices),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


TINY = (
    "ppo.Config(total_timesteps=3 * 4 * 8, num_envs=4, num_steps=8, num_epochs=2, "
    "num_minibatches=2, hidden_sizes=(8,))"
)


def test_train_many_sharded_equals_unsharded_per_seed():
    out = _run(
        f"""
        import dataclasses, json
        import jax, jax.numpy as jnp, numpy as np
        import purerl
        from purerl.algos import ppo
        from purerl.core.distributed import train_many

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


def test_data_parallel_ppo_equals_single_device():
    out = _run(
        """
        import dataclasses, json
        import jax, jax.numpy as jnp, numpy as np
        import purerl
        from purerl.algos import ppo
        from purerl.core.distributed import ppo_data_parallel, batch_mesh

        env, p = purerl.make_env("CartPole-v1")
        # one minibatch: the data-parallel update is the single-device update exactly
        cfg = ppo.Config(total_timesteps=3 * 8 * 16, num_envs=8, num_steps=16, num_epochs=2,
                         num_minibatches=1, hidden_sizes=(16,))
        key = jax.random.key(1)
        s0, m0 = purerl.train(ppo.make(env, p, cfg), key)
        dp = ppo_data_parallel(env, p, cfg, batch_mesh())
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
        _, m2 = purerl.train(ppo_data_parallel(env, p, cfg2, batch_mesh()), key)
        res["finite2"] = bool(np.all(np.asarray(m2["finite"]) == 1))
        try:
            ppo_data_parallel(env, p, dataclasses.replace(cfg, num_envs=6), batch_mesh())
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_on_localhost_agree(tmp_path):
    """`scripts/ppo.py` on 2 processes (2 CPU devices each) via `jax.distributed`: the 4
    seeds are sharded over the 4 devices of both processes; both report the same."""
    port = _free_port()
    args = [
        sys.executable,
        "scripts/ppo.py",
        "--num-seeds=4",
        "--total-timesteps=128",
        "--num-envs=4",
        "--num-steps=16",
        "--num-epochs=1",
        "--num-minibatches=1",
        "--hidden-sizes",
        "8",
        f"--out={tmp_path}",
        f"--coordinator-address=127.0.0.1:{port}",
        "--num-processes=2",
    ]
    procs = [
        subprocess.Popen(
            [*args, f"--process-id={i}"],
            env=_env(2),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    try:
        logs = [p.communicate(timeout=600)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-3000:]
    summaries = [
        json.loads((tmp_path / sub / "summary.json").read_text()) for sub in ("", "process-1")
    ]
    assert summaries[0]["eval_return_per_seed"] == summaries[1]["eval_return_per_seed"]
    assert len(summaries[0]["eval_return_per_seed"]) == 4
    assert summaries[0]["env_steps_per_seed"] == 128


# ------------------------------------------------------------- in-process, no compile
def test_train_many_rejects_bad_input():
    env, p = purerl.make_env("CartPole-v1")
    agent = ppo.make(env, p, ppo.Config(total_timesteps=64, num_envs=4, num_steps=16))
    keys = jax.random.split(jax.random.key(0), 2)
    with pytest.raises(ValueError, match="combine"):
        distributed.train_many(agent, keys, combine="outer")
    with pytest.raises(ValueError, match="factory"):
        distributed.train_many(agent, keys, {"lr": jax.numpy.ones(2)})
    with pytest.raises(ValueError, match="zip"):
        distributed.train_many(lambda h: agent, keys, {"lr": jax.numpy.ones(3)}, combine="zip")


def test_initialize_without_coordinator_is_a_no_op(monkeypatch):
    monkeypatch.delenv("JAX_COORDINATOR_ADDRESS", raising=False)
    assert distributed.initialize() is False
    with pytest.raises(ValueError, match="coordinator"):
        distributed.initialize(num_processes=2)


def test_use_all_cores_after_import():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import purerl, jax\n"
            "from purerl.core.distributed import use_all_cores\n"
            "assert use_all_cores(3) == 3 and jax.device_count() == 3\n"
            "assert use_all_cores(3) == 3\n"
            "print('RESULT', jax.jit(lambda x: x + 1)(jax.numpy.ones(3)).sum())\n",
        ],
        env={**os.environ, "XLA_FLAGS": SINGLE_THREAD},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RESULT 6.0" in proc.stdout


def _import_purerl(extra_env: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "PURERL_CPU_DEVICES")}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, purerl, jax\n"
            "from purerl.core.distributed import train_many\n"
            "print('RESULT', jax.device_count(), len(os.sched_getaffinity(0)))\n",
        ],
        env={**env, **extra_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_gives_one_cpu_device_per_core_unless_told_otherwise():
    proc = _import_purerl({})
    assert proc.returncode == 0, proc.stderr[-3000:]
    devices, cores = map(int, proc.stdout.split("RESULT")[-1].split())
    assert devices == cores
    proc = _import_purerl({"PURERL_CPU_DEVICES": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split("RESULT")[-1].split()[0] == "3"
    proc = _import_purerl({"XLA_FLAGS": "--xla_force_host_platform_device_count=5"})
    assert proc.stdout.split("RESULT")[-1].split()[0] == "5"  # the user's flag wins
    proc = _import_purerl({"PURERL_CPU_DEVICES": "two"})
    assert proc.returncode != 0 and "PURERL_CPU_DEVICES must be a positive integer" in proc.stderr
