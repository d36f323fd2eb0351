"""The whole RLHF pipeline at a small size, through `scripts/rlhf.py`: every stage runs,
the outputs are written, and the claims that hold at this size hold (thresholds)."""

import importlib.util
import json
import math
import pathlib
import sys

import pytest

import purerl

SCRIPT = pathlib.Path(__file__).parents[2] / "scripts" / "rlhf.py"

SMALL = [
    "--vocab-size", "12", "--response-len", "8", "--d-model", "16", "--num-layers", "1",
    "--num-heads", "2", "--sft-updates", "300", "--num-pairs", "2048", "--num-test-pairs",
    "512", "--rm-epochs", "2", "--ppo-updates", "30", "--ppo-batch", "32", "--ppo-lr", "1e-3",
    "--reinforce-updates", "30", "--dpo-epochs", "1", "--bon-ns", "1", "4", "--eval-prompts",
    "512", "--kl-coefs", "0.05", "0.5", "--dpo-betas", "0.1", "1.0", "--num-shuffles", "2",
    "--quiet",
]  # fmt: skip


# One xdist worker runs this file, so the module fixture builds the pipeline once per run.
pytestmark = [pytest.mark.learning, pytest.mark.xdist_group("rlhf_pipeline")]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("rlhf_script", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = script  # dataclasses look their module up while it executes
    spec.loader.exec_module(script)
    out = tmp_path_factory.mktemp("rlhf")
    return script.main([*SMALL, "--out", str(out)]), out


def test_outputs_written(run):
    results, out = run
    assert (out / "frontier.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "training.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((out / "results.json").read_text())
    assert set(results["files"]) == {
        "results",
        "table",
        "curves",
        "frontier",
        "training",
        "checkpoint",
    }
    meta = purerl.core.checkpoint.load_metadata(out / "checkpoint.ckpt")
    assert meta["config"]["d_model"] == 16
    assert saved["checks"] == results["checks"]
    table = (out / "table.md").read_text()
    assert "| check | passed |" in table and "| ppo | oracle | 0.05 |" in table
    header = (out / "curves.csv").read_text().splitlines()[0]
    assert header.startswith("method,trained_on,coef,update,gold,proxy,kl/k1,kl/exact")
    methods = {r["method"] for r in results["rows"]}
    assert methods == {
        "sft",
        "ppo",
        "ppo (huge KL)",
        "ppo (shuffled RM)",
        "ppo (adaptive KL)",
        "reinforce",
        "dpo",
        "best-of-n",
    }
    for r in results["rows"]:
        for k in ("gold", "gold_se", "proxy", "kl_k1", "kl_exact", "length"):
            assert math.isfinite(r[k]), (r["method"], k)


def test_sft_and_reward_model_reach_their_targets(run):
    results, _ = run
    sft = results["sft"]
    assert -0.02 <= sft["gap"] <= 0.1, sft  # NLL cannot beat the entropy rate (but for noise)
    m = results["reward_model"]
    assert 0.75 <= m["accuracy"] <= m["bayes_ceiling"] + 0.03, m
    assert m["accuracy_noiseless"] >= 0.75, m
    assert all(a < 0.7 for a in results["shuffled"]["rm_accuracy"])


def test_fine_tuning_raises_gold_and_kl_is_controlled(run):
    results, _ = run
    rows = results["rows"]
    pick = lambda method, on=None: [
        r for r in rows if r["method"] == method and (on is None or r["trained_on"] == on)
    ]
    ppo_rm, ppo_oracle = pick("ppo", "rm"), pick("ppo", "oracle")
    for r in ppo_rm + ppo_oracle + pick("reinforce") + pick("ppo (adaptive KL)"):
        assert r["gold_gain"] > 0.1 and r["gain_z"] > 4, r
    for a, b in zip(ppo_rm, ppo_oracle, strict=True):
        assert a["gold_gain"] >= 0.5 * b["gold_gain"], (a, b)
    assert ppo_rm[0]["kl_exact"] > ppo_rm[1]["kl_exact"]  # KL falls as the coefficient rises
    huge = pick("ppo (huge KL)")[0]
    assert huge["kl_exact"] < 0.05 and abs(huge["gain_z"]) < 2, huge
    bon = pick("best-of-n")
    assert bon[1]["gold"] > bon[0]["gold"] and bon[1]["kl_exact"] == pytest.approx(
        math.log(4) - 0.75
    )
    for r in pick("dpo"):
        assert r["gold_gain"] > 0 and r["kl_exact"] > 0, r
    assert results["checks"]["kl_falls_as_coef_rises"]
