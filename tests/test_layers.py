"""The layer rule of docs/ARCHITECTURE.md, read from the source (nothing is imported).

Imports point down only: `types` <- `envs`, `nets` <- `core` <- `algos` <- `imitation`,
`rlhf`, `planning`, `presets` <- `cli` <- `scripts`. Every `import` statement counts,
including those inside functions, and relative imports are resolved to absolute names.
And no module is over 400 lines.
"""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAX_LINES = 400

# a layer -> the module prefixes it must not import
ABOVE_CORE = (
    "purerl.algos",
    "purerl.imitation",
    "purerl.rlhf",
    "purerl.planning",
    "purerl.presets",
    "purerl.cli",
    "matplotlib",
    "tyro",
)
FORBIDDEN = {
    "purerl.types": ABOVE_CORE,
    "purerl.envs": ABOVE_CORE,
    "purerl.nets": ABOVE_CORE + ("purerl.envs",),  # nets must not depend on env features
    "purerl.core": ABOVE_CORE,
    "purerl.algos": ("purerl.imitation", "purerl.rlhf", "purerl.planning", "purerl.cli"),
}


def module_name(path: pathlib.Path, root: pathlib.Path = ROOT) -> str:
    """`purerl/core/train.py` -> `purerl.core.train`; a package's `__init__.py` -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """Absolute names of everything `source` (the text of `module`) imports, anywhere in it.

    `import a.b` gives `a.b`; `from a import b` gives `a.b` (b may be a module or a name:
    both are reported so that prefixes match either); relative imports are resolved
    against `module` (a package's own `__init__` resolves `.` to itself).
    """
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            out.append(prefix)
            out.extend(f"{prefix}.{alias.name}" for alias in node.names if alias.name != "*")
    return out


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _modules(*folders: str):
    for folder in folders:
        base = ROOT / folder
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)
        elif base.with_suffix(".py").is_file():
            yield base.with_suffix(".py")


def violations(paths, root: pathlib.Path = ROOT) -> list[tuple[str, str]]:
    """Every `(module, imported name)` that breaks the layer rule, sorted. `from a import b`
    reports `a.b` only (not also `a`)."""
    bad = set()
    for path in paths:
        mod = module_name(path, root)
        rules = [p for layer, ps in FORBIDDEN.items() if _matches(mod, layer) for p in ps]
        if not _matches(mod, "purerl.cli"):  # nothing outside the CLI layer imports it
            rules.append("purerl.cli")
        for name in imports(path.read_text(), mod, path.name == "__init__.py"):
            if any(_matches(name, p) for p in rules):
                bad.add((mod, name))
    return sorted(
        (m, n) for m, n in bad if not any(m2 == m and n2.startswith(n + ".") for m2, n2 in bad)
    )


# ------------------------------------------------------------------ the walker itself
SOURCE = """
import os
import purerl.algos.ppo as p
from . import sibling
from .. import types
from ..algos import dqn, sac
from ...outside import thing
from purerl.nets import MLP

def f():
    from purerl.cli import experiment
    import matplotlib.pyplot as plt

class C:
    def g(self):
        from .deep.er import x
"""


def test_imports_resolves_relative_and_nested_imports():
    got = set(imports(SOURCE, "purerl.core.train"))
    want = {
        "os",
        "purerl.algos.ppo",
        "purerl.core",
        "purerl.core.sibling",
        "purerl",
        "purerl.types",
        "purerl.algos",
        "purerl.algos.dqn",
        "purerl.algos.sac",
        "outside",  # level 3 from purerl.core.train climbs above purerl
        "outside.thing",
        "purerl.nets",
        "purerl.nets.MLP",
        "purerl.cli",
        "purerl.cli.experiment",
        "matplotlib.pyplot",
        "purerl.core.deep.er",
        "purerl.core.deep.er.x",
    }
    assert got == want
    # in a package's __init__, `.` is the package itself
    assert set(imports("from . import a\nfrom ..b import c", "purerl.core", True)) == {
        "purerl.core",
        "purerl.core.a",
        "purerl.b",
        "purerl.b.c",
    }


def test_violations_lists_every_offending_import(tmp_path):
    pkg = tmp_path / "purerl"
    for d in ("core", "nets", "algos", "cli", "envs"):
        (pkg / d).mkdir(parents=True)
    (pkg / "core" / "a.py").write_text(SOURCE)
    (pkg / "nets" / "__init__.py").write_text("from ..envs import goal\nimport jax\n")
    (pkg / "envs" / "w.py").write_text("from purerl.nets import MLP\nimport tyro\n")
    (pkg / "algos" / "x.py").write_text("def f():\n    from ..imitation import bc\n")
    (pkg / "algos" / "ok.py").write_text("from purerl.core import train\nfrom . import dqn\n")
    (pkg / "cli" / "y.py").write_text("from . import z\nfrom ..algos import ppo\nimport tyro\n")
    paths = sorted(pkg.rglob("*.py"))
    assert [module_name(p, tmp_path) for p in paths] == [
        "purerl.algos.ok",
        "purerl.algos.x",
        "purerl.cli.y",
        "purerl.core.a",
        "purerl.envs.w",
        "purerl.nets",
    ]
    assert violations(paths, tmp_path) == [
        ("purerl.algos.x", "purerl.imitation.bc"),
        ("purerl.core.a", "matplotlib.pyplot"),
        ("purerl.core.a", "purerl.algos.dqn"),
        ("purerl.core.a", "purerl.algos.ppo"),
        ("purerl.core.a", "purerl.algos.sac"),
        ("purerl.core.a", "purerl.cli.experiment"),
        ("purerl.envs.w", "tyro"),
        ("purerl.nets", "purerl.envs.goal"),
    ]


# ------------------------------------------------------------------ the rules
def test_imports_point_down_only():
    bad = violations(_modules("purerl"))
    assert not bad, "imports against the layer rule (module, import):\n" + "\n".join(
        f"  {m}: {n}" for m, n in bad
    )


def test_no_module_is_over_400_lines():
    lines = {
        str(p.relative_to(ROOT)): len(p.read_text().splitlines())
        for p in _modules("purerl", "benchmarks", "scripts")
    }
    long = {path: n for path, n in lines.items() if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_test_file_names_are_unique():
    """pytest imports test files by basename (no __init__.py under tests/): two files with
    the same name in different folders make the second fail to collect."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
