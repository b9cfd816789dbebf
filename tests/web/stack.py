"""A running spareflow for tests: web app, optional scheduler and the refunds sandbox, as processes.

Shared by the end-to-end and browser tests.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.processes import free_port, spareflow_command
from carriers.adapters.sandbox import SIGNATURE_HEADER, sign
from demo.sandboxes.smtp import start_sink
from tests.support.demo_sites import copy_demo_site
from tests.support.processes import running, spareflow_env
from tests.support.sandbox_webhooks import SECRET

REFUNDS_KEY = "sk_test_e2e"
#: The demo users whose API tokens a stack's ``call`` uses, by the name it calls them.
TOKEN_USERS = {
    "desk": "desk@demo.spareflow",
    "warehouse": "warehouse@demo.spareflow",
    "admin": "admin@demo.spareflow",
}


def start_stack(tmp_path: Path, *, with_scheduler: bool) -> Iterator[dict[str, Any]]:
    app_port, refunds_port = free_port(), free_port()
    mail_server, mail = start_sink()  # customer and staff e-mails land here
    env = {
        **spareflow_env(tmp_path),
        "SPAREFLOW_SMTP_HOST": "127.0.0.1",
        "SPAREFLOW_SMTP_PORT": str(mail_server.port),
        "SPAREFLOW_PUBLIC_URL": f"http://127.0.0.1:{app_port}",
        "SPAREFLOW_SANDBOX_WEBHOOK_SECRET": SECRET,
        "SPAREFLOW_CARRIERS_SANDBOX": "true",
        "SPAREFLOW_REFUNDS_API_BASE": f"http://127.0.0.1:{refunds_port}",
        "SPAREFLOW_REFUNDS_API_KEY": REFUNDS_KEY,
        "SPAREFLOW_OUTBOX_LEASE_SECONDS": "2",
    }
    by_user = copy_demo_site(tmp_path, parts=10, token_users=tuple(TOKEN_USERS.values()))
    tokens = {role: by_user[email] for role, email in TOKEN_USERS.items()}
    scheduler = None
    with (
        running(spareflow_command("serve", "--port", str(app_port)), env, app_port) as app_url,
        running(
            spareflow_command("sandbox", "refunds", "--port", str(refunds_port)), env, refunds_port
        ) as refunds_url,
        httpx.Client(timeout=15) as http,
    ):
        if with_scheduler:
            scheduler = subprocess.Popen(
                spareflow_command("scheduler"),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            yield {
                "app": app_url,
                "refunds": refunds_url,
                "env": env,
                "tokens": tokens,
                "http": http,
                "mail": mail,
            }
        finally:
            if scheduler is not None:
                scheduler.terminate()
                scheduler.wait(timeout=15)
            mail_server.stop()


def call(stack: dict[str, Any], role: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack['tokens'][role]}"}
    return stack["http"].request(method, stack["app"] + path, headers=headers, **kwargs)


def carrier_event(stack: dict[str, Any], tracking: str, status: str, at: datetime) -> int:
    body = json.dumps(
        {
            "id": f"evt_{tracking}_{status}",
            "type": "tracking.updated",
            "created": int(at.timestamp()),
            "data": {"tracking_number": tracking, "status": status, "occurred_at": at.isoformat()},
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(SECRET, body, int(time.time())),
    }
    response = stack["http"].post(
        f"{stack['app']}/webhooks/carriers/sandbox", content=body, headers=headers
    )
    return response.status_code


def refunds_at_provider(stack: dict[str, Any]) -> list[dict[str, Any]]:
    response = stack["http"].get(
        f"{stack['refunds']}/v1/refunds", headers={"Authorization": f"Bearer {REFUNDS_KEY}"}
    )
    return response.json()["data"]


def wait_for(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not true within {seconds}s")


def stock_part(stack: dict[str, Any], sku: str, qty: int) -> None:
    assert (
        call(
            stack,
            "admin",
            "POST",
            "/api/v1/parts",
            json={"sku": sku, "name": "Cooling fan 80mm", "unit_cost": "9.50"},
        ).status_code
        == 201
    )
    assert (
        call(
            stack,
            "warehouse",
            "POST",
            "/api/v1/stock/receipts",
            json={"sku": sku, "location": "MAIN/A-01-01", "qty": qty},
        ).status_code
        == 201
    )
