"""scripts/mpc.py and scripts/mcts.py run end to end at a tiny size and write their files;
scripts/planning_figure.py draws the README figure from those run folders."""

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


# One xdist worker runs this file, so the session fixture builds the five runs once per run.
pytestmark = pytest.mark.xdist_group("planning_scripts")

TINY_MPC = ["--horizon", "3", "--num-samples", "8", "--num-elites", "2", "--num-iterations", "1"]
TINY_MCTS = ["--num-simulations", "2", "--num-rollouts", "1", "--rollout-length", "3"]


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """The five tiny runs planning_figure.py reads: {name: (out folder, what main returned)}.
    Built once per run: the file is one xdist group (`--dist loadgroup`)."""
    root = tmp_path_factory.mktemp("plan")
    argv = {
        "cem": ["true", "--method", "cem", "--num-seeds", "2", "--num-episodes", "2", *TINY_MPC],
        "mppi": ["true", "--method", "mppi", "--num-seeds", "2", "--num-episodes", "2"] + TINY_MPC,
        "pets": ["learned", "--num-seeds", "1", "--num-eval-episodes", "1", *TINY_MPC]
        + ["--total-timesteps", "60", "--random-steps", "20", "--num-steps", "20"]
        + ["--hidden-sizes", "8", "--train-steps", "2", "--batch-size", "8"]
        + ["--buffer-size", "100", "--num-particles", "5"],
        "mcts": ["true", "--num-seeds", "2", "--num-episodes", "2", *TINY_MCTS],
        "alphazero": ["alphazero", "--num-seeds", "1", "--num-eval-episodes", "2"]
        + ["--total-timesteps", "64", "--num-envs", "2", "--num-steps", "8"]
        + ["--num-simulations", "2", "--buffer-size", "64", "--batch-size", "8"]
        + ["--gradient-steps", "1", "--hidden-sizes", "8"],
    }
    out = {}
    for name, args in argv.items():
        script = "mcts" if name in ("mcts", "alphazero") else "mpc"
        out[name] = (root / name, _script(script).main([*args, "--out", str(root / name)]))
    return root, out


def test_mpc_script_true_model(runs):
    for name in ("cem", "mppi"):
        out, summary = runs[1][name]
        assert len(summary["return_per_seed"]) == 2
        assert (out / "returns.png").read_bytes()[:4] == b"\x89PNG"
        assert len((out / "returns.csv").read_text().splitlines()) == 1 + 2 * 2
        config = json.loads((out / "summary.json").read_text())["config"]
        assert config["horizon"] == 3 and config["method"] == name


def test_mpc_script_learned(runs):
    out, result = runs[1]["pets"]
    assert set(result.files) == {"metrics", "plot", "checkpoint", "summary"}
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "summary.json").read_text())["env_steps_per_seed"] == 60


def test_mcts_script_true_model(runs, tmp_path):
    out, summary = runs[1]["mcts"]
    assert summary["episodes_per_seed"] == 2
    assert (out / "returns.png").exists()
    argv = ["true", "--search", "gumbel", "--num-seeds", "1", "--num-episodes", "2", *TINY_MCTS]
    summary = _script("mcts").main([*argv, "--out", str(tmp_path / "gumbel")])
    assert summary["config"]["search"] == "gumbel" and summary["episodes_per_seed"] == 2


def test_mcts_script_alphazero(runs):
    out, _ = runs[1]["alphazero"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env_steps_per_seed"] == 64
    assert "search_eval_return_mean" in summary
    assert (out / "learning_curve.png").exists() and (out / "metrics.csv").exists()


def test_planning_figure(runs, tmp_path):
    root, out = runs
    figure = _script("planning_figure")
    figure.main(["--runs", str(root), "--out", str(tmp_path)])
    assert (tmp_path / "planning.png").read_bytes()[:4] == b"\x89PNG"
    summaries = json.loads((tmp_path / "planning.json").read_text())
    assert set(summaries) == set(figure.RUNS)
    assert summaries["mcts"]["return_mean"] == pytest.approx(out["mcts"][1]["return_mean"])
    assert summaries["pets"]["env_steps_per_seed"] == 60
    with pytest.raises(SystemExit, match="no run folder"):
        figure.main(["--runs", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
