"""One XLA host device per CPU core, chosen when purerl is imported (before gymnax starts
JAX's backend), so that `purerl.train_many` shards a batch of seeds over every core.

On CPU one JAX process keeps about one core busy stepping small gymnax envs; with one host
device per core and the seed axis sharded over them (`train_many`, and the scripts' seed
batches), every core works. Measured on a 2-core machine (PPO on CartPole-v1, 64 seeds,
`scripts/benchmark.py --scaling`): 2.8x the summed throughput of one device.

It only sets JAX's `jax_num_cpu_devices` option and leaves the choice alone when

* the environment variable `PURERL_CPU_DEVICES` is set: its value is the device count
  (`1` keeps JAX's single CPU device);
* `XLA_FLAGS` already forces a host device count, or `jax_num_cpu_devices` is already set;
* JAX's backend already started (JAX ran before purerl was imported): then
  `purerl.core.distributed.use_all_cores()` restarts it with one device per core.

Single-device programs (`jax.jit`, `purerl.train`, `jax.vmap` over seeds) run on the first
CPU device as before, with the same results; accelerators (GPU/TPU) are unaffected.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The number of CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def configure_cpu_devices() -> int | None:
    """Set `jax_num_cpu_devices` to one per core unless the user chose already (see the
    module docstring). Returns the device count set, or None when it left JAX alone."""
    import jax
    from jax._src import xla_bridge

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
