"""Token-level PPO for RLHF (Ziegler et al. 2019; Stiennon et al. 2020; Ouyang et al. 2022).

Each update samples one response per prompt for `batch_size` teacher prompts, then treats
the response as an episode whose steps are its tokens: state h_t (prompt and y_<t), action
y_t. The frozen reference (SFT) policy enters through a per-token KL penalty folded into
the reward, and the reward model's (normalised) score arrives at the last token:

    r_t = -beta * (log pi_old(y_t|h_t) - log ref(y_t|h_t)) + [t = last] * score(x, y).

Advantages come from `purerl.core.returns.gae` over tokens (gamma, lambda; the episode
terminates at the last token: EOS, or the length limit, where the score is paid) and are
whitened over the batch's valid tokens. The policy and a scalar value head share the
transformer trunk. `num_epochs` passes of `num_minibatches` Adam steps minimise
`purerl.core.losses.clip_policy_loss` + `vf_coef * purerl.core.losses.value_loss` (clipped)
over valid tokens; nothing here re-implements PPO's losses.

With `adaptive_kl`, beta follows Ziegler et al.'s proportional controller after each update:
    e = clip(KL / target_kl - 1, -0.2, 0.2),   beta <- beta * (1 + e * batch_size / horizon),
with KL the batch mean of the per-response k1 KL.

Metrics per update (on the update's own samples, before learning): `gold`, `proxy` (the
reward it optimises), `kl/k1`, `kl/exact`, `kl_teacher`, `entropy`, `response_length`,
`eos_rate`, `reward/total`, and PPO's `loss/policy`, `loss/value`, `clip_fraction`,
`approx_kl`, `kl_coef`.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from purerl.core import validation as V
from purerl.core.losses import approx_kl, clip_policy_loss, value_loss
from purerl.core.returns import gae
from purerl.rlhf import sampling, tasks
from purerl.rlhf.lm import LM, with_features
from purerl.rlhf.tasks import Task
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(V.ConfigBase):
    """RLHF-PPO hyper-parameters (float ones may be traced for a vmapped sweep)."""

    num_updates: int = 150
    batch_size: int = 64  # prompts (responses) per update
    num_epochs: int = 4
    num_minibatches: int = 2  # must divide batch_size
    learning_rate: float = 3e-4  # constant, Adam
    kl_coef: float = 0.1  # beta (initial value with adaptive_kl)
    adaptive_kl: bool = False  # may be traced: one vmap can mix fixed and adaptive runs
    target_kl: float = 2.0  # nats per response (adaptive_kl)
    horizon: float = 10_000  # responses (adaptive_kl); Ziegler et al. use 10_000
    clip_eps: float = 0.2
    value_clip_eps: float = 0.2
    vf_coef: float = 0.1
    gamma: float = 1.0
    gae_lambda: float = 0.95
    max_grad_norm: float = 1.0
    whiten_advantages: bool = True

    def __post_init__(self):
        super().__post_init__()
        c = "rlhf.ppo.Config"
        for name in ("num_updates", "batch_size", "num_epochs", "num_minibatches"):
            V.check_int(c, name, getattr(self, name))
        V.check_positive(c, "horizon", self.horizon)
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_positive(c, "kl_coef", self.kl_coef, allow_zero=True)
        V.check_positive(c, "target_kl", self.target_kl)
        V.check_positive(c, "clip_eps", self.clip_eps)
        V.check_positive(c, "value_clip_eps", self.value_clip_eps)
        V.check_positive(c, "vf_coef", self.vf_coef, allow_zero=True)
        V.check_unit(c, "gamma", self.gamma)
        V.check_unit(c, "gae_lambda", self.gae_lambda)
        V.check_positive(c, "max_grad_norm", self.max_grad_norm)
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"rlhf.ppo.Config: batch_size {self.batch_size} is not divisible by "
                f"num_minibatches {self.num_minibatches}"
            )


class State(NamedTuple):
    """`params = {"lm": policy params, "value": {"w", "b"}}`."""

    params: dict
    opt_state: optax.OptState
    key: jax.Array
    step: jax.Array
    kl_coef: jax.Array


def adaptive_kl_coef(kl_coef, kl, target_kl, batch_size, horizon):
    """Ziegler et al. (2019) proportional controller:
    `beta * (1 + clip(kl / target - 1, -0.2, 0.2) * batch_size / horizon)`."""
    err = jnp.clip(kl / target_kl - 1.0, -0.2, 0.2)
    return kl_coef * (1.0 + err * batch_size / horizon)


def token_rewards(score, kl_t, last, kl_coef):
    """`r_t = -kl_coef * kl_t + [t = last] * score`. score, last `[B]`; kl_t `[B, R]`."""
    onehot = jax.nn.one_hot(last, kl_t.shape[1], dtype=kl_t.dtype)
    return -kl_coef * kl_t + onehot * score[:, None]


def token_advantages(r_t, v_t, mask, last, gamma, lambda_):
    """GAE over tokens (batch-major `[B, R]` in and out): the episode terminates at `last`;
    values past it are ignored. Returns `(advantages, returns)`, 0 past the last token."""
    v_t = jnp.where(mask, v_t, 0.0)
    v_tp1 = jnp.concatenate([v_t[:, 1:], jnp.zeros_like(v_t[:, :1])], axis=1)
    term = jax.nn.one_hot(last, r_t.shape[1], dtype=bool)
    adv, ret = gae(r_t.T, v_t.T, v_tp1.T, term.T, jnp.zeros_like(term.T), gamma, lambda_)
    return jnp.where(mask, adv.T, 0.0), jnp.where(mask, ret.T, 0.0)


def init_value_head(feature_dim: int) -> dict:
    return {"w": jnp.zeros(feature_dim), "b": jnp.zeros(())}


def policy_init(lm: LM, tx: optax.GradientTransformation, start_params, kl_coef):
    """`init(key) -> State` of a KL-regularised policy (RLHF-PPO, REINFORCE): the policy at
    `start_params` with a zero value head, `tx`'s state, step 0 and the initial `kl_coef`."""

    def init(key) -> State:
        params = {"lm": start_params, "value": init_value_head(lm.feature_dim)}
        return State(
            params,
            tx.init(params),
            key,
            jnp.zeros((), jnp.int32),
            jnp.asarray(kl_coef, jnp.float32),
        )

    return init


def kl_feedback(task: Task, config, state: State, tokens, score, stats):
    """After a KL-regularised update (RLHF-PPO, REINFORCE; `config` has `batch_size`,
    `adaptive_kl`, `target_kl`, `horizon`): the next KL coefficient (`adaptive_kl_coef` where
    `config.adaptive_kl`, else unchanged) and the metrics `gold`, `proxy`, `reward/total`,
    `kl_coef`, `episodes` of the update's responses `tokens` with reward `score` and
    `stats = sampling.sequence_stats(...)`. Returns `(kl_coef, metrics)`."""
    B = config.batch_size
    kl = jnp.mean(stats["kl/k1"])
    adapted = adaptive_kl_coef(state.kl_coef, kl, config.target_kl, B, config.horizon)
    metrics = {
        "gold": jnp.mean(tasks.gold_score(task, tokens)),
        "proxy": jnp.mean(score),
        "reward/total": jnp.mean(score - state.kl_coef * stats["kl/k1"]),
        "kl_coef": state.kl_coef,
        "episodes": (state.step + 1) * B,
    }
    return jnp.where(config.adaptive_kl, adapted, state.kl_coef), metrics


def make(
    task: Task,
    lm: LM,
    ref_params,
    reward_fn: sampling.RewardFn,
    config: Config = Config(),
    init_params=None,
) -> Agent:
    """RLHF-PPO of `lm` (starting from `init_params`, default `ref_params`) against the
    frozen reference `ref_params`, on `reward_fn(tokens [B, S]) -> [B]`."""
    if not isinstance(config, Config):
        raise ValueError(f"rlhf.ppo.make expects an rlhf.ppo.Config, got {type(config)}")
    if lm.max_len is not None and task.seq_len > lm.max_len:
        raise ValueError(f"rlhf.ppo.make: task sequences ({task.seq_len}) exceed lm.max_len")
    B, P, R = config.batch_size, task.prompt_tokens, task.response_len
    mb = B // config.num_minibatches
    tx = optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate)
    )
    fwd = with_features(lm)

    def policy_value(params, tokens):
        logits, h = fwd(params["lm"], tokens)
        v = h[:, P - 1 : -1] @ params["value"]["w"] + params["value"]["b"]
        lp, lp_all = sampling.response_log_probs(logits, tokens, P)
        return lp, lp_all, v

    init = policy_init(lm, tx, ref_params if init_params is None else init_params, config.kl_coef)

    def loss_fn(params, batch):
        lp, lp_all, v = policy_value(params, batch["tokens"])
        m = batch["mask"]
        scale = m.size / jnp.maximum(m.sum(), 1)  # masked entries add 0 to each mean below
        old_lp = batch["log_prob"]
        lp_m = jnp.where(m, lp, old_lp)
        pg, clip_frac = clip_policy_loss(lp_m, old_lp, batch["advantage"], config.clip_eps)
        ret = batch["return"]
        v_loss = value_loss(
            jnp.where(m, v, ret), jnp.where(m, batch["value"], ret), ret, config.value_clip_eps
        )
        pg, v_loss = pg * scale, v_loss * scale
        entropy = -jnp.sum(jnp.exp(lp_all) * jnp.where(lp_all > -1e8, lp_all, 0.0), -1)
        aux = {
            "loss/policy": pg,
            "loss/value": v_loss,
            "clip_fraction": clip_frac * scale,
            "approx_kl": approx_kl(lp_m, old_lp) * scale,
            "policy_entropy": sampling.masked_mean(entropy, m),
        }
        return pg + config.vf_coef * v_loss, aux

    grad_fn = jax.grad(loss_fn, has_aux=True)

    def update(state: State):
        key, k_sample, k_learn = jax.random.split(state.key, 3)
        params = state.params
        resp = sampling.sample(task, lm, params["lm"], k_sample, B)
        lp, lp_all, v = policy_value(params, resp.tokens)
        ref_lp, ref_lp_all = sampling.response_log_probs(
            lm.apply(ref_params, resp.tokens), resp.tokens, P
        )
        score = reward_fn(resp.tokens)
        m = resp.mask
        kl_t = jnp.where(m, lp - ref_lp, 0.0)
        r_t = token_rewards(score, kl_t, resp.last, state.kl_coef)
        adv, ret = token_advantages(r_t, v, m, resp.last, config.gamma, config.gae_lambda)
        if config.whiten_advantages:
            adv = sampling.masked_whiten(adv, m)
        batch = {
            "tokens": resp.tokens,
            "mask": m,
            "log_prob": lp,
            "value": jnp.where(m, v, 0.0),
            "advantage": adv,
            "return": ret,
        }

        def minibatch_step(carry, minibatch):
            params, opt_state = carry
            grads, aux = grad_fn(params, minibatch)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), aux

        def epoch(carry, k):
            perm = jax.random.permutation(k, B)
            mbs = jax.tree.map(
                lambda x: x[perm].reshape((config.num_minibatches, mb) + x.shape[1:]), batch
            )
            return jax.lax.scan(minibatch_step, carry, mbs)

        (new_params, opt_state), aux = jax.lax.scan(
            epoch, (params, state.opt_state), jax.random.split(k_learn, config.num_epochs)
        )
        stats = sampling.sequence_stats(task, resp, lp, lp_all, ref_lp, ref_lp_all)
        kl_coef, feedback = kl_feedback(task, config, state, resp.tokens, score, stats)
        metrics = {k: jnp.mean(v) for k, v in stats.items()}
        metrics.update({k: jnp.mean(v) for k, v in aux.items()})
        metrics["approx_kl"] = jnp.mean(aux["approx_kl"][-1])  # last epoch
        metrics.update(feedback)
        new_state = State(new_params, opt_state, key, state.step + 1, kl_coef)
        return new_state, metrics

    def act(state: State, prompts, key):
        return lm.generate(state.params["lm"], prompts, key, R, 1.0)

    return Agent(init, update, act, config.num_updates, None, None, config)


__all__ = [
    "Config",
    "State",
    "adaptive_kl_coef",
    "init_value_head",
    "kl_feedback",
    "make",
    "policy_init",
    "token_advantages",
    "token_rewards",
]
