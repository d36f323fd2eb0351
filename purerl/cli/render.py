"""Draw a trained greedy policy: one episode of a run folder's checkpoint to an animated GIF.

    python scripts/render.py runs/ppo-CartPole-v1-...        # -> <run>/episode.gif
    python scripts/ppo.py --render ...                        # the same at the end of a run

One frame per step the agent acts in (the episode's length in frames), with the step and
the return so far written on it. Drawn with PIL from the env's state: gymnax's classic
control (CartPole, Pendulum, Acrobot, MountainCar and the continuous MountainCar) as
schematic pictures, image observations (MinAtar's `[10, 10, C]` grids) as coloured grids,
and any other env as a bar chart of its observation vector.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import typing
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purerl.core.checkpoint import load, load_metadata
from purerl.envs import make_env
from purerl.envs.wrappers import inherit_statistics

SIZE = (360, 240)


@dataclasses.dataclass
class Episode:
    path: str
    num_frames: int
    episode_return: float
    ended: bool  # the episode terminated or truncated within max_steps


def pop_flag(argv: list[str]) -> tuple[list[str], bool]:
    """Remove `--render` from a script's argv; whether it was there."""
    return [a for a in argv if a != "--render"], "--render" in argv


def config_from_dict(config_cls, values: dict):
    """Rebuild a `Config` from its JSON form (JSON lists back to the fields' tuples)."""
    hints = typing.get_type_hints(config_cls)
    fields = {f.name for f in dataclasses.fields(config_cls)}
    kwargs = {}
    for k, v in values.items():
        if k not in fields:
            continue
        if isinstance(v, list) and typing.get_origin(hints[k]) is tuple:
            v = tuple(v)
        kwargs[k] = v
    return config_cls(**kwargs)


def load_run(run_dir: str):
    """`(agent, states, metadata)` of a run folder written by `purerl.cli.experiment.run`."""
    ckpt = os.path.join(run_dir, "checkpoint.ckpt")
    if not os.path.exists(ckpt):
        raise ValueError(f"{run_dir}: no checkpoint.ckpt (not a finished run folder)")
    meta = load_metadata(ckpt)
    if "algo" not in meta or "env" not in meta:
        raise ValueError(f"{ckpt}: its metadata names no algo/env")
    algo = importlib.import_module(f"purerl.algos.{meta['algo']}")
    config = config_from_dict(algo.Config, meta.get("config", {}))
    env, params = make_env(meta["env"], **meta.get("env_kwargs", {}))
    agent = algo.make(env, params, config)
    keys = jax.random.split(jax.random.key(0), int(meta.get("num_seeds", 1)))
    like = jax.jit(jax.vmap(agent.init))(keys)
    return agent, load(ckpt, like), meta


def rollout(agent, state, key, max_steps: int):
    """One greedy episode (the first of a fresh env) of `agent.act`, up to `max_steps`:
    `(env_states, obs, rewards, dones)` stacked over `max_steps` steps (host arrays)."""
    env, params = agent.env, agent.env_params
    k_reset, k_loop = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(k_reset[None], params)
    if hasattr(state, "env_state"):
        env_state = inherit_statistics(env_state, state.env_state)

    def body(c, k):
        obs, env_state = c
        k_act, k_step = jax.random.split(k)
        action = jax.vmap(agent.act, in_axes=(None, 0, 0))(state, obs, k_act[None])
        nobs, nstate, reward, term, trunc, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            k_step[None], env_state, action, params
        )
        out = (env_state, obs, reward[0], jnp.logical_or(term, trunc)[0])
        return (nobs, nstate), out

    _, out = jax.lax.scan(body, (obs, env_state), jax.random.split(k_loop, max_steps))
    states, obs, rewards, dones = jax.device_get(out)
    states = jax.tree.map(lambda x: x[:, 0], states)
    return states, np.asarray(obs)[:, 0], np.asarray(rewards), np.asarray(dones)


def _inner(state):
    while hasattr(state, "env_state"):
        state = state.env_state
    return state


def draw(state, obs, text: str, size=SIZE):
    """A PIL image of one step: the env's picture (see the module doc) and `text`."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    w, h = size
    s = _inner(state)

    def f(name):
        return float(np.asarray(getattr(s, name)))

    if hasattr(s, "theta") and hasattr(s, "x"):  # CartPole
        scale = w / 4.8
        cx, cy = w / 2 + f("x") * scale, h * 0.7
        d.line([(0, cy + 10), (w, cy + 10)], fill="black")
        d.rectangle([cx - 25, cy - 12, cx + 25, cy + 10], fill=(60, 60, 60))
        pole = 1.0 * scale
        tip = (cx + pole * np.sin(f("theta")), cy - pole * np.cos(f("theta")))
        d.line([(cx, cy - 12), tip], fill=(200, 120, 60), width=8)
    elif hasattr(s, "theta"):  # Pendulum
        cx, cy, r = w / 2, h / 2, h * 0.35
        tip = (cx + r * np.sin(f("theta")), cy - r * np.cos(f("theta")))
        d.line([(cx, cy), tip], fill=(200, 60, 60), width=10)
        d.ellipse([cx - 5, cy - 5, cx + 5, cy + 5], fill="black")
    elif hasattr(s, "joint_angle1"):  # Acrobot
        cx, cy, r = w / 2, h / 2, h * 0.22
        a1, a2 = f("joint_angle1"), f("joint_angle1") + f("joint_angle2")
        p1 = (cx + r * np.sin(a1), cy + r * np.cos(a1))
        p2 = (p1[0] + r * np.sin(a2), p1[1] + r * np.cos(a2))
        d.line([(0, cy - r), (w, cy - r)], fill="black")  # the goal height
        d.line([(cx, cy), p1, p2], fill=(0, 80, 200), width=8)
    elif hasattr(s, "position"):  # MountainCar
        xs = np.linspace(-1.2, 0.6, 100)

        def to_px(x):
            return ((x + 1.2) / 1.8 * (w - 20) + 10, h * 0.85 - np.sin(3 * x) * h * 0.3)

        d.line([to_px(x) for x in xs], fill="black", width=2)
        gx, gy = to_px(0.5)
        d.line([(gx, gy), (gx, gy - 30)], fill=(0, 150, 0), width=3)
        px, py = to_px(f("position"))
        d.ellipse([px - 8, py - 16, px + 8, py], fill=(200, 60, 60))
    elif np.ndim(obs) == 3:  # an image observation (MinAtar): a colour per channel
        grid = np.asarray(obs, np.float32)
        colours = (np.array(_palette(grid.shape[-1])) * grid[..., None]).max(axis=2)
        pic = Image.fromarray((255 - colours).astype(np.uint8)).resize(
            (h - 30, h - 30), Image.NEAREST
        )
        img.paste(pic, ((w - pic.width) // 2, 25))
    else:  # any other env: its observation vector as bars
        v = np.ravel(np.asarray(obs, np.float32))[:32]
        bw = (w - 20) / max(len(v), 1)
        m = max(float(np.max(np.abs(v))), 1e-6)
        for i, x in enumerate(v):
            top = h / 2 - x / m * h * 0.35
            d.rectangle(
                [10 + i * bw, min(top, h / 2), 10 + (i + 0.8) * bw, max(top, h / 2)],
                fill=(70, 110, 200),
            )
    d.text((6, 4), text, fill="black")
    return img


def _palette(n):
    rng = np.random.default_rng(0)
    return [tuple(255 - c for c in rng.integers(40, 230, 3)) for _ in range(n)]


def render_episode(agent, state, key, path: str, max_steps: int | None = None, fps: int = 30):
    """Write one greedy episode of `agent` with train `state` (one seed) to the GIF `path`."""
    from PIL import Image

    if max_steps is None:
        limit = getattr(agent.env_params, "max_steps_in_episode", None)
        max_steps = int(limit) if isinstance(limit, int) else 1000
    states, obs, rewards, dones = rollout(agent, state, key, max_steps)
    ended = bool(dones.any())
    length = int(np.argmax(dones)) + 1 if ended else max_steps
    frames, ret = [], 0.0
    for t in range(length):
        ret += float(rewards[t])
        st = jax.tree.map(lambda x, t=t: x[t], states)
        frames.append(draw(st, obs[t], f"step {t + 1}  return {ret:.1f}"))
    if not isinstance(frames[0], Image.Image):
        raise TypeError("render: frames must be PIL images")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    return Episode(path, length, ret, ended)


def render_run(
    run_dir: str,
    seed_index: int = 0,
    out: str | None = None,
    fps: int = 30,
    max_steps: int | None = None,
    key: int = 0,
) -> Episode:
    """Render seed `seed_index` of the run folder `run_dir` to `out` (default
    `<run_dir>/episode.gif`)."""
    agent, states, meta = load_run(run_dir)
    n = jax.tree.leaves(states)[0].shape[0]
    if not 0 <= seed_index < n:
        raise ValueError(f"seed_index must be in [0, {n}), got {seed_index}")
    state: Any = jax.tree.map(lambda x: x[seed_index], states)
    out = out or os.path.join(run_dir, "episode.gif")
    return render_episode(agent, state, jax.random.key(key), out, max_steps, fps)
