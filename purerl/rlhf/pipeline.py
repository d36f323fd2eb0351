"""The whole RLHF pipeline on a synthetic task, with every claim measured.

teacher + oracle -> SFT -> preference pairs -> reward model (and a shuffled-label control)
-> fine-tuning at several KL coefficients: token-level PPO on the reward model and on the
oracle itself, an adaptive-KL PPO run, a huge-KL control, REINFORCE, DPO, best-of-n. Each
policy is evaluated on the same fresh prompts: gold and proxy (the learned RM) reward, KL
to the reference (k1 and exact), KL to the teacher, entropy, length.

`run(Config(...), out)` writes to `out`: `results.json` (everything), `table.md` (the
table and the checks), `curves.csv` (per-update training metrics) and two plots,
`frontier.png` (gold and proxy reward against sqrt(KL) per method, the over-optimisation
picture of Gao et al. 2022), `training.png` (SFT NLL against the exact entropy rate, RM
accuracy, the adaptive controller) and `checkpoint.ckpt` (the SFT policy and the reward
model). `scripts/rlhf.py` is its command line.
"""

from __future__ import annotations

import dataclasses
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from purerl.core import validation as V
from purerl.core.checkpoint import save
from purerl.core.train import train
from purerl.rlhf import best_of_n, dpo, lm, ppo, reinforce, report, sampling, sft, tasks
from purerl.rlhf import reward_model as rm


@dataclasses.dataclass(frozen=True)
class Config(V.ConfigBase):
    """Sizes and budgets of every stage (defaults: the full run, minutes on 2 CPU cores)."""

    seed: int = 0
    # task
    vocab_size: int = 16
    branching: int = 3
    prompt_len: int = 2
    response_len: int = 16
    bt_temperature: float = 0.1  # Bradley-Terry temperature of the labels
    # model
    d_model: int = 32
    num_layers: int = 2
    num_heads: int = 4
    # SFT
    sft_updates: int = 500
    sft_batch: int = 64
    sft_lr: float = 2e-3
    # preferences and reward model
    num_pairs: int = 8192
    num_test_pairs: int = 1024
    rm_epochs: int = 2
    rm_lr: float = 1e-3
    # fine-tuning
    kl_coefs: tuple[float, ...] = (0.02, 0.1, 0.5)
    huge_kl_coef: float = 20.0
    ppo_updates: int = 80
    ppo_batch: int = 64
    ppo_lr: float = 3e-4
    adaptive_init_coef: float | None = None  # adaptive run's initial coef (None: max coef)
    target_kl: float = 1.0  # adaptive run, nats per response
    horizon: float = 512  # adaptive run, responses (our runs see 6400, not millions)
    num_shuffles: int = 3  # shuffled-label reward models of the control (independent shuffles)
    reinforce_updates: int = 150
    reinforce_lr: float = 1e-3
    dpo_betas: tuple[float, ...] = (0.1, 0.3, 1.0)
    dpo_epochs: int = 2
    dpo_lr: float = 3e-4
    bon_ns: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    eval_prompts: int = 2048

    def __post_init__(self):
        super().__post_init__()
        if len(self.kl_coefs) < 1 or sorted(self.kl_coefs) != list(self.kl_coefs):
            raise ValueError(f"pipeline.Config.kl_coefs must be increasing, got {self.kl_coefs}")


def _row(method, trained_on, coef, ev, gold_ref, gold_ref_se):
    gain = float(ev["gold"]) - gold_ref
    se = float(np.hypot(float(ev["gold_se"]), gold_ref_se))
    return {
        "method": method,
        "trained_on": trained_on,
        "coef": coef,
        "gold": float(ev["gold"]),
        "gold_se": float(ev["gold_se"]),
        "gold_gain": gain,
        "gain_z": gain / max(se, 1e-9),
        "proxy": float(ev["proxy"]),
        "kl_k1": float(ev.get("kl/k1", np.nan)),
        "kl_exact": float(ev.get("kl/exact", np.nan)),
        "kl_teacher": float(ev.get("kl_teacher", np.nan)),
        "entropy": float(ev.get("entropy", np.nan)),
        "length": float(ev["response_length"]),
    }


def run(config: Config = Config(), out: str | None = None, quiet: bool = False) -> dict:
    """Run every stage; write the outputs to `out` (if given); return the results dict."""
    if not isinstance(config, Config):
        raise TypeError(
            f"pipeline.run: config must be a pipeline.Config, got {type(config).__name__}"
        )
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    c = config
    t_start = time.time()
    timings = {}

    def stage(name):
        timings[name] = time.time() - sum(timings.values()) - t_start

    k = dict(
        zip(
            ["task", "sft", "prefs", "eval", "ppo", "rf", "dpo", "bon"],
            jax.random.split(jax.random.key(c.seed), 8),
            strict=True,
        )
    )
    task = tasks.make_task(
        k["task"],
        vocab_size=c.vocab_size,
        branching=c.branching,
        prompt_len=c.prompt_len,
        response_len=c.response_len,
        temperature=c.bt_temperature,
    )
    model = lm.make(lm.Config(c.vocab_size, task.seq_len, c.d_model, c.num_layers, c.num_heads))
    P = task.prompt_tokens

    # ---------------------------------------------------------------- 1. SFT
    sft_cfg = sft.Config(num_updates=c.sft_updates, batch_size=c.sft_batch, learning_rate=c.sft_lr)

    @jax.jit
    def sft_stage(key):
        state, metrics = train(sft.make(task, model, sft_cfg), key)
        nll = sft.heldout_nll(task, model, state.params, jax.random.fold_in(key, 1), 4096)
        return state.params, metrics, nll

    ref, sft_metrics, nll = sft_stage(k["sft"])
    nll = float(nll)
    entropy_rate = tasks.entropy_rate(task.teacher, task.seq_len - 1)
    stage("sft")
    say(f"SFT: held-out NLL {nll:.4f} nats/token, teacher entropy rate {entropy_rate:.4f}")

    # ------------------------------------------------- 2. preferences, reward models
    rm_cfg = rm.Config(num_epochs=c.rm_epochs, learning_rate=c.rm_lr)

    @jax.jit
    def rm_stage(key):
        """Preference pairs; the RM and the shuffled-label RMs trained in one vmap; their
        held-out metrics and normalisation on reference samples."""
        k_pairs, k_shuffle, k_train, k_norm = jax.random.split(key, 4)
        n = c.num_pairs + c.num_test_pairs
        prefs = rm.make_preferences(task, model, ref, k_pairs, n)
        prefs_train, prefs_test = rm.split(prefs, c.num_pairs)

        def train_rm(labels):
            agent = rm.make(task, model, ref, prefs_train._replace(label=labels), rm_cfg)
            return train(agent, k_train)[0].params

        shuffled = [
            rm.shuffle_labels(kk, prefs_train).label
            for kk in jax.random.split(k_shuffle, c.num_shuffles)
        ]
        params = jax.vmap(train_rm)(jnp.stack([prefs_train.label, *shuffled]))
        evals = jax.vmap(lambda p: rm.evaluate(task, model, p, prefs_test))(params)
        # reward normalisation on reference samples: mean 0, std 1 (RMs and oracle alike)
        ref_toks = sampling.sample(task, model, ref, k_norm, 2048).tokens
        norms = jax.vmap(lambda p: rm.normalization(model, p, ref_toks, P))(params)
        gold = tasks.gold_score(task, ref_toks)
        return prefs_train, params, evals, norms, (jnp.mean(gold), jnp.std(gold))

    prefs_train, rm_params, rm_evals, norms, gold_norm = rm_stage(k["prefs"])
    rm_evals = [
        jax.tree.map(lambda x, i=i: float(x[i]), rm_evals) for i in range(c.num_shuffles + 1)
    ]
    shuffled_acc = [e["accuracy"] for e in rm_evals[1:]]
    rm_main = jax.tree.map(lambda x: x[0], rm_params)
    proxy_fn = rm.reward_fn(model, rm_main, P, norms[0][0], norms[1][0])
    stage("reward_model")
    say(
        "RM: held-out accuracy {accuracy:.3f} (noiseless oracle {accuracy_noiseless:.3f}, "
        "Bayes ceiling {bayes_ceiling:.3f}); shuffled-label RMs {s}".format(
            **rm_evals[0], s=", ".join(f"{a:.3f}" for a in shuffled_acc)
        )
    )

    evaluate = lambda params: sampling.evaluate(
        task, model, params, ref, proxy_fn, k["eval"], c.eval_prompts
    )
    sft_eval = jax.jit(evaluate)(ref)
    g0, g0_se = float(sft_eval["gold"]), float(sft_eval["gold_se"])
    rows = [_row("sft", "-", 0.0, sft_eval, g0, g0_se)]

    # ---------------------------------------------------------------- 3. PPO runs
    # One vmapped program over runs, each (reward model index, gold weight, KL coefficient,
    # adaptive): a gold weight of 1 trains on the normalised oracle instead of a reward
    # model; reward models 1.. are the shuffled-label controls.
    mid = c.kl_coefs[len(c.kl_coefs) // 2]
    init_adapt = max(c.kl_coefs) if c.adaptive_init_coef is None else c.adaptive_init_coef
    shuffles = range(1, c.num_shuffles + 1)
    specs = (
        [("ppo", "rm", 0, 0.0, b, False) for b in c.kl_coefs]
        + [("ppo", "oracle", 0, 1.0, b, False) for b in c.kl_coefs]
        + [("ppo (huge KL)", "rm", 0, 0.0, c.huge_kl_coef, False)]
        + [("ppo (shuffled RM)", f"shuffled rm {i}", i, 0.0, mid, False) for i in shuffles]
        + [("ppo (adaptive KL)", "rm", 0, 0.0, init_adapt, True)]
    )
    ppo_cfg = ppo.Config(
        num_updates=c.ppo_updates,
        batch_size=c.ppo_batch,
        learning_rate=c.ppo_lr,
        target_kl=c.target_kl,
        horizon=c.horizon,
    )

    def reward_for(i, w_gold):
        p = jax.tree.map(lambda x: x[i], rm_params)
        learned = rm.reward_fn(model, p, P, norms[0][i], norms[1][i])
        gold = rm.gold_reward_fn(task, *gold_norm)
        return lambda toks: w_gold * gold(toks) + (1.0 - w_gold) * learned(toks)

    def ppo_run(i, w_gold, coef, adaptive, key):
        cfg = dataclasses.replace(ppo_cfg, kl_coef=coef, adaptive_kl=adaptive)
        state, metrics = train(ppo.make(task, model, ref, reward_for(i, w_gold), cfg), key)
        return evaluate(state.params["lm"]), metrics, state.kl_coef

    cols = [jnp.asarray(col) for col in list(zip(*specs, strict=True))[2:]]
    ppo_evals, ppo_metrics, final_coefs = jax.jit(jax.vmap(ppo_run, in_axes=(0, 0, 0, 0, None)))(
        *cols, k["ppo"]
    )
    curves = []
    for j, (name, on, _, _, coef, _) in enumerate(specs):
        ev = jax.tree.map(lambda x, j=j: x[j], ppo_evals)
        rows.append(_row(name, on, coef, ev, g0, g0_se))
        curves.append((name, on, coef, jax.tree.map(lambda x, j=j: np.asarray(x[j]), ppo_metrics)))
    adapt_metrics = curves[-1][3]
    adapt_final_coef = float(final_coefs[-1])
    stage("ppo")
    say(f"PPO: {len(specs)} runs done")

    # ---------------------------------------------------------------- 4. REINFORCE
    rf_cfg = reinforce.Config(
        num_updates=c.reinforce_updates, batch_size=c.ppo_batch, learning_rate=c.reinforce_lr
    )

    def rf_run(coef, key):
        cfg = dataclasses.replace(rf_cfg, kl_coef=coef)
        state, metrics = train(reinforce.make(task, model, ref, proxy_fn, cfg), key)
        return evaluate(state.params["lm"]), metrics

    rf_evals, rf_metrics = jax.jit(jax.vmap(rf_run, in_axes=(0, None)))(
        jnp.asarray(c.kl_coefs), k["rf"]
    )
    for j, coef in enumerate(c.kl_coefs):
        rows.append(
            _row("reinforce", "rm", coef, jax.tree.map(lambda x, j=j: x[j], rf_evals), g0, g0_se)
        )
        curves.append(
            ("reinforce", "rm", coef, jax.tree.map(lambda x, j=j: np.asarray(x[j]), rf_metrics))
        )
    stage("reinforce")
    say("REINFORCE done")

    # ---------------------------------------------------------------- 5. DPO, best-of-n
    dpo_cfg = dpo.Config(num_epochs=c.dpo_epochs, learning_rate=c.dpo_lr)

    def dpo_run(beta, key):
        cfg = dataclasses.replace(dpo_cfg, beta=beta)
        state, _ = train(dpo.make(task, model, ref, prefs_train, cfg), key)
        return evaluate(state.params)

    dpo_evals = jax.jit(jax.vmap(dpo_run, in_axes=(0, None)))(jnp.asarray(c.dpo_betas), k["dpo"])
    for j, beta in enumerate(c.dpo_betas):
        rows.append(
            _row(
                "dpo", "preferences", beta, jax.tree.map(lambda x, j=j: x[j], dpo_evals), g0, g0_se
            )
        )
    stage("dpo")
    bon = jax.jit(
        lambda key: best_of_n.evaluate(task, model, ref, proxy_fn, key, c.eval_prompts, c.bon_ns)
    )(k["bon"])
    for j, n in enumerate(c.bon_ns):
        ev = {k_: v[j] for k_, v in bon.items()}
        r = _row("best-of-n", "rm", float(n), ev, g0, g0_se)
        r["kl_exact"] = r["kl_k1"] = float(ev["kl/bound"])  # analytic (an upper bound)
        rows.append(r)
    stage("best_of_n")
    say("DPO and best-of-n done")

    # ---------------------------------------------------------------- checks
    by = lambda method, on=None: [
        r for r in rows if r["method"] == method and (on is None or r["trained_on"] == on)
    ]
    ppo_rm, ppo_or = by("ppo", "rm"), by("ppo", "oracle")
    tail = max(c.ppo_updates // 10, 1)
    adapt_kl_tail = float(np.mean(adapt_metrics["kl/k1"][-tail:]))
    adapt_kl_eval = by("ppo (adaptive KL)")[0]["kl_k1"]
    huge_row = by("ppo (huge KL)")[0]
    # the control: is the mean gold gain over independent shuffles significantly > 0?
    # (one-sided t-test across shuffles: each shuffled RM is a different random reward)
    shuffled_gains = np.array([r["gold_gain"] for r in by("ppo (shuffled RM)")])
    k_sh = len(shuffled_gains)
    t_stat = float(shuffled_gains.mean() / (shuffled_gains.std(ddof=1) / np.sqrt(k_sh) + 1e-12))
    import scipy.stats  # a dependency of jax; imported here to keep `import purerl` light

    t_crit = float(scipy.stats.t.ppf(0.95, k_sh - 1)) if k_sh > 1 else float("inf")
    checks = {
        "sft_nll_within_0.1_of_entropy_rate": nll - entropy_rate <= 0.1,
        "rm_accuracy_at_least_0.75": float(rm_evals[0]["accuracy"]) >= 0.75,
        "ppo_rm_gain_at_least_half_oracle_gain": all(
            a["gold_gain"] >= 0.5 * b["gold_gain"] for a, b in zip(ppo_rm, ppo_or, strict=True)
        ),
        "kl_falls_as_coef_rises": all(
            a["kl_exact"] > b["kl_exact"] for a, b in zip(ppo_rm, ppo_rm[1:], strict=False)
        ),
        "adaptive_kl_within_50pct_of_target": abs(adapt_kl_eval / c.target_kl - 1) <= 0.5,
        "shuffled_rm_no_significant_gold_gain": t_stat < t_crit,
        "huge_kl_stays_at_sft": huge_row["kl_exact"] < 0.05 and abs(huge_row["gain_z"]) < 2.0,
    }
    results = {
        "config": dataclasses.asdict(c),
        "sft": {
            "heldout_nll": nll,
            "entropy_rate": entropy_rate,
            "gap": nll - entropy_rate,
            "final_train_nll": float(np.mean(np.asarray(sft_metrics["loss/nll"])[-20:])),
        },
        "reward_model": rm_evals[0],
        "shuffled": {
            "rm_accuracy": shuffled_acc,
            "gold_gains": shuffled_gains.tolist(),
            "mean_gold_gain": float(shuffled_gains.mean()),
            "t": t_stat,
            "t_crit_one_sided_95": t_crit,
            "kl_coef": mid,
        },
        "adaptive": {
            "target_kl": c.target_kl,
            "kl_eval": adapt_kl_eval,
            "kl_last_updates": adapt_kl_tail,
            "initial_kl_coef": init_adapt,
            "final_kl_coef": adapt_final_coef,
        },
        "ppo_gain_ratio": [
            a["gold_gain"] / b["gold_gain"] if b["gold_gain"] else float("nan")
            for a, b in zip(ppo_rm, ppo_or, strict=True)
        ],
        "rows": rows,
        "checks": checks,
        "timings_s": timings,
    }
    timings["total"] = time.time() - t_start
    if out is not None:
        results["files"] = report.write(
            out, results, curves, sft_metrics, rm_evals, adapt_metrics, c.target_kl
        )
        # the SFT (reference) policy and the reward model, for reuse:
        # purerl.load(path, like={"sft": model.init(key), "reward_model": rm.init(...)})
        ckpt = os.path.join(out, "checkpoint.ckpt")
        save(ckpt, {"sft": ref, "reward_model": rm_main}, {"config": dataclasses.asdict(c)})
        results["files"]["checkpoint"] = ckpt
    say(report.table(results))
    return results


__all__ = ["Config", "run"]
