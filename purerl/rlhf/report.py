"""Reporting of `rlhf.pipeline` runs: the markdown table, the CSV of training curves, the
plots (gold / proxy reward against sqrt(KL), SFT / RM / adaptive-controller panels)."""

from __future__ import annotations

import json
import os

import jax
import numpy as np


def _np(tree):
    return jax.tree.map(lambda x: np.asarray(x).tolist(), jax.device_get(tree))


def table(results: dict) -> str:
    """The results as markdown: one row per policy, then the checks."""
    cols = ["method", "trained on", "coef / beta / n", "gold", "gold gain (z)", "proxy"]
    cols += ["KL k1", "KL exact", "KL teacher", "entropy", "length"]
    head = "| " + " | ".join(cols) + " |"
    lines = [head, "|" + " --- |" * 11]
    for r in results["rows"]:
        lines.append(
            f"| {r['method']} | {r['trained_on']} | {r['coef']:g} | {r['gold']:.3f} +- "
            f"{r['gold_se']:.3f} | {r['gold_gain']:+.3f} ({r['gain_z']:+.1f}) | {r['proxy']:.3f} "
            f"| {r['kl_k1']:.3f} | {r['kl_exact']:.3f} | {r['kl_teacher']:.3f} | "
            f"{r['entropy']:.3f} | {r['length']:.2f} |"
        )
    s, m = results["sft"], results["reward_model"]
    a, sh = results["adaptive"], results["shuffled"]
    lines += [
        "",
        f"SFT held-out NLL {s['heldout_nll']:.4f} vs exact entropy rate {s['entropy_rate']:.4f} "
        f"(gap {s['gap']:.4f} nats/token).",
        f"RM held-out accuracy {m['accuracy']:.3f} vs sampled labels; "
        f"{m['accuracy_noiseless']:.3f} vs the noiseless oracle; "
        f"Bayes ceiling {m['bayes_ceiling']:.3f}; shuffled-label RMs "
        + ", ".join(f"{a:.3f}" for a in sh["rm_accuracy"])
        + ".",
        f"Shuffled-label control (PPO, coef {sh['kl_coef']:g}): gold gains "
        + ", ".join(f"{g:+.3f}" for g in sh["gold_gains"])
        + f"; mean {sh['mean_gold_gain']:+.3f}, t = {sh['t']:.2f} "
        f"(one-sided 95% critical value {sh['t_crit_one_sided_95']:.2f}).",
        "PPO-on-RM gold gain / PPO-on-oracle gold gain per KL coefficient: "
        + ", ".join(f"{x:.2f}" for x in results["ppo_gain_ratio"])
        + ".",
        f"Adaptive KL: target {a['target_kl']:g}, coefficient {a['initial_kl_coef']:g} -> "
        f"{a['final_kl_coef']:.4f}, final KL {a['kl_eval']:.3f} (mean of the last "
        f"updates {a['kl_last_updates']:.3f}).",
        "best-of-n KL is the analytic bound log n - (n-1)/n.",
        "",
        "| check | passed |",
        "| --- | --- |",
    ]
    lines += [f"| {k} | {v} |" for k, v in results["checks"].items()]
    t = results["timings_s"]
    lines += ["", "time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in t.items())]
    return "\n".join(lines)


def write(out, results, curves, sft_metrics, rm_evals, adapt_metrics, target_kl) -> dict:
    """Write `results.json`, `table.md`, `curves.csv`, `frontier.png` and `training.png` to
    `out`; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    files = {
        "results": os.path.join(out, "results.json"),
        "table": os.path.join(out, "table.md"),
        "curves": os.path.join(out, "curves.csv"),
        "frontier": os.path.join(out, "frontier.png"),
        "training": os.path.join(out, "training.png"),
    }
    keys = [
        "gold",
        "proxy",
        "kl/k1",
        "kl/exact",
        "kl_teacher",
        "entropy",
        "response_length",
        "kl_coef",
    ]
    with open(files["curves"], "w") as f:
        f.write("method,trained_on,coef,update," + ",".join(keys) + "\n")
        for name, on, coef, m in curves:
            for u in range(len(m["gold"])):
                vals = ",".join(f"{float(m[k][u]):.6g}" for k in keys)
                f.write(f"{name},{on},{coef:g},{u},{vals}\n")
    rows = results["rows"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    groups = {}
    for r in rows:
        if r["method"] in ("ppo", "reinforce", "dpo", "best-of-n"):
            groups.setdefault(f"{r['method']} ({r['trained_on']})", []).append(r)
    sft_row = rows[0]
    for ax, key in zip(axes, ["gold", "proxy"], strict=True):
        for label, rs in groups.items():
            rs = sorted(rs, key=lambda r: r["kl_exact"])
            x = [0.0] + [np.sqrt(max(r["kl_exact"], 0.0)) for r in rs]
            y = [sft_row[key]] + [r[key] for r in rs]
            ax.plot(x, y, "o-", label=label)
        for name, on, _, m in curves:
            if name == "ppo" and on == "rm":
                kl = np.convolve(m["kl/exact"], np.ones(5) / 5, mode="valid")
                val = np.convolve(m[key], np.ones(5) / 5, mode="valid")
                ax.plot(np.sqrt(np.maximum(kl, 0)), val, "-", lw=0.6, alpha=0.5, color="C0")
        for j, name in enumerate(("ppo (shuffled RM)", "ppo (huge KL)", "ppo (adaptive KL)")):
            rs = [r for r in rows if r["method"] == name]
            x = [np.sqrt(max(r["kl_exact"], 0)) for r in rs]
            ax.plot(x, [r[key] for r in rs], "xsd"[j], ms=8, label=name)
        ax.set_xlabel("sqrt(KL to reference)  [nats^0.5]")
        ax.set_ylabel(f"{key} reward")
        ax.set_title(f"{key} reward vs sqrt(KL) (thin: PPO-on-RM training)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(files["frontier"], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    nll = np.asarray(sft_metrics["loss/nll"])
    axes[0].plot(np.arange(len(nll)), nll, lw=0.7, label="SFT train NLL")
    axes[0].axhline(
        results["sft"]["entropy_rate"], color="k", ls="--", label="teacher entropy rate"
    )
    axes[0].set_ylim(results["sft"]["entropy_rate"] - 0.2, results["sft"]["entropy_rate"] + 1.0)
    axes[0].set_xlabel("update")
    axes[0].set_title("SFT")
    axes[0].legend()
    names = ["accuracy", "accuracy_noiseless", "bayes_ceiling"]
    labels = ["RM vs labels", "RM vs noiseless\noracle", "Bayes ceiling", "shuffled RMs\n(mean)"]
    axes[1].bar(
        labels,
        [rm_evals[0][n] for n in names] + [float(np.mean([e["accuracy"] for e in rm_evals[1:]]))],
        color=["C0", "C1", "C2", "C3"],
    )
    axes[1].axhline(0.75, color="k", ls="--", lw=0.8)
    axes[1].set_ylim(0.4, 1.0)
    axes[1].set_title("reward model, held-out pairs")
    axes[2].plot(adapt_metrics["kl/k1"], lw=0.8, label="KL k1 (batch)")
    axes[2].axhline(target_kl, color="k", ls="--", label="target")
    ax2 = axes[2].twinx()
    ax2.plot(adapt_metrics["kl_coef"], color="C3", label="kl coef")
    ax2.set_ylabel("kl coef", color="C3")
    axes[2].set_xlabel("update")
    axes[2].set_title("adaptive KL controller")
    axes[2].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(files["training"], dpi=110)
    plt.close(fig)

    with open(files["results"], "w") as f:
        json.dump(_np(results), f, indent=1, default=float)
    with open(files["table"], "w") as f:
        f.write(table(results) + "\n")
    return files


__all__ = ["table", "write"]
