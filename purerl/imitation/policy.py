"""The policy network and the cloning loss that BC and DAgger share.

The policy is the actor half of `purerl.nets.ActorCritic` (initialised and applied with
`method="policy"`, so no value parameters exist): a categorical head for discrete actions,
a diagonal Gaussian (state-dependent mean, learned state-independent log-std) for
continuous ones, in the [-1, 1] action space of `purerl.make_env`.

The behaviour-cloning loss on a batch of expert pairs `(s_i, a_i)`, i = 1..N, is

  nll:  L = -(1/N) sum_i log pi(a_i | s_i) - ent_coef * H[pi(.|s_i)] + l2_coef * ||theta||^2
  mse:  L =  (1/N) sum_i ||mu(s_i) - a_i||^2                         + l2_coef * ||theta||^2

the negative log-likelihood (maximum likelihood, Pomerleau 1991; Bain and Sammut 1995) of
a stochastic policy, or, for a deterministic policy `mu` (continuous actions only), the
squared error; `||theta||^2` sums the squares of the dense kernels (not the biases or the
log-std).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import optax

from purerl import envs
from purerl.core import onpolicy
from purerl.core import validation as V
from purerl.core.networks import TorsoConfig
from purerl.nets import ACTIVATIONS


@dataclasses.dataclass(frozen=True)
class PolicyConfig(TorsoConfig):
    """Hyper-parameters of the cloned policy and its optimiser (shared by BC and DAgger)."""

    loss: str = "nll"  # "nll" (stochastic policy) | "mse" (deterministic, continuous only)
    ent_coef: float = 1e-3  # entropy bonus weight (nll)
    l2_coef: float = 0.0  # weight of the squared norm of the dense kernels
    learning_rate: float = 1e-3
    max_grad_norm: float = 1.0
    batch_size: int = 64  # minibatch size (capped at the dataset size)
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    log_std_init: float = -0.5  # continuous nll: initial log std of the Gaussian

    def _validate(self, c: str) -> None:
        V.check_choice(c, "loss", self.loss, {"nll", "mse"})
        V.check_positive(c, "ent_coef", self.ent_coef, allow_zero=True)
        V.check_positive(c, "l2_coef", self.l2_coef, allow_zero=True)
        V.check_positive(c, "learning_rate", self.learning_rate)
        V.check_positive(c, "max_grad_norm", self.max_grad_norm)
        V.check_int(c, "batch_size", self.batch_size)
        V.check_sizes(c, "hidden_sizes", self.hidden_sizes)
        V.check_choice(c, "activation", self.activation, set(ACTIVATIONS))
        self.check_torso(c)


class Policy:
    """The cloned policy for one env: `init(key, obs)`, `dist(params, obs)`,
    `act(params, obs)` (greedy / mean action), `loss(params, batch)`."""

    def __init__(self, env, env_params, config: PolicyConfig, who: str):
        self.discrete = envs.is_discrete(env, env_params)
        if self.discrete and config.loss == "mse":
            raise ValueError(
                f"{who}: loss='mse' is for continuous actions; {envs.env_name(env)} has "
                "discrete actions (use loss='nll')"
            )
        self.config = config
        self.net = onpolicy.make_actor_critic(
            env,
            env_params,
            config.hidden_sizes,
            config.activation,
            log_std_init=config.log_std_init,
            config=config,
        )
        self.tx = optax.chain(
            optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate)
        )

    def init(self, key, obs):
        """Parameters from one example observation batch `[n, *obs_shape]`."""
        return self.net.init(key, obs, method="policy")

    def dist(self, params, obs):
        return self.net.apply(params, obs, method="policy")

    def act(self, params, obs):
        """Greedy action (discrete) or the Gaussian mean clipped to [-1, 1]."""
        d = self.dist(params, obs)
        if self.discrete:
            return d.mode().astype(jnp.int32)
        return jnp.clip(d.mode(), -1.0, 1.0)

    def loss(self, params, batch):
        """`(loss, aux)` of `batch = {"obs": [N, ...], "action": [N, ...]}` (module doc)."""
        d = self.dist(params, batch["obs"])
        return bc_loss(d, batch["action"], params, self.config, self.discrete)


def l2_penalty(params) -> jax.Array:
    """Sum of squares of every dense kernel (leaves named `kernel`)."""
    leaves = jax.tree_util.tree_leaves_with_path(params)
    sq = [jnp.sum(jnp.square(x)) for path, x in leaves if "kernel" in jax.tree_util.keystr(path)]
    return sum(sq) if sq else jnp.zeros(())


def bc_loss(dist, action, params, config: PolicyConfig, discrete: bool):
    """The cloning loss of `dist` (a distrax distribution over `[N]` states) on expert
    actions `action [N, ...]`; returns `(loss, aux)` with `nll`, `entropy`, `l2` and
    `accuracy` (discrete: argmax agrees with the expert) or `mse` (continuous)."""
    l2 = l2_penalty(params)
    entropy = jnp.mean(dist.entropy())
    aux = {"entropy": entropy, "l2": l2}
    if discrete:
        aux["accuracy"] = jnp.mean((dist.mode() == action).astype(jnp.float32))
    else:
        aux["mse"] = jnp.mean(jnp.sum(jnp.square(dist.mode() - action), axis=-1))
    nll = -jnp.mean(dist.log_prob(action))
    aux["nll"] = nll
    main = aux["mse"] if config.loss == "mse" else nll - config.ent_coef * entropy
    return main + config.l2_coef * l2, aux


def sgd_step(policy: Policy, params, opt_state, batch):
    """One optimiser step of `policy.loss` on `batch`; returns `(params, opt_state, aux)`
    with `aux["loss"]` the loss before the step."""
    (loss, aux), grads = jax.value_and_grad(policy.loss, has_aux=True)(params, batch)
    updates, opt_state = policy.tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, {"loss": loss, **aux}
