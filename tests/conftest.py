import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

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
