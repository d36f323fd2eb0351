"""Execute the notebooks and write their rendered copies (outputs and figures) to
docs/notebooks/, so that a reader sees them; the notebooks stay committed without outputs.

    python scripts/render_notebooks.py [NAME ...]     # default: every notebooks/*.ipynb

`tests/test_notebooks.py` fails when a rendering is out of date with its notebook.
"""

from __future__ import annotations

import os
import pathlib
import sys

import nbformat
from nbclient import NotebookClient

from purerl.cli import notebook_docs

ROOT = pathlib.Path(__file__).resolve().parents[1]
INLINE = "module://matplotlib_inline.backend_inline"  # figures as image/png outputs


def execute(path: pathlib.Path):
    os.environ["MPLBACKEND"] = INLINE
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return nb


def main(names=None):
    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if names:
        paths = [p for p in paths if p.stem in names]
    for p in paths:
        print(f"executing {p.name} ...", flush=True)
        out = notebook_docs.write(execute(p), p.stem, str(ROOT / "docs" / "notebooks"))
        print(f"  -> {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
