"""Outgoing HTTP clients that share one TLS context per process.

Each ``httpx.Client()`` otherwise builds its own ``ssl.SSLContext`` and loads the whole
certificate bundle into it (tens of milliseconds of CPU); an app builds several clients at
start. The shared context is exactly what httpx would build (``httpx.create_ssl_context()``:
``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set, else certifi's bundle), so verification is
unchanged; it is rebuilt when those variables change. An ``SSLContext`` is safe to share
between clients and threads.
"""

from __future__ import annotations

import os
import ssl
from functools import cache
from typing import Any

import httpx

__all__ = ["http_client", "shared_ssl_context"]


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
