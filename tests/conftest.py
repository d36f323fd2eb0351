import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
# Keep each test process to its own core: pytest-xdist runs one process per core.
os.environ.setdefault("XLA_FLAGS", SINGLE_THREAD)


# ------------------------------------------------- scale-out tests: forced CPU devices
# The device count is fixed when JAX starts, so it cannot change inside the pytest process:
# tests of sharded code run a subprocess with several forced CPU devices.
ROOT = Path(__file__).resolve().parents[1]


def _devices_env(devices: int | None) -> dict:
    env = dict(os.environ)
    force = "" if devices is None else f"--xla_force_host_platform_device_count={devices} "
    env["XLA_FLAGS"] = force + SINGLE_THREAD
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run_on_devices(code: str, devices: int = 4) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=_devices_env(devices),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


@pytest.fixture
def devices_env():
    """`devices_env(n)`: this process's environment with `n` forced CPU devices (None: no
    forced count) and the repository first on `PYTHONPATH`, for a subprocess."""
    return _devices_env


@pytest.fixture
def run_on_devices():
    """`run_on_devices(code, devices=4)`: run `code` in a Python subprocess with `devices`
    forced CPU devices; it prints `RESULT <json>`, which is returned parsed."""
    return _run_on_devices


# ------------------------------------------------- shared helpers of the algorithm tests
def _count_traces(fn):
    """`jax.jit(fn)` and a list that grows by one each time `fn` is traced."""
    traces = []

    def counted(*args):
        traces.append(1)
        return fn(*args)

    return jax.jit(counted), traces


class Run(NamedTuple):
    returns: np.ndarray  # [seeds]: each seed's mean greedy return
    states: Any  # the trained states, batched over seeds
    metrics: dict  # [seeds, num_updates] per metric


def _train_eval(agent, num_seeds=4, eval_seed=1000, scored=None) -> Run:
    """Train `agent` on `num_seeds` keys split from key 0 (one jitted vmap), then evaluate
    each seed greedily for 16 episodes on keys split from key `eval_seed` (with `scored`, the
    same agent on another env, when given); assert every update's metrics are finite."""
    import purerl  # here, not at the top: importing purerl sets up JAX's CPU devices

    keys = jax.random.split(jax.random.key(0), num_seeds)
    states, metrics = jax.jit(jax.vmap(lambda k: purerl.train(agent, k)))(keys)
    scored = agent if scored is None else scored
    returns = jax.jit(jax.vmap(lambda s, k: purerl.evaluate(scored, s, k, 16)))(
        states, jax.random.split(jax.random.key(eval_seed), num_seeds)
    )
    assert bool(jnp.all(metrics["finite"] == 1))
    return Run(np.asarray(returns).mean(axis=1), states, metrics)


@pytest.fixture
def count_traces():
    """`count_traces(fn) -> (jitted, traces)`: `jax.jit(fn)`, and a list that grows by one
    each time it traces `fn` (a no-retrace check: `len(traces) == 1`)."""
    return _count_traces


@pytest.fixture
def train_eval():
    """`train_eval(agent, num_seeds=4, eval_seed=1000, scored=None) -> Run(returns, states,
    metrics)`: the learning tests' protocol (see `_train_eval`)."""
    return _train_eval
