"""Rendered copies of the notebooks (`docs/notebooks/<name>.md` with their figures as PNGs),
so that a reader sees the outputs while the notebooks stay committed without them.

    python scripts/render_notebooks.py            # executes every notebook, rewrites docs/

`tests/test_notebooks.py` executes each notebook and checks with `check` that the committed
rendering is up to date: the same markdown and code cells in the same order, and an output
(text or figure) wherever the fresh execution has one; numbers are not compared (they vary
with the machine).
"""

from __future__ import annotations

import base64
import os
import re

_FENCE = "````"  # four backticks: a cell may itself contain ``` fences


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join(output.get("traceback", []))
    data = output.get("data", {})
    return data.get("text/plain", "") if "image/png" not in data else ""


def render(nb, name: str) -> tuple[str, dict[str, bytes]]:
    """`(markdown, {relative figure path: png bytes})` of an executed notebook `nb`."""
    parts = [
        f"<!-- rendered from notebooks/{name}.ipynb by scripts/render_notebooks.py; "
        "do not edit -->\n"
    ]
    figures: dict[str, bytes] = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            parts.append(cell.source.strip() + "\n")
        elif cell.cell_type == "code":
            parts.append(f"{_FENCE}python\n{cell.source.rstrip()}\n{_FENCE}\n")
            for j, out in enumerate(cell.get("outputs", [])):
                png = out.get("data", {}).get("image/png")
                if png:
                    rel = f"{name}_files/cell{i}_output{j}.png"
                    figures[rel] = base64.b64decode(png)
                    parts.append(f"![cell {i} output {j}]({rel})\n")
                text = _text(out).rstrip()
                if text:
                    parts.append(f"{_FENCE}text\n{text}\n{_FENCE}\n")
    return "\n".join(parts), figures


def write(nb, name: str, docs_dir: str) -> str:
    """Write the rendering of executed `nb` (and its figures) under `docs_dir`."""
    text, figures = render(nb, name)
    fig_dir = os.path.join(docs_dir, f"{name}_files")
    if os.path.isdir(fig_dir):
        for f in os.listdir(fig_dir):
            os.unlink(os.path.join(fig_dir, f))
    for rel, data in figures.items():
        os.makedirs(os.path.dirname(os.path.join(docs_dir, rel)), exist_ok=True)
        with open(os.path.join(docs_dir, rel), "wb") as f:
            f.write(data)
    path = os.path.join(docs_dir, f"{name}.md")
    with open(path, "w") as f:
        f.write(text)
    return path


_BLOCK = re.compile(r"^````(python|text)\n(.*?)\n````$", re.S | re.M)
_FIG = re.compile(r"^!\[[^\]]*\]\(([^)]+)\)$", re.M)


def _outline(text: str) -> list[tuple[str, str]]:
    """The sequence of (kind, content) of a rendering: code cells with their source,
    outputs as ("text", "") / ("figure", "") without their content (consecutive text
    outputs count once: how a kernel splits a cell's stdout varies between runs)."""
    items = []
    for m in re.finditer(f"{_BLOCK.pattern}|{_FIG.pattern}", text, re.S | re.M):
        if m.group(1) == "python":
            items.append(("code", m.group(2)))
        elif m.group(1) == "text":
            if not items or items[-1] != ("text", ""):  # stdout may arrive in several chunks
                items.append(("text", ""))
        else:
            items.append(("figure", ""))
    return items


def check(nb, name: str, docs_dir: str) -> list[str]:
    """Problems of the committed rendering `docs_dir/<name>.md` against the executed `nb`
    (empty when up to date): missing file, changed cells, missing outputs or figures."""
    path = os.path.join(docs_dir, f"{name}.md")
    if not os.path.exists(path):
        return [f"{path} is missing: run python scripts/render_notebooks.py"]
    with open(path) as f:
        committed = f.read()
    fresh, _ = render(nb, name)
    problems = []
    md_fresh = [c.source.strip() for c in nb.cells if c.cell_type == "markdown"]
    for m in md_fresh:
        if m not in committed:
            problems.append(f"{path}: a markdown cell changed: {m[:60]!r}...")
    if _outline(committed) != _outline(fresh):
        problems.append(
            f"{path}: its code cells or outputs differ from the notebook's (code, text output "
            "and figure sequence); run python scripts/render_notebooks.py"
        )
    for rel in _FIG.findall(committed):
        if not os.path.exists(os.path.join(docs_dir, rel)):
            problems.append(f"{path}: figure {rel} is missing")
    return problems
