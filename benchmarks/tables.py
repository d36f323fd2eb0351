"""Benchmark rows (the JSON `results`) -> the README's markdown tables."""

from __future__ import annotations

from benchmarks.settings import THRESHOLD


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
    """Speed table, steps-to-threshold table and (when any) seed-vmap scaling table."""
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


def scaling_markdown(rows: list[dict]) -> str:
    """The `--scaling` table: summed throughput, its ratio to 1 seed, and peak memory."""
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
