"""Hindsight Experience Replay on goal-conditioned envs, vmapped over seeds.

    python scripts/her.py --task bitflip [--bits 5 10 15 20 25] [--num-seeds 4] [--out docs]
    python scripts/her.py --task pointreach [--bases ddpg td3 sac] [--num-seeds 4] [--out docs]

`bitflip`: DQN with and without HER (strategy `future`, k = 4) on `BitFlip-v0` for each
number of bits (the paper's figure 1, Andrychowicz et al. 2017). Every run is trained in
chunks (one compile; `purerl.train(..., state=...)` continues exactly) and evaluated
greedily after each chunk: an episode succeeds when it ends before the time limit's
return `-n`. Draws `<out>/her.png` (greedy success rate, mean +- std over seeds, against
env steps per seed; one panel per n) and writes `<out>/her.json`.

`pointreach`: DDPG / TD3 / SAC with and without HER on `PointReach-v0`, the same greedy
evaluation; its
rows go into `<out>/her.json` under "point_reach" (the file keeps the other task's rows).
Public API only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Literal

import jax
import numpy as np

import purerl
from purerl.algos import ddpg, dqn, her, sac, td3

# env steps per seed for n bits
BITFLIP_BUDGET = {5: 10_000, 10: 20_000, 15: 40_000, 20: 80_000, 25: 120_000}

BASES = {"ddpg": ddpg, "td3": td3, "sac": sac}


@dataclasses.dataclass
class Args:
    task: Literal["bitflip", "pointreach"] = "bitflip"
    bits: tuple[int, ...] = (5, 10, 15, 20, 25)
    bases: tuple[str, ...] = ("ddpg", "td3", "sac")
    num_seeds: int = 4
    seed: int = 0
    chunks: int = 10  # greedy evaluations per run
    eval_episodes: int = 64
    out: str = "docs"


def success_curve(agent, num_seeds, seed, chunks, eval_episodes):
    """Train `num_seeds` vmapped seeds in `chunks` pieces; after each, the greedy success
    rate per seed. Returns `(env_steps [chunks], success [seeds, chunks], train_rate
    [seeds] or None, seconds)`."""
    limit = agent.env_params.max_steps_in_episode
    n = agent.num_updates // chunks
    per_update = agent.config.num_envs * agent.config.train_frequency
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    init = jax.jit(jax.vmap(agent.init))
    advance = jax.jit(jax.vmap(lambda s: purerl.train(agent, num_updates=n, state=s)))

    def success(state, key):
        return (purerl.evaluate(agent, state, key, eval_episodes) > -limit).mean()

    evaluate = jax.jit(jax.vmap(success))
    t0 = time.time()
    states = init(keys)
    steps, curve, metrics = [], [], None
    for c in range(chunks):
        states, metrics = advance(states)
        eval_keys = jax.vmap(lambda k, c=c: jax.random.fold_in(k, 1000 + c))(keys)
        curve.append(np.asarray(evaluate(states, eval_keys)))
        steps.append((c + 1) * n * per_update)
    train_rate = np.asarray(metrics["success_rate"][:, -1]) if "success_rate" in metrics else None
    return np.array(steps), np.stack(curve, axis=1), train_rate, time.time() - t0


def with_and_without_her(args: Args, env, params, base, config):
    """Yield `(variant, success_curve(...))` for `base` (an off-policy algorithm module) with
    HER (variant `<name>+her`) and then without it (`<name>`, on `envs.FlattenGoal(env)`)."""
    name = base.__name__.rsplit(".", 1)[-1]
    for variant, agent in (
        (f"{name}+her", her.make(env, params, base, config, her.Config())),
        (name, base.make(purerl.envs.FlattenGoal(env), params, config)),
    ):
        yield (
            variant,
            success_curve(agent, args.num_seeds, args.seed, args.chunks, args.eval_episodes),
        )


def run_bitflip(args: Args) -> dict:
    rows = []
    for n in args.bits:
        env, params = purerl.make_env("BitFlip-v0", n_bits=n)
        config = dqn.Config(total_timesteps=BITFLIP_BUDGET.get(n, 5_000 * n), **her.BITFLIP_DQN)
        for variant, (steps, curve, _, secs) in with_and_without_her(
            args, env, params, dqn, config
        ):
            final = curve[:, -1]
            rows.append(
                {
                    "n_bits": n,
                    "variant": variant,
                    "env_steps_per_seed": int(steps[-1]),
                    "env_steps": steps.tolist(),
                    "success_mean": curve.mean(0).round(4).tolist(),
                    "success_std": curve.std(0).round(4).tolist(),
                    "final_success_per_seed": final.round(4).tolist(),
                    "wall_seconds": round(secs, 1),
                }
            )
            print(
                f"BitFlip n={n:<3} {variant:<8} greedy success {final.mean():.3f} "
                f"(per seed {[round(float(x), 3) for x in final]}) after {steps[-1]:,} env "
                f"steps/seed [{secs:.0f}s]",
                flush=True,
            )
    return {
        "dqn_config": her.BITFLIP_DQN,
        "her_config": dataclasses.asdict(her.Config()),
        "rows": rows,
    }


def run_pointreach(args: Args) -> dict:
    rows = []
    env, params = purerl.make_env("PointReach-v0")
    for name in args.bases:
        base = BASES[name]
        extra = {} if name == "sac" else {"exploration_noise": 0.2}
        config = base.Config(**her.POINT_REACH, **extra)
        runs = with_and_without_her(args, env, params, base, config)
        for variant, (steps, curve, train_rate, secs) in runs:
            final = curve[:, -1]
            rows.append(
                {
                    "base": name,
                    "variant": variant,
                    "env_steps_per_seed": int(steps[-1]),
                    "env_steps": steps.tolist(),
                    "success_mean": curve.mean(0).round(4).tolist(),
                    "final_success_per_seed": final.round(4).tolist(),
                    "wall_seconds": round(secs, 1),
                }
            )
            if train_rate is not None:
                rows[-1]["train_success_rate_last_update"] = train_rate.round(4).tolist()
            print(
                f"PointReach {variant:<9} greedy success {final.mean():.3f} (per seed "
                f"{[round(float(x), 3) for x in final]}) after {steps[-1]:,} env steps/seed "
                f"[{secs:.0f}s]",
                flush=True,
            )
    return {"config": her.POINT_REACH, "rows": rows}


def plot_bitflip(path: str, result: dict, num_seeds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bits = sorted({r["n_bits"] for r in result["rows"]})
    fig, axes = plt.subplots(1, len(bits), figsize=(3.6 * len(bits), 3.4), squeeze=False)
    for ax, n in zip(axes[0], bits, strict=True):
        for r in result["rows"]:
            if r["n_bits"] != n:
                continue
            x = np.array(r["env_steps"]) / 1000
            m, s = np.array(r["success_mean"]), np.array(r["success_std"])
            style = "-" if r["variant"] == "dqn+her" else "--"
            ax.plot(x, m, style, marker="o", ms=3, label=r["variant"].upper())
            ax.fill_between(x, np.clip(m - s, 0, 1), np.clip(m + s, 0, 1), alpha=0.2)
        ax.set_title(f"BitFlip, {n} bits")
        ax.set_xlabel("env steps per seed (k)")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"greedy success rate ({num_seeds} seeds)")
    axes[0][0].legend(loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"plot -> {path}")


def main(argv=None):
    import tyro

    args = tyro.cli(Args, args=argv)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "her.json")
    summary = {}
    if os.path.exists(path):
        with open(path) as f:
            summary = json.load(f)
    summary.update({"num_seeds": args.num_seeds, "seed": args.seed, "jax": jax.__version__})
    if args.task == "bitflip":
        summary["bitflip"] = run_bitflip(args)
        plot_bitflip(os.path.join(args.out, "her.png"), summary["bitflip"], args.num_seeds)
    else:
        summary["point_reach"] = run_pointreach(args)
    with open(path, "w") as f:
        json.dump(summary, f, indent=2)
    print(f"results -> {path}")


if __name__ == "__main__":
    main()
