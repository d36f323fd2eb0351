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
from collections.abc import Sequence

from purerl.algos.ddpg import (
    State,
    actor_loss,
    critic_loss,
    critic_targets,
    exploration_actions,
    make_deterministic_agent,
    validate_deterministic_config,
)
from purerl.core import offpolicy
from purerl.core import validation as V
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
class Config(offpolicy.ReplayConfig):
    """TD3 hyper-parameters (defaults: the paper's, with a Pendulum-sized budget)."""

    total_timesteps: int = 20_000  # env steps of one training run (per seed)
    num_envs: int = 1
    buffer_size: int = 100_000
    batch_size: int = 128
    learning_starts: int = 1_000  # env steps of uniform-random acting before learning
    actor_learning_rate: float = 1e-3
    critic_learning_rate: float = 1e-3
    gamma: float = 0.99
    tau: float = 0.005  # Polyak coefficient of the (delayed) target updates
    exploration_noise: float = 0.1  # std of the Gaussian action noise, in [-1, 1] units
    target_noise: float = 0.2  # std of the target policy smoothing noise
    noise_clip: float = 0.5  # the smoothing noise is clipped to [-noise_clip, noise_clip]
    policy_delay: int = 2  # critic steps per actor / target update
    train_frequency: int = 1  # env steps per env between learning phases
    gradient_steps: int = 1  # gradient (critic) steps per learning phase
    hidden_sizes: Sequence[int] = (64, 64)  # (256, 256) for MuJoCo-scale tasks
    activation: str = "relu"

    def __post_init__(self):
        c = "td3.Config"
        validate_deterministic_config(c, self)
        V.check_positive(c, "target_noise", self.target_noise, allow_zero=True)
        V.check_positive(c, "noise_clip", self.noise_clip, allow_zero=True)
        V.check_int(c, "policy_delay", self.policy_delay)


def make(env, env_params, config: Config = Config(), *, buffer=None) -> Agent:
    """Build TD3 for a continuous-action `env`. Raises ValueError on bad input.

    `buffer`: a custom `ReplayBuffer` in place of the uniform one (`purerl.algos.her`)."""
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
    )
