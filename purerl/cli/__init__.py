"""The command-line layer: what scripts and tests need around the library, kept out of it.

* `experiment`: the training scripts' shared run (vmapped seeds in one compiled program run
  in equal chunks, with progress, periodic checkpoints, evaluation and loggers; metrics CSV,
  learning-curve PNG, checkpoint, summary; `resume`) and `train_chunks`, its reusable core.
* `flags`: the scripts' shared tyro command line (help text on every flag, one-line errors).
* `runs`: run folders (config.json, versions.json, checkpoints; never overwritten).
* `loggers`: CSV, TensorBoard and wandb loggers for the `log` hook of `train` / `train_many`.
* `curves`: metrics CSV and learning-curve plot (completed episodes only, 95% bootstrap CI).
* `planning`: the planning scripts' true-model evaluation and agent training.
* `expert_cache`: imitation experts trained once and cached as checkpoints, shared between
  processes (pytest-xdist workers) with a lock-file protocol.

It sits above every family (`algos`, `imitation`, `rlhf`, `planning`) and may use tyro,
matplotlib, files and printing; nothing in the library imports it, and `import purerl` does
not load it (import these modules by name).
"""
