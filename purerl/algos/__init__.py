"""Algorithms: one module each, every one exporting `Config`, `State` and `make`."""

from purerl.algos import (
    a2c,
    a3c,
    c51,
    ddpg,
    dqn,
    her,
    ppo,
    qrdqn,
    reinforce,
    sac,
    td3,
    trpo,
    vpg,
)

__all__ = [
    "a2c",
    "a3c",
    "c51",
    "ddpg",
    "dqn",
    "her",
    "ppo",
    "qrdqn",
    "reinforce",
    "sac",
    "td3",
    "trpo",
    "vpg",
]
