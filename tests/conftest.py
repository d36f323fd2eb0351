import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
# Keep each test process to its own core: pytest-xdist runs one process per core.
os.environ.setdefault("XLA_FLAGS", SINGLE_THREAD)


# ------------------------------------------------- one compilation cache per test run
# JAX's persistent compilation cache, in a fresh folder per `pytest` run, shared by its
# xdist workers and by the subprocesses its tests start (scripts, notebooks, forced-device
# runs): a program compiled by one of them is loaded, not compiled again, by the others.
# A fresh folder per run: no result depends on what a machine compiled before. The cache
# is keyed on the whole program, the compile options and the backend, so a hit is the same
# executable. The controller (or a plain, non-xdist run) owns the folder and removes it.
_CACHE_ENV = "PURERL_TEST_COMPILATION_CACHE"


def pytest_configure(config):
    if os.environ.get(_CACHE_ENV) or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return  # an xdist worker of this run (inherited), or the user chose a cache
    folder = tempfile.mkdtemp(prefix="purerl-test-jax-cache-")
    os.environ[_CACHE_ENV] = folder
    os.environ["JAX_COMPILATION_CACHE_DIR"] = folder
    config._purerl_cache_owner = folder
    jax.config.update("jax_compilation_cache_dir", folder)


def pytest_unconfigure(config):
    folder = getattr(config, "_purerl_cache_owner", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------- where a test's time goes
# `PURERL_TEST_PROFILE=<file.jsonl>`: each test appends one line {test, worker, wall_s,
# trace_s, lower_s, compile_s, cached_s} (seconds of tracing, lowering to MLIR, XLA
# compiling and compiling saved by cache hits, from JAX's own monitoring events; the rest
# of wall_s is running and Python). Run
# `python tests/profile_report.py <file.jsonl>` for the table.
_PROFILE = os.environ.get("PURERL_TEST_PROFILE")
_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace_s",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower_s",
    "/jax/core/compile/backend_compile_duration": "compile_s",
    "/jax/compilation_cache/compile_time_saved_sec": "cached_s",
}
_spent = dict.fromkeys(_EVENTS.values(), 0.0)
if _PROFILE:

    def _listen(event, duration, **_):
        if event in _EVENTS:
            _spent[_EVENTS[event]] += duration

    jax.monitoring.register_event_duration_secs_listener(_listen)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        for k in _spent:
            _spent[k] = 0.0
        start = time.perf_counter()
        yield
        row = {"test": item.nodeid, "worker": os.environ.get("PYTEST_XDIST_WORKER", "main")}
        row["wall_s"] = round(time.perf_counter() - start, 2)
        row.update({k: round(v, 2) for k, v in _spent.items()})
        with open(_PROFILE, "a") as f:
            f.write(json.dumps(row) + "\n")


# ------------------------------------------------- order: long tests first
# pytest-xdist hands tests out in collection order; the files with learning tests (a
# minute each) go first, whole (their module fixtures stay built once), so that no long
# test starts last and leaves the other worker idle at the end.
def pytest_collection_modifyitems(config, items):
    slow = {item.module for item in items if item.get_closest_marker("learning")}
    items.sort(key=lambda item: item.module not in slow)


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
