"""core.http: outgoing clients share one verifying TLS context (built once per process)."""

from __future__ import annotations

import ssl

import pytest

from core.http import http_client, shared_ssl_context


def test_clients_share_one_verifying_context() -> None:
    context = shared_ssl_context()
    assert context is shared_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # the bundle is loaded
    with http_client(timeout=5) as one, http_client(timeout=5) as two:
        pool_one = one._transport._pool  # type: ignore[attr-defined]
        pool_two = two._transport._pool  # type: ignore[attr-defined]
        assert pool_one._ssl_context is context is pool_two._ssl_context


def test_a_changed_certificate_variable_builds_a_new_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import certifi

    before = shared_ssl_context()
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    assert shared_ssl_context() is not before


def test_an_explicit_verify_is_kept() -> None:
    with http_client(timeout=5, verify=False) as client:
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.verify_mode == ssl.CERT_NONE


def test_provider_clients_with_a_deadline_share_it_too() -> None:
    from core.http import outbound_client

    with outbound_client() as client:
        pool = client._transport._inner._pool  # type: ignore[attr-defined]
        assert pool._ssl_context is shared_ssl_context()
