"""Config validation helpers: clear `ValueError`s at `Config`/`make` time, before tracing.

Float hyper-parameters may be traced (a `vmap` over learning rates builds the config inside
the mapped function); checks on traced values are skipped, never turned into errors.

`ConfigBase` lets a `Config` inherit shared fields (written, documented and validated once
in a base such as `purerl.core.offpolicy.ReplayConfig`) and change only their defaults.
"""

from __future__ import annotations

import math
import typing
from typing import Any

import jax

from purerl.core import counter


class ConfigBase:
    """Base of the shared-field Configs (`offpolicy.ReplayConfig`, `onpolicy.RolloutConfig`).

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


def config_name(config) -> str:
    """`"<module>.<class>"` of a Config (e.g. `"dqn.Config"`), for error messages."""
    return f"{type(config).__module__.rsplit('.', 1)[-1]}.{type(config).__qualname__}"


def is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


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
