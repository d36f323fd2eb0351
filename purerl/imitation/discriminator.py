"""Pieces shared by the adversarial imitation learners (GAIL, AIRL).

* `logistic_loss`: the discriminator's binary cross-entropy, expert = 1, policy = 0, on
  logits `l` with `D = sigmoid(l)`:
    L = -E_expert[log D] - E_policy[log(1 - D)]
      = E_expert[softplus(-l)] + E_policy[softplus(l)],
  with `disc_acc_expert = P_expert(l > 0)` and `disc_acc_policy = P_policy(l < 0)`.
* `gail_reward`: `-log(1 - D) = softplus(l)` (Ho and Ermon 2016, as in Fu et al. 2018's
  comparison and most implementations; positive, hence the fixed-horizon setting).
* `airl_logit`: `f(s, a, s') - log pi(a|s)`; AIRL's reward is this logit,
  `log D - log(1 - D)` (Fu et al. 2018, sec. 5).
* `fit`: `num_steps` Adam steps on minibatches of the current policy batch against
  minibatches of the demonstrations.
* `expert_data` / `check_demos` / `check_config`: the demonstrations' valid steps, checked
  against the env at `make` time; the shared discriminator hyper-parameters.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from purerl import envs
from purerl.core import validation as V
from purerl.imitation.demos import Demos, flatten_episodes
from purerl.nets import ACTIVATIONS


def logistic_loss(logit_expert, logit_policy):
    """`(loss, metrics)`: binary cross-entropy of expert (label 1) against policy (label 0)
    logits (any shapes), with `disc_acc_expert` and `disc_acc_policy`."""
    loss = jnp.mean(jax.nn.softplus(-logit_expert)) + jnp.mean(jax.nn.softplus(logit_policy))
    metrics = {
        "disc_loss": loss,
        "disc_acc_expert": jnp.mean((logit_expert > 0).astype(jnp.float32)),
        "disc_acc_policy": jnp.mean((logit_policy < 0).astype(jnp.float32)),
    }
    return loss, metrics


def gail_reward(logit):
    """`-log(1 - D(s, a)) = softplus(logit)`, with `D = sigmoid(logit)`."""
    return jax.nn.softplus(logit)


def airl_logit(f, log_pi):
    """AIRL's discriminator logit: `D = exp f / (exp f + pi)`, so `logit D = f - log pi`."""
    return f - log_pi


def gradient_penalty(key, logit_fn, exp: dict, pol: dict, continuous_action: bool):
    """WGAN-GP's penalty (Gulrajani et al. 2017), as DAC uses it (Kostrikov et al. 2019):
    `E[(|grad_x l(x_hat)|_2 - 1)^2]` at `x_hat = u x_expert + (1 - u) x_policy`,
    `u ~ U(0, 1)` per pair, `x = (s, a)`. Discrete actions cannot be interpolated: there
    `x = s`, paired with the policy's action. `logit_fn(obs, action) -> [N]`; the key is
    consumed."""
    n = exp["obs"].shape[0]
    u = jax.random.uniform(key, (n,))
    mix = lambda a, b: (
        u.reshape((n,) + (1,) * (a.ndim - 1)) * a + (1 - u.reshape((n,) + (1,) * (a.ndim - 1))) * b
    )
    obs = mix(exp["obs"], pol["obs"])
    if continuous_action:
        action = mix(jnp.asarray(exp["action"], jnp.float32), pol["action"])
        grads = jax.grad(lambda o, a: jnp.sum(logit_fn(o, a)), argnums=(0, 1))(obs, action)
    else:
        grads = (jax.grad(lambda o: jnp.sum(logit_fn(o, pol["action"])))(obs),)
    sq = sum(jnp.sum(g.reshape(n, -1) ** 2, axis=1) for g in grads)
    return jnp.mean(jnp.square(jnp.sqrt(sq + 1e-12) - 1.0))


def check_config(c: str, config) -> None:
    """Validate the discriminator fields a GAIL / AIRL / DAC `Config` shares."""
    V.check_sizes(c, "disc_hidden_sizes", config.disc_hidden_sizes)
    V.check_choice(c, "disc_activation", config.disc_activation, set(ACTIVATIONS))
    V.check_positive(c, "disc_learning_rate", config.disc_learning_rate)
    V.check_int(c, "disc_steps", config.disc_steps)
    V.check_int(c, "disc_batch_size", config.disc_batch_size)
    V.check_positive(c, "disc_max_grad_norm", config.disc_max_grad_norm)
    V.check_positive(c, "grad_penalty", config.grad_penalty, allow_zero=True)


def check_demos(name: str, demos: Demos, env, env_params) -> None:
    """Clear `ValueError`s for demos that do not fit `env` (at `make` time)."""
    if not isinstance(demos, Demos):
        raise ValueError(f"{name}: demos must be a purerl.imitation.Demos, got {type(demos)}")
    obs_shape = envs.obs_shape(env, env_params)
    mask = np.asarray(demos.mask)
    if mask.ndim != 2 or not mask.any():
        raise ValueError(f"{name}: demos must be time-major [T, N] with at least one valid step")
    T, N = mask.shape
    if tuple(np.shape(demos.obs)) != (T, N, *obs_shape):
        raise ValueError(
            f"{name}: demos.obs has shape {np.shape(demos.obs)}, expected {(T, N, *obs_shape)} "
            f"for this env's observations {obs_shape}"
        )
    if np.shape(demos.next_obs) != np.shape(demos.obs):
        raise ValueError(f"{name}: demos.next_obs and demos.obs shapes differ")
    if envs.is_discrete(env, env_params):
        want = (T, N)
    else:
        want = (T, N, *envs.action_shape(env, env_params))
    if tuple(np.shape(demos.action)) != want:
        raise ValueError(
            f"{name}: demos.action has shape {np.shape(demos.action)}, expected {want} "
            "for this env's actions"
        )


def expert_data(demos: Demos) -> dict:
    """The demos' valid steps as device arrays `[M, ...]`: obs, action, next_obs,
    terminated."""
    flat = flatten_episodes(demos)
    return {
        "obs": jnp.asarray(flat.obs, jnp.float32),
        "action": jnp.asarray(flat.action),
        "next_obs": jnp.asarray(flat.next_obs, jnp.float32),
        "terminated": jnp.asarray(flat.terminated, bool),
    }


def fit(
    key,
    loss_fn: Callable,
    params,
    opt_state,
    tx: optax.GradientTransformation,
    policy_batch: dict,
    expert: dict,
    num_steps: int,
    batch_size: int,
):
    """`num_steps` steps of `tx` on `loss_fn(params, expert_mb, policy_mb, key) -> (loss, aux)`,
    each on `batch_size` policy samples (without replacement within a pass) and as many
    demo samples (with replacement); the key is consumed.

    `policy_batch`, `expert`: dicts of `[N, ...]` and `[M, ...]` leaves. Returns
    `(params, opt_state, aux)`, aux averaged over the steps.
    """
    n = jax.tree.leaves(policy_batch)[0].shape[0]
    m = jax.tree.leaves(expert)[0].shape[0]
    grad_fn = jax.grad(loss_fn, has_aux=True)
    k_perm, k_exp, k_loss = jax.random.split(key, 3)
    num_passes = -(-num_steps * batch_size // n)
    perm = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(k_perm, num_passes))
    policy_idx = perm.reshape(-1)[: num_steps * batch_size].reshape(num_steps, batch_size)
    expert_idx = jax.random.randint(k_exp, (num_steps, batch_size), 0, m)

    def step(carry, xs):
        params, opt_state = carry
        i_pol, i_exp, k = xs
        pol = jax.tree.map(lambda x: x[i_pol], policy_batch)
        exp = jax.tree.map(lambda x: x[i_exp], expert)
        grads, aux = grad_fn(params, exp, pol, k)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), aux

    keys = jax.random.split(k_loss, num_steps)
    (params, opt_state), aux = jax.lax.scan(
        step, (params, opt_state), (policy_idx, expert_idx, keys)
    )
    return params, opt_state, jax.tree.map(jnp.mean, aux)
