"""Demo databases for the tests that run spareflow as a process: built once, copied per site.

A site's database takes ``spareflow db upgrade``, ``spareflow demo-data`` and one ``spareflow
tokens create`` per API token: each a new process that imports the whole app, ten seconds of CPU
or more in all. The browser and end-to-end modules all start from the same few, so each kind is
built once per test process (each xdist worker) and every site gets a copy of its folder (the
SQLite file and the instance folder): the same database as building it afresh, for a file copy.

The demo data is dated from the day it is built, as it was before; a test run is one day.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from tests.support.processes import spareflow, spareflow_env
from tests.support.run_end import at_run_end

TOKENS_FILE = "api-tokens.json"

_built: dict[tuple[int, tuple[str, ...]], Path] = {}


def copy_demo_site(
    folder: Path, *, parts: int, token_users: tuple[str, ...] = ()
) -> dict[str, str]:
    """Fill ``folder`` (as ``spareflow_env(folder)`` uses it) with a migrated database holding
    the demo data with ``parts`` parts; an API token for each of ``token_users`` (e-mail
    addresses of demo users), by address."""
    key = (parts, token_users)
    source = _built.get(key)
    if source is None:
        source = Path(tempfile.mkdtemp(prefix=f"spareflow-demo-{parts}-"))
        at_run_end(shutil.rmtree, source, True)
        _build(source, parts, token_users)
        _built[key] = source
    shutil.copytree(source, folder, dirs_exist_ok=True)
    tokens: dict[str, str] = json.loads((folder / TOKENS_FILE).read_text())
    return tokens


def _build(folder: Path, parts: int, token_users: tuple[str, ...]) -> None:
    env = spareflow_env(folder)
    spareflow(env, "db", "upgrade")
    spareflow(env, "demo-data", "--parts", str(parts))
    tokens = {email: spareflow(env, "tokens", "create", email).strip() for email in token_users}
    (folder / TOKENS_FILE).write_text(json.dumps(tokens))
