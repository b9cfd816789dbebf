"""The demo data and the sandboxes live in the ``demo`` package, apart from the product.

The attack: a production install (``pip install spareflow``, no ``demo`` extra) starts the app,
its scheduler or a worker, and an import somewhere pulls in the demo package or its SMTP sink
(aiosmtpd, not installed there) and the start fails, or demo code runs in production. Nothing
of the product may import ``demo`` when it is loaded; only the CLI's demo and sandbox commands
import it, when they run, and without it they say how to install it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from web.cli import main

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("core", "inventory", "purchasing", "returns", "carriers", "web", "migrations")
DEMO_MODULES = ("demo", "aiosmtpd")

# Loads every module of the product, starts the app and answers two pages; prints the demo
# modules (and aiosmtpd) that ended up loaded.
PRODUCT_RUN = """
import importlib, json, pkgutil, sys

for package in {packages!r}:
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name == "migrations.env" or ".versions." in info.name:
            continue  # Alembic's scripts run under Alembic, not on import
        importlib.import_module(info.name)

from web import create_app
app = create_app({{"TESTING": True, "SECRET_KEY": "k", "LOG_LEVEL": "ERROR",
                  "DATABASE_URL": "sqlite:///{database}"}})
client = app.test_client()
answers = [client.get("/healthz").status_code, client.get("/sign-in").status_code]
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {demo!r})
print(json.dumps({{"answers": answers, "loaded": loaded}}))
"""


def test_the_product_loads_every_module_and_serves_without_any_demo_code(tmp_path: Path) -> None:
    script = PRODUCT_RUN.format(
        packages=PRODUCT, database=tmp_path / "product.db", demo=DEMO_MODULES
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["answers"] == [200, 200]
    assert report["loaded"] == []


def _demo_imports(tree: ast.AST) -> list[tuple[int, str, list[str]]]:
    """Each import of a demo module: its line, the module and the functions it sits in."""
    found: list[tuple[int, str, list[str]]] = []

    def visit(node: ast.AST, functions: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, [*functions, child.name])
                continue
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module]
            for name in names:
                if name.split(".")[0] in DEMO_MODULES:
                    found.append((child.lineno, name, functions))
            visit(child, functions)

    visit(tree, [])
    return found


def test_only_the_clis_demo_and_sandbox_commands_import_the_demo_package() -> None:
    allowed = {
        "demo_data": {"demo.data"},
        "demo": {"demo.stack"},
        "sandbox_carrier": {"demo.sandboxes.carrier"},
        "sandbox_refunds": {"demo.sandboxes.refunds"},
        "sandbox_smtp": {"demo.sandboxes.smtp"},
    }
    seen: dict[str, set[str]] = {}
    strays: list[str] = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            for line, name, functions in _demo_imports(ast.parse(path.read_text(), where)):
                command = functions[0] if len(functions) == 1 else None
                if where == "web/cli.py" and command and name in allowed.get(command, ()):
                    seen.setdefault(command, set()).add(name)
                else:
                    strays.append(f"{where}:{line} imports {name} in {functions or 'the module'}")
    assert strays == []
    assert seen == allowed  # the check finds the imports it allows: it reads the real file
    assert not (ROOT / "web" / "sandboxes").exists()
    assert sorted(p.name for p in (ROOT / "web").glob("demo*")) == []


@pytest.mark.parametrize(
    ("missing", "command"),
    [
        ("aiosmtpd", ["sandbox", "smtp", "--port", "1"]),
        ("demo", ["sandbox", "smtp", "--port", "1"]),
    ],
)
def test_without_the_demo_package_a_sandbox_command_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, missing: str, command: list[str]
) -> None:
    # As on an install without the demo extra: the module cannot be found.
    for name in [m for m in sys.modules if m.split(".")[0] in ("demo", missing)]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1, result.output
    assert "pip install 'spareflow[demo]', or run make demo" in result.output
    assert f"({missing} is not installed)" in result.output


def test_without_the_demo_package_demo_data_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flask.cli import ScriptInfo

    from web import create_app

    app: Any = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        }
    )
    for name in [m for m in sys.modules if m.split(".")[0] == "demo"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "demo", None)
    try:
        result = app.test_cli_runner().invoke(
            main, ["demo-data"], obj=ScriptInfo(create_app=lambda: app)
        )
    finally:
        app.extensions["spareflow"].engine.dispose()
    assert result.exit_code == 1, result.output
    assert "pip install 'spareflow[demo]', or run make demo" in result.output
