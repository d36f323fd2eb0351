"""The catalogue's own assertion can fail: a wrong name, a wrong type, an error from JAX."""

import jax
import jax.numpy as jnp
import pytest


def test_passes_on_a_clear_error(raises_clearly):
    with raises_clearly(ValueError, "learning_rate"):
        raise ValueError("dqn.Config.learning_rate must be a number, got '1e-3'")


def test_fails_when_the_field_is_not_named(raises_clearly):
    with pytest.raises(AssertionError, match="does not name"), raises_clearly(ValueError, "gamma"):
        raise ValueError("something is wrong")


def test_fails_when_raised_inside_jax(raises_clearly):
    def bad(x):
        return jnp.reshape(x, (7,))  # a shape error raised while tracing, inside jax._src

    with pytest.raises(AssertionError, match="inside JAX"), raises_clearly(TypeError, "reshape"):
        jax.jit(bad)(jnp.zeros(3))
