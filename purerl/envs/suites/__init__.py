"""Adapters of other environment suites, reached through `make_env("<prefix>/<id>")`.

Each suite's module is imported only when one of its ids is asked for; a suite that is not
installed gives an ImportError naming the purerl extra that installs it.

| prefix | suite | extra |
|---|---|---|
| `brax/` | brax (`brax/inverted_pendulum`, `brax/halfcheetah`, ...) | `brax` |
| `playground/` | MuJoCo Playground (`playground/CartpoleSwingup`, ...) | `playground` |
| `jumanji/` | jumanji (`jumanji/Snake-v1`, ...) | `jumanji` |
| `xminigrid/` | XLand-MiniGrid (`xminigrid/MiniGrid-Empty-8x8`, ...) | `xminigrid` |
| `navix/` | NAVIX (`navix/Navix-Empty-8x8-v0`, ...) | `navix` |
| `craftax/` | Craftax (`craftax/Craftax-Classic-Symbolic-v1`, ...) | `craftax` |
| `gymnasium/` | a Gymnasium env stepped on the host (`gymnasium/CartPole-v1`) | `gymnasium` |
"""

from __future__ import annotations

import importlib

# prefix -> module under purerl.envs.suites
SUITES = {
    "brax": "brax",
    "playground": "playground",
    "jumanji": "jumanji",
    "xminigrid": "xminigrid",
    "navix": "navix",
    "craftax": "craftax",
    "gymnasium": "gymnasium",
}


def is_suite_id(env_id) -> bool:
    return isinstance(env_id, str) and env_id.split("/", 1)[0] in SUITES and "/" in env_id


def make(env_id: str, **kwargs):
    """`(env, env_params)` of a suite id `"<prefix>/<name>"`; kwargs go to the suite."""
    prefix, name = env_id.split("/", 1)
    if not name:
        raise ValueError(f"make_env: {env_id!r} names no {prefix} environment")
    module = importlib.import_module(f"purerl.envs.suites.{SUITES[prefix]}")
    return module.make(name, **kwargs)


__all__ = ["SUITES", "is_suite_id", "make"]
