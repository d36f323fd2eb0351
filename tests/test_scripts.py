"""The training scripts' shared CLI writes metrics, plot, checkpoint and summary."""

import csv
import json

import jax
import pytest

from purerl.algos import ppo
from purerl.cli import experiment
from purerl.core import checkpoint


def test_cli_writes_outputs_and_checkpoint_restores(tmp_path):
    out = tmp_path / "run"
    argv = [
        "--env",
        "CartPole-v1",
        "--num-seeds",
        "2",
        "--out",
        str(out),
        "--total-timesteps",
        "2048",
        "--num-envs",
        "4",
        "--num-steps",
        "64",
    ]
    result = experiment.cli(ppo, argv=argv)
    assert set(result.files) == {"metrics", "plot", "checkpoint", "summary"}
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 8  # 2 seeds x 8 updates
    assert {"seed", "update", "env_steps", "episode_return", "loss/policy"} <= set(rows[0])
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_seeds"] == 2 and summary["env_steps_per_seed"] == 2048
    meta = checkpoint.load_metadata(out / "checkpoint.ckpt")
    assert meta["config"]["num_envs"] == 4
    env, params = experiment.make_env("CartPole-v1")
    agent = ppo.make(env, params, ppo.Config(**{**meta["config"], "hidden_sizes": (64, 64)}))
    like = jax.vmap(agent.init)(jax.random.split(jax.random.key(0), 2))
    states = checkpoint.load(out / "checkpoint.ckpt", like=like)
    assert states.step.tolist() == [8, 8]


def _load_script(name):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_worked_example_reinforce_learns_and_saves(tmp_path, capsys):
    example = _load_script("reinforce")
    params = example.train(epochs=30, batch_size=2000, seed=1, out=str(tmp_path))
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch")]
    assert len(lines) == 30
    returns = [float(ln.split("return:")[1].split()[0]) for ln in lines]
    # a random policy lasts ~20 steps; 30 small epochs at least treble that
    assert np_mean(returns[-5:]) > 2.5 * returns[0] and np_mean(returns[-5:]) > 50, returns
    saved = checkpoint.load(tmp_path / "trained_policy.ckpt", like=params)
    assert [layer["w"].shape for layer in saved] == [(4, 32), (32, 2)]
    # the one-file mlp: hidden activation, then the output activation
    init, apply = example.mlp([3, 5, 2], output_activation=lambda x: x * 0)
    assert apply(init(jax.random.key(0)), jax.numpy.ones((7, 3))).tolist() == [[0, 0]] * 7


def np_mean(xs):
    return sum(xs) / len(xs)


def test_pg_script_trains_the_named_algorithm(tmp_path):
    import pathlib
    import runpy
    import sys
    from unittest import mock

    path = pathlib.Path(__file__).parent.parent / "scripts" / "pg.py"
    argv = ["pg.py", "a2c", "--num-seeds", "1", "--out", str(tmp_path), "--total-timesteps", "400"]
    with mock.patch.object(sys, "argv", argv):
        runpy.run_path(str(path), run_name="__main__")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["algo"] == "a2c" and summary["env_steps_per_seed"] == 400
    with mock.patch.object(sys, "argv", ["pg.py", "sarsa"]), pytest.raises(SystemExit):
        runpy.run_path(str(path), run_name="__main__")


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    """A script killed with SIGKILL mid-run, then `--resume`d, ends with the same states
    (bit for bit) and the same metrics.csv as the same run never interrupted."""
    import os
    import pathlib
    import signal
    import subprocess
    import sys
    import time

    import numpy as np
    from flax import serialization

    root = pathlib.Path(__file__).parent.parent
    argv = ["--num-seeds", "2", "--total-timesteps", str(60 * 4 * 64), "--num-envs", "4",
            "--num-steps", "64", "--hidden-sizes", "8", "--checkpoint-every", "4",
            "--eval-every", "8", "--eval-episodes", "2"]  # fmt: skip
    killed, full = tmp_path / "killed", tmp_path / "full"
    env = {**os.environ, "PYTHONPATH": str(root)}
    script = [sys.executable, str(root / "scripts" / "ppo.py")]
    proc = subprocess.Popen([*script, *argv, "--out", str(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.time() + 600
    while not (killed / "checkpoints" / "update-000000012.ckpt").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.time() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "summary.json").exists(), "the run finished before it was killed"
    done = sorted(p.name for p in (killed / "checkpoints").glob("*.ckpt"))
    assert done[-1] < "update-000000060.ckpt"
    res = subprocess.run([*script, "--resume", str(killed)], env=env, capture_output=True,
                         text=True, timeout=900)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert "resuming" in res.stdout
    experiment.cli(ppo, argv=[*argv, "--out", str(full)])

    def leaves(path):
        with open(path, "rb") as f:
            payload = serialization.msgpack_restore(f.read())
        return [
            np.asarray(v["data"])
            for _, v in sorted(payload["leaves"].items(), key=lambda kv: int(kv[0]))
        ]

    a, b = leaves(killed / "checkpoint.ckpt"), leaves(full / "checkpoint.ckpt")
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert (killed / "metrics.csv").read_text() == (full / "metrics.csv").read_text()


def test_string_options_are_literals_matching_the_networks_activations():
    import typing

    from purerl.algos import dqn
    from purerl.nets.torsos import ACTIVATIONS
    from purerl.types import Activation

    assert set(typing.get_args(Activation)) == set(ACTIVATIONS)
    hints = typing.get_type_hints(dqn.Config)
    assert set(typing.get_args(hints["loss"])) == {"mse", "huber"}
    assert hints["activation"] is Activation
