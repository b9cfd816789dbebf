"""A worker is built from settings by ``bootstrap`` and does its work with no Flask at all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: A worker as an operator could write one: settings, services, the pickup scan a webhook
#: stored applied (the RMA's refund is released into the outbox), then the outbox drained.
WORKER = """
import json
import sys
from datetime import UTC, datetime

from sqlalchemy import select

from bench.harness import RETURN_ADDRESS, SECRET, authorised_returns, event_body, signed_headers
from bench.harness import stock_parts
from bootstrap import build_services, load_settings, schema
from carriers.events import WebhookRequest
from core.outbox import OutboxMessage

url, instance = sys.argv[1], sys.argv[2]
schema.upgrade(url)
settings = load_settings(
    {
        "DATABASE_URL": url,
        "SECRET_KEY": "worker-test",
        "TESTING": True,
        "CARRIER_EVENTS_APPLY": "worker",
        "CARRIERS_SANDBOX": True,
        "SANDBOX_WEBHOOK_SECRET": SECRET,
        "RETURNS_ADDRESS": RETURN_ADDRESS,
        "REFUNDS_API_BASE": "http://127.0.0.1:9",  # the discard port: nothing answers
        "REFUNDS_API_KEY": "sk_test_worker",
    },
    instance=instance,
)
services = build_services(settings)
stock_parts(services, {"WORKER-FAN": 0})
[(number, tracking)] = authorised_returns(services, 1, prefix="SBXWORKER", sku="WORKER-FAN")
body = event_body(tracking, "picked_up", datetime.now(UTC))
services.carriers.receive_webhook(
    "sandbox",
    WebhookRequest(body=body, headers=signed_headers(body), content_type="application/json"),
)
applied = services.carriers.apply_pending()
drained = services.outbox.drain()
with services.session_factory() as session:
    refunds = session.execute(
        select(OutboxMessage.key, OutboxMessage.attempts).where(
            OutboxMessage.topic == "refund.create"
        )
    ).all()
services.close()
print(json.dumps({
    "applied": applied,
    "drained": drained,
    "refunds": [[key, attempts] for key, attempts in refunds],
    "rma": number,
    "flask_imported": "flask" in sys.modules,
}))
"""


def test_a_worker_built_from_settings_applies_carrier_events_and_drains_the_outbox_without_flask(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, f"sqlite:///{tmp_path / 'worker.db'}", str(tmp_path)],
        capture_output=True, text=True, timeout=180, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    worker = json.loads(done.stdout.strip().splitlines()[-1])
    assert worker["applied"] == 1  # the stored pickup scan
    # The pickup released the refund; the drain tried it once (the provider is not there).
    assert worker["drained"] == 1
    assert worker["refunds"] == [[f"refund:{worker['rma']}", 1]]
    assert worker["flask_imported"] is False
