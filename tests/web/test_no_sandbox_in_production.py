"""Outside the demo and tests, the local sandbox carrier does not exist.

The attack: on a production install, a desk token registers the return parcel with the
``sandbox`` carrier (or a forged sandbox webhook arrives, signed with a leaked demo secret)
and a parcel "moves" without any real carrier. Without ``CARRIERS_SANDBOX`` there is no such
carrier to name, and the start-up log says loudly that no real carrier is configured.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from accounts.models import Role
from carriers.adapters.sandbox import SIGNATURE_HEADER, sign
from tests.support.sandbox_webhooks import SECRET, sandbox_payload


@pytest.fixture
def app_config() -> dict[str, Any]:
    # As a production configuration: a sandbox secret left over, but no CARRIERS_SANDBOX.
    return {"CARRIERS_SANDBOX": False}


def test_the_sandbox_carrier_cannot_be_named_or_reached(
    app: Any, client: Any, clock: Any, role_headers: Any
) -> None:
    spareflow = app.extensions["spareflow"]
    assert "sandbox" not in spareflow.carriers.adapters
    assert spareflow.returns.ctx.default_return_carrier == ""
    registered = client.post(
        "/api/v1/shipments",
        headers=role_headers[Role.SERVICE_DESK],
        json={"direction": "inbound", "carrier": "sandbox", "tracking_number": "SBX9"},
    )
    assert (registered.status_code, registered.json["error"]["code"]) == (422, "unknown_carrier")
    body = sandbox_payload("SBX9", "picked_up", clock.now())
    webhook = client.post(
        "/webhooks/carriers/sandbox",
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(SECRET, body, int(clock.now().timestamp()))},
    )
    assert webhook.status_code == 404


def test_a_start_without_any_real_carrier_says_so_loudly(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from web import create_app

    with caplog.at_level(logging.WARNING, logger="bootstrap.services"):
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "k", "LOG_LEVEL": "INFO"})
    app.extensions["spareflow"].engine.dispose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("NO CARRIER IS CONFIGURED" in text for text in warnings), warnings
    assert any("RETURNS_CARRIER is not set" in text for text in warnings), warnings


def test_a_start_with_a_real_carrier_does_not_warn_about_carriers(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from web import create_app

    with caplog.at_level(logging.WARNING, logger="bootstrap.services"):
        app = create_app(
            {
                "DATABASE_URL": database_url,
                "SECRET_KEY": "k",
                "EASYPOST_WEBHOOK_SECRET": "a-real-easypost-secret",
            }
        )
    assert "sandbox" not in app.extensions["spareflow"].carriers.adapters
    app.extensions["spareflow"].engine.dispose()
    assert not any("NO CARRIER" in r.getMessage() for r in caplog.records)


def test_the_demo_turns_the_sandbox_on_and_says_it_is_the_demo(
    database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from demo.stack import demo_environment
    from web import create_app

    for name, value in demo_environment("127.0.0.1", 5000).items():
        if name.startswith("SPAREFLOW_") and name != "SPAREFLOW_INSTANCE_PATH":
            monkeypatch.setenv(name, value)
    with caplog.at_level(logging.WARNING):
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "k"})
    assert "sandbox" in app.extensions["spareflow"].carriers.adapters
    app.extensions["spareflow"].engine.dispose()
    assert app.extensions["spareflow"].returns.ctx.default_return_carrier == "sandbox"
    assert app.extensions["spareflow"].settings.box.derived  # marked as the demo's own key
    messages = [r.getMessage() for r in caplog.records]
    assert any("LOCAL SANDBOX" in text for text in messages)
    assert any("DERIVED FROM SECRET_KEY" in text for text in messages)


def test_the_admin_page_offers_no_sandbox_secret(app: Any) -> None:
    from tests.web.test_pages import PASSWORD, sign_in

    app.extensions["spareflow"].auth.create_user("root@test.example", Role.ADMIN, PASSWORD)
    client = app.test_client()
    sign_in(client, "root@test.example", PASSWORD)
    page = client.get("/admin").get_data(as_text=True)
    assert "EASYPOST_WEBHOOK_SECRET" in page and "SANDBOX_WEBHOOK_SECRET" not in page


def test_a_return_authorised_without_a_tracking_number_gets_no_sandbox_label(
    app: Any, client: Any, role_headers: Any
) -> None:
    from sqlalchemy import select

    from carriers.models import Shipment
    from core.outbox import OutboxMessage, OutboxStatus
    from tests.web.test_api_returns import INTAKE

    spareflow = app.extensions["spareflow"]
    spareflow.inventory.create_location(code="MAIN/A-01-01")
    spareflow.inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    desk = role_headers[Role.SERVICE_DESK]
    number = client.post("/api/v1/returns", headers=desk, json=INTAKE).json["rma_number"]
    authorised = client.post(f"/api/v1/returns/{number}/authorise", headers=desk, json={})
    assert authorised.status_code == 200, authorised.json
    spareflow.outbox.drain()
    with spareflow.session_factory() as session:
        label = session.scalars(
            select(OutboxMessage).where(OutboxMessage.key == f"return-label:{number}")
        ).one()
        assert session.scalars(select(Shipment)).all() == []
    assert label.status is OutboxStatus.FAILED
    assert "SPAREFLOW_RETURNS_CARRIER" in (label.last_error or "")


def test_set_up_commands_stay_quiet_and_working_commands_say_what_is_missing(
    tmp_path: Any,
) -> None:
    """`db upgrade` or `demo-data` run before the demo starts must not shout that production
    providers are missing; a worker that would pay refunds must."""
    import subprocess

    from bench.processes import BIN
    from tests.support.processes import spareflow_env

    env = spareflow_env(tmp_path)

    def stderr_of(*args: str) -> str:
        done = subprocess.run(
            [str(BIN / "spareflow"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert "NO REFUND PROVIDER" not in stderr_of("db", "upgrade")
    drained = stderr_of("outbox", "drain")
    assert "NO REFUND PROVIDER CONFIGURED" in drained
    assert "NO CARRIER IS CONFIGURED" in drained
