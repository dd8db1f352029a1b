"""The layering of docs/architecture.md as a test: no import arrow goes the wrong way.

Every module of ``src/srnskit`` is read with ``ast`` (nothing is imported or run) and every
import of srnskit in it is checked: at module level, inside functions, and under ``if
TYPE_CHECKING:``. A type-only import still says what a module knows about, so it obeys the same
rules, without exception (``analysis`` names what it reads of ``Derived`` by a protocol of its
own, ``analysis.study.DerivedTables``, not by importing the engine's class).
``importlib.import_module("srnskit...")`` with a literal name counts as an import too.

The rules, left to right (docs/architecture.md, "The layering test"):

- leaves (schema, constants, settings, clinical, definitions, studies, protocols, errors,
  rulefile, atomic, cache, writer, examples, and the package root) import no layer; they may
  import other leaves, except ``schema``, which imports nothing of srnskit but ``constants``;
- the layers ``sources`` and ``synth`` → ``cohort`` → ``engine`` → ``analysis`` and ``registry``
  → ``outputs`` → ``web`` → ``cli``: each imports only itself, the layers to its left and the
  leaves (``sources`` and ``synth`` stand side by side and import neither each other, as do
  ``analysis`` and ``registry``);
- ``analysis`` imports neither ``engine`` nor ``cohort``;
- ``outputs`` import of the engine only what the ``srnskit.engine`` package offers (its public
  names), never a module inside it (``srnskit.engine.rules``, ``srnskit.engine.backends``…).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "srnskit"

LEAVES = frozenset(
    {
        "",  # the package root, srnskit/__init__.py (the version)
        "schema",
        "constants",
        "settings",
        "clinical",
        "definitions",
        "studies",
        "protocols",
        "errors",
        "rulefile",
        "atomic",
        "cache",
        "writer",
        "examples",
    }
)
# Position of each layer from left to right; layers of one position stand side by side.
RANK = {
    "sources": 0,
    "synth": 0,
    "cohort": 1,
    "engine": 2,
    "analysis": 3,
    "registry": 3,
    "outputs": 4,
    "web": 5,
    "cli": 6,
}
SCHEMA_MAY_IMPORT = frozenset({"constants"})
ANALYSIS_MAY_NOT_IMPORT = frozenset({"engine", "cohort"})


@dataclass(frozen=True)
class Arrow:
    """One import of srnskit: who imports what, where, and whether it is for types only."""

    file: str
    line: int
    importer: str
    imported: str
    names: tuple[str, ...]
    type_only: bool


@dataclass(frozen=True)
class Violation:
    arrow: Arrow
    rule: str

    def __str__(self) -> str:
        a = self.arrow
        what = a.imported + (f" ({', '.join(a.names)})" if a.names else "")
        what += " under TYPE_CHECKING" if a.type_only else ""
        return f"{a.file}:{a.line}: {a.importer} imports {what}: {self.rule}"


def layer_of(module: str) -> str:
    """The layer of a dotted srnskit module: its first part after ``srnskit`` ('' for the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path, root: Path) -> str:
    relative = path.relative_to(root).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def arrows(source: str, *, module: str, file: str, is_package: bool = False) -> list[Arrow]:
    """Every import of srnskit in ``source`` (the text of ``module``), wherever it stands."""
    tree = ast.parse(source, filename=file)
    found: list[Arrow] = []
    package = module if is_package else module.rpartition(".")[0]

    def add(node: ast.stmt | ast.expr, imported: str, names: tuple[str, ...], typed: bool) -> None:
        if imported == "srnskit" or imported.startswith("srnskit."):
            found.append(Arrow(file, node.lineno, module, imported, names, typed))

    def visit(node: ast.AST, typed: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, typed)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node, alias.name, (), typed)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = tuple(alias.name for alias in node.names)
            # ``from srnskit.engine import rules`` imports the module srnskit.engine.rules, but
            # ``from srnskit.engine import derive`` the function the package offers by that name.
            submodules = [n for n in names if _is_module(f"{base}.{n}") and n not in _offered(base)]
            for name in submodules:
                add(node, f"{base}.{name}", (), typed)
            others = tuple(n for n in names if n not in submodules)
            if others or not submodules:
                add(node, base, others, typed)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            add(node, node.args[0].value, (), typed)
        for child in ast.iter_child_nodes(node):
            visit(child, typed)

    visit(tree, False)
    return found


@functools.cache
def _offered(package: str) -> frozenset[str]:
    """The names a package's ``__init__`` lists in ``__all__`` (none for a plain module)."""
    init = SRC.joinpath(*package.split("."), "__init__.py")
    if not init.is_file():
        return frozenset()
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    return frozenset()


def _is_module(dotted: str) -> bool:
    path = SRC.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violation(arrow: Arrow) -> str | None:
    """The rule ``arrow`` breaks, or None when it goes the right way."""
    source, target = layer_of(arrow.importer), layer_of(arrow.imported)
    if source == target:
        return None
    if source in LEAVES:
        if source == "schema" and target not in SCHEMA_MAY_IMPORT:
            return "schema imports nothing of srnskit but constants"
        if target not in LEAVES:
            return f"a leaf ({source or 'srnskit'}) imports no layer ({target})"
        return None
    if source not in RANK:
        return f"{source} is in no layer: add it to docs/architecture.md and this test"
    if target in LEAVES:
        return None
    if target not in RANK:
        return f"{target} is in no layer: add it to docs/architecture.md and this test"
    if source == "analysis" and target in ANALYSIS_MAY_NOT_IMPORT:
        return f"analysis computes from Derived alone: it imports no {target}"
    if RANK[target] >= RANK[source]:
        return f"{source} imports only layers to its left and leaves, not {target}"
    if (
        source == "outputs"
        and target == "engine"
        and not (
            arrow.imported == "srnskit.engine" and set(arrow.names) <= _offered("srnskit.engine")
        )
    ):
        return "outputs import only the srnskit.engine package's public names, no engine internals"
    return None


def check(source: str, *, module: str, file: str, is_package: bool = False) -> list[Violation]:
    """The violations in one module's text."""
    found = []
    for arrow in arrows(source, module=module, file=file, is_package=is_package):
        rule = violation(arrow)
        if rule is not None:
            found.append(Violation(arrow, rule))
    return found


def _package_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_import_goes_the_wrong_way() -> None:
    found: list[Violation] = []
    for path in _package_modules():
        found += check(
            path.read_text(encoding="utf-8"),
            module=_module_name(path, SRC),
            file=str(path.relative_to(SRC.parent)),
            is_package=path.name == "__init__.py",
        )
    assert not found, "imports against the layering:\n" + "\n".join(map(str, found))


def test_outputs_importing_engine_public_names_is_the_right_way() -> None:
    text = "from srnskit.engine import Derived, derive\n"
    assert check(text, module="srnskit.outputs.explain", file="explain.py") == []


@pytest.mark.parametrize(
    ("module", "text", "rule"),
    [
        (
            "srnskit.outputs.explain",
            "def f():\n    from srnskit.engine.rules.courses import courses\n",
            "no engine internals",
        ),
        ("srnskit.outputs.report.build", "import srnskit.engine.backends\n", "no engine internals"),
        (
            "srnskit.outputs.report.build",
            "from srnskit.engine import _on_duckdb\n",
            "no engine internals",
        ),
        (
            "srnskit.analysis.study",
            "from srnskit.cohort.load import read_cohort\n",
            "it imports no cohort",
        ),
        (
            "srnskit.analysis.study",
            "from srnskit.engine import derive\n",
            "it imports no engine",
        ),
        (
            "srnskit.errors",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from srnskit.cohort.problems import Problem\n",
            "a leaf (errors) imports no layer (cohort)",
        ),
        ("srnskit.schema.tables", "from srnskit.clinical import egfr\n", "schema imports nothing"),
        ("srnskit.engine.derive", "from srnskit.outputs.writers import w\n", "not outputs"),
        ("srnskit.synth.calibration", "from srnskit.cohort import read_cohort\n", "not cohort"),
        ("srnskit.sources.files", "from srnskit import synth\n", "not synth"),
        ("srnskit.cohort.load", "from ..engine import derive\n", "not engine"),
        (
            "srnskit.protocols.adherence",
            "import importlib\nimportlib.import_module('srnskit.engine')\n",
            "a leaf (protocols) imports no layer (engine)",
        ),
    ],
)
def test_a_wrong_import_is_caught_with_its_line_and_rule(module: str, text: str, rule: str) -> None:
    found = check(text, module=module, file="fake.py")
    assert len(found) == 1
    assert rule in found[0].rule
    assert str(found[0]).startswith(f"fake.py:{text.count(chr(10))}: {module} imports srnskit.")


def test_a_type_only_import_obeys_the_same_rules() -> None:
    typed = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from srnskit.engine import Derived\n"
    )
    found = check(typed, module="srnskit.analysis.study", file="s.py")
    assert [(v.arrow.line, v.arrow.type_only) for v in found] == [(3, True)]
    assert "it imports no engine" in found[0].rule


def test_a_relative_import_is_resolved_from_its_package() -> None:
    found = arrows(
        "from . import egfr\nfrom ..cohort import load\n",
        module="srnskit.clinical",
        file="x.py",
        is_package=True,
    )
    assert [a.imported for a in found] == ["srnskit.clinical.egfr", "srnskit.cohort.load"]
