"""The demo (issue #21): quiet logs unless --verbose, the sign-ins printed last, the pickup a
configurable while after the label, and the Demo mail page reading the SMTP sink's Maildir."""

from __future__ import annotations

import mailbox
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from accounts.models import Role
from demo.data import DEMO_USERS
from demo.sandboxes.carrier import create_sandbox_carrier
from demo.stack import demo_environment, ready_lines
from tests.web.test_pages import PASSWORD, sign_in
from web.cli import main

LONG_LINK = (
    "http://127.0.0.1:5000/status/"
    "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789?lang=zh_Hans"
)


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    folder = tmp_path / "demo-mail"
    box = mailbox.Maildir(str(folder), create=True)
    message = EmailMessage()
    message["From"] = "returns@shop.example"
    message["To"] = "mia@example.com"
    message["Subject"] = "您的退货 RMA-000001 已批准"
    message["Date"] = "Sat, 05 Dec 2026 12:00:00 +0000"
    # Quoted-printable, as the product sends: the long link is split by soft line breaks.
    message.set_content(
        f"你好 Mia,\n\nFollow your return: {LONG_LINK}\n\n= and 100% done.\n",
        cte="quoted-printable",
    )
    assert "=\n" in message.as_string()  # the link really is broken up in the file
    box.add(message)
    return folder


@pytest.fixture
def app_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if "outside_the_demo" in request.node.name:
        return {}
    return {"DEMO_MAIL_DIR": str(tmp_path / "demo-mail")}


def _signed_in(app: Any) -> Any:
    app.extensions["spareflow"].auth.create_user("desk@demo.example", Role.SERVICE_DESK, PASSWORD)
    client = app.test_client()
    assert sign_in(client, "desk@demo.example", PASSWORD).status_code == 302
    return client


def test_the_demo_mail_page_shows_each_message_decoded_with_working_links(
    app: Any, maildir: Path
) -> None:
    assert app.test_client().get("/demo/mail").status_code in (302, 401)  # staff only
    html = _signed_in(app).get("/demo/mail").get_data(as_text=True)
    assert "您的退货 RMA-000001 已批准" in html and "mia@example.com" in html
    assert "你好 Mia" in html and "= and 100% done." in html  # quoted-printable undone
    assert f'<a href="{LONG_LINK}" rel="noopener">{LONG_LINK}</a>' in html  # whole, clickable
    assert "=3D" not in html and "=E4" not in html


def test_outside_the_demo_there_is_no_demo_mail_page(app: Any) -> None:
    assert _signed_in(app).get("/demo/mail").status_code == 404


def test_the_demo_is_quiet_unless_verbose_and_prints_the_sign_ins_last() -> None:
    assert demo_environment("127.0.0.1", 5000)["SPAREFLOW_LOG_LEVEL"] == "WARNING"
    verbose = demo_environment("127.0.0.1", 5000, verbose=True)
    assert verbose.get("SPAREFLOW_LOG_LEVEL") != "WARNING"
    assert verbose["SPAREFLOW_DEMO_MAIL_DIR"].endswith("instance/demo-mail")
    lines = ready_lines("127.0.0.1", 5000, pickup_after=300, verbose=False)
    assert "picked up 5 minutes later" in lines[0]
    assert any("/demo/mail" in line for line in lines)
    assert lines[-len(DEMO_USERS) - 1] == "Sign in as:"
    for line, (email, _role, password) in zip(lines[-len(DEMO_USERS) :], DEMO_USERS, strict=True):
        assert email in line and password in line
    help_text = CliRunner().invoke(main, ["demo", "--help"]).output
    assert "--verbose" in help_text and "--pickup-after" in help_text


def test_the_sandbox_carrier_picks_a_labelled_parcel_up_only_after_the_delay() -> None:
    import threading

    from waitress.server import create_server

    received: list[float] = []

    def hook(environ: Any, start_response: Any) -> list[bytes]:
        received.append(time.monotonic())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    sink = create_server(hook, host="127.0.0.1", port=0)
    threading.Thread(target=sink.run, daemon=True).start()
    carrier = create_sandbox_carrier(
        f"http://127.0.0.1:{sink.effective_port}/",
        "s3cret",
        step_seconds=0,
        auto_journey=True,
        pickup_after=1.5,
    )
    client = carrier.test_client()
    started = time.monotonic()
    answer = client.post(
        "/v1/labels",
        json={"reference": "RMA-1", "from": {}, "to": {}, "parcel": {}, "service": "ground"},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    time.sleep(0.8)
    assert received == []  # not picked up yet
    deadline = time.monotonic() + 10
    while len(received) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(received) == 4 and received[0] - started >= 1.5
    sink.close()
