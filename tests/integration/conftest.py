"""Fixtures of the integration tests: the HTTP sandboxes, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from demo.sandboxes.refunds import create_refunds_sandbox
from tests.support.sandbox_servers import serving, serving_carrier_sandbox


@pytest.fixture(scope="module")
def refunds_sandbox() -> Iterator[tuple[str, Any]]:
    app = create_refunds_sandbox("sk_test_returns")
    with serving(app) as url:
        yield url, app.extensions["refunds_sandbox"]


@pytest.fixture(scope="module")
def carrier_sandbox() -> Iterator[str]:
    with serving_carrier_sandbox() as url:
        yield url


@pytest.fixture
def refunds_made(refunds_sandbox: tuple[str, Any]) -> Iterator[list[dict[str, Any]]]:
    _, sandbox = refunds_sandbox
    sandbox.refunds.clear()
    sandbox.by_key.clear()
    sandbox.fail_next = 0
    sandbox.answer_pending = False
    sandbox.deliveries.clear()
    yield sandbox.refunds
