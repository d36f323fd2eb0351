"""`make_env`'s prefix dispatch to `purerl.envs.suites` (no suite is compiled here)."""

import pytest

import purerl
from purerl.envs import suites
from purerl.envs.suites.base import require


def test_missing_extra_names_the_pip_install():
    with pytest.raises(ImportError, match=r'pip install "purerl\[brax\]"'):
        require("no_such_module_for_purerl_tests", "brax")


def test_prefix_ids():
    assert suites.is_suite_id("brax/ant") and suites.is_suite_id("jumanji/Snake-v1")
    assert not suites.is_suite_id("CartPole-v1") and not suites.is_suite_id("brax")
    with pytest.raises(ValueError, match="names no brax environment"):
        purerl.make_env("brax/")
    with pytest.raises(ValueError, match="Unknown environment id"):
        purerl.make_env("nosuchsuite/Env")  # not a suite prefix: the usual unknown-id error


def test_time_limit_must_be_positive():
    with pytest.raises(ValueError, match="time limit"):
        purerl.make_env("xminigrid/MiniGrid-Empty-5x5", max_steps=0)
