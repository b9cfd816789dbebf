"""The app the benchmark serves: spareflow, plus one bare endpoint to measure against.

``POST /bench/bare-webhook/<carrier>`` verifies the webhook's signature exactly as the real
endpoint does, and answers 200: no parsing, no database. The real endpoint's rate divided by
this one's is what storing and applying an event costs on the same server.

``POST /bench/bare-json`` reads a JSON body and answers 201: no authentication, no database.

``POST /bench/noop-authenticated`` is the same behind the API's own token authentication
(``web.api.auth.roles``, the reservations' roles): the baseline of a single reservation, so
the ratio is what the reservation itself costs on top of the framework and authentication.

    gunicorn -w 4 --chdir <repo> 'bench.bench_app:create_app()'
"""

from __future__ import annotations

import json

from flask import Flask, Response, request

from carriers.events import WebhookRequest
from web import create_app as create_spareflow
from web.api.auth import roles
from web.api.stock import RESERVERS
from web.extensions import csrf, services


def create_app() -> Flask:
    app = create_spareflow()

    def bare_webhook(carrier: str) -> Response:
        webhook = WebhookRequest(
            body=request.get_data(),
            headers=dict(request.headers),
            query=request.args.to_dict(),
            content_type=request.content_type or "",
        )
        spareflow = services()
        spareflow.carriers.adapter(carrier).verify_webhook(webhook, spareflow.clock.now())
        return Response('{"received": true}', status=200, content_type="application/json")

    def bare_json() -> Response:
        # The least any JSON API call can cost on this server: read the body, answer 201.
        return Response(
            json.dumps({"received": request.get_json()}),
            status=201,
            content_type="application/json",
        )

    app.add_url_rule("/bench/bare-webhook/<carrier>", view_func=bare_webhook, methods=["POST"])

    @roles(*RESERVERS)
    def noop_authenticated() -> Response:
        return bare_json()

    app.add_url_rule("/bench/bare-json", view_func=bare_json, methods=["POST"])
    app.add_url_rule("/bench/noop-authenticated", view_func=noop_authenticated, methods=["POST"])
    csrf.exempt(noop_authenticated)
    csrf.exempt(bare_webhook)
    csrf.exempt(bare_json)
    return app
