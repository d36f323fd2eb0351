"""The tree search: rollout values against a slow loop, the recurrent function's episode
ends, and the search's choice on a clear state."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.planning import models, search


@pytest.fixture(scope="module")
def cartpole():
    env, params = purerl.make_env("CartPole-v1")
    model = models.true_model(env, params)
    _, env_state = env.reset(jax.random.key(0), params)
    return env, params, model, model.state_of(env_state)


def test_symlog_symexp_inverse():
    x = jnp.array([-100.0, -1.0, 0.0, 0.5, 450.0])
    np.testing.assert_allclose(search.symexp(search.symlog(x)), x, rtol=1e-5)


def test_random_rollout_return_is_a_masked_slow_loop(cartpole):
    _, _, model, state = cartpole
    key = jax.random.key(3)
    got = search.random_rollout_return(key, model, state, 2, 60, 0.9)
    # the same keys, a Python loop that stops at the episode's end
    g, s, disc = 0.0, state, 1.0
    for t in range(60):
        k_a, k_s = jax.random.split(jax.random.fold_in(key, t))
        a = jax.random.randint(k_a, (), 0, 2)
        s, r, done = model.step(k_s, s, a)
        g += disc * float(r)
        disc *= 0.9
        if bool(done):
            break
    assert bool(done), "a random CartPole rollout of 60 steps should fall"
    assert float(got) == pytest.approx(g, rel=1e-5)


def test_random_rollout_return_stops_at_its_length_and_vmaps(cartpole):
    _, _, model, state = cartpole
    # a reset state, near upright: no random action sequence drops the pole within 3 steps
    assert float(search.random_rollout_return(jax.random.key(0), model, state, 2, 3, 1.0)) == 3.0
    # batched (the while loop runs to the longest rollout) == one at a time
    keys = jax.random.split(jax.random.key(1), 8)
    one = lambda k: search.random_rollout_return(k, model, state, 2, 500, 1.0)
    batched = jax.vmap(one)(keys)
    np.testing.assert_array_equal(batched, [float(one(k)) for k in keys])
    assert float(batched.min()) < float(batched.max()) < 500.0


def test_recurrent_fn_ends_episodes_and_absorbs(cartpole):
    _, _, model, state = cartpole
    evaluate = lambda params, key, s: (jnp.zeros(2), jnp.asarray(7.0))
    fn = search.make_recurrent_fn(model, evaluate, 0.9)
    falling = state.replace(theta=jnp.asarray(0.2), theta_dot=jnp.asarray(2.0))
    states = jax.tree.map(lambda a, b: jnp.stack([a, b, a]), state, falling)
    node = search.Node(states, jnp.array([False, False, True]))
    out, child = fn(None, jax.random.key(0), jnp.array([1, 1, 1]), node)
    # live -> live: reward 1, discount 0.9, the leaf value; live -> terminal: reward 1,
    # discount 0 and value 0; a node already past the end: reward 0, discount 0.
    np.testing.assert_allclose(out.reward, [1.0, 1.0, 0.0])
    np.testing.assert_allclose(out.discount, [0.9, 0.0, 0.0])
    np.testing.assert_allclose(out.value, [7.0, 0.0, 0.0])
    np.testing.assert_array_equal(child.done, [False, True, True])


@pytest.mark.parametrize("policy", ["muzero", "gumbel"])
def test_search_pushes_under_a_falling_pole(cartpole, policy):
    env, params, model, state = cartpole
    config = search.SearchConfig(search=policy, leaf_value="rollout", num_simulations=32)
    evaluate = search.make_evaluator(env, params, config, model)
    run = jax.jit(lambda k, s: search.search(k, None, model, evaluate, s, config, explore=False))
    for sign, want in ((1.0, 1), (-1.0, 0)):  # pole falling right: push right, and mirrored
        s = state.replace(theta=jnp.asarray(0.1 * sign), theta_dot=jnp.asarray(0.5 * sign))
        out = run(jax.random.key(0), jax.tree.map(lambda x: x[None], s))
        assert int(out.action[0]) == want
        assert float(out.action_weights[0, want]) > 0.5
        np.testing.assert_allclose(out.action_weights.sum(-1), 1.0, rtol=1e-5)
