"""Customers' e-mail replies come back through Mailgun's inbound route onto the RMA timeline.

The body is Mailgun's documented form (tests/fixtures/mailgun/inbound_reply.json), signed as
Mailgun signs it; the reply address is the one spareflow's own e-mails carry (Reply-To).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from accounts.models import Role
from core.audit import AuditEntry
from returns.inbound_email import ReplyAddresses, signature
from returns.models import InboundEmail, Notification
from returns.rma import Rma
from tests.support import desk as builders
from tests.web.test_pages import PASSWORD, sign_in
from tests.web.test_status_page import (  # noqa: F401 (fixtures)
    STAFF,
    open_return,
    refunds_url,
    shop,
    status_page_config,
)

SIGNING_KEY = "key-mailgun-test-signing-0123456789"
REPLY_ADDRESS = "replies@desk.example.com"
SAMPLE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "mailgun" / "inbound_reply.json").read_text()
)


@pytest.fixture
def app_config(smtp_sink: Any, refunds_url: str) -> dict[str, Any]:  # noqa: F811
    return {
        **status_page_config(smtp_sink, refunds_url),
        "INBOUND_REPLY_ADDRESS": REPLY_ADDRESS,
        "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
    }


def signed(clock: Any, key: str = SIGNING_KEY, **fields: str) -> dict[str, str]:
    """The documented sample with ``fields`` changed, signed at the clock's time."""
    form = {**SAMPLE, **fields}
    form["timestamp"] = fields.get("timestamp", str(int(clock.now().timestamp())))
    form["signature"] = signature(key, form["timestamp"], form["token"])
    return form


def reply_address(app: Any, number: str) -> str:
    return ReplyAddresses(REPLY_ADDRESS, app.config["SECRET_KEY"]).address(number)


def inbound(app: Any) -> list[InboundEmail]:
    with app.extensions["spareflow"].session_factory() as session:
        return list(session.scalars(select(InboundEmail).order_by(InboundEmail.id)))


def alerts(app: Any, kind: str) -> list[Notification]:
    with app.extensions["spareflow"].session_factory() as session:
        return list(session.scalars(select(Notification).where(Notification.kind == kind)))


def messages_on_timeline(shop: Any, number: str) -> list[Any]:  # noqa: F811
    return [t for t in shop.returns.get(number).timeline if t.kind == "customer_message"]


def test_customer_emails_carry_the_rmas_reply_address(app, shop, smtp_sink) -> None:  # noqa: F811
    number = open_return(shop)
    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-1")
    shop.outbox.drain()
    [message] = smtp_sink.messages
    reply_to = message["Reply-To"]
    assert reply_to == reply_address(app, number)
    assert reply_to.startswith(f"replies+{number.lower()}.") and reply_to.endswith(
        "@desk.example.com"
    )


def test_a_signed_reply_lands_on_the_timeline_without_the_quoted_history(
    app,
    client,
    shop,  # noqa: F811
    clock,
    smtp_sink,
) -> None:
    number = open_return(shop)
    form = signed(clock, recipient=reply_address(app, number))
    response = client.post("/webhooks/inbound-email", data=form)
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "duplicate": False, "matched": True}
    [stored] = inbound(app)
    assert (stored.provider, stored.message_id, stored.from_address) == (
        "mailgun",
        "<CAF1xyz.reply.4711@mail.example.com>",
        "mia@example.com",
    )
    assert stored.rma_id is not None and "wrote:" in stored.body  # the full body is kept
    [entry] = messages_on_timeline(shop, number)
    assert entry.reason == SAMPLE["stripped-text"]
    assert entry.actor == "customer (e-mail)"
    assert shop.returns.get(number).first_response_at is None
    [alert] = alerts(app, "customer_message")
    assert alert.audience == "desk" and number in alert.message

    # Mailgun retries (or someone replays within the window): stored once, shown once.
    again = client.post(
        "/webhooks/inbound-email",
        data=signed(clock, token="b" * 50, **{"recipient": reply_address(app, number)}),
    )
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert len(inbound(app)) == 1 and len(messages_on_timeline(shop, number)) == 1


def test_a_bad_signature_or_a_stale_timestamp_is_refused_and_stores_nothing(
    app,
    client,
    shop,  # noqa: F811
    clock,
) -> None:
    number = open_return(shop)
    recipient = reply_address(app, number)
    forged = signed(clock, key="not-the-key", recipient=recipient)
    assert client.post("/webhooks/inbound-email", data=forged).status_code == 401
    tampered = {**signed(clock, recipient=recipient), "token": "c" * 50}
    assert client.post("/webhooks/inbound-email", data=tampered).status_code == 401
    stale = signed(clock, recipient=recipient, timestamp=str(int(clock.now().timestamp()) - 301))
    assert client.post("/webhooks/inbound-email", data=stale).status_code == 401
    unsigned = {k: v for k, v in SAMPLE.items() if k != "signature"}
    assert client.post("/webhooks/inbound-email", data=unsigned).status_code == 401
    assert inbound(app) == [] and messages_on_timeline(shop, number) == []


def test_a_forged_or_unknown_reply_token_is_kept_unmatched_and_answered_200(
    app,
    client,
    shop,  # noqa: F811
    clock,
) -> None:
    victim = open_return(shop)
    other = open_return(shop)
    # The other RMA's valid token with the victim's number: the HMAC does not match.
    mac = reply_address(app, other).split(".")[1].split("@")[0]
    forged = f"replies+{victim.lower()}.{mac}@desk.example.com"
    response = client.post("/webhooks/inbound-email", data=signed(clock, recipient=forged))
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "duplicate": False, "matched": False}
    plain = signed(
        clock,
        recipient="replies+rma-20261123-9999.0000000000000000@desk.example.com",
        **{"Message-Id": "<second@mail.example.com>"},
    )
    assert client.post("/webhooks/inbound-email", data=plain).get_json()["matched"] is False
    assert [e.rma_id for e in inbound(app)] == [None, None]
    assert messages_on_timeline(shop, victim) == [] and messages_on_timeline(shop, other) == []
    unmatched = alerts(app, "inbound_unmatched")
    assert len(unmatched) == 2 and {a.audience for a in unmatched} == {"supervisors"}
    with app.extensions["spareflow"].session_factory() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "inbound_email.unmatched")
        ).all()
    assert len(actions) == 2
    # Admins see what came in unmatched.
    services = app.extensions["spareflow"]
    services.auth.create_user("root@desk.example", Role.ADMIN, PASSWORD)
    admin = app.test_client()
    assert sign_in(admin, "root@desk.example", PASSWORD).status_code == 302
    listing = admin.get("/admin/messages/inbound").get_data(as_text=True)
    assert listing.count("mia@example.com") == 2 and "The fan still rattles" in listing


def test_the_reply_address_of_a_sent_email_brings_the_reply_back(
    app,
    client,
    shop,  # noqa: F811
    clock,
    smtp_sink,
) -> None:
    """Round trip: the Reply-To spareflow sent is the recipient Mailgun posts."""
    number = open_return(shop)
    shop.returns.closing.reply(STAFF, number, "Which fan rattles?")
    shop.outbox.drain()
    [message] = smtp_sink.messages
    form = signed(clock, recipient=message["Reply-To"], **{"stripped-text": "The left one."})
    assert client.post("/webhooks/inbound-email", data=form).get_json()["matched"] is True
    [entry] = messages_on_timeline(shop, number)
    assert entry.reason == "The left one."


def test_the_signing_key_stored_by_an_admin_is_sealed_and_used(
    app,
    client,
    shop,  # noqa: F811
    clock,
) -> None:
    app.config["MAILGUN_WEBHOOK_SIGNING_KEY"] = ""
    number = open_return(shop)
    form = signed(clock, key="key-stored-by-admin", recipient=reply_address(app, number))
    assert client.post("/webhooks/inbound-email", data=form).status_code == 401
    services = app.extensions["spareflow"]
    services.settings.set("MAILGUN_WEBHOOK_SIGNING_KEY", "key-stored-by-admin", "admin@x")
    with services.engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT value FROM settings").scalars().all()
    assert raw and all("key-stored-by-admin" not in value for value in raw)
    assert client.post("/webhooks/inbound-email", data=form).status_code == 200
    assert len(messages_on_timeline(shop, number)) == 1


def test_a_new_email_to_the_desks_address_opens_an_enquiry(
    app,
    client,
    shop,  # noqa: F811
    clock,
) -> None:
    """E-mail is an intake channel: a new message to the plain address (no case's token)
    becomes an enquiry at once, numbered and on the e-mail channel; stored once."""
    form = signed(
        clock,
        recipient="replies@desk.example.com",
        subject="Which fan fits the X200?",
        **{"Message-Id": "<new-question@mail.example.com>"},
    )
    answer = client.post("/webhooks/inbound-email", data=form).get_json()
    assert (answer["received"], answer["duplicate"], answer["matched"]) == (True, False, True)
    again = client.post("/webhooks/inbound-email", data=form).get_json()
    assert again["duplicate"] is True
    [email] = inbound(app)
    with app.extensions["spareflow"].session_factory() as session:
        rma = session.get(Rma, email.rma_id)
        assert rma is not None
        assert (rma.kind.value, rma.channel.value, rma.status.value) == ("enquiry", "email", "open")
        assert rma.customer_email == "mia@example.com"
        assert rma.description.startswith("Which fan fits the X200?")
        opened = session.scalars(select(Rma).where(Rma.kind == rma.kind)).all()
    assert len(opened) == 1 and alerts(app, "inbound_unmatched") == []
