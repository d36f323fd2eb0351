"""Silent wrong results (issue 15, items 1, 4 and 6): schedules past their budget,
`evaluate` with no episodes, `rlhf.lm.generate` at temperature 0, negative, or on token ids
outside the vocabulary. (Counters past 2^31: `test_counters.py`; budgets that never learn:
`test_budgets.py`.)"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import purerl
from purerl.algos import a2c, c51, dqn, ppo, qrdqn
from purerl.core import schedules
from purerl.imitation import dagger
from purerl.rlhf import lm, sft
from purerl.rlhf import reward_model as rm
from purerl.rlhf.tasks import EOS, PAD, emit_mask

# ------------------------------------------------------------------ schedules (item 1)


def _step_after(tx, count: int):
    """The update `tx` makes on gradient 1 from a state whose step counters read `count`."""
    params = {"w": jnp.ones(3)}
    count = min(count, 2**31 - 1)  # optax's counters saturate at the int32 maximum
    state = optax.tree_utils.tree_set(tx.init(params), count=jnp.asarray(count, jnp.int32))
    updates, _ = tx.update({"w": jnp.ones(3)}, state, params)
    return np.asarray(updates["w"])


def _ppo():
    config = ppo.Config(num_envs=4, num_steps=8, num_minibatches=2, total_timesteps=320)
    tx = ppo.build(*purerl.make_env("CartPole-v1"), config)[1]
    return tx, config.num_updates * config.num_epochs * config.num_minibatches, "zero"


def _a2c():
    config = a2c.Config(anneal_lr=True, total_timesteps=400)
    return a2c.make_optimizer(config, config.num_updates), config.num_updates, "zero"


def _a3c():  # a3c: one optimiser step per worker tick, a2c's optimiser over W ticks
    config = a2c.Config(anneal_lr=True, total_timesteps=400)
    return a2c.make_optimizer(config, config.num_updates * 4), config.num_updates * 4, "zero"


def _value(mod, **kw):
    def build():
        config = mod.Config(total_timesteps=2_000, batch_size=32, learning_starts=100, **kw)
        budget = config.num_updates * config.gradient_steps
        return dqn.make_optimizer(config), budget, "zero"

    return build


def _sft():
    config = sft.Config(num_updates=50)
    return sft.optimizer(config), config.num_updates, "floor"


def _reward_model():
    config = rm.Config()
    return rm.optimizer(config, 40), 40, "floor"


OPTIMIZERS = {
    "ppo": _ppo,
    "a2c": _a2c,
    "a3c": _a3c,
    "dqn": _value(dqn, anneal_lr=True),
    "c51": _value(c51, anneal_lr=True),
    "qrdqn": _value(qrdqn),
    "rlhf-sft": _sft,
    "rlhf-reward_model": _reward_model,
}


@pytest.mark.parametrize("times", [2, 10, 10**9])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_learning_rates_stay_in_range_past_the_budget(name, times):
    """A run continued past its budget keeps descending: an annealed step size is exactly
    0 from the budget on (never negative: no gradient ascent); a cosine one stays at its
    floor (10% of the peak), a descent step."""
    tx, budget, kind = OPTIMIZERS[name]()
    first = _step_after(tx, budget // 2)
    assert np.all(first < 0)  # mid-budget: a descent step on gradient 1
    past = _step_after(tx, times * budget)
    if kind == "zero":
        np.testing.assert_array_equal(past, 0.0)
    else:
        assert np.all(past < 0) and np.all(np.isfinite(past))  # still a descent step


@pytest.mark.parametrize("kind", ["linear", "exponential"])
def test_dagger_beta_stays_in_unit_interval(kind):
    rounds = 4
    beta = [float(dagger.beta_schedule(i, kind, 0.5, rounds)) for i in (0, 2 * rounds, 10 * rounds)]
    assert beta[0] == 1.0 and all(0.0 <= b <= 1.0 for b in beta)
    if kind == "linear":
        assert beta[1:] == [0.0, 0.0]


@pytest.mark.parametrize("start_end", [(1.0, 0.05), (1.0, 0.01), (0.1, 0.9), (0.3, 0.3)])
def test_linear_schedule_is_exactly_its_end_past_the_budget(start_end):
    """Epsilon and every linear schedule: `end` itself (not one float32 ulp off) at 1x, 2x,
    10x the budget and at 2^31 env steps (a float32 count)."""
    start, end = start_end
    f = jax.jit(schedules.linear(start, end, 1000))
    for t in (1000, 2000, 10_000, float(2**31), 1e12):
        assert float(f(jnp.float32(t))) == float(np.float32(end))


# -------------------------------------------------------- a finished run, continued


@pytest.mark.learning
def test_ppo_continued_for_a_second_budget_keeps_its_return(train_eval):
    """The README's resume example, `train(agent, state=state, num_updates=...)`, run for a
    whole second budget: the learning rate stays at 0 (annealed, clamped) so the policy and
    its return are unchanged; before the clamp the rate turned negative and PPO fell from
    ~500 to ~9. Measured: 2 seeds at 60k env steps, greedy returns 500 / 362, and exactly
    the same after the second budget (about a minute on 2 CPU cores)."""
    env, params = purerl.make_env("CartPole-v1")
    agent = ppo.make(env, params, ppo.Config(total_timesteps=60_000))
    first = train_eval(agent, num_seeds=2)
    assert first.returns.min() >= 300, first.returns
    states, _ = jax.jit(
        jax.vmap(lambda s: purerl.train(agent, state=s, num_updates=agent.num_updates))
    )(first.states)
    keys = jax.random.split(jax.random.key(1000), 2)
    again = jax.jit(jax.vmap(lambda s, k: purerl.evaluate(agent, s, k, 16)))(states, keys)
    again = np.asarray(again).mean(axis=1)
    assert again.min() >= 300, again
    np.testing.assert_array_equal(again, first.returns)  # learning rate 0: same policy
    for a, b in zip(
        jax.tree.leaves(states.params), jax.tree.leaves(first.states.params), strict=True
    ):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ evaluate (item 4)


@pytest.fixture(scope="module")
def tiny_agent():
    env, params = purerl.make_env("CartPole-v1")
    config = ppo.Config(num_envs=2, num_steps=8, num_minibatches=1, total_timesteps=16)
    agent = ppo.make(env, params, config)
    return agent, agent.init(jax.random.key(0))


@pytest.mark.parametrize("bad", [0, -1, -10, 2.5, "3", True, None])
def test_evaluate_num_episodes(raises_clearly, tiny_agent, bad):
    agent, state = tiny_agent
    with raises_clearly(ValueError, "num_episodes"):
        purerl.evaluate(agent, state, jax.random.key(0), bad)


@pytest.mark.parametrize("bad", [0, -5, 1.5, "10"])
def test_evaluate_max_steps(raises_clearly, tiny_agent, bad):
    agent, state = tiny_agent
    with raises_clearly(ValueError, "max_steps"):
        purerl.evaluate(agent, state, jax.random.key(0), 2, max_steps=bad)


def test_evaluate_accepts_numpy_ints(tiny_agent):
    agent, state = tiny_agent
    returns = purerl.evaluate(agent, state, jax.random.key(0), np.int64(3), max_steps=np.int32(5))
    assert returns.shape == (3,) and np.all((returns >= 1) & (returns <= 5))


# --------------------------------------------------------------- rlhf generate (item 6)

VOCAB = 10


@pytest.fixture(scope="module")
def model():
    m = lm.make(lm.Config(vocab_size=VOCAB, max_len=12, d_model=16, num_layers=1, num_heads=2))
    return m, m.init(jax.random.key(1))


def _greedy_reference(m, params, prompts, n):
    """Greedy decoding by a plain Python loop over the uncached model."""
    buf = np.asarray(prompts)
    done = np.zeros(len(buf), bool)
    mask = np.asarray(emit_mask(VOCAB))
    for _ in range(n):
        logits = np.asarray(m.apply(params, jnp.asarray(buf)))[:, -1] + mask
        tok = np.where(done, PAD, logits.argmax(-1))
        done |= tok == EOS
        buf = np.concatenate([buf, tok[:, None]], axis=1)
    return buf


def test_generate_temperature_zero_is_greedy(model):
    m, params = model
    prompts = jnp.asarray([[1, 3, 4], [1, 5, 5], [1, 7, 2]], jnp.int32)
    ref = _greedy_reference(m, params, prompts, 5)
    for key in (0, 1):
        out = m.generate(params, prompts, jax.random.key(key), 5, temperature=0)
        np.testing.assert_array_equal(out, ref)
    traced = jax.jit(lambda t: m.generate(params, prompts, jax.random.key(2), 5, t))
    np.testing.assert_array_equal(traced(0.0), ref)
    uncached = lm.generate_uncached(m.apply, params, prompts, jax.random.key(3), 5, 0.0)
    np.testing.assert_array_equal(uncached, ref)


@pytest.mark.parametrize("bad", [-1.0, -1e-3, float("nan"), float("inf"), "hot", [1.0, 2.0]])
def test_generate_bad_temperature(raises_clearly, model, bad):
    m, params = model
    prompts = jnp.ones((2, 3), jnp.int32)
    with raises_clearly(ValueError, "temperature"):
        m.generate(params, prompts, jax.random.key(0), 4, temperature=bad)


def test_generate_uncached_bad_temperature(raises_clearly, model):
    m, params = model
    with raises_clearly(ValueError, "temperature"):
        lm.generate_uncached(m.apply, params, jnp.ones((2, 3), jnp.int32), jax.random.key(0), 2, -2)


@pytest.mark.parametrize("bad_id", [VOCAB, VOCAB + 5, -1])
def test_generate_token_ids_outside_the_vocabulary(raises_clearly, model, bad_id):
    m, params = model
    prompts = jnp.asarray([[1, 2, 3], [1, bad_id, 3]], jnp.int32)
    with raises_clearly(ValueError, "prompts", "vocabulary"):
        m.generate(params, prompts, jax.random.key(0), 4)
