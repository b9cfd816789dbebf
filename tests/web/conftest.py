"""Fixtures the web tests share (the root conftest.py has the app, databases and sandboxes)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.sandbox_servers import emptied_carrier_sandbox, serving_carrier_sandbox


@pytest.fixture(scope="module")
def carrier_url() -> Iterator[str]:
    """The sandbox carrier (labels, rates, refunds, pickups) on loopback, one per test file."""
    with serving_carrier_sandbox() as url:
        yield url


@pytest.fixture
def sandbox(carrier_url: str) -> Iterator[httpx.Client]:
    """The sandbox carrier's own view, emptied for each test."""
    with emptied_carrier_sandbox(carrier_url) as http:
        yield http
