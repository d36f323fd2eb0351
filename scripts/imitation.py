"""Imitation learning comparison: normalised return against the number of demo episodes.

    python scripts/imitation.py                       # CartPole-v1 and Pendulum-v1, every method
    python scripts/imitation.py --methods bc dagger --episodes 1 10 --num-seeds 4
    python scripts/imitation.py --quick --out /tmp/il  # tiny budgets: a smoke run

For each env, the purerl-trained expert (`purerl.cli.expert_cache.expert`: PPO on CartPole-v1, SAC
on Pendulum-v1, cached under `--cache-dir`) provides `max(--episodes)` demo episodes (one
fixed key); every method learns from the first n of them for n in `--episodes`, over
`--num-seeds` vmapped seeds (one compile per method and n), and is scored greedily on 16
fresh episodes per seed of the original env:

    normalised return = (score - random) / (expert - random)

Methods: `bc` (a fixed budget of ~`BC_GRADIENT_STEPS` Adam steps whatever n), `dagger`
(starts from the n demo episodes, then queries the expert on the states it visits for
`total_timesteps` env steps), and, when those modules are installed, `gail` / `airl` (PPO
learner) on CartPole-v1, `gail` and `dac` (GAIL over SAC) on Pendulum-v1 (`ADVERSARIAL`; CartPole
in the fixed-horizon setting of `absorbing.fixed_horizon_env`, scored on the plain env).
Then MaxEnt IRL on a 5x5 gridworld (exact and sampled demo counts). Writes
`<out>/imitation.json` (every figure, settings and wall times) and `<out>/imitation.png`,
and prints a markdown table. Public API only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import purerl
from purerl.algos import ppo, sac
from purerl.cli import expert_cache
from purerl.imitation import bc, collect_demos, dagger, experts
from purerl.imitation import demos as D

ENVS = ("CartPole-v1", "Pendulum-v1")
METHODS = ("bc", "dagger", "gail", "airl", "dac")
EPISODES = (1, 4, 10, 25)
BC_GRADIENT_STEPS = 10_000
EVAL_EPISODES = 16

DAGGER = {
    "CartPole-v1": dict(total_timesteps=8000, num_envs=4, num_steps=250, gradient_steps=500),
    "Pendulum-v1": dict(total_timesteps=8000, num_envs=4, num_steps=200, gradient_steps=500),
}
# Adversarial IRL: the learner's settings per (method, env), those of the learning tests;
# a pair missing here is skipped (`--all-pairs` also runs airl on Pendulum-v1 with
# Pendulum's PPO settings, ppo.PENDULUM: 1M env steps per run).
ADVERSARIAL = {
    ("gail", "CartPole-v1"): dict(ppo=dict(total_timesteps=300_000)),
    ("airl", "CartPole-v1"): dict(ppo=dict(total_timesteps=500_000)),
    ("gail", "Pendulum-v1"): dict(ppo=ppo.PENDULUM),
    ("dac", "Pendulum-v1"): dict(sac=dict(total_timesteps=10_000)),
}
# method -> (colour, marker, line style) in the plot
STYLE = {
    "bc": ("C0", "o", "-"),
    "dagger": ("C1", "s", "--"),
    "gail": ("C2", "^", "-"),
    "airl": ("C3", "v", "-"),
    "dac": ("C4", "D", ":"),
}
QUICK = {"bc_steps": 200, "dagger_timesteps": 2000, "ppo_timesteps": 4096, "sac_timesteps": 600}


def optional_module(name: str):
    """`purerl.imitation.<name>` if it is installed and imports, else None."""
    try:
        return importlib.import_module(f"purerl.imitation.{name}")
    except ImportError as e:
        print(f"  ({name}: not available: {e})", file=sys.stderr)
        return None


def bc_config(demos, quick: bool) -> bc.Config:
    """BC with about `BC_GRADIENT_STEPS` Adam steps, whatever the number of demo steps."""
    steps = QUICK["bc_steps"] if quick else BC_GRADIENT_STEPS
    m = int(np.asarray(demos.mask).sum())
    batch = bc.Config().batch_size
    per_epoch = max(m // min(batch, m), 1)
    return bc.Config(num_epochs=max(math.ceil(steps / per_epoch), 1))


def build(method, env_id, e, demos, quick, all_pairs=False):
    """`(agent, scored_agent)`: the learner, and the same learner scored on the plain env;
    `(None, None)` where the method is not installed or not run on this env."""
    if method == "bc":
        agent = bc.make(e.env, e.env_params, demos, bc_config(demos, quick))
        return agent, agent
    if method == "dagger":
        kw = dict(DAGGER[env_id])
        if quick:
            kw.update(total_timesteps=QUICK["dagger_timesteps"], gradient_steps=50)
        config = dagger.Config(**kw)
        agent = dagger.make(e.env, e.env_params, e.act_fn, config, demos=demos)
        return agent, agent
    preset = ADVERSARIAL.get((method, env_id))
    if preset is None and all_pairs and method in ("gail", "airl"):
        preset = dict(ppo=ppo.PENDULUM if env_id == "Pendulum-v1" else {})
    module = optional_module(method) if preset is not None else None
    if module is None:
        return None, None
    if "ppo" in preset:
        kw = dict(preset["ppo"])
        if quick:
            kw.update(total_timesteps=QUICK["ppo_timesteps"], num_envs=4, num_steps=64)
            kw.pop("num_minibatches", None)
        config = module.Config(ppo=ppo.Config(**kw))
    else:
        kw = dict(preset["sac"])
        if quick:
            kw.update(total_timesteps=QUICK["sac_timesteps"], learning_starts=200)
        config = module.Config(sac=sac.Config(**kw))
    env, params = e.env, e.env_params
    if env_id == "CartPole-v1":  # early termination: train in the fixed-horizon setting
        absorbing = importlib.import_module("purerl.imitation.absorbing")
        env, params = absorbing.fixed_horizon_env(env_id, absorbing_steps=1)
    agent = module.make(env, params, demos, config)
    return agent, agent._replace(env=e.env, env_params=e.env_params)


def score(agent, scored, e, num_seeds: int, seed: int):
    """Train `num_seeds` vmapped seeds; returns `(normalised [seeds], raw [seeds], s)`."""
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    t0 = time.time()
    states, metrics = jax.jit(jax.vmap(lambda k: purerl.train(agent, k)))(keys)
    returns = jax.jit(jax.vmap(lambda s, k: purerl.evaluate(scored, s, k, EVAL_EPISODES)))(
        states, jax.random.split(jax.random.key(seed + 1000), num_seeds)
    )
    raw = np.asarray(returns).mean(axis=1)
    if not bool(jnp.all(metrics["finite"] == 1)):
        print("  warning: non-finite metrics", file=sys.stderr)
    return experts.normalised_return(raw, e.expert_return, e.random_return), raw, time.time() - t0


def maxent_irl_figures() -> dict:
    """MaxEnt IRL on a 5x5 gridworld (slip 0.1, horizon 15; +1 in a corner, -1 on four
    cells), demos from a Boltzmann-rational expert (soft-optimal for 5 r)."""
    M = optional_module("maxent_irl")
    if M is None:
        return {}
    w = M.gridworld(size=5, slip=0.1, horizon=15)
    r = jnp.zeros(25).at[24].set(1.0).at[jnp.array([6, 7, 12, 17])].set(-1.0)
    _, _, expert = M.soft_value_iteration(w, 5.0 * r)
    _, _, optimal = M.value_iteration(w, r)
    uniform = jnp.full(expert.shape, 1.0 / w.num_actions)
    ret = lambda p: float(M.policy_return(w, p, r))
    out = {
        "expert_return": ret(expert),
        "optimal_return": ret(optimal),
        "random_return": ret(uniform),
    }
    counts = {
        "exact": M.feature_expectations(w, expert),
        "500 sampled episodes": M.empirical_feature_expectations(
            w, M.sample_trajectories(jax.random.key(0), w, expert, 500)
        ),
    }
    for name, f_demo in counts.items():
        fit = M.fit(w, f_demo, num_iters=1000, learning_rate=0.1)
        _, _, greedy = M.value_iteration(w, fit.reward)
        mismatch = float(jnp.max(jnp.abs(M.feature_expectations(w, fit.policy) - f_demo)))
        out[name] = {
            "count_mismatch": mismatch,
            "learned_optimal_return": ret(greedy),
            "vs_expert": (ret(greedy) - ret(uniform)) / (ret(expert) - ret(uniform)),
            "vs_optimal": (ret(greedy) - ret(uniform)) / (ret(optimal) - ret(uniform)),
        }
    return out


def table(results: dict, episodes) -> str:
    lines = []
    for env_id, per_method in results.items():
        lines.append(f"\n**{env_id}** (normalised return, mean +- std over seeds)\n")
        lines.append("| method | " + " | ".join(f"{n} ep." for n in episodes) + " |")
        lines.append("| --- |" + " --- |" * len(episodes))
        for method, per_n in per_method.items():
            cells = []
            for n in episodes:
                c = per_n.get(str(n))
                cells.append("-" if c is None else f"{c['mean']:.2f} +- {c['std']:.2f}")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: dict, episodes, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.8), squeeze=False)
    for ax, (env_id, per_method) in zip(axes[0], results.items(), strict=True):
        for method, per_n in per_method.items():
            ns = [n for n in episodes if str(n) in per_n]
            mean = np.array([per_n[str(n)]["mean"] for n in ns])
            std = np.array([per_n[str(n)]["std"] for n in ns])
            color, marker, ls = STYLE.get(method, (None, "o", "-"))
            ax.plot(ns, mean, marker=marker, ls=ls, color=color, label=method)
            ax.fill_between(ns, mean - std, mean + std, alpha=0.2, color=color)
        ax.axhline(1.0, color="k", ls="--", lw=0.8)
        ax.axhline(0.0, color="gray", ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xticks(list(episodes), [str(n) for n in episodes])
        ax.set_xlabel("expert demo episodes")
        ax.set_ylabel("normalised return")
        ax.set_title(env_id)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", nargs="+", default=list(ENVS), choices=ENVS)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--episodes", nargs="+", type=int, default=list(EPISODES))
    p.add_argument("--num-seeds", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="docs")
    p.add_argument("--cache-dir", default=None, help="expert checkpoints (default ~/.cache)")
    p.add_argument("--quick", action="store_true", help="tiny budgets (a smoke run)")
    p.add_argument(
        "--all-pairs", action="store_true", help="gail / airl on every env (slow on Pendulum)"
    )
    p.add_argument("--no-maxent", action="store_true", help="skip the MaxEnt IRL figures")
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the other envs / methods of an existing <out>/imitation.json",
    )
    p.add_argument(
        "--replot", action="store_true", help="only redraw the plot from <out>/imitation.json"
    )
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "imitation.json")
    png_path = os.path.join(args.out, "imitation.png")
    if args.replot:
        with open(json_path) as f:
            summary = json.load(f)
        plot(summary["results"], summary["episodes"], png_path)
        print(table(summary["results"], summary["episodes"]))
        print(f"wrote {png_path}")
        return summary
    episodes = sorted(set(args.episodes))
    results, experts_info, previous, t_start = {}, {}, {}, time.time()
    if args.merge and os.path.exists(json_path):
        with open(json_path) as f:
            previous = json.load(f)
        results = previous.get("results", {})
        experts_info = previous.get("experts", {})
        episodes = sorted(set(episodes) | set(previous.get("episodes", [])))
    for env_id in args.envs:
        t0 = time.time()
        e = expert_cache.expert(env_id, args.cache_dir)
        experts_info[env_id] = {
            "expert_return": e.expert_return,
            "random_return": e.random_return,
            "seconds": time.time() - t0,  # training (first use) or loading the expert
        }
        print(f"{env_id}: expert {e.expert_return:.1f}, random {e.random_return:.1f}", flush=True)
        all_demos = collect_demos(e.act_fn, e.env, e.env_params, jax.random.key(42), max(episodes))
        results.setdefault(env_id, {})
        for method in args.methods:
            per_n = {}
            for n in episodes:
                agent, scored = build(
                    method, env_id, e, D.select(all_demos, n), args.quick, args.all_pairs
                )
                if agent is None:
                    break
                norm, raw, secs = score(agent, scored, e, args.num_seeds, args.seed)
                per_n[str(n)] = {
                    "mean": float(norm.mean()),
                    "std": float(norm.std()),
                    "per_seed": norm.tolist(),
                    "raw_return": raw.tolist(),
                    "seconds": secs,
                }
                print(
                    f"  {method:>6} {n:>3} ep.: {norm.mean():6.3f} +- {norm.std():.3f} "
                    f"(return {raw.mean():8.1f}, {secs:5.1f}s)",
                    flush=True,
                )
            if per_n:
                results[env_id][method] = per_n
    maxent = previous.get("maxent_irl", {}) if args.no_maxent else maxent_irl_figures()
    md = table(results, episodes)
    summary = {
        "results": results,
        "experts": experts_info,
        "maxent_irl": maxent,
        "episodes": episodes,
        "num_seeds": args.num_seeds,
        "eval_episodes_per_seed": EVAL_EPISODES,
        "quick": args.quick,
        "settings": {
            "bc_gradient_steps": BC_GRADIENT_STEPS,
            "dagger": DAGGER,
            "adversarial": {f"{m} {env}": kw for (m, env), kw in ADVERSARIAL.items()},
            "quick": QUICK if args.quick else None,
        },
        "table_markdown": md,
        "wall_seconds": time.time() - t_start + previous.get("wall_seconds", 0.0),
        "jax": jax.__version__,
        "devices": [str(d) for d in jax.devices()],
    }
    with open(json_path, "w") as f:
        json.dump(summary, f, indent=1)
    plot(results, episodes, png_path)
    print(md)
    if maxent:
        for name in ("exact", "500 sampled episodes"):
            m = maxent[name]
            print(
                f"MaxEnt IRL ({name} demo counts): learned reward's optimal policy "
                f"{m['vs_expert']:.3f} of the expert (normalised; {m['vs_optimal']:.3f} of "
                f"the optimum), feature counts matched to {m['count_mismatch']:.1e}"
            )
    print(f"wrote {json_path} and {png_path}")
    return summary


if __name__ == "__main__":
    main()
