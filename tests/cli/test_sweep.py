"""`purerl.cli.sweep`: a 3 x 2 sweep over 2 seeds is one compile and its table is ranked."""

import csv
import types

import numpy as np
import pytest

from purerl.algos import ppo
from purerl.cli import experiment, sweep
from purerl.core.validation import is_traced

TINY = ppo.Config(
    total_timesteps=4 * 4 * 8,
    num_envs=4,
    num_steps=8,
    num_epochs=1,
    num_minibatches=2,
    hidden_sizes=(8,),
)
TINY_FLAGS = [
    "--total-timesteps",
    "128",
    "--num-envs",
    "4",
    "--num-steps",
    "8",
    "--num-epochs",
    "1",
]
TINY_FLAGS += ["--num-minibatches", "2", "--hidden-sizes", "8"]
SPECS = ["learning_rate=1e-4,3e-4,1e-3", "gamma=0.99,0.995"]


def test_sweep_is_one_compile_and_ranked(tmp_path, capsys):
    traces = []

    def make(env, params, config):
        traces.append(is_traced(config.learning_rate) and is_traced(config.gamma))
        return ppo.make(env, params, config)

    algo = types.SimpleNamespace(__name__="purerl.algos.ppo", make=make, Config=ppo.Config)
    argv = [*TINY_FLAGS, "--num-seeds", "2", "--out", str(tmp_path / "s")]
    argv += ["--sweep", SPECS[0], "--sweep", SPECS[1]]
    res = experiment.cli(algo, argv)  # the training scripts' command line
    assert traces == [True]  # the factory was traced once: 6 settings x 2 seeds, one program
    assert res.num_compiles == 1
    assert res.curves["episode_return"].shape == (6, 2, 4)
    # settings crossed in order, each row of the table is the setting it names
    assert [(s["learning_rate"], s["gamma"]) for s in res.settings] == [
        (lr, g) for lr in (1e-4, 3e-4, 1e-3) for g in (0.99, 0.995)
    ]
    final = sweep.final_returns(res.curves["episode_return"]).mean(1)
    means = [r["final_return_mean"] for r in res.table]
    assert means == sorted(means, reverse=True)
    for r in res.table:
        assert r["final_return_mean"] == pytest.approx(final[r["setting"]])
    with open(res.files["table"]) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["rank"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [float(r["final_return_mean"]) for r in rows] == pytest.approx(means)
    assert (tmp_path / "s" / "sweep.png").stat().st_size > 0
    assert "| rank | learning_rate | gamma |" in capsys.readouterr().out
    with pytest.raises(ValueError, match="finished sweep"):
        sweep.run_sweep(algo, TINY, SPECS, num_seeds=2, out=str(tmp_path / "s"))


def test_rank_orders_by_final_return():
    settings = [{"learning_rate": 1e-3}, {"learning_rate": 1e-4}, {"learning_rate": 3e-4}]
    returns = np.zeros((3, 2, 10))
    returns[0, :, -1] = [10.0, 20.0]  # last 10% of 10 updates = the last update
    returns[1, :, -1] = [50.0, 30.0]
    returns[2, :, -2] = 1000.0  # not in the final window
    table = sweep.rank(settings, returns)
    assert [r["learning_rate"] for r in table] == [1e-4, 1e-3, 3e-4]
    assert [r["final_return_mean"] for r in table] == [40.0, 15.0, 0.0]
    assert table[0]["final_return_std"] == 10.0


def test_parse_zip_statics_and_bad_input():
    zipped = sweep.parse(["learning_rate=1e-3,1e-4", "num_epochs=1,2"], TINY, "zip")
    assert zipped == [
        {"learning_rate": 1e-3, "num_epochs": 1},
        {"learning_rate": 1e-4, "num_epochs": 2},
    ]
    assert sweep.traced_fields(TINY, zipped) == (["learning_rate"], ["num_epochs"])
    assert len(sweep.parse(SPECS, TINY)) == 6
    for specs, match in [
        (["learnin_rate=1e-3"], "learnin_rate: not a field of Config"),
        (["learning_rate=fast"], "learning_rate: 'fast' is not a float"),
        (["num_epochs=1.5"], "num_epochs: '1.5' is not a int"),
        (["learning_rate"], "expected FIELD=v1,v2"),
        (["learning_rate=-1"], "learning_rate"),  # the Config's own validation
        (["gamma=0.9", "gamma=0.99"], "gamma: given twice"),
    ]:
        with pytest.raises(ValueError, match=match):
            sweep.parse(specs, TINY)
    with pytest.raises(ValueError, match="as many values"):
        sweep.parse(SPECS, TINY, "zip")
