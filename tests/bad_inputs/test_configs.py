"""Every Config in purerl checks its fields' types from their annotations (issue 15).

Found by walking the package, so a new Config is covered without touching this file. For
each (Config, field) a value of the wrong type is a `TypeError` naming
`<module>.Config.<field>`; NaN or inf in a float field a `ValueError`; numpy integers for
sizes are accepted and stored as Python ints; traced floats (a vmap over hyper-parameters)
pass unchecked.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import pkgutil
import typing
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import purerl
from purerl.core import validation as V


def _configs() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(purerl.__path__, "purerl."):
        if info.name.startswith("purerl.cli"):
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and dataclasses.is_dataclass(obj)
                and obj.__name__.endswith("Config")
                and obj.__module__ == module.__name__
            ):
                found[f"{module.__name__.removeprefix('purerl.')}.{obj.__qualname__}"] = obj
    return found


CONFIGS = _configs()


def _kind(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, __import__("types").UnionType):
        return _kind(next(a for a in args if a is not type(None)))
    if annotation in (int, float, bool, str):
        return annotation.__name__
    if origin is typing.Literal:  # a string option: its wrong type is the str's
        return "str"
    if origin in (tuple, Sequence):
        return f"seq[{args[0].__name__}]"
    assert dataclasses.is_dataclass(annotation), annotation
    return "config"


FIELDS = [
    (name, field, _kind(tp))
    for name, cls in CONFIGS.items()
    for field, tp in V._field_types(cls).items()
]
# (value of the wrong type, what the message must show) per annotation kind
WRONG = {
    "float": "1e-3",  # a string where a float belongs
    "int": 2.0,  # a float where an int (a size) belongs
    "bool": 1,  # an int where a bool belongs
    "str": 3,
    "seq[int]": 64,  # an int where a tuple of sizes belongs
    "seq[float]": 0.1,
    "config": {"learning_rate": 1e-3},  # a dict where a nested Config belongs
}


def test_every_config_is_found_and_validated():
    expected = {
        "algos.dqn.Config", "algos.ppo.Config", "algos.sac.Config", "algos.her.Config",
        "imitation.gail.Config", "imitation.dac.Config", "imitation.bc.Config",
        "rlhf.lm.Config", "rlhf.pipeline.Config", "planning.mpc.Config",
        "planning.alphazero.Config", "core.offpolicy.ReplayConfig",
    }  # fmt: skip
    assert expected <= set(CONFIGS), expected - set(CONFIGS)
    assert len(CONFIGS) >= 35
    for name, cls in CONFIGS.items():
        assert issubclass(cls, V.ConfigBase), f"{name} does not subclass validation.ConfigBase"
        cls()  # the defaults are valid


@pytest.mark.parametrize(
    ("config", "field", "kind"), FIELDS, ids=[f"{c}.{f}" for c, f, _ in FIELDS]
)
def test_wrong_type_names_the_field(raises_clearly, config, field, kind):
    cls = CONFIGS[config]
    qualified = f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__qualname__}.{field}"
    with raises_clearly(TypeError, qualified, "got") as info:
        cls(**{field: WRONG[kind]})
    assert isinstance(info.value, ValueError)  # also a ValueError (what range checks raise)
    if kind == "float":
        assert "write 0.001" in str(info.value)  # says how to fix the string


FLOATS = [(c, f) for c, f, k in FIELDS if k == "float"]


@pytest.mark.parametrize("bad", [math.nan, math.inf], ids=["nan", "inf"])
@pytest.mark.parametrize(("config", "field"), FLOATS, ids=[f"{c}.{f}" for c, f in FLOATS])
def test_non_finite_float_is_rejected(raises_clearly, config, field, bad):
    with raises_clearly(ValueError, field, "finite"):
        CONFIGS[config](**{field: bad})


@pytest.mark.parametrize(
    ("config", "kwargs", "names"),
    [
        ("algos.dqn.Config", {"num_envs": True}, ["num_envs", "bool"]),
        ("algos.ppo.Config", {"hidden_sizes": "64"}, ["hidden_sizes", "str"]),
        ("algos.ppo.Config", {"hidden_sizes": (64, 32.0)}, ["hidden_sizes", "32.0"]),
        ("algos.ppo.Config", {"learning_rate": None}, ["learning_rate", "None"]),
        ("algos.sac.Config", {"target_entropy": "auto"}, ["target_entropy", "float or none"]),
        ("algos.sac.Config", {"target_entropy": math.nan}, ["target_entropy", "finite"]),
        ("algos.ppo.Config", {"log_std_init": -math.inf}, ["log_std_init", "finite"]),
        ("algos.dqn.Config", {"total_timesteps": 1e5}, ["total_timesteps", "write 100000"]),
        ("imitation.gail.Config", {"ppo": purerl.algos.sac.Config()}, ["gail.config.ppo", "sac"]),
        ("imitation.dagger.Config", {"buffer_size": 10.5}, ["buffer_size", "int or none"]),
        ("rlhf.pipeline.Config", {"kl_coefs": (0.1, "0.2")}, ["kl_coefs", "floats"]),
        ("rlhf.pipeline.Config", {"dpo_betas": (0.1, math.nan)}, ["dpo_betas[1]", "finite"]),
        ("rlhf.pipeline.Config", {"bon_ns": (1, 2.0)}, ["bon_ns", "ints"]),
        ("rlhf.lm.Config", {"vocab_size": np.float32(16)}, ["vocab_size", "float32"]),
        ("algos.ppo.Config", {"learning_rate": jnp.zeros(2)}, ["learning_rate", "float"]),
        ("algos.ppo.Config", {"anneal_lr": "False"}, ["anneal_lr", "bool"]),
    ],
)
def test_named_bad_values(raises_clearly, config, kwargs, names):
    exc = ValueError if any("finite" in n for n in names) else TypeError
    with raises_clearly(exc, *names):
        CONFIGS[config](**kwargs)


INTS = [(c, f) for c, f, k in FIELDS if k == "int"]


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_numpy_scalars_are_accepted_and_ints_become_python_ints(config):
    cls = CONFIGS[config]
    default = cls()
    kinds = {f: k for c, f, k in FIELDS if c == config}
    kwargs = {}
    for f, k in kinds.items():
        v = getattr(default, f)
        if k == "int" and v is not None:
            kwargs[f] = np.int64(v)
        elif k == "float" and v is not None:
            kwargs[f] = np.float64(v)
        elif k == "bool":
            kwargs[f] = np.bool_(v)
        elif k == "seq[int]":
            kwargs[f] = [np.int32(x) for x in v]
    c = cls(**kwargs)
    for f, k in kinds.items():
        v = getattr(c, f)
        if k == "int" and v is not None:
            assert type(v) is int and v == getattr(default, f), f
        if k == "bool":
            assert type(v) is bool, f
        if k == "seq[int]":
            assert type(v) is tuple and all(type(x) is int for x in v), f
            assert v == tuple(getattr(default, f))


def test_plain_ints_in_float_fields_stay_accepted():
    c = purerl.algos.ppo.Config(learning_rate=1, max_grad_norm=2, gamma=1)
    assert c.learning_rate == 1 and c.gamma == 1


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ("algos.ppo.Config", "learning_rate"),
        ("algos.dqn.Config", "learning_rate"),
        ("algos.sac.Config", "actor_learning_rate"),
        ("algos.sac.Config", "target_entropy"),
        ("algos.ppo.Config", "log_std_init"),
        ("imitation.bc.Config", "learning_rate"),
        ("rlhf.dpo.Config", "beta"),
        ("planning.mpc.Config", "temperature"),
    ],
)
def test_traced_floats_pass_unchecked(config, field):
    """A vmap over a hyper-parameter builds the Config with a tracer in the field."""
    cls = CONFIGS[config]
    got = jax.vmap(lambda x: getattr(cls(**{field: x}), field) * 2)(jnp.array([0.5, 0.25]))
    np.testing.assert_allclose(got, [1.0, 0.5])


def test_a_string_option_outside_its_choices_lists_them(raises_clearly):
    from purerl.algos import a2c

    with raises_clearly(ValueError, "a2c.Config.activation", "'relu'", "'tanh'", "got 'foo'"):
        a2c.Config(activation="foo")
