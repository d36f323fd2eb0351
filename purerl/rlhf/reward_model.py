"""Reward model: a scalar head on the SFT trunk, trained by Bradley-Terry on preferences.

Preference data (`make_preferences`): for each of N teacher prompts the reference (SFT)
policy samples two responses a and b; the oracle labels them by Bradley-Terry with its
temperature (`tasks.preference_prob`, `tasks.sample_labels`). The reward model
`r(x, y) = w . h_last + b` reads the trunk's features at the response's last token (EOS,
or the last position if the response was cut), and minimises (Christiano et al. 2017;
Stiennon et al. 2020)

    L = -E[ log sigmoid(r(x, y_chosen) - r(x, y_rejected)) ].

Its scores are then normalised on reference-policy samples to mean 0 and standard
deviation 1 (Ziegler et al. 2019), so a KL coefficient means the same for every reward.
Accuracy is reported three ways (`evaluate`): against the sampled labels, against the
noiseless oracle (the sign of the gold difference), and the Bayes ceiling E[max(p, 1 - p)]
that no classifier can beat against sampled labels.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from purerl.core import validation as V
from purerl.rlhf import sampling, tasks
from purerl.rlhf.lm import LM
from purerl.rlhf.tasks import Task
from purerl.types import Agent


class Preferences(NamedTuple):
    """N labelled pairs. `a, b [N, S]` tokens; `label [N]` 1 where a is preferred;
    `p_a [N]` the oracle's Bradley-Terry probability of that; `gold_a, gold_b [N]`."""

    a: jax.Array
    b: jax.Array
    label: jax.Array
    p_a: jax.Array
    gold_a: jax.Array
    gold_b: jax.Array

    @property
    def chosen(self) -> jax.Array:
        return jnp.where(self.label[:, None] == 1, self.a, self.b)

    @property
    def rejected(self) -> jax.Array:
        return jnp.where(self.label[:, None] == 1, self.b, self.a)


def make_preferences(
    task: Task, lm: LM, params, key, num_pairs: int, temperature=1.0
) -> Preferences:
    """`num_pairs` prompts, two responses each from `lm` at `params`, oracle labels."""
    k_prompt, k_a, k_b, k_label = jax.random.split(key, 4)
    prompts = tasks.sample_prompts(task.teacher, k_prompt, num_pairs, task.prompt_len)
    a = lm.generate(params, prompts, k_a, task.response_len, temperature)
    b = lm.generate(params, prompts, k_b, task.response_len, temperature)
    gold_a, gold_b = tasks.gold_score(task, a), tasks.gold_score(task, b)
    p_a = tasks.preference_prob(task, gold_a, gold_b)
    return Preferences(a, b, tasks.sample_labels(k_label, p_a), p_a, gold_a, gold_b)


def split(prefs: Preferences, num_train: int) -> tuple[Preferences, Preferences]:
    """The first `num_train` pairs and the rest."""
    return (
        jax.tree.map(lambda x: x[:num_train], prefs),
        jax.tree.map(lambda x: x[num_train:], prefs),
    )


def shuffle_labels(key, prefs: Preferences) -> Preferences:
    """The control: labels permuted across pairs (same label balance, no information)."""
    return prefs._replace(label=jax.random.permutation(key, prefs.label))


# ----------------------------------------------------------------------------- the model
def init(key, trunk_params, feature_dim: int) -> dict:
    """Reward-model params: the (SFT) trunk and a zero-initialised scalar head."""
    del key  # the head starts at zero: the initial model ranks nothing
    return {"trunk": trunk_params, "head": {"w": jnp.zeros(feature_dim), "b": jnp.zeros(())}}


def score(lm: LM, params, tokens: jax.Array, prompt_tokens: int) -> jax.Array:
    """Unnormalised scores `[B]` of the responses in `tokens [B, S]`."""
    h = lm.features(params["trunk"], tokens)
    resp = sampling.responses(tokens, prompt_tokens)
    f = sampling.last_token_features(h, resp, prompt_tokens)
    return f @ params["head"]["w"] + params["head"]["b"]


def bradley_terry_loss(r_chosen: jax.Array, r_rejected: jax.Array) -> jax.Array:
    """`-mean(log sigmoid(r_chosen - r_rejected))`."""
    return -jnp.mean(jax.nn.log_sigmoid(r_chosen - r_rejected))


def normalization(lm: LM, params, tokens: jax.Array, prompt_tokens: int):
    """`(mean, std)` of the scores of reference-policy samples `tokens`."""
    s = score(lm, params, tokens, prompt_tokens)
    return jnp.mean(s), jnp.std(s) + 1e-6


def reward_fn(lm: LM, params, prompt_tokens: int, mean=0.0, std=1.0) -> sampling.RewardFn:
    """`tokens -> (score - mean) / std`: the reward the policy is trained on."""
    return lambda tokens: (score(lm, params, tokens, prompt_tokens) - mean) / std


def pair_minibatch(key, step, num_pairs: int, batch_size: int) -> jax.Array:
    """Indices `[batch_size]` of update `step`'s minibatch of pairs (reward model, DPO):
    epochs of `num_pairs // batch_size` minibatches, drawn without replacement from a
    permutation keyed by `fold_in(key, epoch)`."""
    per_epoch = num_pairs // batch_size
    epoch, i = step // per_epoch, step % per_epoch
    perm = jax.random.permutation(jax.random.fold_in(key, epoch), num_pairs)
    return jax.lax.dynamic_slice_in_dim(perm, i * batch_size, batch_size)


def optimizer(config, num_updates: int) -> optax.GradientTransformation:
    """AdamW behind global-norm clipping; the step size warms up linearly over 5% of the
    `num_updates` steps, then decays by a cosine to 10% (and stays there after)."""
    warmup = max(num_updates // 20, 1)
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, config.learning_rate, warmup, max(num_updates, warmup + 1), 0.1
    )
    return optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm),
        optax.adamw(schedule, b2=0.95, weight_decay=config.weight_decay),
    )


def gold_reward_fn(task: Task, mean=0.0, std=1.0) -> sampling.RewardFn:
    """The oracle as a reward, normalised like a reward model (for the PPO-on-oracle run)."""
    return lambda tokens: (tasks.gold_score(task, tokens) - mean) / std


# ---------------------------------------------------------------------------- training
@dataclasses.dataclass(frozen=True)
class Config(V.ConfigBase):
    """Reward-model training hyper-parameters."""

    num_epochs: int = 2
    batch_size: int = 64  # pairs per step
    learning_rate: float = 1e-3  # linear warm-up over 5% of the steps, cosine decay to 10%
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        c = "reward_model.Config"
        V.check_int(c, "num_epochs", self.num_epochs)
        V.check_int(c, "batch_size", self.batch_size)
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_positive(c, "weight_decay", self.weight_decay, allow_zero=True)
        V.check_positive(c, "max_grad_norm", self.max_grad_norm)


class State(NamedTuple):
    params: dict
    opt_state: optax.OptState
    key: jax.Array
    step: jax.Array


def make(task: Task, lm: LM, trunk_params, prefs: Preferences, config: Config = Config()) -> Agent:
    """Bradley-Terry training on `prefs` (one update = one minibatch step; minibatches are
    drawn without replacement within each epoch). `num_updates` covers `num_epochs`."""
    if not isinstance(config, Config):
        raise ValueError(f"reward_model.make expects a Config, got {type(config).__name__}")
    n = prefs.label.shape[0]
    if n < config.batch_size:
        raise ValueError(f"reward_model.make: {n} pairs < batch_size {config.batch_size}")
    per_epoch = n // config.batch_size
    num_updates = per_epoch * config.num_epochs
    tx = optimizer(config, num_updates)
    P = task.prompt_tokens
    all_chosen, all_rejected = prefs.chosen, prefs.rejected

    def loss_fn(params, chosen, rejected):
        r = score(lm, params, jnp.concatenate([chosen, rejected]), P)
        r_c, r_r = jnp.split(r, 2)
        return bradley_terry_loss(r_c, r_r), jnp.mean((r_c > r_r).astype(jnp.float32))

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def init_state(key) -> State:
        k_head, k_state = jax.random.split(key)
        params = init(k_head, trunk_params, lm.feature_dim)
        return State(params, tx.init(params), k_state, jnp.zeros((), jnp.int32))

    def update(state: State):
        idx = pair_minibatch(state.key, state.step, n, config.batch_size)
        chosen, rejected = all_chosen[idx], all_rejected[idx]
        (loss, acc), grads = grad_fn(state.params, chosen, rejected)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return State(params, opt_state, state.key, state.step + 1), {
            "loss/bt": loss,
            "accuracy": acc,
        }

    def act(state: State, tokens, key):
        del key
        return score(lm, state.params, tokens, P)

    return Agent(init_state, update, act, num_updates, None, None, config)


def evaluate(task: Task, lm: LM, params, prefs: Preferences) -> dict:
    """Held-out metrics: BT loss, accuracy vs the sampled labels, vs the noiseless oracle
    (ties in gold excluded), and the Bayes ceiling of the sampled labels."""
    P = task.prompt_tokens
    r_a, r_b = score(lm, params, prefs.a, P), score(lm, params, prefs.b, P)
    pred_a = r_a > r_b
    clear = prefs.gold_a != prefs.gold_b
    noiseless = jnp.sum(jnp.where(clear, pred_a == (prefs.gold_a > prefs.gold_b), False))
    chosen_a = prefs.label == 1
    return {
        "loss/bt": bradley_terry_loss(jnp.where(chosen_a, r_a, r_b), jnp.where(chosen_a, r_b, r_a)),
        "accuracy": jnp.mean(pred_a == chosen_a),
        "accuracy_noiseless": noiseless / jnp.maximum(clear.sum(), 1),
        "bayes_ceiling": tasks.bayes_accuracy(prefs.p_a),
        "label_noise": jnp.mean(jnp.minimum(prefs.p_a, 1 - prefs.p_a)),
    }


__all__ = [
    "Config",
    "Preferences",
    "State",
    "bradley_terry_loss",
    "evaluate",
    "gold_reward_fn",
    "init",
    "make",
    "make_preferences",
    "normalization",
    "pair_minibatch",
    "reward_fn",
    "score",
    "shuffle_labels",
    "split",
]
