"""benchmarks.settings: purerl's configs come from each algorithm's Config() defaults."""

import ast
import dataclasses
import json
from pathlib import Path

from benchmarks import settings
from purerl.algos import dqn, ppo, td3


def test_dqn_is_dqn_config_defaults():
    assert settings.purerl_config("dqn") == dqn.Config(total_timesteps=100_000)
    assert settings.purerl_config("dqn", 50_000) == dqn.Config(total_timesteps=50_000)


def test_changed_dqn_default_flows_through(monkeypatch):
    changed = dataclasses.replace(dqn.Config(), gradient_steps=3, learning_rate=3e-4)
    monkeypatch.setattr(dqn, "Config", lambda: changed)
    config = settings.purerl_config("dqn", 20_000)
    assert config == dataclasses.replace(changed, total_timesteps=20_000)
    record = settings.config_record("dqn")
    assert record["gradient_steps"] == 3 and record["learning_rate"] == 3e-4


def test_overrides_and_budgets():
    config = settings.purerl_config("ppo")
    assert config == dataclasses.replace(
        ppo.Config(), total_timesteps=100_000, **settings.PURERL_OVERRIDES["ppo"]
    )
    assert config.num_envs == 5 and config.num_steps == 100 and not config.anneal_lr
    assert settings.purerl_config("td3").total_timesteps == 10_000
    assert settings.purerl_config("td3").tau == 0.05 != td3.Config().tau
    assert settings.algo_env("sac", None) == ("Pendulum-v1", -200.0, 10_000)
    assert settings.algo_env("a2c", 3_000) == ("CartPole-v1", 475.0, 3_000)


def test_config_records_are_json():
    for algo in settings.ALGOS:
        record = settings.config_record(algo)
        assert "total_timesteps" not in record
        assert json.loads(json.dumps(record)) == record


def test_rejax_side_modules_do_not_import_purerl():
    """rejax's venv runs benchmarks.workers and benchmarks.timing without purerl."""
    root = Path(settings.__file__).parent
    for name in ("__init__.py", "timing.py", "workers.py", "settings.py"):
        tree = ast.parse((root / name).read_text())
        for node in tree.body:  # module level only; purerl_worker imports it inside
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "purerl" for n in names), (name, names)
