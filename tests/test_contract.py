"""The Agent contract (docs/ARCHITECTURE.md), checked on every algorithm purerl has.

For each entry of `CASES` (the 13 of `purerl.algos`, HER over DQN and over TD3, SAC discrete
and continuous, the imitation learners, the planning agents and the RLHF trainers):

- a second `update` under `jax.jit` does not retrace;
- `jax.vmap` of `purerl.train` over 2 keys equals 2 separate runs (state, metrics,
  `env_steps`);
- a bad config value is a `ValueError` naming the field, and another algorithm's Config
  passed to `make` is a `ValueError`, both at `make` / Config time.

Each case is a small factory returning a `Case`: a `make(config) -> Agent` closure (the env,
demos, base algorithm... bound), a tiny config, and one bad field value. A new algorithm adds
one factory here. Every config is tiny: this file checks the contract, not learning.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import (
    a2c,
    a3c,
    c51,
    ddpg,
    dqn,
    her,
    ppo,
    ppo_parallel,
    qrdqn,
    reinforce,
    sac,
    td3,
    trpo,
    vpg,
)
from purerl.imitation import airl, bc, collect_demos, dac, dagger, gail
from purerl.planning import alphazero, pets


class Case(NamedTuple):
    make: Callable[[Any], purerl.Agent]  # config -> Agent
    config: Any  # a tiny config
    bad: dict  # {field: value} that the config must reject with a ValueError naming the field


@functools.cache
def _env(env_id: str, **kwargs):
    return purerl.make_env(env_id, **kwargs)


def _on(mod, env_id: str, config, bad=None) -> Case:
    env, params = _env(env_id)
    return Case(lambda c: mod.make(env, params, c), config, bad or {"learning_rate": -1e-3})


# ---------------------------------------------------------------- the registry
# Planning agents.
def _pets():
    cfg = pets.Config(
        total_timesteps=40,
        num_envs=2,
        num_steps=5,
        random_steps=10,
        horizon=3,
        num_samples=8,
        num_elites=2,
        num_iterations=2,
        hidden_sizes=(8,),
        batch_size=8,
        train_steps=2,
        buffer_size=64,
    )
    return _on(pets, "Pendulum-v1", cfg)


def _alphazero():
    cfg = alphazero.Config(
        total_timesteps=64,
        num_envs=2,
        num_steps=4,
        num_simulations=4,
        buffer_size=32,
        batch_size=8,
        gradient_steps=1,
        hidden_sizes=(8,),
    )
    return _on(alphazero, "CartPole-v1", cfg)


# learning_starts=2 with 2 envs: the second update learns
OFF = dict(num_envs=2, learning_starts=2, batch_size=8, buffer_size=64, total_timesteps=64)


def _her(base, env_id, base_config, **env_kwargs):
    env, params = _env(env_id, **env_kwargs)
    return Case(
        lambda c: her.make(env, params, base, c, her.Config()),
        base_config,
        {"learning_rate": -1.0} if base is dqn else {"critic_learning_rate": -1.0},
    )


def _demos(env_id, act_fn, n=2, max_steps=16):
    env, params = _env(env_id)
    return collect_demos(act_fn, env, params, jax.random.key(0), n, max_steps=max_steps)


def _balance(obs, key):
    """An analytic CartPole expert."""
    return (obs[2] + 0.5 * obs[3] > 0).astype(jnp.int32)


def _swing(obs, key):
    return -jnp.clip(obs[2:3], -1, 1)


def _imitation(mod, env_id, expert, config, bad):
    env, params = _env(env_id)
    demos = _demos(env_id, expert)
    return Case(lambda c: mod.make(env, params, demos, c), config, bad)


TINY_PPO = ppo.Config(
    total_timesteps=64, num_envs=2, num_steps=8, num_minibatches=2, hidden_sizes=(8,)
)
TINY_SAC = sac.Config(**OFF, hidden_sizes=(8,))


def _dagger():
    env, params = _env("CartPole-v1")
    cfg = dagger.Config(
        total_timesteps=32,
        num_envs=2,
        num_steps=8,
        gradient_steps=2,
        batch_size=8,
        hidden_sizes=(8,),
    )
    return Case(lambda c: dagger.make(env, params, _balance, c), cfg, {"learning_rate": -1.0})


# RLHF: a tiny teacher task and transformer (tests/rlhf/test_trainers.py's set-up).
@functools.cache
def _rlhf():
    from purerl.rlhf import lm, tasks
    from purerl.rlhf import reward_model as rm

    task = tasks.make_task(jax.random.key(0), vocab_size=10, response_len=5)
    model = lm.make(
        lm.Config(vocab_size=10, max_len=task.seq_len, d_model=8, num_layers=1, num_heads=2)
    )
    params = model.init(jax.random.key(1))
    # random pairs: symmetric ones would make some gradients cancel to rounding noise,
    # which Adam scales up to full steps (then vmap and separate runs differ by design)
    k1, k2 = jax.random.split(jax.random.key(2))
    draw = lambda k: jax.random.randint(k, (16, task.seq_len), 3, 10).at[:, 0].set(tasks.BOS)
    z = jnp.zeros(16)
    prefs = rm.Preferences(draw(k1), draw(k2), jnp.ones(16, jnp.int32), z + 0.5, z, z)
    reward = lambda t: jnp.mean((t == 3).astype(jnp.float32), axis=-1)
    return task, model, params, prefs, reward


def _rlhf_case(name):
    from purerl.rlhf import dpo, sft
    from purerl.rlhf import ppo as rppo
    from purerl.rlhf import reinforce as rreinforce
    from purerl.rlhf import reward_model as rm

    task, model, params, prefs, reward = _rlhf()
    lr = {"learning_rate": -1.0}
    if name == "sft":
        return Case(lambda c: sft.make(task, model, c), sft.Config(num_updates=2, batch_size=4), lr)
    if name == "reward_model":
        return Case(lambda c: rm.make(task, model, params, prefs, c), rm.Config(batch_size=8), lr)
    if name == "ppo":
        cfg = rppo.Config(batch_size=4, num_minibatches=2)
        return Case(lambda c: rppo.make(task, model, params, reward, c), cfg, lr)
    if name == "reinforce":
        cfg = rreinforce.Config(batch_size=4)
        return Case(lambda c: rreinforce.make(task, model, params, reward, c), cfg, lr)
    assert name == "dpo"
    return Case(lambda c: dpo.make(task, model, params, prefs, c), dpo.Config(batch_size=8), lr)


CASES: dict[str, Callable[[], Case]] = {
    # purerl.algos
    "a2c": lambda: _on(a2c, "CartPole-v1", a2c.Config(num_envs=2, num_steps=4, total_timesteps=64)),
    "a3c": lambda: _on(
        a3c, "CartPole-v1", a3c.Config(num_workers=2, num_envs=2, num_steps=4, total_timesteps=64)
    ),
    "c51": lambda: _on(c51, "CartPole-v1", c51.Config(**OFF, num_atoms=11)),
    "ddpg": lambda: _on(
        ddpg, "Pendulum-v1", ddpg.Config(**OFF, hidden_sizes=(8,)), {"actor_learning_rate": -1.0}
    ),
    "dqn": lambda: _on(dqn, "CartPole-v1", dqn.Config(**OFF)),
    "her-dqn": lambda: _her(dqn, "BitFlip-v0", dqn.Config(**OFF), n_bits=4),
    "her-td3": lambda: _her(td3, "PointReach-v0", td3.Config(**OFF, hidden_sizes=(8,))),
    "ppo": lambda: _on(ppo, "CartPole-v1", TINY_PPO),
    "ppo-cnn": lambda: _on(
        ppo,
        "Breakout-MinAtar",
        dataclasses.replace(TINY_PPO, torso="cnn", cnn_channels=(4,)),
        {"torso": "resnet"},
    ),
    "ppo-masked": lambda: _on(ppo, "LegalMoves-v0", TINY_PPO),
    "dqn-masked": lambda: _on(dqn, "LegalMoves-v0", dqn.Config(**OFF), {"cnn_kernels": (0,)}),
    "qrdqn": lambda: _on(qrdqn, "CartPole-v1", qrdqn.Config(**OFF, num_quantiles=8)),
    "reinforce": lambda: _on(
        reinforce,
        "CartPole-v1",
        reinforce.Config(num_envs=2, num_steps=500, value_iters=1, total_timesteps=2000),
    ),
    "sac": lambda: _on(sac, "Pendulum-v1", TINY_SAC, {"alpha_learning_rate": -1.0}),
    "sac-discrete": lambda: _on(sac, "CartPole-v1", TINY_SAC, {"critic_learning_rate": -1.0}),
    "td3": lambda: _on(
        td3, "Pendulum-v1", td3.Config(**OFF, hidden_sizes=(8,)), {"critic_learning_rate": -1.0}
    ),
    "trpo": lambda: _on(
        trpo,
        "CartPole-v1",
        trpo.Config(num_envs=2, num_steps=8, value_iters=1, total_timesteps=64),
        {"value_learning_rate": -1.0},
    ),
    "vpg": lambda: _on(
        vpg, "CartPole-v1", vpg.Config(num_envs=2, num_steps=8, value_iters=1, total_timesteps=64)
    ),
    # purerl.imitation
    "bc": lambda: _imitation(
        bc,
        "CartPole-v1",
        _balance,
        bc.Config(num_epochs=2, batch_size=8, hidden_sizes=(8,)),
        {"learning_rate": -1.0},
    ),
    "dagger": _dagger,
    "gail": lambda: _imitation(
        gail,
        "CartPole-v1",
        _balance,
        gail.Config(ppo=TINY_PPO, disc_steps=1, disc_batch_size=8),
        {"disc_learning_rate": -1.0},
    ),
    "airl": lambda: _imitation(
        airl,
        "CartPole-v1",
        _balance,
        airl.Config(ppo=TINY_PPO, disc_steps=1, disc_batch_size=8),
        {"disc_learning_rate": -1.0},
    ),
    "dac": lambda: _imitation(
        dac,
        "Pendulum-v1",
        _swing,
        dac.Config(sac=TINY_SAC, disc_batch_size=8),
        {"disc_learning_rate": -1.0},
    ),
    # purerl.planning
    "pets": _pets,
    "alphazero": _alphazero,
    # purerl.rlhf
    "rlhf-sft": lambda: _rlhf_case("sft"),
    "rlhf-reward_model": lambda: _rlhf_case("reward_model"),
    "rlhf-ppo": lambda: _rlhf_case("ppo"),
    "rlhf-reinforce": lambda: _rlhf_case("reinforce"),
    "rlhf-dpo": lambda: _rlhf_case("dpo"),
}
CASES["ppo-parallel"] = lambda: _on(ppo_parallel, "CartPole-v1", TINY_PPO)
# Recurrent policies (Config.recurrent): the memory in the train state, on the POMDP.
_REC = dict(hidden_sizes=(8,), recurrent_size=4)
CASES["ppo-gru"] = lambda: _on(
    ppo, "CartPole-v1", dataclasses.replace(TINY_PPO, recurrent="gru", recurrent_size=4)
)
CASES["ppo-lstm"] = lambda: _on(
    ppo, "CartPole-v1", dataclasses.replace(TINY_PPO, recurrent="lstm", recurrent_size=4)
)
CASES["a2c-lstm"] = lambda: _on(
    a2c,
    "CartPole-v1",
    a2c.Config(num_envs=2, num_steps=4, total_timesteps=64, recurrent="lstm", **_REC),
)
CASES["vpg-gru"] = lambda: _on(
    vpg,
    "CartPole-v1",
    vpg.Config(num_envs=2, num_steps=8, value_iters=1, total_timesteps=64, recurrent="gru", **_REC),
)
CASES["reinforce-gru"] = lambda: _on(
    reinforce,
    "CartPole-v1",
    reinforce.Config(
        num_envs=2, num_steps=500, value_iters=1, total_timesteps=2000, recurrent="gru", **_REC
    ),
)


class Built(NamedTuple):
    case: Case
    agent: purerl.Agent
    init: Callable  # jit(agent.init)
    update: Callable  # jit(agent.update), counting its traces in `traces`
    traces: list


@functools.cache
def _built(name) -> Built:
    """The case's agent and its jitted init and update, built once per process."""
    case = CASES[name]()
    agent = case.make(case.config)
    traces = []

    def counted(state):
        traces.append(1)
        return agent.update(state)

    return Built(case, agent, jax.jit(agent.init), jax.jit(counted), traces)


def _leaves(tree):
    """Array leaves of a state; typed PRNG keys as their raw key data."""
    out = []
    for x in jax.tree.leaves(tree):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        out.append(np.asarray(x))
    return out


# ---------------------------------------------------------------- the checks
def test_every_algorithm_is_registered():
    # (planning's agents are registered by concept: pets, alphazero)
    keys = {k.removeprefix("rlhf-").replace("_", "-") for k in CASES}
    for family in (purerl.algos, purerl.imitation, purerl.rlhf):
        for name in getattr(family, "__all__", []):
            mod = getattr(family, name)
            if not (inspect.ismodule(mod) and hasattr(mod, "make") and hasattr(mod, "Config")):
                continue
            if family is purerl.rlhf and name == "lm":  # the language model, not a trainer
                continue
            short = name.replace("_", "-")
            assert any(k == short or k.startswith(short + "-") for k in keys), name
    assert {"her-dqn", "her-td3", "sac", "sac-discrete", "pets", "alphazero"} <= set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_no_retrace_and_vmap_over_keys_equals_separate_runs(name):
    """(1) A second `update` under jit does not retrace. (2) `vmap(train)` over 2 keys
    (2 updates each) equals 2 separate runs of init + update: the whole final state, every
    metric, and `env_steps` exactly. One test, so that both share one compiled update
    (compiling dominates this file's time, and pytest-xdist may split tests over workers)."""
    b = _built(name)
    state = b.init(jax.random.key(0))
    for _ in range(2):
        state, metrics = b.update(state)
    assert len(b.traces) == 1 and b.update._cache_size() == 1
    assert all(jnp.shape(v) == () for v in metrics.values()), metrics

    keys = jax.random.split(jax.random.key(42), 2)
    v_state, v_metrics = jax.jit(jax.vmap(lambda k: purerl.train(b.agent, k, num_updates=2)))(keys)
    for i in range(2):
        state = b.init(keys[i])
        steps = []
        for _ in range(2):
            state, metrics = b.update(state)
            steps.append(metrics)
        assert len(b.traces) == 1  # still one trace
        for x, y in zip(_leaves(state), _leaves(v_state), strict=True):
            np.testing.assert_allclose(x, y[i], rtol=1e-4, atol=1e-5)
        for k in steps[0]:
            got = np.stack([m[k] for m in steps])
            np.testing.assert_allclose(got, v_metrics[k][i], rtol=1e-4, atol=1e-5, err_msg=k)
        if "env_steps" in v_metrics:
            np.testing.assert_array_equal(
                np.stack([m["env_steps"] for m in steps]), v_metrics["env_steps"][i]
            )


@pytest.mark.parametrize("name", list(CASES))
def test_bad_config_is_rejected_naming_the_field(name):
    case = _built(name).case
    ((field, value),) = case.bad.items()
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(case.config, **{field: value})


@pytest.mark.parametrize("name", list(CASES))
def test_make_rejects_another_algorithm_s_config(name):
    case = _built(name).case
    other = dqn.Config() if isinstance(case.config, ppo.Config) else ppo.Config()
    with pytest.raises(ValueError, match="Config"):
        case.make(other)
