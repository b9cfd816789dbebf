"""The sandboxes (refund provider, carrier) as real HTTP servers on loopback, in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from werkzeug.serving import make_server

#: How often a test server's loop looks for ``shutdown()``: the library's default, half a
#: second, is what each stop would wait (most tests stop one or more servers).
SHUTDOWN_POLL_SECONDS = 0.05


@contextmanager
def serving(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@contextmanager
def emptied_carrier_sandbox(url: str) -> Iterator[httpx.Client]:
    """A client of the sandbox carrier's own view (labels made, refunds, pickups), emptied
    first: RMA numbers (and so idempotency keys) repeat from one test's database to the next."""
    with httpx.Client(base_url=url, timeout=10) as http:
        http.post("/v1/sandbox/reset").raise_for_status()
        yield http


@contextmanager
def serving_carrier_sandbox() -> Iterator[str]:
    """The sandbox carrier (labels, tracking) on loopback; its webhooks go nowhere, its parcels
    move at once when a test plays their journey."""
    from demo.sandboxes.carrier import create_sandbox_carrier

    with serving(
        create_sandbox_carrier("http://127.0.0.1:9/unused", "unused", step_seconds=0)
    ) as url:
        yield url
