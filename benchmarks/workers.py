"""One measurement, in a fresh process: `python -m benchmarks.workers {purerl,rejax} SPEC`
(SPEC: JSON from `benchmarks.runner.measure`). Prints one JSON line with the result.

The rejax worker runs from rejax's virtual env, which has no purerl: purerl is imported
only inside `purerl_worker`."""

from __future__ import annotations

import importlib
import json
import math
import sys
import time

import jax
import numpy as np

from benchmarks import timing


def purerl_worker(spec: dict) -> None:
    import purerl
    from benchmarks import settings

    module = importlib.import_module(f"purerl.algos.{spec['algo']}")

    timing.warm_up()
    algo, seeds = spec["algo"], spec["seeds"]
    config = settings.purerl_config(algo, spec["total_timesteps"])
    env, env_params = purerl.make_env(spec["env"], **spec.get("env_kwargs", {}))
    agent = module.make(env, env_params, config)

    key = jax.random.PRNGKey(spec["seed"])
    train_key, eval_key = jax.random.split(key)
    if spec.get("train_many"):  # seeds sharded over every device (--scaling)
        keys = jax.random.split(train_key, seeds)
        t0 = time.perf_counter()
        jax.block_until_ready(purerl.train_many(agent, keys))  # compile + run
        first_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        states, metrics = jax.block_until_ready(purerl.train_many(agent, keys))
        train_s = time.perf_counter() - t1
        compile_s = max(first_s - train_s, 0.0)
    else:
        if seeds == 1:
            fn, arg = (lambda k: purerl.train(agent, k)), train_key
        else:
            fn = jax.vmap(lambda k: purerl.train(agent, k))
            arg = jax.random.split(train_key, seeds)
        (states, metrics), compile_s, train_s = timing.measure(fn, arg)
        if seeds == 1:
            states, metrics = jax.tree.map(lambda x: x[None], (states, metrics))

    episodes = spec["eval_episodes"]
    evaluate = jax.vmap(lambda s, k: purerl.evaluate(agent, s, k, episodes))
    eval_keys = jax.random.split(eval_key, seeds)
    returns, eval_compile_s, eval_s = timing.measure(evaluate, states, eval_keys)
    final = np.asarray(returns).mean(axis=-1)  # [seeds]

    steps = np.asarray(metrics["env_steps"])[0]  # [num_updates]
    curve = np.asarray(metrics["episode_return"]).mean(axis=0)  # mean over seeds
    # before every seed has finished an episode, episode_return is the running return of
    # episodes in progress (near 0): not a score, so it cannot cross a threshold
    ended = (np.cumsum(np.asarray(metrics["episodes"]), axis=1) > 0).all(axis=0)
    scored = np.where(ended, curve, -np.inf)
    hit_steps, _ = timing.threshold(steps, scored, spec["threshold"])
    timing.emit(
        {
            "compile_s": compile_s,
            "train_s": train_s,
            "env_steps": int(steps[-1]),
            "eval_compile_s": eval_compile_s,
            "eval_s": eval_s,
            "final_return": float(final.mean()),
            "final_return_std": float(final.std()),
            "final_returns": [float(x) for x in final],
            "halted": bool(np.asarray(metrics.get("halted", 0.0)).any()),
            "threshold_source": "training episode_return",
            "steps_to_threshold": hit_steps,
            "curve": timing.downsample(steps, curve, spec["curve_points"]),
            "machine": timing.machine(),
        }
    )


def rejax_worker(spec: dict) -> None:
    from rejax import get_algo

    timing.warm_up()
    algo_name, seeds, total = spec["algo"], spec["seeds"], spec["total_timesteps"]
    config = dict(spec["config"], total_timesteps=total)
    if spec["single_eval"]:
        config["eval_freq"] = total
        config["skip_initial_evaluation"] = True
    config["eval_freq"] = min(config["eval_freq"], total)
    algo_cls = get_algo(algo_name)
    algo = algo_cls.create(env=spec["env"], **config)
    if algo_name == "ppo":
        per_iter = config["num_envs"] * config["num_steps"]
    else:
        per_iter = config["num_envs"]
    iters_per_eval = math.ceil(config["eval_freq"] / per_iter)
    num_evals = math.ceil(total / config["eval_freq"])
    env_steps = num_evals * iters_per_eval * per_iter  # what rejax actually trains

    key = jax.random.PRNGKey(spec["seed"])
    if seeds == 1:
        fn, arg = algo_cls.train, key
    else:
        fn, arg = jax.vmap(algo_cls.train, in_axes=(None, 0)), jax.random.split(key, seeds)
    (_, evaluation), compile_s, train_s = timing.measure(fn, algo, arg)
    returns = np.asarray(evaluation[1]).reshape(seeds, -1, np.shape(evaluation[1])[-1])
    final = returns[:, -1, :].mean(axis=-1)  # [seeds]
    curve = returns.mean(axis=(0, 2))  # [evals]
    offset = 0 if config.get("skip_initial_evaluation", False) else 1
    steps = [(i + 1 - offset) * iters_per_eval * per_iter for i in range(len(curve))]
    result = {
        "compile_s": compile_s,
        "train_s": train_s,
        "env_steps": env_steps,
        "num_evaluations": int(returns.shape[1]),
        "eval_freq": config["eval_freq"],
        "final_return": float(final.mean()),
        "final_return_std": float(final.std()),
        "final_returns": [float(x) for x in final],
        "machine": timing.machine(),
    }
    if not spec["single_eval"]:
        hit_steps, _ = timing.threshold(steps, curve, spec["threshold"])
        result["threshold_source"] = "evaluation"
        result["steps_to_threshold"] = hit_steps
        result["curve"] = timing.downsample(steps, curve, spec["curve_points"])
    timing.emit(result)


WORKERS = {"purerl": purerl_worker, "rejax": rejax_worker}


if __name__ == "__main__":
    WORKERS[sys.argv[1]](json.loads(sys.argv[2]))
