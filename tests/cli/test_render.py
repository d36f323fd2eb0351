"""`purerl.cli.render`: a run folder's greedy episode as a GIF with one frame per step."""

import sys

import numpy as np
import pytest
from PIL import Image

from purerl.algos import ppo
from purerl.cli import experiment, render


def _load_script(name):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[2] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look it up)
    spec.loader.exec_module(module)
    return module


def test_gif_has_the_episodes_frame_count(tmp_path):
    argv = ["--total-timesteps", "64", "--num-envs", "4", "--num-steps", "8", "--num-epochs", "1"]
    argv += ["--num-minibatches", "2", "--hidden-sizes", "8", "--num-seeds", "2"]
    res = experiment.cli(ppo, [*argv, "--out", str(tmp_path / "run"), "--render"])
    assert res.files["episode"] == str(tmp_path / "run" / "episode.gif")  # seed 0, at the end
    script = _load_script("render")  # scripts/render.py RUN_DIR --seed-index 1
    ep = script.main([res.out_dir, "--seed-index", "1"])
    assert ep.path == str(tmp_path / "run" / "episode.gif") and ep.ended
    with Image.open(ep.path) as im:
        frames = im.n_frames
        assert im.size == render.SIZE
    # CartPole pays 1 per step: the return is the episode's length, and so the frame count
    assert frames == ep.num_frames == int(ep.episode_return)
    assert 1 < frames < 500


def test_draws_every_kind_of_env():
    import types

    cart = types.SimpleNamespace(x=0.1, theta=0.2)
    pend = types.SimpleNamespace(theta=1.0)
    acro = types.SimpleNamespace(joint_angle1=0.3, joint_angle2=0.5)
    car = types.SimpleNamespace(position=-0.5)
    other = types.SimpleNamespace()
    pics = [render.draw(s, np.zeros(4), "t") for s in (cart, pend, acro, car, other)]
    pics.append(render.draw(other, np.eye(10)[:, :, None].repeat(3, -1), "t"))  # image obs
    arrays = [np.asarray(p) for p in pics]
    assert all(a.shape == (render.SIZE[1], render.SIZE[0], 3) for a in arrays)
    for i in range(len(arrays)):  # each env gets its own picture
        for j in range(i):
            assert not np.array_equal(arrays[i], arrays[j])


def test_bad_run_folder_is_one_clear_line(tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint.ckpt"):
        _load_script("render").main([str(tmp_path)])
