"""Algorithms: one module each, every one exporting `Config`, `State` and `make`."""

from purerl.algos import dqn, ppo

__all__ = ["dqn", "ppo"]
