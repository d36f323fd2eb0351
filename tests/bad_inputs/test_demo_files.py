"""Demo files (issue 15): empty, truncated, corrupt, pickled or foreign files are a clear
`ValueError` naming the path, never numpy's advice to load pickles."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from purerl.imitation import demos as D

DEMOS = D.Demos(
    obs=np.arange(40, dtype=np.float32).reshape(5, 2, 4),
    action=np.zeros((5, 2), np.int32),
    reward=np.ones((5, 2), np.float32),
    terminated=np.zeros((5, 2), bool),
    truncated=np.zeros((5, 2), bool),
    next_obs=np.zeros((5, 2, 4), np.float32),
    mask=np.ones((5, 2), bool),
)


def _write(tmp_path, how: str):
    good = D.save_demos(tmp_path / "good.npz", DEMOS)
    with open(good, "rb") as f:
        data = f.read()
    bad = tmp_path / "bad.npz"
    arrays = {f: np.asarray(x) for f, x in zip(D.Demos._fields, DEMOS, strict=True)}
    fmt = np.asarray(D._FORMAT)
    if how == "empty":
        bad.write_bytes(b"")
    elif how == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif how == "truncated tail":
        bad.write_bytes(data[:-30])
    elif how == "random":
        bad.write_bytes(np.random.default_rng(0).bytes(2048))
    elif how == "pickle":
        bad.write_bytes(pickle.dumps({"obs": [1, 2, 3]}))
    elif how == "object array":
        with open(bad, "wb") as f:
            np.save(f, np.array([{"obs": 1}], dtype=object), allow_pickle=True)
    elif how == "object field":
        np.savez(bad, format=fmt, **{**arrays, "obs": np.array([None, 1], dtype=object)})
    elif how == "npy":
        with open(bad, "wb") as f:
            np.save(f, np.zeros(3))
    elif how == "foreign npz":
        np.savez(bad, x=np.zeros(3))
    elif how == "missing field":
        np.savez(bad, format=fmt, **{k: v for k, v in arrays.items() if k != "reward"})
    elif how == "bad shapes":
        np.savez(bad, format=fmt, **{**arrays, "reward": np.zeros((4, 2), np.float32)})
    elif how == "empty mask":
        np.savez(bad, format=fmt, **{**arrays, "mask": np.zeros((5, 2), bool)})
    return bad


CASES = [
    ("empty", "empty"),
    ("truncated", "truncated"),
    ("truncated tail", "truncated"),
    ("random", "not a purerl demos file"),
    ("pickle", "not a purerl demos file"),
    ("object array", "not a purerl demos file"),
    ("object field", "not a purerl demos file"),
    ("npy", "not a purerl demos file"),
    ("foreign npz", "not a purerl demos file"),
    ("missing field", "reward"),
    ("bad shapes", "reward"),
    ("empty mask", "mask"),
]


@pytest.mark.parametrize(("how", "word"), CASES, ids=[c[0] for c in CASES])
def test_bad_demo_file_names_the_path(raises_clearly, tmp_path, how, word):
    bad = _write(tmp_path, how)
    with raises_clearly(ValueError, str(bad), word) as info:
        D.load_demos(bad)
    assert "allow_pickle" not in str(info.value)


def test_missing_demo_file_names_the_path(raises_clearly, tmp_path):
    with raises_clearly(FileNotFoundError, "nowhere.npz"):
        D.load_demos(tmp_path / "nowhere.npz")


def test_good_demo_file_round_trips(tmp_path):
    back = D.load_demos(D.save_demos(tmp_path / "d.npz", DEMOS))
    for a, b in zip(DEMOS, back, strict=True):
        np.testing.assert_array_equal(a, b)
