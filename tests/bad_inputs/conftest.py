"""The bad-input catalogue (issue 15): shared assertion for every case.

`raises_clearly(exc, *names)` is a context manager: the block must raise `exc` (or a
subclass), its message must name every string in `names` (the offending field or argument,
case-insensitive), and, unless `traced=True`, the traceback must not pass through
`jax._src` (the error is raised before any tracing, not from deep inside JAX).
"""

from __future__ import annotations

import contextlib
import traceback

import pytest


@contextlib.contextmanager
def _raises_clearly(exc, *names: str, traced: bool = False):
    with pytest.raises(exc) as info:
        yield info
    message = str(info.value).lower()
    missing = [n for n in names if n.lower() not in message]
    assert not missing, f"message does not name {missing}: {info.value}"
    if not traced:
        frames = [f.filename for f in traceback.extract_tb(info.value.__traceback__)]
        inside = [f for f in frames if "jax/_src" in f.replace("\\", "/")]
        assert not inside, f"raised from inside JAX (after tracing began): {inside[-1]}"


@pytest.fixture
def raises_clearly():
    """`with raises_clearly(ValueError, "learning_rate"): ...` (see the module docstring)."""
    return _raises_clearly
