"""Imports run one way: web -> returns -> purchasing -> inventory -> core, never back up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What each domain package must never import (at any depth, lazily inside functions too).
FORBIDDEN = {
    "inventory": ("purchasing", "returns", "carriers", "web", "flask", "marshmallow"),
    "purchasing": ("returns", "carriers", "web", "flask", "marshmallow"),
}


def imported_modules(package: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
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
