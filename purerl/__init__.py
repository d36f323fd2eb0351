"""purerl: pure-functional deep reinforcement learning in JAX."""

from purerl import algos, core, envs, nets, planning, rlhf
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
