"""benchmarks.tables: hand-written rows -> the exact markdown rows, ratios computed right."""

from benchmarks import tables


def _row(algo, lib, seeds, steps_per_s, **extra):
    row = {
        "algo": algo,
        "lib": lib,
        "seeds": seeds,
        "compile_s": 4.46,
        "train_s": 0.5,
        "env_steps_per_s": steps_per_s,
        "final_return": 500.0,
        "final_return_std": 12.34,
    }
    row.update(extra)
    return row


def test_add_derived_speed_ratios_and_seed_scaling():
    rows = [
        _row("ppo", "purerl", 1, 120_000.0),
        _row("ppo", "rejax", 1, 40_000.0),
        _row("ppo", "purerl", 8, 150_000.0),
        _row("ppo", "rejax", 8, 30_000.0),
        {"algo": "dqn", "lib": "purerl", "seeds": 1, "error": "boom"},
    ]
    scaling = tables.add_derived(rows)
    assert "speed_ratio_purerl_over_this" not in rows[0]
    assert rows[1]["speed_ratio_purerl_over_this"] == 3.0
    assert rows[3]["speed_ratio_purerl_over_this"] == 5.0
    assert scaling == [
        {"algo": "ppo", "lib": "purerl", "seeds": 8, "ratio": 1.25},
        {"algo": "ppo", "lib": "rejax", "seeds": 8, "ratio": 0.75},
    ]


def test_markdown_renders_exact_rows():
    rows = [
        _row(
            "ppo",
            "purerl",
            1,
            123_945.4,
            threshold=475.0,
            threshold_source="training episode_return",
            steps_to_threshold=23_500,
            threshold_fraction=0.235,
            threshold_wall_s_est=0.1175,
        ),
        _row(
            "ppo",
            "rejax",
            1,
            37_653.0,
            threshold=475.0,
            threshold_source="evaluation",
            steps_to_threshold=None,
        ),
        _row("ppo", "purerl", 8, 144_068.0),
        _row("ppo", "rejax (1 eval)", 8, 72_034.0),
        {"algo": "dqn", "lib": "rejax", "seeds": 1, "error": "Traceback\nValueError: bad"},
    ]
    table = tables.markdown(rows, tables.add_derived(rows))
    assert table.splitlines() == [
        "| algo | lib | seeds | compile s | train s | env steps/s "
        "| speed ratio purerl/rejax | final return |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        "| ppo | purerl | 1 | 4.5 | 0.50 | 123,945 | — | 500.0 |",
        "| ppo | rejax | 1 | 4.5 | 0.50 | 37,653 | 3.29 | 500.0 |",
        "| ppo | purerl | 8 | 4.5 | 0.50 | 144,068 | — | 500.0 ± 12.3 |",
        "| ppo | rejax (1 eval) | 8 | 4.5 | 0.50 | 72,034 | 2.00 | 500.0 ± 12.3 |",
        "| dqn | rejax | 1 | failed: ValueError: bad |||||",
        "",
        "| algo | lib | seeds | return threshold | env steps to it | fraction of run "
        "| est. wall s to it | measured on |",
        "|---|---|---:|---:|---:|---:|---:|---|",
        "| ppo | purerl | 1 | 475 | 23,500 | 0.23 | 0.1 | training episode_return |",
        "| ppo | rejax | 1 | 475 | — | — | — | evaluation |",
        "",
        "| algo | lib | seeds | seed-vmap scaling: env steps/s over 1 seed's |",
        "|---|---|---:|---:|",
        "| ppo | purerl | 8 | 1.16 |",
    ]


def test_scaling_markdown_renders_exact_rows():
    rows = [
        _row("ppo", "purerl", 1, 182_272.0, memory={"peak_rss_mb": 835.2}),
        _row(
            "ppo",
            "purerl (2 CPU devices)",
            64,
            513_432.0,
            scaling_over_1_seed=2.8168,
            memory={"peak_rss_mb": 1016.0, "device_peak_mb": 12.6},
        ),
        {"algo": "ppo", "lib": "rejax (1 eval)", "seeds": 256, "error": "timed out"},
    ]
    assert tables.scaling_markdown(rows).splitlines()[2:] == [
        "| purerl | 1 | 182,272 | — | 0.50 | 4.5 | 835 | — |",
        "| purerl (2 CPU devices) | 64 | 513,432 | 2.82 | 0.50 | 4.5 | 1,016 | 13 |",
        "| rejax (1 eval) | 256 | failed ||||||",
    ]


def test_recorded_results_render():
    """The committed results*.json still render (the JSON format is unchanged)."""
    import json
    from pathlib import Path

    root = Path(tables.__file__).resolve().parents[1] / "benchmarks"
    for path in sorted(root.glob("results*.json")):
        rows = json.loads(path.read_text())["results"]
        table = tables.markdown(rows, tables.add_derived(rows))
        assert table.count("\n") >= len(rows) + 3, path
    rows = json.loads((root / "scaling.json").read_text())["results"]
    assert len(tables.scaling_markdown(rows).splitlines()) == len(rows) + 2
