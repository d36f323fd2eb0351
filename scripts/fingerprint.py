"""Fingerprints of every trainer: a few updates from a fixed key, hashed bit for bit.

A refactor that moves code must not change what it computes. Run this before and after
(same machine, same JAX) and compare:

    python scripts/fingerprint.py --out /tmp/before.json
    ... change the code ...
    python scripts/fingerprint.py --out /tmp/after.json --compare /tmp/before.json

Each entry hashes the final params (every float leaf of the train state's params) and the
stacked metrics of `purerl.train(agent, key(0), num_updates=6)` on a small config.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import tyro

import purerl
from purerl.algos import a2c, a3c, c51, ddpg, dqn, her, ppo, qrdqn, reinforce, sac, td3, trpo, vpg
from purerl.imitation import airl, bc, dac, dagger, gail
from purerl.imitation.demos import collect_demos
from purerl.planning import alphazero, pets
from purerl.rlhf import dpo, lm, sft, tasks
from purerl.rlhf import ppo as rlhf_ppo
from purerl.rlhf import reinforce as rlhf_reinforce
from purerl.rlhf import reward_model as rm


def _digest(tree) -> str:
    h = hashlib.sha256()
    for leaf in jax.tree.leaves(tree):
        a = np.asarray(jax.random.key_data(leaf) if _is_key(leaf) else leaf)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _is_key(x) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _random_demos(env, params, n=4, seed=7):
    act = purerl.imitation.experts.random_act_fn(env, params)
    return collect_demos(act, env, params, jax.random.key(seed), n, max_steps=64)


def _agents():
    cp = purerl.make_env("CartPole-v1")
    pd = purerl.make_env("Pendulum-v1")
    off = dict(num_envs=2, learning_starts=4, buffer_size=256, batch_size=4, total_timesteps=200)
    small_ppo = dict(num_envs=4, num_steps=16, num_minibatches=2, total_timesteps=640)
    yield "ppo", ppo.make(*cp, ppo.Config(**small_ppo))
    yield "ppo-penalty", ppo.make(*cp, ppo.Config(objective="penalty", **small_ppo))
    yield "ppo-pendulum", ppo.make(*pd, ppo.Config(**small_ppo))
    yield "reinforce", reinforce.make(*cp, reinforce.Config(num_envs=2, num_steps=500))
    yield "vpg", vpg.make(*cp, vpg.Config(num_envs=2, num_steps=16, value_iters=2))
    yield "a2c", a2c.make(*cp, a2c.Config(num_envs=2, num_steps=5))
    yield "a3c", a3c.make(*cp, a3c.Config(num_workers=2, num_envs=2, num_steps=5))
    yield "trpo", trpo.make(*cp, trpo.Config(num_envs=2, num_steps=16, value_iters=2))
    yield "trpo-pendulum", trpo.make(*pd, trpo.Config(num_envs=2, num_steps=16, value_iters=2))
    yield "dqn", dqn.make(*cp, dqn.Config(**off))
    yield "c51", c51.make(*cp, c51.Config(**off))
    yield "qrdqn", qrdqn.make(*cp, qrdqn.Config(**off))
    yield "ddpg", ddpg.make(*pd, ddpg.Config(**off))
    yield "td3", td3.make(*pd, td3.Config(**off))
    yield "sac", sac.make(*pd, sac.Config(**off))
    yield "sac-discrete", sac.make(*cp, sac.Config(**off))
    bf = purerl.make_env("BitFlip-v0", n_bits=4)
    yield "her-dqn", her.make(*bf, dqn, dqn.Config(**off))
    pr = purerl.make_env("PointReach-v0")
    yield "her-td3", her.make(*pr, td3, td3.Config(**off))
    yield "her-sac", her.make(*pr, sac, sac.Config(**off))
    cp_demos = _random_demos(*cp)
    pd_demos = _random_demos(*pd)
    yield "bc", bc.make(*cp, cp_demos, bc.Config(num_epochs=2))
    yield "bc-pendulum", bc.make(*pd, pd_demos, bc.Config(num_epochs=2))
    expert = purerl.imitation.experts.random_act_fn(*cp)
    yield (
        "dagger",
        dagger.make(
            *cp,
            expert,
            dagger.Config(total_timesteps=400, num_envs=2, num_steps=50, buffer_size=400),
        ),
    )
    small_gail = dict(ppo=ppo.Config(total_timesteps=512, num_envs=4, num_steps=64), disc_steps=4)
    yield "gail", gail.make(*cp, cp_demos, gail.Config(**small_gail))
    yield "airl", airl.make(*cp, cp_demos, airl.Config(**small_gail))
    yield (
        "dac",
        dac.make(
            *pd,
            pd_demos,
            dac.Config(sac=sac.Config(total_timesteps=300, learning_starts=100, batch_size=32)),
        ),
    )
    yield (
        "pets",
        pets.make(
            *pd,
            pets.Config(
                total_timesteps=40,
                num_envs=2,
                num_steps=5,
                random_steps=10,
                horizon=4,
                num_samples=8,
                num_elites=2,
                num_iterations=2,
                hidden_sizes=(8,),
                batch_size=8,
                train_steps=2,
                buffer_size=64,
            ),
        ),
    )
    yield (
        "alphazero",
        alphazero.make(
            *cp,
            alphazero.Config(
                total_timesteps=64,
                num_envs=2,
                num_steps=8,
                num_simulations=4,
                buffer_size=64,
                batch_size=8,
                gradient_steps=2,
                hidden_sizes=(16,),
            ),
        ),
    )
    task = tasks.make_task(jax.random.key(0), vocab_size=10, response_len=5)
    model = lm.make(
        lm.Config(vocab_size=10, max_len=task.seq_len, d_model=16, num_layers=1, num_heads=2)
    )
    params = model.init(jax.random.key(1))
    toks = jnp.full((64, task.seq_len), tasks.EOS, jnp.int32).at[:, 0].set(tasks.BOS)
    toks2 = toks.at[:, 1].set(3)
    z = jnp.zeros(64)
    prefs = rm.Preferences(toks, toks2, jnp.ones(64, jnp.int32), z + 0.5, z, z)
    reward = lambda t: jnp.mean((t == 3).astype(jnp.float32), axis=-1)
    yield "rlhf-sft", sft.make(task, model, sft.Config(num_updates=3))
    yield "rlhf-rm", rm.make(task, model, params, prefs, rm.Config(batch_size=32))
    yield (
        "rlhf-ppo",
        rlhf_ppo.make(
            task, model, params, reward, rlhf_ppo.Config(batch_size=8, num_minibatches=2)
        ),
    )
    yield (
        "rlhf-reinforce",
        rlhf_reinforce.make(task, model, params, reward, rlhf_reinforce.Config(batch_size=8)),
    )
    yield "rlhf-dpo", dpo.make(task, model, params, prefs, dpo.Config(batch_size=32))
    yield "ppo-data-parallel", _data_parallel(cp, ppo.Config(**small_ppo))


def _data_parallel(env_and_params, config):
    from purerl.algos.ppo_parallel import make as make_data_parallel

    return make_data_parallel(*env_and_params, config)


def _train_many():
    """`train_many` over 2 seeds x 2 learning rates (a sharded vmap)."""
    cp = purerl.make_env("CartPole-v1")
    cfg = ppo.Config(num_envs=4, num_steps=16, num_minibatches=2, total_timesteps=640)
    keys = jax.random.split(jax.random.key(0), 2)
    return purerl.train_many(
        lambda lr: ppo.make(*cp, dataclasses.replace(cfg, learning_rate=lr)),
        keys,
        jnp.array([1e-3, 3e-3]),
        num_updates=4,
    )


@dataclasses.dataclass
class Args:
    out: str = "fingerprints.json"
    compare: str | None = None
    num_updates: int = 6
    only: tuple[str, ...] = ()  # fingerprint just these entries (e.g. --only ppo sac)


def main(args: Args) -> int:
    result = {}
    for name, agent in _agents():
        if args.only and name not in args.only:
            continue
        state, metrics = purerl.train(agent, jax.random.key(0), num_updates=args.num_updates)
        params = state.params if hasattr(state, "params") else state
        result[name] = {
            "params": _digest(params),
            "state": _digest(state),
            "metrics": _digest({k: metrics[k] for k in sorted(metrics)}),
            "metric_keys": sorted(metrics),
        }
        print(f"{name:16s} params {result[name]['params']} metrics {result[name]['metrics']}")
    if not args.only or "train_many" in args.only:
        states, metrics = _train_many()
        result["train_many"] = {
            "params": _digest(states.params),
            "state": _digest(states),
            "metrics": _digest({k: metrics[k] for k in sorted(metrics)}),
            "metric_keys": sorted(metrics),
        }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    if args.compare:
        with open(args.compare) as f:
            before = json.load(f)
        bad = 0
        names = set(result) if args.only else set(before) | set(result)
        for name in sorted(names):
            a, b = before.get(name), result.get(name)
            if a is None or b is None:
                print(f"MISSING {name}: before={a is not None} after={b is not None}")
                bad += 1
                continue
            diff = [k for k in ("params", "metrics", "metric_keys") if a[k] != b[k]]
            print(f"{'EQUAL  ' if not diff else 'DIFFERS'} {name} {' '.join(diff)}")
            bad += bool(diff)
        print(f"{len(result) - bad} of {len(result)} equal")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(Args)))
