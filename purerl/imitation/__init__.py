"""Imitation learning: expert demonstrations, behaviour cloning, DAgger and inverse RL.

Every learner is a `purerl.Agent` (`bc.make(env, env_params, demos, config)`,
`dagger.make(env, env_params, expert_act_fn, config)`, ...), trained by `purerl.train` and
scored by `purerl.evaluate`. `demos` holds the time-major `Demos` pytree and its `.npz`
files; `experts` the PPO / SAC experts trained by purerl (cached as checkpoints by
`purerl.cli.expert_cache`).
"""

from purerl.imitation import (
    airl,
    bc,
    dac,
    dagger,
    demos,
    discriminator,
    experts,
    gail,
    maxent_irl,
    policy,
)
from purerl.imitation.demos import (
    Demos,
    collect_demos,
    demo_returns,
    flatten_episodes,
    load_demos,
    save_demos,
)
from purerl.imitation.experts import normalised_return

__all__ = [
    "Demos",
    "airl",
    "bc",
    "collect_demos",
    "dac",
    "dagger",
    "demo_returns",
    "demos",
    "discriminator",
    "experts",
    "flatten_episodes",
    "gail",
    "load_demos",
    "maxent_irl",
    "normalised_return",
    "policy",
    "save_demos",
]
