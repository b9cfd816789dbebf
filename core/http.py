"""HTTP clients for calls to providers (refunds, labels, carriers, Shopify), with a deadline.

httpx's timeouts bound each step (connecting, each read, each write), not the whole call: a
provider that answers one byte every few seconds never trips a read timeout and holds the
outbox worker for as long as it likes, past the outbox lease (then a second worker retries
the same message while the first still waits). Every outbound client is made here: the
per-step timeouts as before, plus a total deadline for the whole request, body included.

Every client verifies TLS with one context per process (``shared_ssl_context``): httpx would
otherwise build one per client and load the whole certificate bundle into each (tens of
milliseconds of CPU, several clients at start). It is exactly what httpx builds
(``httpx.create_ssl_context()``: ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set, else certifi's
bundle), rebuilt when those variables change; an ``SSLContext`` is safe to share.

The deadline is ``SPAREFLOW_HTTP_DEADLINE_SECONDS`` (default 60, below the outbox lease of two
minutes); it also caps each step's timeout, so one setting makes every call give up sooner.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

import httpcore
import httpx

DEFAULT_DEADLINE_SECONDS = 60.0


@cache
def _context_for(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


def shared_ssl_context() -> ssl.SSLContext:
    """The process's verifying TLS context (as httpx's default ``verify=True`` builds it)."""
    return _context_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


def http_client(**kwargs: Any) -> httpx.Client:
    """``httpx.Client(**kwargs)`` verifying with the shared context (unless ``verify`` is given)."""
    kwargs.setdefault("verify", shared_ssl_context())
    return httpx.Client(**kwargs)


_local = threading.local()


def deadline_seconds() -> float:
    """The total deadline for one outbound request (``SPAREFLOW_HTTP_DEADLINE_SECONDS``)."""
    raw = os.environ.get("SPAREFLOW_HTTP_DEADLINE_SECONDS", "")
    try:
        value = float(raw) if raw else DEFAULT_DEADLINE_SECONDS
    except ValueError:
        value = DEFAULT_DEADLINE_SECONDS
    return value if value > 0 else DEFAULT_DEADLINE_SECONDS


def _remaining(timeout: float | None) -> float | None:
    """The step's timeout, cut to what is left of the current request's deadline."""
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's total deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every read and write waits no longer than the deadline allows."""

    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, _remaining(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend):
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _remaining(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, _remaining(timeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _Body(httpx.SyncByteStream):
    """The response body, read under the request's deadline."""

    def __init__(self, inner: httpx.SyncByteStream, deadline: float):
        self._inner = inner
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            with _under(self._deadline):
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _under:
    """Set the thread's current deadline for the block (restoring the previous one)."""

    def __init__(self, deadline: float):
        self.deadline = deadline

    def __enter__(self) -> None:
        self.previous = getattr(_local, "deadline", None)
        _local.deadline = self.deadline

    def __exit__(self, *exc: object) -> None:
        _local.deadline = self.previous


class DeadlineTransport(httpx.BaseTransport):
    """httpx's own transport, each request (headers and body) bounded by ``total`` seconds."""

    def __init__(self, total: float, **options: Any):
        self.total = total
        self._inner = httpx.HTTPTransport(**options)
        # httpx builds its httpcore pool itself and takes no network backend; the pool keeps
        # its backend here (httpcore 1.x). tests/integration/test_http_deadline.py holds this
        # to a real trickling server, so an httpcore that moves it fails there, not in use.
        pool = self._inner._pool
        pool._network_backend = _DeadlineBackend(pool._network_backend)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.total
        with _under(deadline):
            response = self._inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Body(response.stream, deadline),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


def outbound_client(read: float = 20.0, *, connect: float = 5.0) -> httpx.Client:
    """A client for a provider: ``connect`` and ``read`` (also write and pool) timeouts, and
    the total deadline (``deadline_seconds()``) that caps them and the whole request."""
    total = deadline_seconds()
    timeout = httpx.Timeout(min(read, total), connect=min(connect, total))
    transport = DeadlineTransport(total, verify=shared_ssl_context())
    return httpx.Client(timeout=timeout, transport=transport)
