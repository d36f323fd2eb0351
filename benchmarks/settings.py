"""The benchmark's settings: environments, budgets, return thresholds, and purerl's config
for each algorithm (derived from the algorithm's `Config()` defaults)."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

ENV_ID = "CartPole-v1"
THRESHOLD = 475.0
DEFAULT_TOTAL_TIMESTEPS = 100_000
# Off-policy continuous control runs on Pendulum-v1 at rejax's configs/gymnax/pendulum.yaml
# budget; algo -> (env id, return threshold, default total_timesteps). Others: CartPole.
ALGO_ENVS = {
    "td3": ("Pendulum-v1", -200.0, 10_000),
    "sac": ("Pendulum-v1", -200.0, 10_000),
    "ddpg": ("Pendulum-v1", -200.0, 10_000),
}
# purerl `make_env` options per algo. rejax normalises Pendulum observations for td3/sac
# at sampling time; purerl's NormalizeObservation wrapper normalises at collection time, so
# early replay items carry stale statistics (TD3 at these settings: -1303 with it, one
# seed): purerl trains on the raw, already bounded Pendulum observations.
PURERL_ENV_KWARGS: dict[str, dict] = {}

EVAL_EPISODES = 128  # rejax's evaluation size; purerl uses the same
CURVE_POINTS = 100  # learning-curve points kept in the JSON

# purerl's settings per algorithm, as changes to its `Config()` defaults (total_timesteps is
# set at run time). ppo, td3 and sac: rejax's configs/gymnax/cartpole.yaml and pendulum.yaml.
PURERL_OVERRIDES: dict[str, dict[str, Any]] = {
    "ppo": dict(
        num_envs=5,
        num_steps=100,
        num_epochs=5,
        num_minibatches=5,
        learning_rate=7.5e-4,
        max_grad_norm=0.5,
        gamma=0.99,
        gae_lambda=0.95,
        clip_eps=0.2,
        ent_coef=0.01,
        vf_coef=0.5,
        activation="tanh",
        anneal_lr=False,
        hidden_sizes=(64, 64),
    ),
    # dqn.Config()'s defaults are rejax's CartPole setting (double, dueling, swish, MSE loss)
    "dqn": {},
    # rejax's configs/gymnax/pendulum.yaml: polyak p -> tau = 1 - p; rejax's TD3 updates the
    # actor and targets once per `policy_delay` env steps, as purerl's does per critic steps
    "td3": dict(
        num_envs=1,
        buffer_size=10_000,
        learning_starts=1_000,
        batch_size=100,
        actor_learning_rate=1e-3,
        critic_learning_rate=1e-3,
        gamma=0.99,
        tau=0.05,
        exploration_noise=0.3,
        target_noise=0.2,
        noise_clip=0.5,
        policy_delay=2,
        train_frequency=1,
        gradient_steps=1,
        activation="swish",
        hidden_sizes=(64, 64),
    ),
    "sac": dict(
        num_envs=1,
        buffer_size=10_000,
        learning_starts=256,
        batch_size=256,
        actor_learning_rate=1e-2,
        critic_learning_rate=1e-2,
        alpha_learning_rate=1e-2,
        gamma=0.99,
        tau=0.02,
        alpha=1.0,  # rejax starts from log_alpha = 0
        autotune=True,
        train_frequency=1,
        gradient_steps=1,
        activation="swish",
        hidden_sizes=(64, 64),
    ),
    # purerl only (rejax 0.1.3 has no C51, QR-DQN or DDPG): purerl's defaults
    "c51": {},
    "qrdqn": {},
    "ddpg": {},
    # policy-gradient family, purerl only (rejax 0.1.3 has none of them): purerl's defaults
    "reinforce": {},
    "vpg": {},
    "a2c": {},
    "a3c": {},
    "trpo": {},
}
ALGOS = list(PURERL_OVERRIDES)


def algo_env(algo: str, total_timesteps: int | None) -> tuple[str, float, int]:
    """(env id, return threshold, env steps per seed) of `algo`; `total_timesteps` (when
    given) replaces the default budget."""
    env_id, threshold, total = ALGO_ENVS.get(algo, (ENV_ID, THRESHOLD, DEFAULT_TOTAL_TIMESTEPS))
    return env_id, threshold, total if total_timesteps is None else total_timesteps


def purerl_config(algo: str, total_timesteps: int | None = None):
    """purerl's benchmark `Config` of `algo`: `dataclasses.replace` of its `Config()` with
    `PURERL_OVERRIDES[algo]` and the run's budget (`algo_env`'s default when None)."""
    module = importlib.import_module(f"purerl.algos.{algo}")
    total = algo_env(algo, total_timesteps)[2]
    return dataclasses.replace(module.Config(), total_timesteps=total, **PURERL_OVERRIDES[algo])


def config_record(algo: str) -> dict:
    """`purerl_config(algo)` as JSON-ready fields (total_timesteps, set per run, left out)."""
    fields = dataclasses.asdict(purerl_config(algo))
    fields.pop("total_timesteps")
    return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
