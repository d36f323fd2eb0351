"""Every RLHF trainer is a `purerl.Agent` whose `update` keeps the state's structure, shapes
and dtypes (so a second update never retraces), and bad input fails at `make` time.
Checked by abstract evaluation only (`jax.eval_shape`): nothing is compiled."""

import dataclasses

import jax
import jax.numpy as jnp
import pytest

from purerl.rlhf import dpo, lm, ppo, reinforce, sft, tasks
from purerl.rlhf import reward_model as rm

TASK = tasks.make_task(jax.random.key(0), vocab_size=10, response_len=5)
MODEL = lm.make(
    lm.Config(vocab_size=10, max_len=TASK.seq_len, d_model=16, num_layers=1, num_heads=2)
)
KEY = jax.random.key(1)


def _avals(tree):
    return jax.tree.map(lambda x: (x.shape, x.dtype, getattr(x, "weak_type", False)), tree)


def _prefs(n=64):
    toks = jnp.full((n, TASK.seq_len), tasks.EOS, jnp.int32).at[:, 0].set(tasks.BOS)
    z = jnp.zeros(n)
    return rm.Preferences(toks, toks, jnp.ones(n, jnp.int32), z + 0.5, z, z)


def _agents():
    params = jax.eval_shape(MODEL.init, KEY)
    params = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), params)
    reward = lambda toks: jnp.zeros(toks.shape[0])
    return {
        "sft": sft.make(TASK, MODEL, sft.Config(num_updates=3)),
        "reward_model": rm.make(TASK, MODEL, params, _prefs(), rm.Config(batch_size=32)),
        "ppo": ppo.make(TASK, MODEL, params, reward, ppo.Config(batch_size=8, num_minibatches=2)),
        "ppo adaptive": ppo.make(
            TASK, MODEL, params, reward, ppo.Config(batch_size=8, adaptive_kl=True)
        ),
        "reinforce": reinforce.make(TASK, MODEL, params, reward, reinforce.Config(batch_size=8)),
        "dpo": dpo.make(TASK, MODEL, params, _prefs(), dpo.Config(batch_size=32)),
    }


@pytest.mark.parametrize("name", list(_agents()))
def test_update_keeps_state_avals_so_it_never_retraces(name):
    agent = _agents()[name]
    state = jax.eval_shape(agent.init, KEY)
    new_state, metrics = jax.eval_shape(agent.update, state)
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    assert _avals(new_state) == _avals(state)
    assert all(m.shape == () for m in jax.tree.leaves(metrics)), metrics
    assert agent.num_updates >= 1


def test_rlhf_metrics_keys():
    agent = _agents()["ppo"]
    _, metrics = jax.eval_shape(agent.update, jax.eval_shape(agent.init, KEY))
    want = {"gold", "proxy", "kl/k1", "kl/exact", "kl_teacher", "entropy", "loss/policy"}
    want |= {"loss/value", "clip_fraction", "approx_kl", "kl_coef", "response_length"}
    assert want <= set(metrics)


def test_bad_input_fails_at_make_time():
    reward = lambda toks: jnp.zeros(toks.shape[0])
    short = lm.make(dataclasses.replace(MODEL_CFG, max_len=TASK.seq_len - 1))
    with pytest.raises(ValueError, match="max_len"):
        ppo.make(TASK, short, {}, reward)
    with pytest.raises(ValueError, match="max_len"):
        sft.make(TASK, short)
    with pytest.raises(ValueError, match="batch_size"):
        rm.make(TASK, MODEL, {}, _prefs(16), rm.Config(batch_size=32))
    with pytest.raises(ValueError, match="Config"):
        reinforce.make(TASK, MODEL, {}, reward, ppo.Config())


MODEL_CFG = lm.Config(vocab_size=10, max_len=TASK.seq_len, d_model=16, num_layers=1, num_heads=2)
