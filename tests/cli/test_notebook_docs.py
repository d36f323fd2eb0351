"""`purerl.cli.notebook_docs`: a rendering round-trips through `check`, and `check` finds
changed code, missing outputs and missing figures (without executing a notebook)."""

import base64
import pathlib

import nbformat

from purerl.cli import notebook_docs

PNG = base64.b64encode(b"\x89PNG fake").decode()


def _nb(code="print(1)", outputs=True):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(code)
    if outputs:
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="1\n"),
            nbformat.v4.new_output("stream", name="stdout", text="2\n"),
            nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "F"}),
        ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), cell]
    return nb


def test_rendering_is_checked(tmp_path):
    notebook_docs.write(_nb(), "demo", str(tmp_path))
    text = (tmp_path / "demo.md").read_text()
    assert "````python\nprint(1)\n````" in text and "![cell 1 output 2]" in text
    assert (tmp_path / "demo_files" / "cell1_output2.png").read_bytes() == b"\x89PNG fake"
    assert notebook_docs.check(_nb(), "demo", str(tmp_path)) == []
    # numbers differ, stdout arrives in one chunk: still up to date
    nb = _nb()
    nb.cells[1].outputs[0:2] = [nbformat.v4.new_output("stream", name="stdout", text="7\n8\n")]
    assert notebook_docs.check(nb, "demo", str(tmp_path)) == []
    assert (
        "code cells or outputs differ"
        in notebook_docs.check(_nb("print(2)"), "demo", str(tmp_path))[0]
    )
    empty = notebook_docs.check(_nb(outputs=False), "demo", str(tmp_path))
    assert "code cells or outputs differ" in empty[0]
    nb = _nb()
    nb.cells[0].source = "# Another title"
    assert "markdown cell changed" in notebook_docs.check(nb, "demo", str(tmp_path))[0]
    (tmp_path / "demo_files" / "cell1_output2.png").unlink()
    assert (
        "figure demo_files/cell1_output2.png is missing"
        in notebook_docs.check(_nb(), "demo", str(tmp_path))[0]
    )
    assert "is missing" in notebook_docs.check(_nb(), "other", str(tmp_path))[0]
    assert pathlib.Path(tmp_path / "demo.md").exists()
