"""Loggers for the `log` hook of `purerl.train` / `purerl.train_many`: CSV, TensorBoard,
wandb; one stream per run (seed), written as the compiled loop runs.

    from purerl.cli import loggers
    log = loggers.make(["tensorboard", "csv"], "runs/my-run", num_runs=4)
    states, metrics = purerl.train_many(agent, keys, log=log, log_every=10)
    log.close()

The hook is called on the host from inside the compiled, vmapped loop (a
`jax.debug.callback`, see `purerl.core.train.train_loop`) with one run's scalars of one
update; each backend writes them at once, so nothing accumulates over the run.

Metric names follow CleanRL (`MAPPING`): `charts/episodic_return`, `charts/episodic_length`
(completed episodes only: before the first episode of a run ends nothing is written),
`eval/episodic_return` (greedy evaluation during training), `losses/policy_loss`,
`losses/value_loss`, `losses/entropy`, `losses/approx_kl`, `losses/clipfrac`,
`losses/q_values`, ...; any other `loss/x` is `losses/x_loss` and any other metric
`losses/<name>`. The x-axis (`step`) is `global_step`: the env steps of that run, as
CleanRL's; `charts/update` is the update number and `charts/SPS` the run's env steps per
second of wall time since the logger's first record.

Backends: `csv` (`<out>/logs/run-<i>.csv`), `tensorboard` (tensorboardX event files in
`<out>/tensorboard/run-<i>/`, readable by TensorBoard: `tensorboard --logdir <out>`),
`wandb` (one wandb run per seed, grouped by the run folder; offline unless `WANDB_MODE`
says otherwise, so it needs no account: `wandb sync <out>/wandb/offline-run-*` uploads).
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Sequence

import numpy as np

KINDS = ("csv", "tensorboard", "wandb")

MAPPING = {
    "episode_return": "charts/episodic_return",
    "episode_length": "charts/episodic_length",
    "eval_return": "eval/episodic_return",
    "loss/policy": "losses/policy_loss",
    "loss/value": "losses/value_loss",
    "loss/actor": "losses/actor_loss",
    "loss/critic": "losses/qf_loss",
    "loss/alpha": "losses/alpha_loss",
    "entropy": "losses/entropy",
    "kl": "losses/approx_kl",
    "approx_kl": "losses/approx_kl",
    "clip_fraction": "losses/clipfrac",
    "q_mean": "losses/q_values",
    "alpha": "losses/alpha",
}
_SKIP = {"run", "update", "env_steps", "episode_seen", "finite", "halted", "episodes"}
_EPISODIC = {"episode_return", "episode_length", "success_rate"}
_ALWAYS = ("charts/episodic_return", "charts/episodic_length", "eval/episodic_return", "charts/SPS")


def metric_name(key: str) -> str:
    """The CleanRL-style name of a purerl metric key."""
    if key in MAPPING:
        return MAPPING[key]
    if key.startswith("loss/"):
        return f"losses/{key[5:]}_loss"
    return f"losses/{key.replace('/', '_')}"


def scalars(data: dict) -> tuple[int, dict[str, float]]:
    """`(global_step, {name: value})` of one hook call: CleanRL names, completed episodes
    only, no NaN (the updates without an evaluation)."""
    step = int(data["env_steps"]) if "env_steps" in data else int(data["update"])
    seen = bool(data.get("episode_seen", True))
    out = {"charts/update": float(data["update"])}
    for k, v in data.items():
        if k in _SKIP or (k in _EPISODIC and not seen):
            continue
        v = float(np.asarray(v))
        if math.isfinite(v):
            out[metric_name(k)] = v
    return step, out


class Logger:
    """The hook: routes each call to every backend, by run. Hashable by identity (the
    compiled program is cached per logger object)."""

    def __init__(self, backends: Sequence, num_runs: int):
        self.backends = list(backends)
        self.num_runs = num_runs
        self.calls = 0
        self._t0: dict[int, tuple[float, int]] = {}

    def __call__(self, data: dict) -> None:
        run = int(data.get("run", 0))
        if run < 0 or run >= self.num_runs:  # padding runs of a sharded batch
            return
        self.calls += 1
        step, values = scalars(data)
        t0, s0 = self._t0.setdefault(run, (time.time(), step))
        if time.time() > t0 and step > s0:
            values["charts/SPS"] = (step - s0) / (time.time() - t0)
        for b in self.backends:
            b.write(run, step, values)

    def close(self) -> None:
        for b in self.backends:
            b.close()


class CSVBackend:
    """`<out>/logs/run-<i>.csv`: one row per record (`global_step`, the names of the run's
    first record and the episodic / evaluation / SPS ones; empty where absent), flushed
    as it is written."""

    def __init__(self, out: str):
        self.folder = os.path.join(out, "logs")
        os.makedirs(self.folder, exist_ok=True)
        self.files: dict[int, tuple] = {}

    def write(self, run, step, values):
        if run not in self.files:
            path = os.path.join(self.folder, f"run-{run}.csv")
            f = open(path, "a", newline="")  # noqa: SIM115 (kept open for the run)
            names = sorted(set(values) | set(_ALWAYS))
            w = csv.DictWriter(f, ["global_step", *names], extrasaction="ignore")
            if f.tell() == 0:
                w.writeheader()
            self.files[run] = (f, w)
        f, w = self.files[run]
        w.writerow({"global_step": step, **values})
        f.flush()

    def close(self):
        for f, _ in self.files.values():
            f.close()
        self.files = {}


class TensorBoardBackend:
    """tensorboardX event files, one folder per run: `<out>/tensorboard/run-<i>/`."""

    def __init__(self, out: str):
        try:
            from tensorboardX import SummaryWriter
        except ImportError as e:
            raise ImportError(
                'the tensorboard logger needs tensorboardX: pip install "purerl[loggers]"'
            ) from e
        self._writer_cls = SummaryWriter
        self.folder = os.path.join(out, "tensorboard")
        self.writers: dict = {}

    def write(self, run, step, values):
        w = self.writers.get(run)
        if w is None:
            w = self.writers[run] = self._writer_cls(os.path.join(self.folder, f"run-{run}"))
        for name, v in values.items():
            w.add_scalar(name, v, step)

    def close(self):
        for w in self.writers.values():
            w.close()
        self.writers = {}


class WandbBackend:
    """One wandb run per seed (`group` = the run folder's name, `name` = `<group>-run-<i>`),
    files under `<out>/wandb/`. Offline unless the `WANDB_MODE` environment variable says
    otherwise: it needs no account and never touches the network."""

    def __init__(self, out: str, config: dict | None = None, project: str = "purerl"):
        try:
            import wandb
        except ImportError as e:
            raise ImportError('the wandb logger needs wandb: pip install "purerl[loggers]"') from e
        self.wandb = wandb
        self.out, self.config, self.project = out, config or {}, project
        self.group = os.path.basename(os.path.abspath(out))
        self.mode = os.environ.get("WANDB_MODE", "offline")
        self.runs: dict = {}

    def write(self, run, step, values):
        r = self.runs.get(run)
        if r is None:
            r = self.runs[run] = self.wandb.init(
                project=self.project,
                group=self.group,
                name=f"{self.group}-run-{run}",
                dir=self.out,
                mode=self.mode,
                config={**self.config, "run_index": run},
                reinit="create_new",
                settings=self.wandb.Settings(silent=True, console="off"),
            )
        r.log({**values, "global_step": step}, step=step)

    def close(self):
        for r in self.runs.values():
            r.finish()
        self.runs = {}


def make(
    kinds: Sequence[str],
    out: str,
    num_runs: int,
    config: dict | None = None,
    project: str = "purerl",
) -> Logger:
    """A `Logger` writing to every backend in `kinds` (`csv`, `tensorboard`, `wandb`)."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"logger: unknown kind(s) {unknown}; choose from {list(KINDS)}")
    backends = []
    for k in dict.fromkeys(kinds):
        if k == "csv":
            backends.append(CSVBackend(out))
        elif k == "tensorboard":
            backends.append(TensorBoardBackend(out))
        else:
            backends.append(WandbBackend(out, config, project))
    return Logger(backends, num_runs)
