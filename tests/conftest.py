import os

# Keep each test process to its own core: pytest-xdist runs one process per core.
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
