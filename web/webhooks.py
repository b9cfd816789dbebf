"""Inbound webhooks: ``POST /webhooks/carriers/<carrier>``, ``/webhooks/stripe``,
``/webhooks/shopify`` and ``/webhooks/inbound-email`` (Mailgun).

The view only turns the HTTP request into a WebhookRequest and the service's answer into a
response; verification, storage and application are the carriers service's job.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from carriers.events import WebhookRequest
from returns.stripe_webhooks import SIGNATURE_HEADER
from web.errors import error_response
from web.extensions import services
from web.pages.access import public

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

#: Real tracking webhooks are a few kilobytes; anything near this is not one.
MAX_WEBHOOK_BYTES = 1024 * 1024


def _read_body() -> bytes | None:
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        return None
    body = request.stream.read(MAX_WEBHOOK_BYTES + 1)  # also bounds bodies sent without a length
    return None if len(body) > MAX_WEBHOOK_BYTES else body


def _too_large() -> ResponseReturnValue:
    return error_response(
        413, "payload_too_large", f"Webhook bodies are limited to {MAX_WEBHOOK_BYTES} bytes."
    )


@bp.post("/carriers/<carrier>")
@public("each carrier's signature or URL token is verified before the body is read")
def carrier_webhook(carrier: str) -> ResponseReturnValue:
    body = _read_body()
    if body is None:
        return _too_large()
    webhook = WebhookRequest(
        body=body,
        headers=dict(request.headers),
        query=request.args.to_dict(),
        content_type=request.content_type or "",
    )
    ack = services().carriers.receive_webhook(carrier, webhook)
    return Response(ack.body, status=ack.status, content_type=ack.content_type)


@bp.post("/stripe")
@public("Stripe-Signature: HMAC-SHA256 of the timestamped body, 300 s tolerance")
def stripe_webhook() -> ResponseReturnValue:
    """Stripe's refund events; a replay is acknowledged and applies nothing."""
    body = _read_body()
    if body is None:
        return _too_large()
    new = services().refund_webhooks.receive(body, request.headers.get(SIGNATURE_HEADER))
    return {"received": True, "duplicate": not new}


@bp.post("/shopify")
@public("X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the raw body under the app's secret")
def shopify_webhook() -> ResponseReturnValue:
    """Shopify's order and refund webhooks; a repeated webhook id applies nothing."""
    body = _read_body()
    if body is None:
        return _too_large()
    receipt = services().order_webhooks.receive(body, dict(request.headers))
    return {"received": True, "duplicate": receipt.duplicate, "status": receipt.status.value}


@bp.post("/inbound-email")
@public("Mailgun's signature: HMAC-SHA256 of timestamp+token, 300 s tolerance")
def inbound_email() -> ResponseReturnValue:
    """A customer's e-mail forwarded by a Mailgun route; stored once by its Message-Id.
    200 whether or not it matched a return, so Mailgun does not retry it."""
    result = services().inbound_email.receive(request.form.to_dict())
    return {"received": True, "duplicate": not result.stored, "matched": bool(result.rma_number)}
