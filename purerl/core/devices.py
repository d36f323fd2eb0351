"""Devices: CPU host devices, meshes, multi-host start-up, and global arrays.

* `configure_cpu_devices()`: called by `import purerl` before gymnax starts JAX's backend;
  one XLA host device per usable CPU core, so that `purerl.train_many` shards a batch of
  seeds over every core.
* `use_all_cores(n)`: the same, on demand, also after JAX's backend started (it restarts it).
* `batch_mesh(devices)`: a 1-D mesh, the batch axis of `train_many` and data-parallel PPO.
* `initialize(...)`: `jax.distributed` for multi-host runs.
* `global_array(x, sharding)`: a global sharded array from the same host value on every
  process; `gather(tree)`: a sharded (possibly multi-host) pytree back to numpy everywhere.

On CPU one JAX process keeps about one core busy stepping small gymnax envs; with one host
device per core and the seed axis sharded over them (`train_many`, and the scripts' seed
batches), every core works. Measured on a 2-core machine (PPO on CartPole-v1, 64 seeds,
`scripts/benchmark.py --scaling`): 2.8x the summed throughput of one device.

`configure_cpu_devices` only sets JAX's `jax_num_cpu_devices` option and leaves the choice
alone when

* the environment variable `PURERL_CPU_DEVICES` is set: its value is the device count
  (`1` keeps JAX's single CPU device);
* `XLA_FLAGS` already forces a host device count, or `jax_num_cpu_devices` is already set;
* JAX's backend already started (JAX ran before purerl was imported): then
  `use_all_cores()` restarts it with one device per core.

Single-device programs (`jax.jit`, `purerl.train`, `jax.vmap` over seeds) run on the first
CPU device as before, with the same results; accelerators (GPU/TPU) are unaffected.

This module imports only JAX and numpy (not gymnax), so that `purerl/__init__.py` can call
`configure_cpu_devices` before anything starts JAX's backend.
"""

from __future__ import annotations

import os

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
from jax._src import xla_bridge
from jax.sharding import Mesh


def usable_cores() -> int:
    """The number of CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def configure_cpu_devices() -> int | None:
    """Set `jax_num_cpu_devices` to one per core unless the user chose already (see the
    module docstring). Returns the device count set, or None when it left JAX alone."""
    chosen = os.environ.get("PURERL_CPU_DEVICES", "").strip()
    if chosen:
        try:
            n = int(chosen)
        except ValueError:
            raise ValueError(
                f"PURERL_CPU_DEVICES must be a positive integer, got {chosen!r}"
            ) from None
        if n < 1:
            raise ValueError(f"PURERL_CPU_DEVICES must be a positive integer, got {n}")
    else:
        n = usable_cores()
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return None
    if jax.config.jax_num_cpu_devices != -1 or xla_bridge.backends_are_initialized():
        return None
    if n == 1:
        return None
    jax.config.update("jax_num_cpu_devices", n)
    return n


def _restart_backend() -> None:
    """Drop JAX's started backends (and compiled programs) so that new options apply.

    Importing gymnax creates an array (frozen_lake's `_DIRECTIONS`), which starts the
    single-process backend; arrays created before the restart belong to the old backend
    and must not be mixed with new ones."""
    jax.extend.backend.clear_backends()
    jax.clear_caches()


def use_all_cores(num_devices: int | None = None) -> int:
    """Make XLA's CPU backend expose `num_devices` host devices (default: one per core
    this process may run on), so that `train_many` shards seeds across every core.

    `import purerl` already does this when it can (see the module docstring); call it
    when JAX ran before purerl was imported, or to choose another count, right after the
    imports and before any computation:

        import purerl
        from purerl.core.devices import use_all_cores
        use_all_cores()

    When JAX's backend already started, this restarts it with the new device count. From
    the shell the same is `XLA_FLAGS=--xla_force_host_platform_device_count=N`. Returns
    the number of CPU devices.
    """
    n = usable_cores() if num_devices is None else int(num_devices)
    if xla_bridge.backends_are_initialized():
        if jax.local_device_count("cpu") == n:
            return n
        if jax.process_count() > 1:
            raise RuntimeError("use_all_cores: call it before jax.distributed.initialize")
        _restart_backend()
    jax.config.update("jax_num_cpu_devices", n)
    return jax.local_device_count("cpu")


def batch_mesh(devices=None, axis: str = "batch") -> Mesh:
    """A 1-D mesh over `devices` (default: all devices, every process)."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), (axis,))


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> bool:
    """`jax.distributed.initialize` for a multi-host run, when one is asked for.

    Asked for by the arguments, or JAX's environment variables (`JAX_COORDINATOR_ADDRESS`,
    `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID`; cluster schedulers such as SLURM are detected by
    JAX itself when the address is given). Returns whether it initialised.
    """
    env = os.environ
    coordinator_address = coordinator_address or env.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None and env.get("JAX_NUM_PROCESSES"):
        num_processes = int(env["JAX_NUM_PROCESSES"])
    if process_id is None and env.get("JAX_PROCESS_ID"):
        process_id = int(env["JAX_PROCESS_ID"])
    if coordinator_address is None:
        if num_processes not in (None, 1):
            raise ValueError("initialize: num_processes > 1 needs a coordinator address")
        return False
    if xla_bridge.backends_are_initialized():
        # nothing else has run yet (see `_restart_backend`): start it again distributed
        _restart_backend()
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
    )
    return True


def global_array(x, sharding) -> jax.Array:
    """A global array with `sharding` from the same host value `x` on every process (each
    device takes its slice). A typed PRNG key array stays a key array."""
    if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        raw = global_array(jax.random.key_data(x), sharding)
        impl = jax.random.key_impl(x)
        return jax.jit(lambda r: jax.random.wrap_key_data(r, impl=impl), out_shardings=sharding)(
            raw
        )
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def gather(tree):
    """Fetch a (possibly multi-host) sharded pytree to every process as numpy arrays."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    def one(x):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            data = multihost_utils.process_allgather(jax.random.key_data(x), tiled=True)
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
        return multihost_utils.process_allgather(x, tiled=True)

    return jax.tree.map(one, tree)
