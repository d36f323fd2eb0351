"""Config validation helpers: clear `ValueError`s at `Config`/`make` time, before tracing.

Float hyper-parameters may be traced (a `vmap` over learning rates builds the config inside
the mapped function); checks on traced values are skipped, never turned into errors.

`ConfigBase` lets a `Config` inherit shared fields (written, documented and validated once
in a base such as `purerl.core.offpolicy.ReplayConfig`) and change only their defaults.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import types
import typing
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from purerl.core import counter


class ConfigTypeError(TypeError, ValueError):
    """A Config field of the wrong type. A `TypeError`; also a `ValueError`, which the field
    checks raised for some wrong types before the annotations were checked."""


class ConfigBase:
    """Base of every purerl `Config`: its `__post_init__` checks each field's value against
    the field's annotation (`validate_fields`), so a subclass's `__post_init__` calls
    `super().__post_init__()` first and then checks ranges on values of the right type.

    A subclass changes inherited defaults with class keywords instead of re-declaring the
    fields, so each field's type and documentation (its comment, which tyro shows as the
    flag's help) stay written once, in the base that declares it::

        @dataclasses.dataclass(frozen=True)
        class Config(offpolicy.ReplayConfig, batch_size=256, tau=1.0):
            num_atoms: int = 51

    An overridden field keeps its place in the field order. A subclass may still re-declare
    a field (with a comment) where its meaning for that algorithm needs its own help text.
    """

    def __init_subclass__(cls, **defaults):
        super().__init_subclass__()
        if not defaults:
            return
        own = dict(cls.__dict__.get("__annotations__", {}))
        for name, value in defaults.items():
            owners = [b for b in cls.__mro__[1:] if name in getattr(b, "__dataclass_fields__", {})]
            if not owners or name in own:
                raise TypeError(
                    f"{cls.__qualname__}: default override {name!r} must name a field "
                    "declared in a base class (and not re-declared here)"
                )
            own[name] = typing.get_type_hints(owners[0])[name]
            setattr(cls, name, value)
        cls.__annotations__ = own

    def __post_init__(self):
        validate_fields(self)


def config_name(config) -> str:
    """`"<module>.<class>"` of a Config (e.g. `"dqn.Config"`), for error messages."""
    return f"{type(config).__module__.rsplit('.', 1)[-1]}.{type(config).__qualname__}"


def is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


# ------------------------------------------------------------- field types from annotations
@functools.cache
def _field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def validate_fields(config) -> None:
    """Check every field of the dataclass `config` against its annotation, before tracing.

    Supported annotations: `int` (Python or numpy integers; numpy ones are converted to
    Python ints, since ints fix shapes; never a bool or a float), `float` (a finite real
    number: int, float, a numpy scalar or a 0-d array; never a bool or a string), `bool`,
    `str`, `Sequence[int]` / `tuple[int, ...]` / `tuple[float, ...]` (a list or tuple,
    stored as a tuple), `X | None`, and a nested Config class (an instance of it, itself
    validated when it was built). A traced value (a `vmap` over hyper-parameters builds
    the Config inside the mapped function) is left unchecked. Raises `ConfigTypeError`
    for a wrong type, `ValueError` for a NaN or infinite float, each naming
    `<module>.Config.<field>`.
    """
    c = config_name(config)
    for name, annotation in _field_types(type(config)).items():
        value = getattr(config, name)
        new = _check_value(f"{c}.{name}", annotation, value)
        if new is not value:
            object.__setattr__(config, name, new)


def _got(value) -> str:
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    t = type(value)
    name = (
        t.__name__
        if t.__module__ == "builtins"
        else f"{t.__module__.rsplit('.', 1)[-1]}.{t.__qualname__}"
    )
    return f"got {text} ({name})"


def _describe(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if annotation is type(None):
        return "None"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is not None:
        return f"a tuple or list of {_describe(args[0]).removeprefix('a ')}s"
    names = {int: "a Python int", float: "a float", bool: "a bool (True or False)", str: "a str"}
    if annotation in names:
        return names[annotation]
    return f"a {annotation.__module__.rsplit('.', 1)[-1]}.{annotation.__qualname__}"


def _scalar_kind(value) -> str | None:
    """ "bool", "int", "float" or None (not a real number) of a concrete scalar."""
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "float"
    if isinstance(value, np.ndarray | jax.Array) and value.ndim == 0:
        kind = value.dtype.kind
        return {"b": "bool", "i": "int", "u": "int", "f": "float"}.get(kind)
    return None


def _wrong(where: str, annotation, value, base) -> ConfigTypeError:
    """The error for `value` in a field annotated `annotation` (`base`: without None)."""
    hint = ""
    kind = _scalar_kind(value)
    if base is int and kind == "float" and float(value).is_integer():
        hint = f" (write {int(value)}: ints fix array shapes)"
    if base is float and isinstance(value, str):
        with contextlib.suppress(ValueError):
            hint = f" (a number, not a string: write {float(value)!r})"
    return ConfigTypeError(f"{where} must be {_describe(annotation)}, {_got(value)}{hint}")


def _check_value(where: str, annotation, value):
    """`value`, or its converted form (numpy ints -> int, a list -> a tuple)."""
    if is_traced(value):
        return value
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return value
        others = [a for a in args if a is not type(None)]
        if len(others) == 1:
            try:
                return _check_value(where, others[0], value)
            except ConfigTypeError:
                raise _wrong(where, annotation, value, others[0]) from None
        return value

    def wrong() -> ConfigTypeError:
        return _wrong(where, annotation, value, annotation)

    if origin is typing.Literal:  # a string option (`activation`, `loss`): one of its choices
        if any(type(value) is type(a) and value == a for a in args):
            return value
        if not any(isinstance(value, type(a)) for a in args):
            raise wrong()
        raise ValueError(f"{where} must be one of {sorted(args)}, got {value!r}")

    kind = _scalar_kind(value)
    if annotation is bool:
        if kind != "bool":
            raise wrong()
        return value if isinstance(value, bool) else bool(value)
    if annotation is int:
        if kind != "int":
            raise wrong()
        return value if type(value) is int else int(value)
    if annotation is float:
        if kind not in ("int", "float"):
            raise wrong()
        if not math.isfinite(float(value)):
            raise ValueError(f"{where} must be a finite float, got {value!r}")
        return float(value) if isinstance(value, np.generic) else value
    if annotation is str:
        if not isinstance(value, str):
            raise wrong()
        return value
    if origin in (tuple, Sequence, list):
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = value.tolist()
        if not isinstance(value, tuple | list):
            raise wrong()
        element = args[0] if args else Any
        if element is Any:
            return tuple(value)
        out = []
        for i, v in enumerate(value):
            try:
                out.append(_check_value(f"{where}[{i}]", element, v))
            except ConfigTypeError:
                raise _wrong(where, annotation, value, annotation) from None
        same = type(value) is tuple and all(a is b for a, b in zip(out, value, strict=True))
        return value if same else tuple(out)
    if isinstance(annotation, type):
        if not isinstance(value, annotation):
            raise wrong()
        return value
    raise TypeError(f"{where}: validate_fields does not support the annotation {annotation!r}")


def _concrete(x):
    return None if is_traced(x) else x


def check_positive(cls: str, name: str, value: Any, allow_zero: bool = False) -> None:
    v = _concrete(value)
    if v is None:
        return
    try:
        fv = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{cls}.{name} must be a number, got {value!r}") from None
    if not math.isfinite(fv) or fv < 0 or (fv == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{cls}.{name} must be finite and {bound}, got {value!r}")


def check_unit(cls: str, name: str, value: Any, closed_low=True, closed_high=True) -> None:
    v = _concrete(value)
    if v is None:
        return
    fv = float(v)
    lo_ok = fv >= 0 if closed_low else fv > 0
    hi_ok = fv <= 1 if closed_high else fv < 1
    if not (math.isfinite(fv) and lo_ok and hi_ok):
        lo = "[" if closed_low else "("
        hi = "]" if closed_high else ")"
        raise ValueError(f"{cls}.{name} must lie in {lo}0, 1{hi}, got {value!r}")


def check_int(cls: str, name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"{cls}.{name} must be a Python int (it fixes array shapes), got {value!r}"
        )
    if value < minimum:
        raise ValueError(f"{cls}.{name} must be >= {minimum}, got {value}")


def check_choice(cls: str, name: str, value: Any, choices) -> None:
    if value not in choices:
        raise ValueError(f"{cls}.{name} must be one of {sorted(choices)}, got {value!r}")


def check_sizes(cls: str, name: str, value: Any) -> None:
    if not all(isinstance(h, int) and h > 0 for h in value):
        raise ValueError(f"{cls}.{name} must be a sequence of positive ints, got {value!r}")


def check_budget(cls: str, total_timesteps: int, per_update: int, what: str) -> None:
    """The env-step budget must cover at least one update of `per_update` env steps, and
    its update count must fit purerl's wide update counter (`counter.MAX_COUNT`); `what`
    names that unit in the message (e.g. "one batch (num_envs * num_steps = 64)")."""
    if total_timesteps < per_update:
        raise ValueError(f"{cls}: total_timesteps {total_timesteps} is less than {what}")
    counter.check_budget(cls, total_timesteps, per_update)
