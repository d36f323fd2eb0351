"""The whole RLHF pipeline on a synthetic task: teacher language, SFT, preference pairs,
reward model, then PPO / REINFORCE / DPO / best-of-n across KL coefficients.

    python scripts/rlhf.py --out runs/rlhf
    python scripts/rlhf.py --ppo-updates 200 --kl-coefs 0.01 0.05 0.2 --out runs/rlhf-long

Every `purerl.rlhf.pipeline.Config` field is a flag (`--d-model`, `--sft-updates`,
`--num-pairs`, `--kl-coefs`, `--dpo-betas`, ...), plus `--out` (default
runs/rlhf-<time>). Writes `results.json`, `table.md`, `curves.csv`, `frontier.png` (gold and
proxy reward against sqrt(KL) per method), `training.png` and `checkpoint.ckpt` (SFT policy
and reward model), prints the table and where the files went. The defaults take a few
minutes on a 2-core CPU.
"""

from __future__ import annotations

import dataclasses
import time

from purerl.rlhf import pipeline


@dataclasses.dataclass(frozen=True)
class Args:
    config: pipeline.Config
    out: str | None = None  # output folder (default runs/rlhf-<time>)
    quiet: bool = False


def main(argv=None) -> dict:
    import tyro

    args = tyro.cli(
        Args,
        default=Args(config=pipeline.Config()),
        args=argv,
        config=(tyro.conf.OmitArgPrefixes,),
    )
    out = args.out or time.strftime("runs/rlhf-%Y%m%d-%H%M%S")
    results = pipeline.run(args.config, out=out, quiet=args.quiet)
    print(f"\nwrote {', '.join(results['files'].values())}")
    return results


if __name__ == "__main__":
    main()
