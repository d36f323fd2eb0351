"""Devices: multi-host start-up (2 processes on localhost), one CPU device per core at
import, `use_all_cores`, `initialize`."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from purerl.core import devices

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_on_localhost_agree(tmp_path, devices_env):
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
            env=devices_env(2),
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


def test_initialize_without_coordinator_is_a_no_op(monkeypatch):
    monkeypatch.delenv("JAX_COORDINATOR_ADDRESS", raising=False)
    assert devices.initialize() is False
    with pytest.raises(ValueError, match="coordinator"):
        devices.initialize(num_processes=2)


def test_use_all_cores_after_import(devices_env):
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import purerl, jax\n"
            "from purerl.core.devices import use_all_cores\n"
            "assert use_all_cores(3) == 3 and jax.device_count() == 3\n"
            "assert use_all_cores(3) == 3\n"
            "print('RESULT', jax.jit(lambda x: x + 1)(jax.numpy.ones(3)).sum())\n",
        ],
        env=devices_env(None),
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
            "from purerl.core.many import train_many\n"
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
