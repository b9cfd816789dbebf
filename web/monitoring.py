"""Seeing what the web app does: request ids, request metrics, ``/internal/metrics``, ``/readyz``.

- Every request gets an id: the client's ``X-Request-ID`` when it is sensible, else a new one;
  it is returned in the response, carried on every log line (core/logs.py) and into the outbox
  messages the request writes (core/outbox.py).
- ``GET /internal/metrics``: Prometheus' text format, only with ``SPAREFLOW_METRICS_TOKEN`` as a
  bearer token (404 when no token is set: the endpoint is off).
- ``GET /readyz``: 200 when the database answers and its schema is at the code's migration
  head; 503 with the reason otherwise (``/healthz`` says only whether the database answers).
"""

from __future__ import annotations

import functools
import hmac
import logging
import time

from flask import Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from core import metrics, request_ids
from web.errors import error_response
from web.extensions import services
from web.pages.access import public

log = logging.getLogger("spareflow.requests")

HEADER = "X-Request-ID"
DESK_QUEUE = "desk.queue"


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_unbind)
    app.add_url_rule("/readyz", "readyz", readyz)
    app.add_url_rule("/internal/metrics", "internal_metrics", internal_metrics)


def _start() -> None:
    g.request_id = request_ids.accept(request.headers.get(HEADER))
    g.request_id_token = request_ids.bind(g.request_id)
    g.request_started = time.perf_counter()
    if request.endpoint == DESK_QUEUE:
        # The scheduler cannot tell of its own silence: the desk's queue page does (at most
        # once a minute per process), before it reads the alerts it shows.
        try:
            services().operations.check_scheduler()
        except SQLAlchemyError:
            log.exception("could not check the scheduler's heartbeat")


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    started = g.get("request_started")
    if started is not None:
        elapsed = time.perf_counter() - started
        # The route's name, never the path: ids in paths would make a series per RMA.
        endpoint = request.endpoint or "unmatched"
        metrics.REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        metrics.REQUEST_SECONDS.labels(endpoint, request.method).observe(elapsed)
        from flask import current_app

        if current_app.config.get("LOG_REQUESTS"):
            log.info(
                "%s %s %s %.1f ms",
                request.method,
                request.path,
                response.status_code,
                elapsed * 1000,
                extra={"status": response.status_code, "endpoint": endpoint},
            )
    return response


def _unbind(_error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        request_ids.unbind(token)


@public("for load balancers and orchestrators: says whether this process can serve")
def readyz() -> ResponseReturnValue:
    from bootstrap import schema

    try:
        current = schema.current_revision(services().engine)
    except SQLAlchemyError as error:
        log.warning("readyz: the database is not reachable: %s", error)
        return _not_ready("database_unreachable", "The database is not reachable.")
    head = _code_head()
    if current != head:
        return _not_ready(
            "migrations_pending",
            f"The database is at revision {current or 'none'}; this code needs {head} "
            "(run: spareflow db upgrade).",
        )
    return jsonify(status="ready", database="ok", revision=current)


@functools.cache
def _code_head() -> str | None:
    from bootstrap import schema

    return schema.code_head()


def _not_ready(code: str, message: str) -> Response:
    return error_response(503, code, message, headers={"Retry-After": "5"})


@public("guarded by its own bearer token, SPAREFLOW_METRICS_TOKEN (not a user's)")
def internal_metrics() -> ResponseReturnValue:
    from flask import current_app

    expected = str(current_app.config.get("METRICS_TOKEN") or "")
    if not expected:
        return error_response(404, "not_found", "Metrics are off: set SPAREFLOW_METRICS_TOKEN.")
    offered = request.headers.get("Authorization", "")
    scheme, _, token = offered.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        return error_response(
            401,
            "unauthorized",
            "A bearer token (SPAREFLOW_METRICS_TOKEN) is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    working = services()
    body = metrics.render(working.session_factory, working.clock, current_app.config)
    return Response(body, status=200, content_type=metrics.CONTENT_TYPE)
