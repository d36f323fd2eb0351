import sys
from pathlib import Path

# the `benchmarks` package sits at the repository root, beside `purerl` (not installed)
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
