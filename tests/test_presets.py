"""`purerl.presets`: per-(algorithm, env) Config overrides with their source, and the
scripts' `--env` picking them up as defaults."""

import pytest

from purerl import presets
from purerl.algos import c51, dqn, ppo, qrdqn
from purerl.cli.flags import env_flag as _env_flag


def test_minatar_presets_build_valid_configs_with_a_source():
    for algo in (ppo, dqn, c51, qrdqn):
        for env_id in presets.MINATAR:
            config = presets.config(algo, env_id)
            assert config.torso == "cnn" and config.total_timesteps == 10_000_000
            assert presets.source(algo, env_id)
    p = presets.config(ppo, "Breakout-MinAtar")  # gymnax-blines' ppo.yaml
    assert (p.num_envs, p.num_steps, p.num_minibatches, p.num_epochs) == (64, 128, 8, 4)
    assert (p.learning_rate, p.gamma, p.hidden_sizes) == (5e-4, 0.999, (256, 256))
    assert presets.config(dqn, "Breakout-MinAtar").loss == "huber"


def test_no_preset_means_the_defaults_and_overrides_win():
    assert presets.config(ppo, "CartPole-v1") == ppo.Config()
    assert presets.source(ppo, "CartPole-v1") is None
    assert presets.config(ppo, "Breakout-MinAtar", num_envs=8).num_envs == 8
    with pytest.raises(TypeError, match="no_such_field"):
        presets.config(ppo, "Breakout-MinAtar", no_such_field=1)


def test_the_scripts_read_env_before_parsing_the_config():
    assert _env_flag(["--env", "Breakout-MinAtar", "--num-seeds", "2"]) == "Breakout-MinAtar"
    assert _env_flag(["--num-seeds", "2", "--env=Asterix-MinAtar"]) == "Asterix-MinAtar"
    assert _env_flag(["--num-seeds", "2"]) == "CartPole-v1"
