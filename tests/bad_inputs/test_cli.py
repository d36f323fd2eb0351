"""Bad inputs of the command-line layer (issue 15 / 19): clear errors naming the field,
raised before any training or tracing."""

import json

import pytest

from purerl.algos import ppo
from purerl.cli import experiment, loggers, runs

TINY = ppo.Config(total_timesteps=256, num_envs=2, num_steps=32, hidden_sizes=(4,))


@pytest.mark.parametrize("n", [0, -2, 1.5, True])
def test_num_seeds_not_a_positive_int(raises_clearly, tmp_path, n):
    with raises_clearly(ValueError, "num_seeds"):
        experiment.run(ppo, TINY, num_seeds=n, out=str(tmp_path / "r"), quiet=True)
    assert not (tmp_path / "r").exists()


def test_out_holding_a_finished_run_is_refused(raises_clearly, tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"algo": "ppo"}))
    with raises_clearly(ValueError, "--out", "finished", "never overwritten"):
        experiment.run(ppo, TINY, num_seeds=1, out=str(tmp_path), quiet=True)
    assert json.loads((tmp_path / "summary.json").read_text()) == {"algo": "ppo"}


def test_out_holding_an_unfinished_run_points_to_resume(raises_clearly, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with raises_clearly(ValueError, "--resume"):
        experiment.run(ppo, TINY, num_seeds=1, out=str(tmp_path), quiet=True)


def test_resume_of_a_folder_without_a_run(raises_clearly, tmp_path):
    with raises_clearly(ValueError, "config.json"):
        experiment.resume(str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "summary.json").write_text("{}")
    with raises_clearly(ValueError, "finished"):
        runs.read_config(str(tmp_path))


@pytest.mark.parametrize(
    "field, value", [("eval_every", -1), ("checkpoint_every", 0), ("checkpoint_every", 2.5)]
)
def test_run_schedule_fields(raises_clearly, tmp_path, field, value):
    with raises_clearly(ValueError, field):
        experiment.run(ppo, TINY, num_seeds=1, out=str(tmp_path / "r"), quiet=True,
                       **{field: value})  # fmt: skip


def test_unknown_logger_kind(raises_clearly, tmp_path):
    with raises_clearly(ValueError, "tb", "tensorboard"):
        loggers.make(["tb"], str(tmp_path), num_runs=1)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"log_every": 0}, "log_every"), ({"eval_episodes": 0}, "eval_episodes"),
     ({"eval_every": -1}, "eval_every"), ({"log": "csv"}, "log")],
)  # fmt: skip
def test_train_log_and_eval_arguments(raises_clearly, kwargs, name):
    import jax

    import purerl

    env, p = purerl.make_env("CartPole-v1")
    agent = ppo.make(env, p, TINY)
    exc = TypeError if name == "log" else ValueError
    with raises_clearly(exc, name):
        purerl.train(agent, jax.random.key(0), **kwargs)
    with raises_clearly(exc, name):
        purerl.train_many(agent, jax.random.split(jax.random.key(0), 2), **kwargs)


def test_train_many_chunk_arguments(raises_clearly):
    import jax

    import purerl

    env, p = purerl.make_env("CartPole-v1")
    agent = ppo.make(env, p, TINY)
    keys = jax.random.split(jax.random.key(0), 2)
    for name in ("update_offset", "run_updates"):
        with raises_clearly(ValueError, name):
            purerl.train_many(agent, keys, num_updates=2, **{name: -1})


def test_cli_errors_are_one_line_and_exit_nonzero(tmp_path, capsys):
    (tmp_path / "summary.json").write_text("{}")
    for argv in (["--num-seeds", "0"], ["--out", str(tmp_path)], ["--resume", str(tmp_path)]):
        with pytest.raises(SystemExit) as e:
            experiment.cli(ppo, argv=argv)
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), err
