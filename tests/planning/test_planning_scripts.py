"""scripts/mpc.py and scripts/mcts.py run end to end at a tiny size and write their files."""

import importlib.util
import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _script(name):
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


TINY_MPC = ["--horizon", "3", "--num-samples", "8", "--num-elites", "2", "--num-iterations", "1"]


def test_mpc_script_true_model(tmp_path):
    out = tmp_path / "true"
    argv = ["true", "--num-seeds", "2", "--num-episodes", "2", "--out", str(out), *TINY_MPC]
    summary = _script("mpc").main(argv)
    assert len(summary["return_per_seed"]) == 2
    assert (out / "returns.png").read_bytes()[:4] == b"\x89PNG"
    assert len((out / "returns.csv").read_text().splitlines()) == 1 + 2 * 2
    assert json.loads((out / "summary.json").read_text())["config"]["horizon"] == 3


def test_mpc_script_learned(tmp_path):
    out = tmp_path / "learned"
    argv = ["learned", "--num-seeds", "1", "--num-eval-episodes", "1", "--out", str(out)]
    argv += [*TINY_MPC, "--total-timesteps", "60", "--random-steps", "20", "--num-steps", "20"]
    argv += ["--hidden-sizes", "8", "--train-steps", "2", "--batch-size", "8"]
    argv += ["--buffer-size", "100", "--num-particles", "5"]
    result = _script("mpc").main(argv)
    assert set(result.files) == {"metrics", "plot", "checkpoint", "summary"}
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "summary.json").read_text())["env_steps_per_seed"] == 60


@pytest.mark.parametrize("search", ["muzero", "gumbel"])
def test_mcts_script_true_model(tmp_path, search):
    out = tmp_path / search
    argv = ["true", "--search", search, "--num-seeds", "1", "--num-episodes", "2"]
    argv += ["--num-simulations", "2", "--num-rollouts", "1", "--rollout-length", "3"]
    argv += ["--out", str(out)]
    summary = _script("mcts").main(argv)
    assert summary["episodes_per_seed"] == 2
    assert (out / "returns.png").exists()


def test_mcts_script_alphazero(tmp_path):
    out = tmp_path / "az"
    argv = ["alphazero", "--num-seeds", "1", "--num-eval-episodes", "2", "--out", str(out)]
    argv += ["--total-timesteps", "64", "--num-envs", "2", "--num-steps", "8"]
    argv += ["--num-simulations", "2", "--buffer-size", "64", "--batch-size", "8"]
    argv += ["--gradient-steps", "1", "--hidden-sizes", "8"]
    _script("mcts").main(argv)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env_steps_per_seed"] == 64
    assert "search_eval_return_mean" in summary
    assert (out / "learning_curve.png").exists() and (out / "metrics.csv").exists()
