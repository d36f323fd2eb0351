"""The shared off-policy replay step (`purerl.core.offpolicy`) and the Agent contract of
every algorithm built on it: learning_starts gating, uniform actions before it, true final
observations in the buffer, gradient-step counts, no retracing (vmap over seeds: in
tests/test_contract.py)."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.algos import c51, ddpg, dqn, qrdqn, sac, td3
from purerl.core import offpolicy

SMALL = dict(num_envs=2, learning_starts=8, batch_size=8, buffer_size=64, total_timesteps=24)
CASES = {
    "dqn": (dqn, "CartPole-v1", {}),
    "c51": (c51, "CartPole-v1", {"num_atoms": 11}),
    "qrdqn": (qrdqn, "CartPole-v1", {"num_quantiles": 8}),
    "ddpg": (ddpg, "Pendulum-v1", {"hidden_sizes": (16,)}),
    "td3": (td3, "Pendulum-v1", {"hidden_sizes": (16,)}),
    "sac": (sac, "Pendulum-v1", {"hidden_sizes": (16,)}),
    "sac-discrete": (sac, "CartPole-v1", {"hidden_sizes": (16,)}),
}


def _agent(name):
    mod, env_id, extra = CASES[name]
    env, params = purerl.make_env(env_id)
    return mod.make(env, params, mod.Config(**SMALL, **extra))


@pytest.mark.parametrize("name", list(CASES))
def test_contract_no_retrace_metrics_and_gating(name, count_traces):
    agent = _agent(name)
    update, traces = count_traces(agent.update)
    state = agent.init(jax.random.key(0))
    losses = []
    for _ in range(4):
        state, m = update(state)
        losses.append({k: float(v) for k, v in m.items() if k.startswith("loss/")})
    assert len(traces) == 1 and update._cache_size() == 1
    assert {"env_steps", "episode_return", "episode_length"} <= set(m)
    assert float(m["env_steps"]) == 8 and int(state.step) == 4
    # updates 1-4 start at env steps 0, 2, 4, 6 < learning_starts = 8: no learning yet
    assert losses[0] and all(v == 0.0 for d in losses for v in d.values())
    state, m = update(state)
    assert any(float(m[k]) != 0.0 for k in losses[0])
    action = agent.act(state, state.obs[0], jax.random.key(1))
    assert action.shape == agent.env.action_space(agent.env_params).shape


# one env under a 5-step time limit, 12 env steps in one update; greedy DQN on CartPole
# does not drop the pole that soon, and Pendulum only ever truncates
TRUNCATION = {
    "dqn": (dqn, "CartPole-v1", dict(learning_starts=0, epsilon_start=0.0, epsilon_end=0.0)),
    "ddpg": (ddpg, "Pendulum-v1", dict(learning_starts=100, hidden_sizes=(8,))),
}


@pytest.mark.parametrize("name", list(TRUNCATION))
def test_buffer_stores_true_final_observation_on_truncation(name):
    mod, env_id, extra = TRUNCATION[name]
    base, default = gymnax.make(env_id)
    env, params = purerl.make_env(base, default.replace(max_steps_in_episode=5))
    # (ddpg's budget leaves room for learning after its random warm-up; one update runs)
    config = mod.Config(
        num_envs=1, train_frequency=12, total_timesteps=120, buffer_size=16, batch_size=4, **extra
    )
    agent = mod.make(env, params, config)
    state, _ = agent.update(agent.init(jax.random.key(0)))
    items = jax.tree.map(lambda x: np.asarray(x[0, :12]), state.buffer_state.experience)
    assert not items["terminated"].any()  # cut by the time limit, never terminated
    for t in range(11):
        if t in (4, 9):  # the 5-step limit: next_obs is the final obs, not the reset one
            assert not np.allclose(items["next_obs"][t], items["obs"][t + 1])
        else:
            np.testing.assert_allclose(items["next_obs"][t], items["obs"][t + 1])


def test_uniform_actions_before_learning():
    big = ddpg.make(
        *purerl.make_env("Pendulum-v1"),
        ddpg.Config(
            num_envs=50, train_frequency=40, total_timesteps=2 * 10**6, learning_starts=10**6
        ),
    )
    state, _ = big.update(big.init(jax.random.key(1)))
    a = np.asarray(state.buffer_state.experience["action"][0, :2000])
    assert a.min() >= -1 and a.max() <= 1
    assert a.std() == pytest.approx(np.sqrt(1 / 3), rel=0.05)  # uniform on [-1, 1]


def test_gradient_steps_per_update():
    env, params = purerl.make_env("Pendulum-v1")
    config = td3.Config(
        num_envs=2,
        train_frequency=3,
        gradient_steps=4,
        learning_starts=6,
        batch_size=4,
        buffer_size=64,
        total_timesteps=30,
        hidden_sizes=(8,),
    )
    agent = td3.make(env, params, config)
    state, metrics = purerl.train(agent, jax.random.key(0))
    # 5 updates of 6 env steps; learning in the 4 that start at >= 6 env steps
    assert int(state.grad_steps) == 4 * 4
    np.testing.assert_array_equal(metrics["env_steps"], [6, 12, 18, 24, 30])


def test_helpers():
    assert bool(offpolicy.crossed(9, 12, 10)) and not bool(offpolicy.crossed(10, 12, 10))
    out = offpolicy.polyak({"w": jnp.zeros(2)}, {"w": jnp.ones(2)}, 0.25)
    np.testing.assert_allclose(out["w"], [0.25, 0.25])
    with pytest.raises(ValueError, match="total_timesteps 5 is less than one update"):
        ddpg.Config(total_timesteps=5, num_envs=2, train_frequency=3)
    with pytest.raises(ValueError, match="tau"):
        sac.Config(tau=0.0)
    with pytest.raises(ValueError, match="gamma"):
        c51.Config(gamma=1.5)
    with pytest.raises(ValueError, match="must be a Python int"):
        qrdqn.Config(buffer_size=1e4)


def test_script_cli_runs_sac(tmp_path):
    from purerl.cli import experiment

    argv = ["--env", "Pendulum-v1", "--num-seeds", "2", "--out", str(tmp_path / "run")]
    argv += ["--total-timesteps", "40", "--learning-starts", "20", "--batch-size", "8"]
    argv += ["--hidden-sizes", "8", "--target-entropy", "-0.5", "--no-autotune"]
    result = experiment.cli(sac, argv=argv)
    assert result.eval_returns.shape == (2, 32)
    assert np.all(result.metrics["alpha"][:, -1] == pytest.approx(0.2))
