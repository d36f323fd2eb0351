"""purerl's benchmark against rejax, driven by `scripts/benchmark.py`.

- `settings`: environments, budgets, thresholds and purerl's configs per algorithm
- `peers`: the peer library (rejax): its configs and its own virtual env
- `timing`: the measurement helpers both workers share (JAX and NumPy only)
- `workers`: one measurement, run as `python -m benchmarks.workers {purerl,rejax} SPEC`
- `runner`: the driver (one fresh subprocess per measurement, JSON reports)
- `tables`: JSON rows -> the README's markdown tables

Nothing here imports purerl at module level: the rejax worker runs these modules from
rejax's virtual env, which has no purerl.
"""
