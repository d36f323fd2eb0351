"""Twin Delayed DDPG, TD3 (Fujimoto et al. 2018).

DDPG (`purerl.algos.ddpg`, whose replay loop and networks it shares) with three changes:

1. clipped double-Q: twin critics, both regressed onto
   `y = r + gamma (1 - terminated) min_{k=1,2} Q_targ_k(s', a')`;
2. target policy smoothing: `a' = clip(mu_targ(s') + clip(target_noise * eps, -c, c), -1, 1)`
   with `c = noise_clip`;
3. delayed updates: the actor (on `-E[Q_1(s, mu(s))]`) and all target networks (Polyak,
   `tau`) update once every `policy_delay` critic steps.

Actions live in [-1, 1]^d (`purerl.make_env` rescales them to the env's bounds); noise
scales are in those units. Truncated steps bootstrap.
"""

from __future__ import annotations

import dataclasses

from purerl.algos.ddpg import (
    DeterministicConfig,
    State,
    actor_loss,
    critic_targets,
    exploration_actions,
    make_deterministic_agent,
)
from purerl.core import validation as V
from purerl.core.losses import critic_loss
from purerl.types import Agent

__all__ = [
    "Config",
    "State",
    "actor_loss",
    "critic_loss",
    "critic_targets",
    "exploration_actions",
    "make",
]


@dataclasses.dataclass(frozen=True)
class Config(DeterministicConfig):
    """TD3 hyper-parameters (defaults: the paper's, with a Pendulum-sized budget; the actor
    and the target networks update once every `policy_delay` critic steps)."""

    target_noise: float = 0.2  # std of the target policy smoothing noise
    noise_clip: float = 0.5  # the smoothing noise is clipped to [-noise_clip, noise_clip]
    policy_delay: int = 2  # critic steps per actor / target update

    def __post_init__(self):
        super().__post_init__()
        c = "td3.Config"
        V.check_positive(c, "target_noise", self.target_noise, allow_zero=True)
        V.check_positive(c, "noise_clip", self.noise_clip, allow_zero=True)
        V.check_int(c, "policy_delay", self.policy_delay)


def make(env, env_params, config: Config = Config(), *, buffer=None, input_fn=None) -> Agent:
    """Build TD3 for a continuous-action `env`. Raises ValueError on bad input.

    `buffer`: a custom `ReplayBuffer` in place of the uniform one; `input_fn`: what the
    networks read of an observation (both set by `purerl.algos.her` for goal dicts)."""
    if not isinstance(config, Config):
        raise ValueError(f"td3.make expects a td3.Config, got {type(config).__name__}")
    return make_deterministic_agent(
        env,
        env_params,
        config,
        "TD3",
        num_critics=2,
        target_noise=config.target_noise,
        noise_clip=config.noise_clip,
        policy_delay=config.policy_delay,
        buffer=buffer,
        input_fn=input_fn,
    )
