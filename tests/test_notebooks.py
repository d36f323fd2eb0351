"""The notebooks run top to bottom (public API only), and their rendered copies under
docs/notebooks/ (what a reader sees: outputs and figures) are up to date with them."""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

from purerl.cli import notebook_docs

ROOT = pathlib.Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# what a notebook prints once it has run through to its results (default: the quickstart's)
EXPECTED = {"rlhf.ipynb": "gold reward of the SFT policy"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    # inline figures (image/png outputs, as the rendering under docs/ has them); no display
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    text = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert EXPECTED.get(path.name, "evaluation return per seed") in text
    problems = notebook_docs.check(nb, path.stem, str(ROOT / "docs" / "notebooks"))
    assert not problems, "\n".join(problems)
