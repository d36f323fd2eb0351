"""Hyper-parameter tuning: optuna's TPE proposes a batch of trials, one compiled program
trains them all (every trial x every seed, `purerl.train_many`), the results go back.

    python scripts/tune.py ppo --param learning_rate=1e-4:1e-2:log --param ent_coef=0:0.05 \
        --num-batches 8 --batch-size 16 --num-seeds 2

The batch is the unit of parallelism: `study.ask()` is called `batch_size` times (TPE with
`constant_liar`, so the trials of one batch spread out; the first batch is random
startup trials), then the batch trains as one
`vmap`; every batch has the same shape, so the program compiles once. A trial's value is its
final training return (the mean over seeds of the mean episode return over the last 10% of
updates). Only float fields can be tuned (they are traced); ints fix shapes.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import time
import typing
import warnings
from typing import Any

import jax
import numpy as np

from purerl.cli.sweep import final_returns
from purerl.core.many import train_many
from purerl.envs import make_env


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ImportError('scripts/tune.py needs optuna: pip install "purerl[tune]"') from None
    return optuna


@dataclasses.dataclass
class TuneResult:
    out_dir: str
    trials: list[dict[str, Any]]  # every trial, best first
    best: dict[str, Any]
    num_compiles: int
    seconds: float
    files: dict[str, str]


def parse_params(specs: list[str], config) -> dict[str, tuple[float, float, bool]]:
    """`["learning_rate=1e-4:1e-2:log", "gamma=0.9:0.999"]` -> {field: (low, high, log)}."""
    hints = typing.get_type_hints(type(config))
    out = {}
    for spec in specs:
        name, sep, rng = spec.partition("=")
        name = name.strip().replace("-", "_")
        parts = rng.split(":")
        if not sep or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise ValueError(f"--param {spec!r}: expected FIELD=LOW:HIGH or FIELD=LOW:HIGH:log")
        if name not in hints:
            raise ValueError(f"--param {name}: not a field of {type(config).__qualname__}")
        if hints[name] is not float:
            raise ValueError(
                f"--param {name}: only float fields can be tuned in one program "
                f"({name} is {getattr(hints[name], '__name__', hints[name])}: it fixes shapes "
                "or control flow); sweep it across separate runs instead"
            )
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"--param {name}: {parts[0]!r}:{parts[1]!r} are not numbers") from None
        log = len(parts) == 3
        if not low < high or (log and low <= 0):
            raise ValueError(f"--param {name}: needs LOW < HIGH (and LOW > 0 with log)")
        for v in (low, high):  # the Config's own validation of the range's ends
            dataclasses.replace(config, **{name: v})
        out[name] = (low, high, log)
    if not out:
        raise ValueError("tune: give at least one --param FIELD=LOW:HIGH[:log]")
    return out


def tune(
    algo,
    config,
    params: list[str],
    num_batches: int = 4,
    batch_size: int = 8,
    env_id: str = "CartPole-v1",
    num_seeds: int = 2,
    seed: int = 0,
    out: str | None = None,
    quiet: bool = False,
) -> TuneResult:
    optuna = _optuna()
    space = parse_params(params, config)
    for name, v in [
        ("num_batches", num_batches),
        ("batch_size", batch_size),
        ("num_seeds", num_seeds),
    ]:
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    env, env_params = make_env(env_id)
    name = algo.__name__.rsplit(".", 1)[-1]
    out = out or os.path.join("runs", f"tune-{name}-{env_id}-{time.strftime('%Y%m%d-%H%M%S')}")
    if os.path.exists(os.path.join(out, "tune.csv")):
        raise ValueError(f"--out {out}: holds a finished tuning run; choose another folder")
    os.makedirs(out, exist_ok=True)
    dists = {
        n: optuna.distributions.FloatDistribution(lo, hi, log=log)
        for n, (lo, hi, log) in space.items()
    }
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(  # the first batch random, then TPE
            seed=seed, constant_liar=True, n_startup_trials=batch_size
        )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    compiles = []

    def make(h):  # one factory for every batch: the compiled program is reused
        compiles.append(1)
        return algo.make(env, env_params, dataclasses.replace(config, **h))

    rows, t0 = [], time.time()
    for b in range(num_batches):
        trials = [study.ask(dists) for _ in range(batch_size)]
        hp = {n: np.asarray([t.params[n] for t in trials], np.float32) for n in space}
        tb = time.time()
        _, m = train_many(make, keys, hp)  # [batch_size, num_seeds, num_updates]
        final = final_returns(np.asarray(m["episode_return"]))
        for t, f in zip(trials, final, strict=True):
            value = float(f.mean())
            study.tell(t, value if np.isfinite(value) else float("-inf"))
            rows.append(
                {
                    "trial": t.number,
                    "batch": b,
                    **t.params,
                    "value": value,
                    "value_std": float(f.std()),
                }
            )
        if not quiet:
            best = study.best_trial
            print(
                f"batch {b + 1}/{num_batches}: {batch_size} trials x {num_seeds} seeds in "
                f"{time.time() - tb:.1f}s | batch best {final.mean(1).max():.2f} | "
                f"best so far {best.value:.2f} (trial {best.number})"
            )
    rows.sort(key=lambda r: -r["value"])
    files = _write(out, rows, list(space))
    result = TuneResult(out, rows, rows[0], len(compiles), time.time() - t0, files)
    if not quiet:
        print(f"\n{len(rows)} trials, {len(compiles)} compile(s), {result.seconds:.1f}s\n")
        print(markdown(rows[:10], list(space)))
        flags = " ".join(f"--{n.replace('_', '-')} {rows[0][n]:.4g}" for n in space)
        print(f"\nbest: {flags}  (value {rows[0]['value']:.2f})")
        for k, v in files.items():
            print(f"  {k:<8} -> {v}")
    return result


def markdown(rows, names) -> str:
    head = ["rank", "trial", "batch", *names, "final return (mean +- std over seeds)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k, r in enumerate(rows):
        cells = [
            str(k + 1),
            str(r["trial"]),
            str(r["batch"]),
            *(f"{r[n]:.4g}" for n in names),
            f"{r['value']:.2f} +- {r['value_std']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write(out, rows, names):
    path = os.path.join(out, "tune.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rank", "trial", "batch", *names, "value", "value_std"])
        for k, r in enumerate(rows):
            w.writerow(
                [k + 1, r["trial"], r["batch"], *(r[n] for n in names), r["value"], r["value_std"]]
            )
    md = os.path.join(out, "tune.md")
    with open(md, "w") as f:
        f.write("# Tuning results (best first)\n\n" + markdown(rows, names) + "\n")
    return {"table": path, "markdown": md}
