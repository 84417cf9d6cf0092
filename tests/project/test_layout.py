"""The folders show the architecture: modules live in packages, each ``__init__.py`` is only a surface."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "enstoolkit"

#: What the package root holds besides its surface: the exception tree (imported by every layer) and the version.
ROOT_MODULES = {"__init__.py", "_version.py", "errors.py"}


def test_the_package_root_holds_only_the_surface_the_errors_and_the_version() -> None:
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == sorted(ROOT_MODULES)


def test_every_init_is_only_a_surface() -> None:
    """A docstring, imports, ``__all__``, constants and a lazy ``__getattr__``: no classes, no other functions."""
    logic = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        for node in ast.parse(init.read_text()).body:
            if isinstance(node, ast.ClassDef) or (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name != "__getattr__"
            ):
                logic.append(f"{init.relative_to(PACKAGE.parent)}: {node.name}")
    assert logic == []


def test_no_module_is_over_700_lines() -> None:
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 700}
    assert long == {}


def test_no_import_renames_one_of_the_toolkits_own_names() -> None:
    renamed = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("enstoolkit")):
                renamed += [f"{path.relative_to(PACKAGE.parent)}: {a.name} as {a.asname}"
                            for a in node.names if a.asname and a.asname != a.name]
    assert renamed == []


def test_modules_use_each_others_public_names_only() -> None:
    private = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("enstoolkit")):
                private += [f"{path.relative_to(PACKAGE.parent)}: {node.module}.{a.name}" for a in node.names
                            if a.name.startswith("_") and not a.name.startswith("__")]
    assert private == []


def test_every_test_folder_mirrors_a_package_or_is_a_scenario_folder() -> None:
    tests = PACKAGE.parent / "tests"
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    folders = {p.name for p in tests.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders - packages == {"scenarios", "e2e", "project"}
    assert not list(tests.glob("test_*.py"))  # every test file is in a folder
