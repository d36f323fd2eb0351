"""The command-line layer: what scripts and tests need around the library, kept out of it.

* `experiment`: the training scripts' shared run (vmapped seeds with progress; metrics CSV,
  learning-curve PNG, checkpoint, summary) and their tyro command line.
* `planning`: the planning scripts' true-model evaluation and agent training.
* `expert_cache`: imitation experts trained once and cached as checkpoints, shared between
  processes (pytest-xdist workers) with a lock-file protocol.

It sits above every family (`algos`, `imitation`, `rlhf`, `planning`) and may use tyro,
matplotlib, files and printing; nothing in the library imports it, and `import purerl` does
not load it (import these modules by name).
"""
