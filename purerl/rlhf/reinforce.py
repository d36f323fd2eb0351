"""REINFORCE for RLHF: the whole response is one action (a one-step trajectory).

Each update samples one response y per prompt x for `batch_size` prompts and takes one
gradient step (Williams 1992; as in Ahmadian et al. 2024, "Back to Basics") on

    L = -E[(R(x, y) - b(x)) * log pi(y|x)] + vf_coef * E[(b(x) - R(x, y))^2],
    R(x, y) = score(x, y) - beta * (log pi(y|x) - log ref(y|x)),

where log pi(y|x) sums the response's token log-probabilities (EOS included), the KL term is
the sequence k1 estimate, and the baseline b(x) is a learned scalar head on the policy
trunk's features at the prompt's last token (a state-dependent baseline: it lowers the
variance and leaves the gradient unbiased). R and b are held fixed in the policy term.
`normalize_advantages` standardises R - b over the batch (`purerl.core.losses.normalize`).
Its state is `rlhf.ppo.State` (policy, baseline head, KL coefficient).
Optionally beta follows the same adaptive controller as `rlhf.ppo`.

Metrics: those of `rlhf.ppo` (`gold`, `proxy`, `kl/k1`, `kl/exact`, `kl_teacher`,
`entropy`, ...) plus `loss/policy`, `loss/baseline`, `advantage_std`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from purerl.core import validation as V
from purerl.core.losses import normalize
from purerl.rlhf import sampling
from purerl.rlhf.lm import LM, with_features
from purerl.rlhf.ppo import State, kl_feedback, policy_init
from purerl.rlhf.tasks import Task
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(V.ConfigBase):
    """REINFORCE hyper-parameters (float ones may be traced for a vmapped sweep)."""

    num_updates: int = 300
    batch_size: int = 64  # prompts (responses) per update = per gradient step
    learning_rate: float = 3e-4
    kl_coef: float = 0.1
    adaptive_kl: bool = False  # may be traced (see rlhf.ppo.Config)
    target_kl: float = 2.0
    horizon: float = 10_000
    vf_coef: float = 0.1  # weight of the baseline's regression loss
    normalize_advantages: bool = True
    max_grad_norm: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        c = "rlhf.reinforce.Config"
        for name in ("num_updates", "batch_size"):
            V.check_int(c, name, getattr(self, name))
        V.check_positive(c, "horizon", self.horizon)
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_positive(c, "kl_coef", self.kl_coef, allow_zero=True)
        V.check_positive(c, "target_kl", self.target_kl)
        V.check_positive(c, "vf_coef", self.vf_coef, allow_zero=True)
        V.check_positive(c, "max_grad_norm", self.max_grad_norm)


def reinforce_loss(seq_log_prob, returns, baseline, normalize_advantages=True):
    """`-mean(A * log pi(y|x))` with `A = R - b` held fixed (standardised if asked).
    All `[B]`. Returns `(loss, A)`."""
    adv = jax.lax.stop_gradient(returns - baseline)
    if normalize_advantages:
        adv = normalize(adv)
    return -jnp.mean(adv * seq_log_prob), adv


def make(
    task: Task,
    lm: LM,
    ref_params,
    reward_fn: sampling.RewardFn,
    config: Config = Config(),
    init_params=None,
) -> Agent:
    """REINFORCE with a learned baseline b(x), from `init_params` (default `ref_params`)."""
    if not isinstance(config, Config):
        raise ValueError(f"rlhf.reinforce.make expects a reinforce.Config, got {type(config)}")
    if lm.max_len is not None and task.seq_len > lm.max_len:
        raise ValueError(f"rlhf.reinforce.make: sequences ({task.seq_len}) exceed lm.max_len")
    B, P, R = config.batch_size, task.prompt_tokens, task.response_len
    tx = optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate)
    )
    fwd = with_features(lm)

    init = policy_init(lm, tx, ref_params if init_params is None else init_params, config.kl_coef)

    def loss_fn(params, resp, ref_lp, score, kl_coef):
        logits, h = fwd(params["lm"], resp.tokens)
        lp, lp_all = sampling.response_log_probs(logits, resp.tokens, P)
        seq_lp = jnp.sum(jnp.where(resp.mask, lp, 0.0), axis=1)
        kl = jax.lax.stop_gradient(jnp.sum(jnp.where(resp.mask, lp - ref_lp, 0.0), axis=1))
        returns = score - kl_coef * kl
        b = h[:, P - 1] @ params["value"]["w"] + params["value"]["b"]
        pg, adv = reinforce_loss(seq_lp, returns, b, config.normalize_advantages)
        b_loss = 0.5 * jnp.mean(jnp.square(b - returns))
        aux = {
            "loss/policy": pg,
            "loss/baseline": b_loss,
            "advantage_std": jnp.std(returns - b),
            "lp": jax.lax.stop_gradient(lp),
            "lp_all": jax.lax.stop_gradient(lp_all),
        }
        return pg + config.vf_coef * b_loss, aux

    grad_fn = jax.grad(loss_fn, has_aux=True)

    def update(state: State):
        key, k_sample = jax.random.split(state.key)
        resp = sampling.sample(task, lm, state.params["lm"], k_sample, B)
        ref_lp, ref_lp_all = sampling.response_log_probs(
            lm.apply(ref_params, resp.tokens), resp.tokens, P
        )
        score = reward_fn(resp.tokens)
        grads, aux = grad_fn(state.params, resp, ref_lp, score, state.kl_coef)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        lp, lp_all = aux.pop("lp"), aux.pop("lp_all")
        stats = sampling.sequence_stats(task, resp, lp, lp_all, ref_lp, ref_lp_all)
        kl_coef, feedback = kl_feedback(task, config, state, resp.tokens, score, stats)
        metrics = {k: jnp.mean(v) for k, v in stats.items()}
        metrics.update(aux)
        metrics.update(feedback)
        return State(params, opt_state, key, state.step + 1, kl_coef), metrics

    def act(state: State, prompts, key):
        return lm.generate(state.params["lm"], prompts, key, R, 1.0)

    return Agent(init, update, act, config.num_updates, None, None, config)


__all__ = ["Config", "State", "make", "reinforce_loss"]
