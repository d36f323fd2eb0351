"""The simplest policy gradient, in one file: Spinning Up's worked example, pure-functional.

    python scripts/reinforce.py [--env CartPole-v1] [--hidden-sizes 32] [--lr 1e-2]
                                [--epochs 50] [--batch-size 5000] [--seed 0] [--out runs/...]

Each epoch collects episodes with the current policy until at least `batch_size` steps have
been taken (the last episode is played to its end), weights every log-probability by the
return R(tau) of its whole episode, and takes one Adam step on

    compute_loss(params, obs, act, weights) = -(logp * weights).mean()

whose gradient is the policy-gradient estimate. The env loop is a `lax.scan` inside `jit`;
the parameters, optimiser state and keys are explicit values passed in and returned. The
library version with reward-to-go weights, a learned baseline and vmapped seeds is
`purerl.algos.reinforce` (`python scripts/pg.py reinforce`).
"""

from __future__ import annotations

import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import purerl


def mlp(sizes, activation=jnp.tanh, output_activation=lambda x: x):
    """A multi-layer perceptron as a pair of pure functions `(init(key), apply(params, x))`.

    `sizes = [in, hidden..., out]`; `activation` after every hidden layer,
    `output_activation` after the last.
    """

    def init(key):
        keys = jax.random.split(key, len(sizes) - 1)
        return [
            {
                "w": jax.random.normal(k, (m, n)) * jnp.sqrt(1.0 / m),  # LeCun normal
                "b": jnp.zeros(n),
            }
            for k, m, n in zip(keys, sizes[:-1], sizes[1:], strict=True)
        ]

    def apply(params, x):
        for i, layer in enumerate(params):
            x = x @ layer["w"] + layer["b"]
            x = activation(x) if i < len(params) - 1 else output_activation(x)
        return x

    return init, apply


def train(
    env: str = "CartPole-v1",
    hidden_sizes: tuple[int, ...] = (32,),
    lr: float = 1e-2,
    epochs: int = 50,
    batch_size: int = 5000,
    seed: int = 0,
    out: str | None = None,
):
    """Train a categorical policy with the simplest policy gradient; returns its params.

    Args:
      env: a discrete-action environment id (gymnax's or purerl's).
      hidden_sizes: widths of the policy's hidden layers.
      lr: Adam step size.
      epochs: policy-gradient steps, each on a fresh batch of whole episodes.
      batch_size: env steps collected per epoch (the last episode is played to its end).
      seed: PRNG seed.
      out: folder for the trained policy (default runs/reinforce-example-<env>); a folder
        that already holds a policy is refused, never overwritten.
    """
    env_name = env
    for name, v in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    out = out or os.path.join("runs", f"reinforce-example-{env_name}")
    if os.path.exists(os.path.join(out, "trained_policy.ckpt")):
        raise ValueError(f"--out {out} already holds a trained policy; pass another --out")
    env, env_params = purerl.make_env(env_name)
    if not purerl.envs.is_discrete(env, env_params):
        raise ValueError(f"{env_name} has continuous actions; this example needs discrete ones")
    obs_dim = int(np.prod(purerl.envs.obs_shape(env, env_params)))
    n_acts = purerl.envs.num_actions(env, env_params)
    max_len = int(getattr(env_params, "max_steps_in_episode", 1000))

    # make core of policy network
    init_logits, logits_net = mlp([obs_dim, *hidden_sizes, n_acts])

    # make function to compute action distribution
    def get_policy(params, obs):
        return jax.nn.log_softmax(logits_net(params, obs.reshape(obs.shape[:-1] + (-1,))))

    # make action selection function (outputs int actions, sampled from policy)
    def get_action(params, obs, key):
        return jax.random.categorical(key, get_policy(params, obs))

    # make loss function whose gradient, for the right data, is policy gradient
    def compute_loss(params, obs, act, weights):
        logp = jnp.take_along_axis(get_policy(params, obs), act[:, None], axis=1)[:, 0]
        return -(logp * weights).mean()

    optimizer = optax.adam(lr)

    # for training policy
    @jax.jit
    def train_one_epoch(params, opt_state, key):
        k_reset, k_run = jax.random.split(key)
        obs, env_state = env.reset(k_reset, env_params)

        # One env, batch_size + max_len steps: every episode that starts before step
        # batch_size is finished by then, exactly the episodes Spinning Up would collect.
        def step(carry, k):
            env_state, obs = carry
            k_act, k_env = jax.random.split(k)
            act = get_action(params, obs, k_act)
            next_obs, env_state, rew, term, trunc, _ = env.step(k_env, env_state, act, env_params)
            return (env_state, next_obs), (obs, act, rew, term | trunc)

        keys = jax.random.split(k_run, batch_size + max_len)
        _, (b_obs, b_act, b_rew, b_done) = jax.lax.scan(step, (env_state, obs), keys)
        ep_id = jnp.cumsum(b_done) - b_done  # episode index of every step
        n_eps = ep_id[batch_size - 1] + 1  # episodes that started within the batch
        keep = ep_id < n_eps
        ep_ret = jax.ops.segment_sum(b_rew, ep_id, num_segments=batch_size + max_len)
        ep_len = jax.ops.segment_sum(jnp.ones_like(b_rew), ep_id, batch_size + max_len)
        # the weight for each logprob(a|s) is R(tau); steps after the batch weigh nothing
        weights = jnp.where(keep, ep_ret[ep_id], 0.0)
        n_steps = keep.sum()

        def batch_loss_fn(p):  # mean over the batch's steps only
            return compute_loss(p, b_obs, b_act, weights) * weights.shape[0] / n_steps

        batch_loss, grads = jax.value_and_grad(batch_loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        valid = jnp.arange(batch_size + max_len) < n_eps
        mean_ret = jnp.sum(jnp.where(valid, ep_ret, 0.0)) / n_eps
        mean_len = jnp.sum(jnp.where(valid, ep_len, 0.0)) / n_eps
        return params, opt_state, batch_loss, mean_ret, mean_len

    key = jax.random.key(seed)
    key, k_init = jax.random.split(key)
    params = init_logits(k_init)
    opt_state = optimizer.init(params)
    t0 = time.time()
    for i in range(epochs):
        key, k_epoch = jax.random.split(key)
        params, opt_state, batch_loss, ret, length = train_one_epoch(params, opt_state, k_epoch)
        print(
            f"epoch: {i:3d} \t loss: {float(batch_loss):.3f} \t return: {float(ret):.3f} \t "
            f"ep_len: {float(length):.3f}"
        )
    print(f"trained in {time.time() - t0:.1f}s (the first epoch includes the compile)")
    os.makedirs(out, exist_ok=True)
    path = purerl.save(
        os.path.join(out, "trained_policy.ckpt"),
        params,
        metadata={"env": env_name, "hidden_sizes": list(hidden_sizes), "epochs": epochs},
    )
    print(f"policy -> {path}")
    return params


if __name__ == "__main__":
    import tyro

    try:
        tyro.cli(train, description=__doc__.splitlines()[0])
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
