"""Environments: `make_env` over gymnax (or your own envs) and pure wrappers."""

from purerl.envs.goal import (
    BitFlip,
    FlattenGoal,
    GoalEnv,
    PointReach,
    is_goal_env,
    is_goal_obs,
    network_input,
)
from purerl.envs.make import (
    REGISTRY,
    action_dim,
    action_shape,
    env_name,
    is_discrete,
    make_env,
    num_actions,
    obs_ndim,
    obs_shape,
    register,
    registered_envs,
)
from purerl.envs.pomdp import POSITIONS, MaskVelocity
from purerl.envs.wrappers import (
    EpisodeStatistics,
    NormalizeObservation,
    NormalizeReward,
    RescaleAction,
    Wrapper,
    inherit_statistics,
)

__all__ = [
    "REGISTRY",
    "BitFlip",
    "FlattenGoal",
    "GoalEnv",
    "PointReach",
    "is_goal_env",
    "is_goal_obs",
    "network_input",
    "POSITIONS",
    "EpisodeStatistics",
    "MaskVelocity",
    "NormalizeObservation",
    "NormalizeReward",
    "RescaleAction",
    "Wrapper",
    "action_dim",
    "action_shape",
    "env_name",
    "inherit_statistics",
    "is_discrete",
    "make_env",
    "num_actions",
    "obs_ndim",
    "obs_shape",
    "register",
    "registered_envs",
]
