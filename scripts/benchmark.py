"""Benchmark purerl against rejax (PPO and DQN on gymnax CartPole-v1, TD3 and SAC on
Pendulum-v1, at rejax's settings; C51, QR-DQN and DDPG for purerl alone).

    python scripts/benchmark.py [--algos ppo dqn] [--seeds 1 8] [--out benchmarks/results.json]
                                [--skip-rejax] [--total-timesteps N]

For each algorithm and seed count (1 seed: `jit(train)`; n seeds: `jit(vmap(train))`) it
measures, for each library: the ahead-of-time compile time (trace + lower + compile), the
train wall time without compilation, env steps/s (seeds * env steps trained / train time),
and the final mean return. Every measurement runs in a fresh subprocess, one at a time, with
an environment holding only PATH (and XLA_FLAGS, when set, unchanged for both libraries):
purerl from this interpreter, rejax from its own virtual env `benchmarks/.venv-rejax`
(created on first use; rejax 0.1.3 needs gymnax 0.0.9's old step API, purerl gymnax 1.x).

rejax evaluates 128 greedy episodes every `eval_freq` env steps inside its train function,
so it runs twice: with its published `eval_freq` ("rejax") and with a single final
evaluation (`eval_freq = total_timesteps`, no initial evaluation: "rejax (1 eval)"). purerl
trains without evaluation; its final return is `purerl.evaluate` over 128 episodes per seed
(timed separately, `eval_s` in the JSON).

Steps to return 475: purerl, the first update whose training `episode_return` (mean over
seeds) reaches 475; rejax, the first evaluation whose mean return reaches 475 (default
`eval_freq` only). The wall time to it is estimated as the fraction of the run's env steps
times the train time (updates cost about the same; DQN's updates before `learning_starts`
are cheaper, so for DQN it is an upper bound).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REJAX_VENV = ROOT / "benchmarks" / ".venv-rejax"
REJAX_REQUIREMENTS = ["rejax==0.1.3", "gymnax==0.0.9"]
ENV_ID = "CartPole-v1"
THRESHOLD = 475.0
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


def algo_env(algo: str, total_timesteps: int | None) -> tuple[str, float, int]:
    env_id, threshold, total = ALGO_ENVS.get(algo, (ENV_ID, THRESHOLD, 100_000))
    return env_id, threshold, total if total_timesteps is None else total_timesteps


EVAL_EPISODES = 128  # rejax's evaluation size; purerl uses the same
CURVE_POINTS = 100  # learning-curve points kept in the JSON

# purerl configs matching rejax's configs/gymnax/cartpole.yaml (total_timesteps set at run time)
PURERL_CONFIGS = {
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
        hidden_sizes=[64, 64],
    ),
    "dqn": dict(
        num_envs=10,
        buffer_size=50_000,
        batch_size=100,
        learning_starts=5_000,
        learning_rate=1e-3,
        gamma=0.99,
        target_update_interval=10,
        tau=0.02,
        epsilon_start=1.0,
        epsilon_end=0.05,
        exploration_fraction=0.5,
        train_frequency=1,
        gradient_steps=5,
        double_dqn=True,
        loss="mse",  # rejax regresses with optax.l2_loss
        dueling=True,
        activation="swish",
        max_grad_norm=10.0,
        hidden_sizes=[64, 64],
    ),
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
        hidden_sizes=[64, 64],
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
        hidden_sizes=[64, 64],
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

# rejax's configs/gymnax/cartpole.yaml (total_timesteps and eval_freq set at run time)
REJAX_CONFIGS = {
    "ppo": dict(
        agent_kwargs={"activation": "tanh"},
        num_envs=5,
        num_steps=100,
        num_epochs=5,
        num_minibatches=5,
        learning_rate=0.00075,
        max_grad_norm=0.5,
        eval_freq=1000,
        gamma=0.99,
        gae_lambda=0.95,
        clip_eps=0.2,
        ent_coef=0.01,
        vf_coef=0.5,
    ),
    "dqn": dict(
        agent="DuelingQNetwork",
        agent_kwargs={"activation": "swish"},
        num_envs=10,
        buffer_size=50_000,
        fill_buffer=5_000,
        batch_size=100,
        max_grad_norm=10,
        learning_rate=0.001,
        num_epochs=5,
        eval_freq=2_500,
        polyak=0.98,
        eps_start=1,
        eps_end=0.05,
        exploration_fraction=0.5,
        gamma=0.99,
        ddqn=True,
        normalize_observations=False,
    ),
    # configs/gymnax/pendulum.yaml
    "td3": dict(
        actor_kwargs={"activation": "swish"},
        critic_kwargs={"activation": "swish"},
        num_envs=1,
        buffer_size=10_000,
        fill_buffer=1_000,
        batch_size=100,
        learning_rate=0.001,
        num_epochs=1,
        eval_freq=100,
        gamma=0.99,
        polyak=0.95,
        max_grad_norm=100,
        exploration_noise=0.3,
        target_noise=0.2,
        target_noise_clip=0.5,
        policy_delay=2,
        normalize_observations=True,
    ),
    "sac": dict(
        agent_kwargs={"activation": "swish"},
        num_envs=1,
        buffer_size=10_000,
        fill_buffer=256,
        batch_size=256,
        learning_rate=0.01,
        num_epochs=1,
        eval_freq=100,
        gamma=0.99,
        polyak=0.98,
        target_entropy_ratio=None,
        normalize_observations=True,
    ),
}

# ------------------------------------------------------------------ shared worker code
# Used by both workers (the rejax worker gets it as source text), so the two measure alike.
COMMON_WORKER_CODE = r'''
import json, sys, time

import jax
import jax.numpy as jnp
import numpy as np


def warm_up():
    """Start the backend and the compiler before timing anything."""
    jax.block_until_ready(jax.jit(lambda x: jnp.tanh(x) @ x.T + 1.0)(jnp.ones((4, 4))))


def measure(fn, *args):
    """AOT-compile `jit(fn)` on `args`, then run it once. Returns (out, compile_s, train_s)."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    out = compiled(*args)
    jax.block_until_ready(out)
    return out, compile_s, time.perf_counter() - t1


def threshold(steps, curve, thr):
    """First (env steps, index) where `curve` (mean over seeds) reaches `thr`, else None."""
    hit = np.nonzero(np.asarray(curve) >= thr)[0]
    if hit.size == 0:
        return None, None
    i = int(hit[0])
    return int(steps[i]), i


def downsample(steps, curve, n):
    idx = np.unique(np.linspace(0, len(curve) - 1, min(n, len(curve))).round().astype(int))
    return {"env_steps": [int(steps[i]) for i in idx], "return": [float(curve[i]) for i in idx]}


def machine():
    return {"jax": jax.__version__, "devices": [str(d) for d in jax.devices()]}


def peak_memory():
    """Peak resident memory of this process (MB) and, where the backend reports it, the
    peak bytes in use on device 0 (GPU/TPU; CPU arrays are in the RSS)."""
    import resource

    out = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:
        stats = {}
    if "peak_bytes_in_use" in stats:
        out["device_peak_mb"] = stats["peak_bytes_in_use"] / 2**20
    return out


def emit(result):
    result.setdefault("memory", peak_memory())
    print(json.dumps(result), flush=True)
'''

REJAX_WORKER = r"""
def main(spec):
    import math

    from rejax import get_algo

    warm_up()
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
    (_, evaluation), compile_s, train_s = measure(fn, algo, arg)
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
        "machine": machine(),
    }
    if not spec["single_eval"]:
        hit_steps, hit_i = threshold(steps, curve, spec["threshold"])
        result["threshold_source"] = "evaluation"
        result["steps_to_threshold"] = hit_steps
        result["curve"] = downsample(steps, curve, spec["curve_points"])
    emit(result)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
"""


def purerl_worker(spec: dict) -> None:
    """Runs in a fresh subprocess of this interpreter (`--worker SPEC`)."""
    ns: dict = {}
    exec(COMMON_WORKER_CODE, ns)
    jax, np = ns["jax"], ns["np"]
    import importlib
    import time

    import purerl

    ns["warm_up"]()
    algo_name, seeds, total = spec["algo"], spec["seeds"], spec["total_timesteps"]
    module = importlib.import_module(f"purerl.algos.{algo_name}")
    config = dict(spec["config"], total_timesteps=total)
    if "hidden_sizes" in config:
        config["hidden_sizes"] = tuple(config["hidden_sizes"])
    env, env_params = purerl.make_env(spec["env"], **spec.get("env_kwargs", {}))
    agent = module.make(env, env_params, module.Config(**config))

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
    elif seeds == 1:
        fn, arg = (lambda k: purerl.train(agent, k)), train_key
    else:
        fn, arg = jax.vmap(lambda k: purerl.train(agent, k)), jax.random.split(train_key, seeds)
    if not spec.get("train_many"):
        (states, metrics), compile_s, train_s = ns["measure"](fn, arg)
    if seeds == 1 and not spec.get("train_many"):
        states, metrics = jax.tree.map(lambda x: x[None], (states, metrics))

    episodes = spec["eval_episodes"]
    evaluate = jax.vmap(lambda s, k: purerl.evaluate(agent, s, k, episodes))
    eval_keys = jax.random.split(eval_key, seeds)
    returns, eval_compile_s, eval_s = ns["measure"](evaluate, states, eval_keys)
    final = np.asarray(returns).mean(axis=-1)  # [seeds]

    steps = np.asarray(metrics["env_steps"])[0]  # [num_updates]
    curve = np.asarray(metrics["episode_return"]).mean(axis=0)  # mean over seeds
    # before every seed has finished an episode, episode_return is the running return of
    # episodes in progress (near 0): not a score, so it cannot cross a threshold
    ended = (np.cumsum(np.asarray(metrics["episodes"]), axis=1) > 0).all(axis=0)
    scored = np.where(ended, curve, -np.inf)
    hit_steps, hit_i = ns["threshold"](steps, scored, spec["threshold"])
    ns["emit"](
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
            "curve": ns["downsample"](steps, curve, spec["curve_points"]),
            "machine": ns["machine"](),
        }
    )


# ------------------------------------------------------------------------ driver side
def clean_env() -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if "XLA_FLAGS" in os.environ:  # passed on unchanged, to both libraries alike
        env["XLA_FLAGS"] = os.environ["XLA_FLAGS"]
    return env


def ensure_rejax_python(explicit: str | None) -> str:
    """Python of the rejax virtual env; creates `benchmarks/.venv-rejax` on first use."""
    if explicit:
        return explicit
    python = REJAX_VENV / "bin" / "python"
    check = [str(python), "-c", "import rejax, gymnax"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python)
    print(f"creating the rejax virtual env at {REJAX_VENV} ...", flush=True)
    REJAX_VENV.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(REJAX_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *REJAX_REQUIREMENTS], check=True)
    subprocess.run(check, check=True)
    return str(python)


def run_worker(cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, env=env or clean_env(), cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout)[-3000:]
        return {"error": f"exit status {proc.returncode}: {tail}"}
    result = json.loads(lines[-1])
    result["process_s"] = time.perf_counter() - t0
    return result


def measure(
    lib: str, algo: str, seeds: int, args, rejax_python: str | None, cpu_devices: int = 0
) -> dict:
    """One measurement in a fresh subprocess. `cpu_devices > 0` (purerl only): that many
    forced XLA host devices, the seeds sharded over them by `purerl.train_many`."""
    env_id, threshold, total = algo_env(algo, args.total_timesteps)
    spec = {
        "algo": algo,
        "seeds": seeds,
        "env": env_id,
        "env_kwargs": PURERL_ENV_KWARGS.get(algo, {}),
        "seed": args.seed,
        "total_timesteps": total,
        "threshold": threshold,
        "eval_episodes": EVAL_EPISODES,
        "curve_points": CURVE_POINTS,
        "train_many": cpu_devices > 0,
    }
    worker_env = clean_env()
    if lib.startswith("purerl") and not cpu_devices:
        worker_env["PURERL_CPU_DEVICES"] = "1"  # one device: JAX's default, not purerl's
    if cpu_devices:
        flag = f"--xla_force_host_platform_device_count={cpu_devices}"
        worker_env["XLA_FLAGS"] = (worker_env.get("XLA_FLAGS", "") + " " + flag).strip()
    if lib.startswith("purerl"):
        spec["config"] = PURERL_CONFIGS[algo]
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    else:
        spec["config"] = REJAX_CONFIGS[algo]
        spec["single_eval"] = lib == "rejax (1 eval)"
        with tempfile.NamedTemporaryFile(
            "w", suffix="_rejax_worker.py", delete=False, dir=tempfile.gettempdir()
        ) as f:
            f.write(COMMON_WORKER_CODE + REJAX_WORKER)
            script = f.name
        cmd = [rejax_python, script, json.dumps(spec)]
    try:
        result = run_worker(cmd, args.timeout, worker_env)
    finally:
        if not lib.startswith("purerl"):
            os.unlink(script)
    row = {"algo": algo, "lib": lib, "seeds": seeds, "env": env_id, "threshold": threshold}
    row.update(result)
    if "error" not in row:
        row["env_steps_per_s"] = seeds * row["env_steps"] / row["train_s"]
        hit = row.get("steps_to_threshold")
        if hit is not None:
            row["threshold_fraction"] = hit / row["env_steps"]
            row["threshold_wall_s_est"] = row["threshold_fraction"] * row["train_s"]
    return row


def add_derived(rows: list[dict]) -> list[dict]:
    """Speed ratios purerl/rejax (on the rejax rows) and seed-vmap scaling per (algo, lib)."""
    ok = [r for r in rows if "error" not in r]
    sps = {(r["algo"], r["lib"], r["seeds"]): r["env_steps_per_s"] for r in ok}
    for r in ok:
        if r["lib"] != "purerl" and (r["algo"], "purerl", r["seeds"]) in sps:
            r["speed_ratio_purerl_over_this"] = (
                sps[(r["algo"], "purerl", r["seeds"])] / sps[(r["algo"], r["lib"], r["seeds"])]
            )
    scaling = []
    for (algo, lib, seeds), v in sps.items():
        if seeds != 1 and (algo, lib, 1) in sps:
            scaling.append(
                {"algo": algo, "lib": lib, "seeds": seeds, "ratio": v / sps[(algo, lib, 1)]}
            )
    return scaling


def fmt(x, spec=".2f"):
    return "—" if x is None else format(x, spec)


def markdown(rows: list[dict], scaling: list[dict]) -> str:
    head = (
        "| algo | lib | seeds | compile s | train s | env steps/s "
        "| speed ratio purerl/rejax | final return |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        if "error" in r:
            err = r["error"].strip().splitlines()[-1][:80] if r["error"].strip() else "error"
            lines.append(f"| {r['algo']} | {r['lib']} | {r['seeds']} | failed: {err} |||||")
            continue
        ret = fmt(r["final_return"], ".1f")
        if r["seeds"] > 1:
            ret += f" ± {r['final_return_std']:.1f}"
        lines.append(
            f"| {r['algo']} | {r['lib']} | {r['seeds']} | {r['compile_s']:.1f} "
            f"| {r['train_s']:.2f} | {r['env_steps_per_s']:,.0f} "
            f"| {fmt(r.get('speed_ratio_purerl_over_this'))} | {ret} |"
        )
    lines += [
        "",
        "| algo | lib | seeds | return threshold | env steps to it | fraction of run "
        "| est. wall s to it | measured on |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if "error" in r or "threshold_source" not in r:
            continue
        hit = r.get("steps_to_threshold")
        lines.append(
            f"| {r['algo']} | {r['lib']} | {r['seeds']} | {r.get('threshold', THRESHOLD):g} "
            f"| {fmt(hit, ',d')} "
            f"| {fmt(r.get('threshold_fraction'))} | {fmt(r.get('threshold_wall_s_est'), '.1f')} "
            f"| {r['threshold_source']} |"
        )
    if scaling:
        lines += [
            "",
            "| algo | lib | seeds | seed-vmap scaling: env steps/s over 1 seed's |",
            "|---|---|---:|---:|",
        ]
        lines += [
            f"| {s['algo']} | {s['lib']} | {s['seeds']} | {s['ratio']:.2f} |" for s in scaling
        ]
    return "\n".join(lines)


def machine_info(rows: list[dict]) -> dict:
    info = {
        "processor": platform.processor(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "xla_flags": os.environ.get("XLA_FLAGS"),
    }
    for lib in ("purerl", "rejax"):
        found = [r["machine"] for r in rows if r["lib"].startswith(lib) and "machine" in r]
        if found:
            info[f"{lib}_jax"] = found[0]["jax"]
            info[f"{lib}_devices"] = found[0]["devices"]
    try:
        model = [
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ]
        info["cpu_model"] = model[0] if model else None
    except OSError:
        pass
    return info


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--algos", nargs="+", default=["ppo", "dqn"], choices=list(PURERL_CONFIGS))
    p.add_argument("--seeds", nargs="+", type=int, default=None, help="default 1 8")
    p.add_argument("--out", type=Path, default=None, help="default benchmarks/results.json")
    p.add_argument(
        "--scaling",
        action="store_true",
        help="seed scaling of PPO on CartPole-v1 (default seeds 1 8 64 256, 20k env steps "
        "per seed): summed env steps/s and peak memory, purerl on one device, purerl with "
        "the seeds sharded over --cpu-devices forced host devices (train_many), rejax "
        "(1 eval); written to benchmarks/scaling.json",
    )
    p.add_argument(
        "--cpu-devices",
        type=int,
        default=None,
        help="--scaling: forced XLA host devices for the train_many rows "
        "(default: usable cores; 0 or 1: no such rows)",
    )
    p.add_argument("--skip-rejax", action="store_true")
    p.add_argument(
        "--skip-rejax-single-eval",
        action="store_true",
        help="run rejax only with its published eval_freq",
    )
    p.add_argument(
        "--total-timesteps",
        type=int,
        default=None,
        help="env steps per seed (default: 100k on CartPole, 10k on Pendulum)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=3600.0, help="per measurement, seconds")
    p.add_argument("--rejax-python", help="use this interpreter for rejax (skips the venv)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        purerl_worker(json.loads(args.worker))
        return
    if args.scaling:
        scaling_main(args)
        return
    args.seeds = args.seeds or [1, 8]
    args.out = args.out or Path("benchmarks/results.json")
    t_start = time.perf_counter()
    libs = ["purerl"]
    rejax_python = None
    if not args.skip_rejax:
        rejax_python = ensure_rejax_python(args.rejax_python)
        libs += ["rejax"] if args.skip_rejax_single_eval else ["rejax", "rejax (1 eval)"]
    load_start = os.getloadavg()
    out = args.out if args.out.is_absolute() else ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for algo in args.algos:
        for seeds in args.seeds:
            for lib in libs:  # one at a time, never concurrently
                if lib != "purerl" and algo not in REJAX_CONFIGS:
                    continue  # rejax 0.1.3 lacks it: purerl alone
                print(f"[{time.perf_counter() - t_start:7.1f} s] {algo} {lib} seeds={seeds}")
                row = measure(lib, algo, seeds, args, rejax_python)
                rows.append(row)
                if "error" in row:
                    print(f"    failed: {row['error'][-500:]}")
                else:
                    print(
                        f"    compile {row['compile_s']:.1f} s, train {row['train_s']:.2f} s, "
                        f"{row['env_steps_per_s']:,.0f} steps/s, "
                        f"return {row['final_return']:.1f}",
                        flush=True,
                    )
                scaling = add_derived(rows)
                report = {
                    "settings": {
                        "env": ENV_ID,
                        "total_timesteps": args.total_timesteps,
                        "seed": args.seed,
                        "threshold": THRESHOLD,
                        "eval_episodes": EVAL_EPISODES,
                        "per_algo": {
                            a: dict(
                                zip(
                                    ("env", "threshold", "total_timesteps"),
                                    algo_env(a, args.total_timesteps),
                                    strict=True,
                                ),
                                env_kwargs=PURERL_ENV_KWARGS.get(a, {}),
                            )
                            for a in args.algos
                        },
                        "purerl_configs": PURERL_CONFIGS,
                        "rejax_configs": REJAX_CONFIGS,
                        "rejax_requirements": REJAX_REQUIREMENTS,
                    },
                    "machine": machine_info(rows),
                    "loadavg_start": load_start,
                    "loadavg_end": os.getloadavg(),
                    "wall_s": time.perf_counter() - t_start,
                    "results": rows,
                    "seed_vmap_scaling": scaling,
                }
                out.write_text(json.dumps(report, indent=1))
    table = markdown(rows, add_derived(rows))
    print()
    print(table)
    print(f"\nresults: {out}   wall time: {time.perf_counter() - t_start:.0f} s")


def scaling_main(args) -> None:
    """`--scaling`: summed throughput and memory over seed counts, one subprocess each."""
    t_start = time.perf_counter()
    seeds_list = args.seeds or [1, 8, 64, 256]
    args.total_timesteps = args.total_timesteps or 20_000
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu_devices = usable if args.cpu_devices is None else args.cpu_devices
    libs = [("purerl", 0)]
    if cpu_devices > 1:
        libs.append((f"purerl ({cpu_devices} CPU devices)", cpu_devices))
    rejax_python = None
    if not args.skip_rejax:
        rejax_python = ensure_rejax_python(args.rejax_python)
        libs.append(("rejax (1 eval)", 0))
    out = args.out or Path("benchmarks/scaling.json")
    out = out if out.is_absolute() else ROOT / out
    out.parent.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    rows: list[dict] = []
    for seeds in seeds_list:
        for lib, devices in libs:
            print(f"[{time.perf_counter() - t_start:7.1f} s] ppo {lib} seeds={seeds}", flush=True)
            row = measure(lib, "ppo", seeds, args, rejax_python, cpu_devices=devices)
            row["cpu_devices"] = devices or None
            rows.append(row)
            if "error" in row:
                print(f"    failed: {row['error'][-500:]}")
                continue
            # purerl rows (1 device or sharded) over plain purerl's 1 seed; rejax over its own
            base = "purerl" if lib.startswith("purerl") else lib
            one = [r for r in rows if r["lib"] == base and r["seeds"] == 1 and "error" not in r]
            if one:
                row["scaling_over_1_seed"] = row["env_steps_per_s"] / one[0]["env_steps_per_s"]
            mem = row.get("memory", {})
            print(
                f"    compile {row['compile_s']:.1f} s, train {row['train_s']:.2f} s, "
                f"{row['env_steps_per_s']:,.0f} steps/s (x{row.get('scaling_over_1_seed', 1):.2f} "
                f"of {base} 1 seed), peak RSS {mem.get('peak_rss_mb', 0):,.0f} MB",
                flush=True,
            )
            report = {
                "settings": {
                    "algo": "ppo",
                    "env": ENV_ID,
                    "total_timesteps_per_seed": args.total_timesteps,
                    "seeds": seeds_list,
                    "purerl_config": PURERL_CONFIGS["ppo"],
                    "rejax_config": REJAX_CONFIGS["ppo"],
                },
                "machine": machine_info(rows),
                "loadavg_start": load_start,
                "loadavg_end": os.getloadavg(),
                "wall_s": time.perf_counter() - t_start,
                "results": rows,
            }
            out.write_text(json.dumps(report, indent=1))
    print()
    print(scaling_markdown(rows))
    print(f"\nresults: {out}   wall time: {time.perf_counter() - t_start:.0f} s")


def scaling_markdown(rows: list[dict]) -> str:
    lines = [
        "| lib | seeds | env steps/s (sum over seeds) | x 1 seed | train s | compile s "
        "| peak RSS MB | device peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['lib']} | {r['seeds']} | failed ||||||")
            continue
        mem = r.get("memory", {})
        lines.append(
            f"| {r['lib']} | {r['seeds']} | {r['env_steps_per_s']:,.0f} "
            f"| {fmt(r.get('scaling_over_1_seed'))} | {r['train_s']:.2f} | {r['compile_s']:.1f} "
            f"| {fmt(mem.get('peak_rss_mb'), ',.0f')} | {fmt(mem.get('device_peak_mb'), ',.0f')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
