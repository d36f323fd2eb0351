"""Tuned settings, in one place: per (algorithm, env id) `Config` overrides with their
source. `config(algo, env_id, **overrides)` builds the algorithm's `Config` from its
defaults, the preset (if any) and then `overrides`; the training scripts (`purerl.cli`)
start from it, so `python scripts/ppo.py --env Breakout-MinAtar` trains with the MinAtar
settings and every flag still overrides them.

MinAtar (gymnax ids `Breakout-MinAtar`, `SpaceInvaders-MinAtar`, `Asterix-MinAtar`,
`Freeway-MinAtar`):

* PPO: gymnax-blines' `agents/<env>/ppo.yaml` (identical for the four games): 64 envs x
  128 steps, 8 minibatches, 4 epochs, Adam 5e-4 (constant; their 5% warm-up is not
  reproduced), clip 0.2, GAE lambda 0.95, gamma 0.999, entropy 0.01, value 0.5, grad norm
  0.5, two ReLU layers of 256, 10M env steps. gymnax-blines flattens the 10x10xC image
  into its MLP; here the image goes through purerl's CNN torso first (16 3x3 filters,
  as in the MinAtar paper's networks), then the same two layers of 256.
* DQN / C51 / QR-DQN: the MinAtar paper's DQN (Young & Tian 2019, section 4): a conv layer
  of 16 3x3 filters and 128 hidden units, batch 32, replay 100k, replay start 5k, a hard
  target update every 1000 steps, epsilon 1 -> 0.1 over the first 100k steps, gamma 0.99,
  step size 2.5e-4 (their RMSProp is purerl's clipped Adam here), Huber loss for DQN;
  one gradient step per 8 env steps over 8 envs (the paper: one per env step, one env).
  Untuned starting points: not yet checked against the paper's 5M-frame curves.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

MINATAR = ("Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar", "Freeway-MinAtar")

SOURCES = {
    "gymnax-blines": "https://github.com/RobertTLange/gymnax-blines agents/<env>/ppo.yaml",
    "minatar-paper": "Young & Tian 2019, MinAtar (arXiv:1903.03176), section 4 (DQN)",
}

_PPO_MINATAR = {
    "total_timesteps": 10_000_000,
    "num_envs": 64,
    "num_steps": 128,
    "num_minibatches": 8,
    "num_epochs": 4,
    "learning_rate": 5e-4,
    "anneal_lr": False,
    "gamma": 0.999,
    "gae_lambda": 0.95,
    "clip_eps": 0.2,
    "ent_coef": 0.01,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
    "hidden_sizes": (256, 256),
    "activation": "relu",
    "torso": "cnn",
    "cnn_channels": (16,),
    "cnn_kernels": (3,),
    "cnn_strides": (1,),
}

_DQN_MINATAR = {
    "total_timesteps": 10_000_000,
    "num_envs": 8,
    "train_frequency": 1,
    "gradient_steps": 1,
    "buffer_size": 100_000,
    "batch_size": 32,
    "learning_starts": 5_000,
    "learning_rate": 2.5e-4,
    "gamma": 0.99,
    "tau": 1.0,
    "target_update_interval": 1_000,
    "epsilon_start": 1.0,
    "epsilon_end": 0.1,
    "exploration_fraction": 100_000 / 10_000_000,
    "hidden_sizes": (128,),
    "activation": "relu",
    "torso": "cnn",
    "cnn_channels": (16,),
    "cnn_kernels": (3,),
    "cnn_strides": (1,),
}

# (algorithm module name, env id) -> (Config overrides, source key)
PRESETS: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
for _env in MINATAR:
    PRESETS["ppo", _env] = (_PPO_MINATAR, "gymnax-blines")
    PRESETS["dqn", _env] = ({**_DQN_MINATAR, "loss": "huber"}, "minatar-paper")
    PRESETS["c51", _env] = (_DQN_MINATAR, "minatar-paper")
    PRESETS["qrdqn", _env] = (_DQN_MINATAR, "minatar-paper")


def algo_name(algo: ModuleType | str) -> str:
    """`"ppo"` for `purerl.algos.ppo` (or the string itself)."""
    return algo if isinstance(algo, str) else algo.__name__.rsplit(".", 1)[-1]


def overrides(algo: ModuleType | str, env_id: str) -> dict[str, Any]:
    """The preset `Config` overrides of `algo` on `env_id` (empty: none)."""
    return dict(PRESETS.get((algo_name(algo), env_id), ({}, None))[0])


def source(algo: ModuleType | str, env_id: str) -> str | None:
    """Where the preset comes from (None: no preset)."""
    key = PRESETS.get((algo_name(algo), env_id), (None, None))[1]
    return SOURCES.get(key) if key else None


def config(algo: ModuleType, env_id: str, **extra):
    """`algo.Config` with the preset for `env_id` applied, then `extra` (validated as
    usual; an unknown field is a TypeError naming it)."""
    fields = {f.name for f in dataclasses.fields(algo.Config)}
    unknown = sorted(set(extra) - fields)
    if unknown:
        raise TypeError(f"{algo_name(algo)}.Config has no field(s) {unknown}")
    kwargs = {k: v for k, v in overrides(algo, env_id).items() if k in fields}
    return algo.Config(**{**kwargs, **extra})


__all__ = ["MINATAR", "PRESETS", "SOURCES", "algo_name", "config", "overrides", "source"]
