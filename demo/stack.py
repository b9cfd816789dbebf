"""``spareflow demo``: spareflow with everything around it, as processes on this machine.

Starts the web app, the scheduler, the sandbox carrier and the Stripe-compatible refunds
sandbox, wired together on loopback, so the demo RMAs get their labels, are picked up and
are refunded while you watch. Ctrl+C stops them all.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

from demo.data import DEMO_RETURN_ADDRESS, DEMO_USERS

#: Where the demo's SMTP sink keeps what the customers and staff were sent (a Maildir).
DEMO_MAIL_DIR = "instance/demo-mail"


def _spareflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "web.cli", *args]


def _wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def demo_environment(host: str, port: int, *, verbose: bool = False) -> dict[str, str]:
    """The environment of every demo process: the sandboxes wired in, on loopback; quiet logs
    (warnings and errors only) unless ``verbose``."""
    carrier_port, refunds_port, smtp_port = port + 81, port + 82, port + 25
    quiet = {} if verbose else {"SPAREFLOW_LOG_LEVEL": "WARNING"}
    return {
        **os.environ,
        **quiet,
        # The "Demo mail" page (web/pages/demo_mail.py) reads the SMTP sink's Maildir.
        "SPAREFLOW_DEMO_MAIL_DIR": os.path.abspath(DEMO_MAIL_DIR),
        "SPAREFLOW_SANDBOX_WEBHOOK_SECRET": os.environ.get("SPAREFLOW_SANDBOX_WEBHOOK_SECRET")
        or secrets.token_hex(16),
        "SPAREFLOW_SANDBOX_CARRIER_URL": f"http://127.0.0.1:{carrier_port}",
        # The demo, and only the demo, ships parcels with the local sandbox carrier.
        "SPAREFLOW_CARRIERS_SANDBOX": "true",
        # Demo only (logged as such): secrets set on its admin page are encrypted with a key
        # derived from the instance's SECRET_KEY. Production sets SPAREFLOW_ENCRYPTION_KEYS.
        "SPAREFLOW_ENCRYPTION_KEY_FROM_SECRET_KEY": os.environ.get(
            "SPAREFLOW_ENCRYPTION_KEY_FROM_SECRET_KEY", "true"
        ),
        "SPAREFLOW_REFUNDS_API_BASE": f"http://127.0.0.1:{refunds_port}",
        "SPAREFLOW_REFUNDS_API_KEY": "sk_test_demo",
        # The refunds sandbox signs its refund.updated webhooks with this, as Stripe does.
        "SPAREFLOW_STRIPE_WEBHOOK_SECRET": os.environ.get("SPAREFLOW_STRIPE_WEBHOOK_SECRET")
        or "whsec_" + secrets.token_hex(16),
        # Customer and staff e-mails go to a local sink (kept in instance/demo-mail, a Maildir).
        "SPAREFLOW_SMTP_HOST": "127.0.0.1",
        "SPAREFLOW_SMTP_PORT": str(smtp_port),
        "SPAREFLOW_PUBLIC_URL": os.environ.get("SPAREFLOW_PUBLIC_URL")
        or f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}",  # noqa: S104 - a comparison, not a bind
        "SPAREFLOW_RETURNS_ADDRESS": os.environ.get(
            "SPAREFLOW_RETURNS_ADDRESS", json.dumps(DEMO_RETURN_ADDRESS)
        ),
        # Returns up to 200.00 are authorised on the spot, so a return started on the portal
        # gets its prepaid label at once (production decides its own limit; the default is off).
        "SPAREFLOW_RETURNS_AUTO_AUTHORISE_LIMIT_MINOR": os.environ.get(
            "SPAREFLOW_RETURNS_AUTO_AUTHORISE_LIMIT_MINOR", "20000"
        ),
    }


def sign_ins() -> list[str]:
    """The demo users, one line each, for the end of the start-up output."""
    return [
        f"  {role:<13} {email:<28} password: {password}" for email, role, password in DEMO_USERS
    ]


def ready_lines(host: str, port: int, *, pickup_after: float, verbose: bool) -> list[str]:
    """What the demo prints once everything runs; the sign-ins last, so they stay in view."""
    minutes = f"{pickup_after / 60:g} minute{'' if pickup_after == 60 else 's'}"
    url = f"http://{host}:{port}"
    return [
        f"\nReturns authorised in the demo get a sandbox label, are picked up {minutes} later "
        "(spareflow demo --pickup-after SECONDS) and refunded: watch them on the returns desk.",
        f"What the customers were sent: {url}/demo/mail (the Demo mail page).",
        *([] if verbose else ["Logs show warnings and errors only (spareflow demo --verbose)."]),
        f"\nspareflow demo is running at {url}/  (Ctrl+C stops everything)",
        "Sign in as:",
        *sign_ins(),
    ]


def run_demo(
    host: str,
    port: int,
    echo: Callable[[str], None],
    *,
    pickup_after: float = 300.0,
    verbose: bool = False,
) -> None:
    """Start every process; the carrier picks each labelled return up ``pickup_after`` seconds
    after its label, then scans it every 15 s. The sign-ins are printed last."""
    carrier_port, refunds_port, smtp_port = port + 81, port + 82, port + 25
    env = demo_environment(host, port, verbose=verbose)
    webhook_url = f"http://127.0.0.1:{port}/webhooks/carriers/sandbox"
    commands = [
        (
            "SMTP sink",
            _spareflow("sandbox", "smtp", "--port", str(smtp_port), "--maildir", DEMO_MAIL_DIR),
            None,
        ),
        (
            "refunds sandbox",
            _spareflow(
                "sandbox",
                "refunds",
                "--port",
                str(refunds_port),
                "--webhook-url",
                f"http://127.0.0.1:{port}/webhooks/stripe",
            ),
            f"http://127.0.0.1:{refunds_port}/healthz",
        ),
        (
            "sandbox carrier",
            _spareflow(
                "sandbox",
                "carrier",
                "--port",
                str(carrier_port),
                "--webhook-url",
                webhook_url,
                "--auto-journey",
                "--step-seconds",
                "15",
                "--pickup-after",
                str(pickup_after),
            ),
            f"http://127.0.0.1:{carrier_port}/healthz",
        ),
        (
            "web app",
            _spareflow("serve", "--host", host, "--port", str(port)),
            f"http://127.0.0.1:{port}/healthz",
        ),
        ("scheduler", _spareflow("scheduler"), None),
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, command, health in commands:
            # Our own fixed commands (this interpreter, our module), no shell.
            processes.append(subprocess.Popen(command, env=env))  # noqa: S603
            if health:
                _wait_until_up(health)
            echo(f"  started {name}")
        for line in ready_lines(host, port, pickup_after=pickup_after, verbose=verbose):
            echo(line)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        echo("a demo process stopped; shutting the others down")
    except KeyboardInterrupt:
        echo("\nstopping the demo")
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
