"""Hyper-parameter sweeps: every setting x every seed in one compiled program.

    python scripts/ppo.py --sweep learning_rate=1e-4,3e-4,1e-3 --sweep gamma=0.99,0.995

`--sweep FIELD=v1,v2,...` (repeatable) names a `Config` field and its values; the settings
are crossed (every combination) or, with `--sweep-zip`, zipped (the i-th value of every
field). Float fields are traced: all their settings and all seeds run through one
`purerl.train_many` call, i.e. one compile. Fields that fix shapes or control flow (ints,
bools, strings, tuples) cannot be traced: their settings are grouped, one compile per
distinct value of those fields, and the sweep says so. The results: a ranked table
(`sweep.csv`, `sweep.md`, printed), every learning curve (`curves.csv`) and one plot of all
settings (`sweep.png`), ranked by the final training return (the mean over seeds of the
mean episode return over the last 10% of updates).
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import os
import time
import typing
from typing import Any

import jax
import numpy as np

from purerl.core.many import train_many
from purerl.envs import make_env


@dataclasses.dataclass
class SweepResult:
    out_dir: str
    table: list[dict[str, Any]]  # ranked, best first
    curves: dict[str, np.ndarray]  # "episode_return", "env_steps": [num_settings, S, U]
    settings: list[dict[str, Any]]  # in the order of `curves`
    num_compiles: int
    seconds: float
    files: dict[str, str]


def parse(specs: list[str], config, combine: str = "cross") -> list[dict[str, Any]]:
    """`["learning_rate=1e-4,3e-4", "gamma=0.99,0.995"]` -> the list of settings (dicts of
    field -> value typed as the `Config` field), crossed or zipped. Raises a ValueError
    naming the field on an unknown field, a bad value or a rejected setting."""
    if combine not in ("cross", "zip"):
        raise ValueError(f"sweep: combine must be 'cross' or 'zip', got {combine!r}")
    hints = typing.get_type_hints(type(config))
    fields = {f.name for f in dataclasses.fields(config)}
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not values.strip():
            raise ValueError(f"--sweep {spec!r}: expected FIELD=v1,v2,... (e.g. gamma=0.99,0.995)")
        if name not in fields:
            raise ValueError(
                f"--sweep {name}: not a field of {type(config).__qualname__} "
                f"(fields: {', '.join(sorted(fields))})"
            )
        if name in grid:
            raise ValueError(f"--sweep {name}: given twice")
        grid[name] = [_typed(name, hints[name], v.strip()) for v in values.split(",")]
    if not grid:
        raise ValueError("sweep: no --sweep FIELD=v1,v2,... given")
    names = list(grid)
    if combine == "zip":
        lengths = {n: len(v) for n, v in grid.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"--sweep-zip needs as many values for every field, got {lengths}")
        rows = list(zip(*grid.values(), strict=True))
    else:
        rows = list(itertools.product(*grid.values()))
    settings = [dict(zip(names, r, strict=True)) for r in rows]
    for s in settings:  # the Config's own validation, on concrete values, before tracing
        dataclasses.replace(config, **s)
    return settings


def _typed(name, hint, text):
    if hint is bool:
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"--sweep {name}: {text!r} is not a bool (true/false)")
        return text.lower() in ("true", "1")
    if hint in (int, float, str):
        try:
            return hint(text)
        except ValueError:
            raise ValueError(f"--sweep {name}: {text!r} is not a {hint.__name__}") from None
    raise ValueError(f"--sweep {name}: sweeping a field of type {hint} is not supported")


def traced_fields(config, settings) -> tuple[list[str], list[str]]:
    """`(floats, statics)`: swept float fields (traced, one program) and the others (each
    distinct value combination is its own compile)."""
    hints = typing.get_type_hints(type(config))
    names = list(settings[0])
    return [n for n in names if hints[n] is float], [n for n in names if hints[n] is not float]


def run_sweep(
    algo,
    config,
    specs: list[str],
    env_id: str = "CartPole-v1",
    num_seeds: int = 2,
    seed: int = 0,
    out: str | None = None,
    combine: str = "cross",
    env_kwargs: dict[str, Any] | None = None,
    quiet: bool = False,
) -> SweepResult:
    """Train every setting of `specs` x `num_seeds` seeds and write the ranked results."""
    settings = parse(specs, config, combine)
    if num_seeds < 1:
        raise ValueError(f"num_seeds must be >= 1, got {num_seeds}")
    floats, statics = traced_fields(config, settings)
    env, env_params = make_env(env_id, **(env_kwargs or {}))
    name = algo.__name__.rsplit(".", 1)[-1]
    out = out or os.path.join("runs", f"sweep-{name}-{env_id}-{time.strftime('%Y%m%d-%H%M%S')}")
    if os.path.exists(os.path.join(out, "sweep.csv")):
        raise ValueError(f"--out {out}: holds a finished sweep; choose another folder")
    os.makedirs(out, exist_ok=True)
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(settings):
        groups.setdefault(tuple(s[n] for n in statics), []).append(i)
    if not quiet:
        many = f"{len(groups)} compiles, one per value of {', '.join(statics)}"
        print(
            f"sweep: {len(settings)} settings x {num_seeds} seeds = "
            f"{len(settings) * num_seeds} runs; {'1 compile' if len(groups) == 1 else many}"
            + (f" (not traced: {', '.join(statics)} fix shapes or control flow)" if statics else "")
        )
    returns: list[Any] = [None] * len(settings)
    steps: list[Any] = [None] * len(settings)
    t0 = time.time()
    for values, idx in groups.items():
        base = dataclasses.replace(config, **dict(zip(statics, values, strict=True)))
        if floats:
            hp = {n: np.asarray([settings[i][n] for i in idx], np.float32) for n in floats}

            def make(h, base=base):
                cfg = dataclasses.replace(base, **{n: h[n] for n in floats})
                return algo.make(env, env_params, cfg)

            _, m = train_many(make, keys, hp)  # [H, S, U]
        else:
            _, m = train_many(algo.make(env, env_params, base), keys)
            m = jax.tree.map(lambda x: x[None], m)
        ret, st = np.asarray(m["episode_return"]), np.asarray(m["env_steps"])
        for j, i in enumerate(idx):
            returns[i], steps[i] = ret[j], st[j]
    seconds = time.time() - t0
    curves = {"episode_return": np.stack(returns), "env_steps": np.stack(steps)}
    table = rank(settings, curves["episode_return"])
    files = _write(out, table, settings, curves, f"{name} on {env_id}", specs, combine)
    if not quiet:
        print(
            f"{len(settings) * num_seeds} runs x {int(curves['env_steps'][0, 0, -1]):,} env "
            f"steps in {seconds:.1f}s (incl. compile)\n"
        )
        print(markdown(table))
        for k, v in files.items():
            print(f"  {k:<7} -> {v}")
    return SweepResult(out, table, curves, settings, len(groups), seconds, files)


def final_returns(returns: np.ndarray, last: float = 0.1) -> np.ndarray:
    """`[..., U]` curves -> `[...]`: the mean over the last `last` fraction of updates."""
    k = max(1, int(round(returns.shape[-1] * last)))
    return returns[..., -k:].mean(axis=-1)


def rank(settings, returns: np.ndarray) -> list[dict[str, Any]]:
    """Rows (setting, final return mean / std over seeds, per seed), best first."""
    final = final_returns(returns)  # [num_settings, S]
    rows = [
        {
            **s,
            "final_return_mean": float(final[i].mean()),
            "final_return_std": float(final[i].std()),
            "final_return_per_seed": [round(float(x), 3) for x in final[i]],
            "setting": i,
        }
        for i, s in enumerate(settings)
    ]
    rows.sort(key=lambda r: -r["final_return_mean"])
    for k, r in enumerate(rows):
        r["rank"] = k + 1
    return rows


def _label(row_or_setting, names):
    return ", ".join(
        f"{n}={row_or_setting[n]:g}"
        if isinstance(row_or_setting[n], float)
        else f"{n}={row_or_setting[n]}"
        for n in names
    )


def markdown(table) -> str:
    names = [
        k for k in table[0] if not k.startswith("final_return") and k not in ("setting", "rank")
    ]
    head = ["rank", *names, "final return (mean +- std over seeds)", "per seed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table:
        cells = [
            str(r["rank"]),
            *(f"{r[n]:g}" if isinstance(r[n], float) else str(r[n]) for n in names),
        ]
        cells += [
            f"{r['final_return_mean']:.2f} +- {r['final_return_std']:.2f}",
            ", ".join(f"{x:.1f}" for x in r["final_return_per_seed"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write(out, table, settings, curves, title, specs, combine):
    names = list(settings[0])
    files = {}
    path = os.path.join(out, "sweep.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["rank", *names, "final_return_mean", "final_return_std", "final_return_per_seed"]
        )
        for r in table:
            w.writerow(
                [
                    r["rank"],
                    *(r[n] for n in names),
                    r["final_return_mean"],
                    r["final_return_std"],
                    " ".join(map(str, r["final_return_per_seed"])),
                ]
            )
    files["table"] = path
    path = os.path.join(out, "sweep.md")
    with open(path, "w") as f:
        f.write(f"# Sweep: {title}\n\n`--sweep {' --sweep '.join(specs)}` ({combine})\n\n")
        f.write(markdown(table) + "\n")
    files["markdown"] = path
    path = os.path.join(out, "curves.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["setting", *names, "seed", "update", "env_steps", "episode_return"])
        H, S, U = curves["episode_return"].shape
        for h, s, u in itertools.product(range(H), range(S), range(U)):
            w.writerow(
                [
                    h,
                    *(settings[h][n] for n in names),
                    s,
                    u + 1,
                    int(curves["env_steps"][h, s, u]),
                    float(curves["episode_return"][h, s, u]),
                ]
            )
    files["curves"] = path
    files["plot"] = _plot(os.path.join(out, "sweep.png"), table, settings, curves, title)
    path = os.path.join(out, "sweep.json")
    with open(path, "w") as f:
        json.dump({"title": title, "sweep": specs, "combine": combine, "table": table}, f, indent=2)
    files["summary"] = path
    return files


def _plot(path, table, settings, curves, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(settings[0])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    cmap = plt.get_cmap("viridis", max(len(table), 2))
    for k, r in enumerate(table):  # best first, coloured by rank
        i = r["setting"]
        x = curves["env_steps"][i, 0]
        ax.plot(
            x,
            curves["episode_return"][i].mean(0),
            color=cmap(k),
            label=f"#{r['rank']} {_label(r, names)}",
        )
    ax.set_xlabel("env steps (per seed)")
    ax.set_ylabel(f"episode return (mean over {curves['episode_return'].shape[1]} seeds)")
    ax.set_title(f"sweep: {title}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def requested(argv: list[str]) -> bool:
    """Whether a script's command line asks for a sweep (`--sweep ...`)."""
    return any(a == "--sweep" or a.startswith("--sweep=") for a in argv)


def cli(algo, argv=None) -> SweepResult:
    """A training script's command line with `--sweep FIELD=v1,v2` (repeatable) and
    `--sweep-zip`: tyro over `algo.Config` plus the shared flags, then `run_sweep`."""
    import sys

    import tyro

    argv = sys.argv[1:] if argv is None else list(argv)
    args_cls = dataclasses.make_dataclass(
        "SweepArgs",
        [
            ("config", tyro.conf.OmitArgPrefixes[algo.Config]),
            (
                "sweep",
                tyro.conf.UseAppendAction[list[str]],
                dataclasses.field(default_factory=list),
            ),
            ("sweep_zip", bool, dataclasses.field(default=False)),
            ("env", str, dataclasses.field(default="CartPole-v1")),
            ("num_seeds", int, dataclasses.field(default=4)),
            ("seed", int, dataclasses.field(default=0)),
            ("out", str | None, dataclasses.field(default=None)),
            ("normalize_obs", bool, dataclasses.field(default=False)),
            ("normalize_reward", bool, dataclasses.field(default=False)),
        ],
    )
    args = tyro.cli(args_cls, default=args_cls(config=algo.Config()), args=argv)
    try:
        return run_sweep(
            algo,
            args.config,
            args.sweep,
            env_id=args.env,
            num_seeds=args.num_seeds,
            seed=args.seed,
            out=args.out,
            combine="zip" if args.sweep_zip else "cross",
            env_kwargs={
                "normalize_obs": args.normalize_obs,
                "normalize_reward": args.normalize_reward,
            },
        )
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
