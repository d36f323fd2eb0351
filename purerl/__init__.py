"""purerl: pure-functional deep reinforcement learning in JAX."""

# First, before gymnax starts JAX's backend: one XLA host device per CPU core, so that
# `train_many` spreads seeds over every core (see purerl/core/devices.py; PURERL_CPU_DEVICES=1
# opts out). Importing purerl.core.devices imports JAX only, not gymnax.
from purerl.core.devices import configure_cpu_devices

configure_cpu_devices()

from purerl import algos, core, envs, imitation, nets, planning, rlhf
from purerl.core.checkpoint import load, save
from purerl.core.many import train_many
from purerl.core.train import evaluate, train
from purerl.envs import make_env
from purerl.types import Agent, Metrics, PRNGKey, Transition

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "Metrics",
    "PRNGKey",
    "Transition",
    "algos",
    "core",
    "envs",
    "evaluate",
    "imitation",
    "load",
    "make_env",
    "nets",
    "planning",
    "rlhf",
    "save",
    "train",
    "train_many",
]
