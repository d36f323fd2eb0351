"""The training scripts' extra flags, wrapped around a `cli(algo, argv)` function:

- `--sweep FIELD=v1,v2 [--sweep ...] [--sweep-zip]`: a sweep instead of one run
  (`purerl.cli.sweep.cli`: every setting x every seed in one compiled program);
- `--render`: after the run, one greedy episode of seed 0 to `<run>/episode.gif`
  (`purerl.cli.render`).

`purerl.cli.experiment` applies it: `cli = wrap_cli(cli)`.
"""

from __future__ import annotations

import functools
import sys


def wrap_cli(cli):
    @functools.wraps(cli)
    def wrapped(algo, argv=None):
        from purerl.cli import render, sweep

        argv = sys.argv[1:] if argv is None else list(argv)
        if sweep.requested(argv):
            return sweep.cli(algo, argv)
        argv, render_gif = render.pop_flag(argv)
        result = cli(algo, argv)
        if render_gif:
            try:
                result.files["episode"] = render.render_run(result.out_dir).path
            except ValueError as e:
                raise SystemExit(f"error: --render: {e}") from None
            print(f"  {'episode':<10} -> {result.files['episode']}")
        return result

    wrapped.__doc__ = (cli.__doc__ or "") + "\n\n" + (__doc__ or "")
    return wrapped
