"""Direct Preference Optimization (Rafailov et al. 2023) on the reward model's data.

DPO fits the policy straight to the preference pairs, with the reference (SFT) policy as
the anchor that a KL coefficient beta would hold it to under RLHF:

    L = -E[ log sigmoid(beta * ((log pi(y_w|x) - log ref(y_w|x))
                                - (log pi(y_l|x) - log ref(y_l|x)))) ],

with sequence log-probabilities (sums over response tokens, EOS included). With
`label_smoothing` eps the targets are softened to (1 - eps, eps), the conservative DPO of
Mitchell (2023) for noisy labels. The implicit reward is `beta * (log pi - log ref)`.

One update is one minibatch step; minibatches are drawn without replacement within each of
`num_epochs` epochs. The reference log-probabilities of every pair are computed once, in
`init`. Evaluate the result with `sampling.evaluate` (gold, proxy, KL) like any policy.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from purerl.core import validation as V
from purerl.rlhf import sampling
from purerl.rlhf.lm import LM
from purerl.rlhf.reward_model import Preferences, pair_minibatch
from purerl.rlhf.tasks import Task
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(V.ConfigBase):
    """DPO hyper-parameters (`beta`, `learning_rate`, `label_smoothing` may be traced)."""

    num_epochs: int = 2
    batch_size: int = 64  # pairs per step
    learning_rate: float = 3e-4  # constant, Adam
    beta: float = 0.1
    label_smoothing: float = 0.0
    max_grad_norm: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        c = "rlhf.dpo.Config"
        V.check_int(c, "num_epochs", self.num_epochs)
        V.check_int(c, "batch_size", self.batch_size)
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_positive(c, "beta", self.beta)
        V.check_unit(c, "label_smoothing", self.label_smoothing, closed_high=False)
        V.check_positive(c, "max_grad_norm", self.max_grad_norm)


class State(NamedTuple):
    params: dict
    opt_state: optax.OptState
    key: jax.Array
    step: jax.Array
    ref_chosen: jax.Array  # [N] log ref(y_w|x)
    ref_rejected: jax.Array  # [N] log ref(y_l|x)


def dpo_loss(logp_w, logp_l, ref_w, ref_l, beta, label_smoothing=0.0):
    """DPO loss from sequence log-probs `[N]`. Returns `(loss, margin [N])` with
    `margin = beta * ((logp_w - ref_w) - (logp_l - ref_l))` and
    `loss = -mean((1 - eps) log sigmoid(margin) + eps log sigmoid(-margin))`."""
    margin = beta * ((logp_w - ref_w) - (logp_l - ref_l))
    loss = -(1.0 - label_smoothing) * jax.nn.log_sigmoid(margin)
    loss = loss - label_smoothing * jax.nn.log_sigmoid(-margin)
    return jnp.mean(loss), margin


def sequence_log_prob(lm: LM, params, tokens: jax.Array, prompt_tokens: int) -> jax.Array:
    """`log pi(y|x)` `[B]`: the sum of the response's token log-probabilities."""
    resp = sampling.responses(tokens, prompt_tokens)
    lp, _ = sampling.response_log_probs(lm.apply(params, tokens), tokens, prompt_tokens)
    return jnp.sum(jnp.where(resp.mask, lp, 0.0), axis=1)


def make(task: Task, lm: LM, ref_params, prefs: Preferences, config: Config = Config()) -> Agent:
    """DPO of `lm` from `ref_params` on the labelled pairs `prefs`."""
    if not isinstance(config, Config):
        raise ValueError(f"rlhf.dpo.make expects an rlhf.dpo.Config, got {type(config)}")
    n = prefs.label.shape[0]
    if n < config.batch_size:
        raise ValueError(f"rlhf.dpo.make: {n} pairs < batch_size {config.batch_size}")
    per_epoch = n // config.batch_size
    P = task.prompt_tokens
    chosen, rejected = prefs.chosen, prefs.rejected
    tx = optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate)
    )

    def init(key) -> State:
        one = lambda t: sequence_log_prob(lm, ref_params, t[None], P)[0]
        ref_w = jax.lax.map(one, chosen, batch_size=config.batch_size)
        ref_l = jax.lax.map(one, rejected, batch_size=config.batch_size)
        return State(ref_params, tx.init(ref_params), key, jnp.zeros((), jnp.int32), ref_w, ref_l)

    def loss_fn(params, won, lost, ref_w, ref_l):
        lp = sequence_log_prob(lm, params, jnp.concatenate([won, lost]), P)
        lp_w, lp_l = jnp.split(lp, 2)
        loss, margin = dpo_loss(lp_w, lp_l, ref_w, ref_l, config.beta, config.label_smoothing)
        return loss, {
            "loss/dpo": loss,
            "accuracy": jnp.mean((margin > 0).astype(jnp.float32)),
            "margin": jnp.mean(margin),
            "reward/chosen": config.beta * jnp.mean(lp_w - ref_w),
            "reward/rejected": config.beta * jnp.mean(lp_l - ref_l),
        }

    grad_fn = jax.grad(loss_fn, has_aux=True)

    def update(state: State):
        idx = pair_minibatch(state.key, state.step, n, config.batch_size)
        grads, metrics = grad_fn(
            state.params, chosen[idx], rejected[idx], state.ref_chosen[idx], state.ref_rejected[idx]
        )
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return state._replace(params=params, opt_state=opt_state, step=state.step + 1), metrics

    def act(state: State, prompts, key):
        return lm.generate(state.params, prompts, key, task.response_len, 1.0)

    return Agent(init, update, act, per_epoch * config.num_epochs, None, None, config)


__all__ = ["Config", "State", "dpo_loss", "make", "sequence_log_prob"]
