"""purerl: pure-functional deep reinforcement learning in JAX."""

# First, before gymnax starts JAX's backend: one XLA host device per CPU core, so that
# `train_many` spreads seeds over every core (see purerl/_cpu.py; PURERL_CPU_DEVICES=1 opts out).
from purerl._cpu import configure_cpu_devices

configure_cpu_devices()

from purerl import algos, core, envs, imitation, nets, planning, rlhf
from purerl.core.checkpoint import load, save
from purerl.core.distributed import train_many
from purerl.core.train import evaluate, train, train_seeds
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
    "train_seeds",
]
