"""Imitation learning: expert demonstrations, behaviour cloning, DAgger and inverse RL.

Every learner is a `purerl.Agent` (`bc.make(env, env_params, demos, config)`,
`dagger.make(env, env_params, expert_act_fn, config)`, ...), trained by `purerl.train` and
scored by `purerl.evaluate`. `demos` holds the time-major `Demos` pytree and its `.npz`
files; `experts` the PPO / SAC experts trained by purerl and cached as checkpoints.
"""

from purerl.imitation import bc, dagger, demos, experts, policy
from purerl.imitation.demos import (
    Demos,
    collect_demos,
    episode_returns,
    flatten,
    load_demos,
    save_demos,
)
from purerl.imitation.experts import expert, normalised_return

__all__ = [
    "Demos",
    "bc",
    "collect_demos",
    "dagger",
    "demos",
    "episode_returns",
    "expert",
    "experts",
    "flatten",
    "load_demos",
    "normalised_return",
    "policy",
    "save_demos",
]
