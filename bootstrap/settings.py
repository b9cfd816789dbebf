"""Settings without Flask: defaults, then an instance file, then the environment, then the caller.

- ``DATABASE_URL``, ``SECRET_KEY``: the usual names.
- ``SPAREFLOW_<NAME>``: any other setting, e.g. ``SPAREFLOW_LOG_LEVEL=DEBUG``; values are
  parsed as JSON where they can be (``SPAREFLOW_CARRIERS_SANDBOX=true``).
- The instance file: ``$SPAREFLOW_CONFIG`` or ``<instance>/spareflow.cfg`` (Python syntax).

The web app (web/config.py) loads its configuration with the same function, so a worker
started with ``build_services(load_settings())`` sees what the web processes see.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The settings the services read, and their defaults; the web app adds its own (web/config.py).
DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: SQLite in the instance folder
    "SQLALCHEMY_ECHO": False,
    # A read replica (streaming replication) for the metrics and their reports: the API, the
    # metrics page, the dashboard's charts and the xlsx report read there (docs/deployment.md).
    # None: they read DATABASE_URL. Set it as SPAREFLOW_READ_DATABASE_URL.
    "READ_DATABASE_URL": None,
    # PostgreSQL: psycopg prepares a statement once a connection has run it five times. Off
    # for a pooler in transaction mode that cannot track them (PgBouncer before 1.21, or
    # without max_prepared_statements).
    "DATABASE_PREPARED_STATEMENTS": True,
    # Admins must set up two-factor sign-in (TOTP) before they can do anything else.
    "REQUIRE_2FA_FOR_ADMINS": False,
    "LOG_LEVEL": "INFO",
    # "plain" lines or "json" lines (one object per line, for a log collector: core/logs.py).
    "LOG_FORMAT": "plain",
    # One log line per web request (method, path, status, time); off: quiet by default.
    "LOG_REQUESTS": False,
    # The bearer token that reads GET /internal/metrics (none: the endpoint answers 404).
    "METRICS_TOKEN": None,
    # Workers (`scheduler`, `outbox drain --loop`, `carriers apply-events --loop`) serve the
    # same metrics on this port (GET /metrics) when set, on WORKER_METRICS_HOST.
    "WORKER_METRICS_PORT": None,
    "WORKER_METRICS_HOST": "127.0.0.1",
    # Alerts for the desk (returns/ops_alerts.py): refunds or labels waiting, carrier events
    # not applied, longer than these minutes; the scheduler silent for this long.
    "ALERT_STUCK_MINUTES": 30,
    "ALERT_EVENTS_MINUTES": 10,
    "ALERT_SCHEDULER_MINUTES": 10,
    # Where people reach this app: links in e-mails (status pages, the desk's RMA pages).
    "PUBLIC_URL": "http://127.0.0.1:5000",
    # The public status page of a finished RMA stays open this many days after it ends.
    "STATUS_PAGE_GRACE_DAYS": 30,
    # When a carrier webhook's events are applied: "on_receipt" (in the request, right after
    # they are stored) or "worker" (by the scheduler's apply_carrier_events job, in batches:
    # short webhook requests for busy sites that run `spareflow scheduler`).
    "CARRIER_EVENTS_APPLY": "on_receipt",
    # Stored carrier events an applier claims and applies per transaction (one flush, one
    # insert of outbox rows per batch): larger batches cost less per event.
    "CARRIER_EVENTS_BATCH": 100,
    # Fernet keys (comma-separated, newest first) that encrypt secrets stored in the database.
    "ENCRYPTION_KEYS": None,
    # Tests and the demo only: derive that key from SECRET_KEY (logged as such).
    "ENCRYPTION_KEY_FROM_SECRET_KEY": False,
    # The local sandbox carrier is an adapter only when this is on (the demo, tests).
    "CARRIERS_SANDBOX": False,
    # The carrier that sells return labels (none by default: see docs/carriers.md).
    "RETURNS_CARRIER": None,
    # The most a prepaid return label may cost (minor units; 0: no ceiling): above it the
    # desk is asked. The weight of a return parcel in grams (parts carry no weight yet).
    "RETURNS_LABEL_CEILING_MINOR": 0,
    "RETURNS_PARCEL_GRAMS": 1000,
    # The label provider that ships replacements to customers (none: shipped by hand).
    "OUTBOUND_CARRIER": None,
    # Customers' replies come back through Mailgun to <local>+<token>@<domain> of this
    # address (returns/inbound_email.py); None: customer e-mails carry no Reply-To.
    "INBOUND_REPLY_ADDRESS": None,
    # What the warehouse's label printer takes: "pdf" (4x6, any printer) or "zpl" (thermal
    # printers). Outbound labels are bought in it (EasyPost gives both); return labels stay
    # PDF, as customers print them at home.
    "LABEL_FORMAT": "pdf",
    # Logs are deleted after so many days by the prune job (`spareflow prune`).
    "RETENTION_WEBHOOK_DELIVERIES_DAYS": 90,
    "RETENTION_OUTBOX_DONE_DAYS": 30,
}

ENV_PREFIX = "SPAREFLOW_"

log = logging.getLogger(__name__)


def instance_path() -> Path:
    """The instance folder: ``$SPAREFLOW_INSTANCE_PATH``, else where Flask would put the web
    app's (``instance/`` beside a source checkout, ``<prefix>/var/web-instance`` when
    installed). The web app is given this path, so both always agree."""
    explicit = os.environ.get("SPAREFLOW_INSTANCE_PATH")
    if explicit:
        return Path(os.path.abspath(explicit))
    spec = importlib.util.find_spec("web")  # finds the package without importing it (or Flask)
    if spec is None or spec.origin is None:
        return Path.cwd() / "instance"
    package_path = Path(spec.origin).parent.parent
    prefix = Path(os.path.abspath(sys.prefix))
    if package_path.is_relative_to(prefix):
        return prefix / "var" / "web-instance"
    if package_path.name.lower() == "site-packages":
        parent = package_path.parent
        if parent.name.lower() == "lib":
            return parent.parent / "var" / "web-instance"
        if parent.parent.name.lower() == "lib":
            return parent.parent.parent / "var" / "web-instance"
        return parent / "var" / "web-instance"
    return package_path / "instance"


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    instance: str | os.PathLike[str] | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every setting: ``base`` (the web app's own defaults), :data:`DEFAULTS`, the instance
    file, the environment, then ``overrides``; with ``DATABASE_URL`` and ``SECRET_KEY`` always
    set (SQLite and a generated key in the instance folder when not given)."""
    folder = Path(instance) if instance is not None else instance_path()
    settings: dict[str, Any] = {**(base or {}), **DEFAULTS}
    explicit_file = os.environ.get("SPAREFLOW_CONFIG")
    if explicit_file:
        _read_python_file(settings, os.path.abspath(explicit_file), silent=False)
    else:
        _read_python_file(settings, str(folder / "spareflow.cfg"), silent=True)
    for name in ("DATABASE_URL", "SECRET_KEY"):
        if os.environ.get(name):
            settings[name] = os.environ[name]
    _read_prefixed_environment(settings)
    if overrides:
        settings.update(overrides)
    if not settings.get("DATABASE_URL"):
        folder.mkdir(parents=True, exist_ok=True)
        settings["DATABASE_URL"] = f"sqlite:///{folder / 'spareflow.db'}"
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = _instance_secret_key(folder)
    return settings


def _read_python_file(settings: dict[str, Any], filename: str, *, silent: bool) -> None:
    """The upper-case names a Python file sets (as Flask's ``config.from_pyfile``)."""
    namespace: dict[str, Any] = {"__file__": filename}
    try:
        with open(filename, mode="rb") as config_file:
            exec(compile(config_file.read(), filename, "exec"), namespace)  # noqa: S102 (the operator's own file)
    except OSError as error:
        if silent and error.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
            return
        error.strerror = f"Unable to load configuration file ({error.strerror})"
        raise
    settings.update((name, value) for name, value in namespace.items() if name.isupper())


def _read_prefixed_environment(settings: dict[str, Any]) -> None:
    """``SPAREFLOW_<NAME>`` variables, JSON where they parse (as Flask's ``from_prefixed_env``);
    ``__`` in a name sets a key of a nested dictionary."""
    for key in sorted(os.environ):
        if not key.startswith(ENV_PREFIX):
            continue
        value: Any = os.environ[key]
        with contextlib.suppress(ValueError):  # else a plain string
            value = json.loads(value)
        *parents, name = key.removeprefix(ENV_PREFIX).split("__")
        current = settings
        for part in parents:
            current = current.setdefault(part, {})
        current[name] = value


def _instance_secret_key(instance: Path) -> str:
    """A random key kept in the instance folder, so a local install works without set-up.

    Production should set ``SECRET_KEY`` explicitly (one value shared by every web process).
    """
    key_file = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the writer may not have finished yet
            key = key_file.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{key_file} is empty: delete it or set SECRET_KEY") from None
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    log.warning("SECRET_KEY not set: generated one in %s", key_file)
    return key
