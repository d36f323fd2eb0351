"""The training scripts' shared CLI writes metrics, plot, checkpoint and summary."""

import csv
import json

import jax

from purerl.algos import ppo
from purerl.core import checkpoint, experiment


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
