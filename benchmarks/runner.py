"""The benchmark driver: one measurement at a time, each in a fresh subprocess holding only
PATH (and XLA_FLAGS, when set, unchanged for both libraries), and the JSON reports."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import peers, settings, tables

ROOT = Path(__file__).resolve().parents[1]


def clean_env() -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if "XLA_FLAGS" in os.environ:  # passed on unchanged, to both libraries alike
        env["XLA_FLAGS"] = os.environ["XLA_FLAGS"]
    return env


def run_worker(cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run a worker command from the repository root; its last JSON line, or `{"error"}`."""
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
    env_id, threshold, total = settings.algo_env(algo, args.total_timesteps)
    spec = {
        "algo": algo,
        "seeds": seeds,
        "env": env_id,
        "env_kwargs": settings.PURERL_ENV_KWARGS.get(algo, {}),
        "seed": args.seed,
        "total_timesteps": total,
        "threshold": threshold,
        "eval_episodes": settings.EVAL_EPISODES,
        "curve_points": settings.CURVE_POINTS,
        "train_many": cpu_devices > 0,
    }
    worker_env = clean_env()
    if lib.startswith("purerl") and not cpu_devices:
        worker_env["PURERL_CPU_DEVICES"] = "1"  # one device: JAX's default, not purerl's
    if cpu_devices:
        flag = f"--xla_force_host_platform_device_count={cpu_devices}"
        worker_env["XLA_FLAGS"] = (worker_env.get("XLA_FLAGS", "") + " " + flag).strip()
    if lib.startswith("purerl"):
        cmd = [sys.executable, "-m", "benchmarks.workers", "purerl", json.dumps(spec)]
    else:
        spec["config"] = peers.REJAX_CONFIGS[algo]
        spec["single_eval"] = lib == "rejax (1 eval)"
        cmd = [rejax_python, "-m", "benchmarks.workers", "rejax", json.dumps(spec)]
    result = run_worker(cmd, args.timeout, worker_env)
    row = {"algo": algo, "lib": lib, "seeds": seeds, "env": env_id, "threshold": threshold}
    row.update(result)
    if "error" not in row:
        row["env_steps_per_s"] = seeds * row["env_steps"] / row["train_s"]
        hit = row.get("steps_to_threshold")
        if hit is not None:
            row["threshold_fraction"] = hit / row["env_steps"]
            row["threshold_wall_s_est"] = row["threshold_fraction"] * row["train_s"]
    return row


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


def _out_path(out: Path | None, default: str) -> Path:
    out = out or Path(default)
    out = out if out.is_absolute() else ROOT / out
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def run_benchmark(args) -> None:
    """purerl beside rejax (and rejax with one evaluation) per algorithm and seed count."""
    args.seeds = args.seeds or [1, 8]
    t_start = time.perf_counter()
    libs = ["purerl"]
    rejax_python = None
    if not args.skip_rejax:
        rejax_python = peers.ensure_rejax_python(args.rejax_python)
        libs += ["rejax"] if args.skip_rejax_single_eval else ["rejax", "rejax (1 eval)"]
    load_start = os.getloadavg()
    out = _out_path(args.out, "benchmarks/results.json")
    purerl_configs = {a: settings.config_record(a) for a in settings.ALGOS}
    per_algo = {
        a: dict(
            zip(
                ("env", "threshold", "total_timesteps"),
                settings.algo_env(a, args.total_timesteps),
                strict=True,
            ),
            env_kwargs=settings.PURERL_ENV_KWARGS.get(a, {}),
        )
        for a in args.algos
    }
    rows: list[dict] = []
    for algo in args.algos:
        for seeds in args.seeds:
            for lib in libs:  # one at a time, never concurrently
                if lib != "purerl" and algo not in peers.REJAX_CONFIGS:
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
                scaling = tables.add_derived(rows)
                report = {
                    "settings": {
                        "env": settings.ENV_ID,
                        "total_timesteps": args.total_timesteps,
                        "seed": args.seed,
                        "threshold": settings.THRESHOLD,
                        "eval_episodes": settings.EVAL_EPISODES,
                        "per_algo": per_algo,
                        "purerl_configs": purerl_configs,
                        "rejax_configs": peers.REJAX_CONFIGS,
                        "rejax_requirements": peers.REJAX_REQUIREMENTS,
                    },
                    "machine": machine_info(rows),
                    "loadavg_start": load_start,
                    "loadavg_end": os.getloadavg(),
                    "wall_s": time.perf_counter() - t_start,
                    "results": rows,
                    "seed_vmap_scaling": scaling,
                }
                out.write_text(json.dumps(report, indent=1))
    print()
    print(tables.markdown(rows, tables.add_derived(rows)))
    print(f"\nresults: {out}   wall time: {time.perf_counter() - t_start:.0f} s")


def run_scaling(args) -> None:
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
        rejax_python = peers.ensure_rejax_python(args.rejax_python)
        libs.append(("rejax (1 eval)", 0))
    out = _out_path(args.out, "benchmarks/scaling.json")
    load_start = os.getloadavg()
    purerl_config = settings.config_record("ppo")
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
                    "env": settings.ENV_ID,
                    "total_timesteps_per_seed": args.total_timesteps,
                    "seeds": seeds_list,
                    "purerl_config": purerl_config,
                    "rejax_config": peers.REJAX_CONFIGS["ppo"],
                },
                "machine": machine_info(rows),
                "loadavg_start": load_start,
                "loadavg_end": os.getloadavg(),
                "wall_s": time.perf_counter() - t_start,
                "results": rows,
            }
            out.write_text(json.dumps(report, indent=1))
    print()
    print(tables.scaling_markdown(rows))
    print(f"\nresults: {out}   wall time: {time.perf_counter() - t_start:.0f} s")
