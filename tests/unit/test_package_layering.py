"""Imports run one way: web -> bootstrap -> returns -> purchasing -> inventory -> core, never
back up; bootstrap imports no Flask; nothing but tests imports tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What each domain package must never import (at any depth, lazily inside functions too).
FORBIDDEN = {
    "accounts": ("inventory", "purchasing", "returns", "carriers", "bootstrap", "web", "flask",
                 "marshmallow"),
    "inventory": ("purchasing", "returns", "carriers", "bootstrap", "web", "flask", "marshmallow"),
    "purchasing": ("returns", "carriers", "bootstrap", "web", "flask", "marshmallow"),
    # Sales orders are read by returns, never the other way round.
    "sales": ("inventory", "purchasing", "returns", "carriers", "bootstrap", "web", "flask",
              "marshmallow"),
    # The knowledge base reads returns and inventory; nothing but bootstrap and web reads it.
    "knowledge": ("purchasing", "carriers", "bootstrap", "web", "flask", "marshmallow"),
    # Wiring for every process: a worker built here runs without Flask.
    "bootstrap": ("web", "flask", "flask_login", "flask_wtf", "flask_babel", "flask_limiter",
                  "flask_smorest", "werkzeug", "marshmallow", "demo", "tests"),
}  # fmt: skip
#: Everything that ships or runs outside the test suite (bench is imported by the tests).
PRODUCT = ("core", "accounts", "inventory", "knowledge", "purchasing", "carriers", "returns", "sales",
           "bootstrap", "web", "demo", "migrations", "bench")  # fmt: skip


def imported_modules(package: str) -> list[tuple[str, str]]:
    return imports_in(sorted((ROOT / package).rglob("*.py")))


def imports_in(paths: list[Path]) -> list[tuple[str, str]]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(path.name, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((path.name, node.module))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_domain_package_imports_nothing_above_it(package: str) -> None:
    modules = imported_modules(package)
    assert any(m.startswith(f"{package}.") for _, m in modules)  # the walk saw real imports
    upward = [
        (file, module) for file, module in modules if module.split(".")[0] in FORBIDDEN[package]
    ]
    assert upward == []


def test_the_migrations_take_the_schema_from_bootstrap_not_from_web() -> None:
    modules = {module for _, module in imports_in([ROOT / "migrations" / "env.py"])}
    assert "bootstrap.schema" in modules
    assert not {m for m in modules if m.split(".")[0] in ("web", "flask")}


@pytest.mark.parametrize("package", PRODUCT)
def test_nothing_outside_the_tests_imports_tests(package: str) -> None:
    modules = imported_modules(package)
    assert modules  # the walk saw real imports
    assert [(file, module) for file, module in modules if module.split(".")[0] == "tests"] == []
