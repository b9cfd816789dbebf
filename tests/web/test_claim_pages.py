"""The buyer's alerts about late purchase-order lines, raised by the scheduler job and shown
(once) on the purchase-orders page until a buyer marks them read."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from accounts.models import Role
from inventory.catalog import supplier_by_code
from inventory.ledger import Who, find_part
from purchasing import orders as po
from tests.web.test_buyer_pages import buyer, signed_in  # noqa: F401 - the buyer fixture
from tests.web.test_pages import csrf_token
from web.scheduler import alert_late_purchase_order_lines


def test_a_late_line_alerts_the_buyer_once_until_marked_read(
    app: Any,
    buyer: Any,  # noqa: F811
    clock: Any,
) -> None:
    services = app.extensions["spareflow"]
    with services.session_factory() as session, session.begin():
        part = find_part(session, "FAN-80")
        assert part is not None
        order = po.create_draft(
            session,
            Who("bea@pages.example", clock),
            supplier_by_code(session, "ACME"),
            [po.DraftLine(part, 12, Decimal("4.25"))],
            "by hand",
        )
        number = order.number
    services.buying.purchasing.send("bea@pages.example", number)
    assert alert_late_purchase_order_lines(services) == 0
    assert 'id="alerts"' not in buyer.get("/buying/purchase-orders").get_data(as_text=True)

    clock.advance(timedelta(days=45))
    assert alert_late_purchase_order_lines(services) == 1
    assert alert_late_purchase_order_lines(services) == 0  # once per line
    buyer = signed_in(app, Role.BUYER)  # a new session: the old one expired meanwhile
    page = buyer.get("/buying/purchase-orders").get_data(as_text=True)
    assert f"{number} (ACME): 12 x FAN-80 still expected" in page
    assert page.count("still expected") == 1

    ids = re.findall(r'name="id" value="(\d+)"', page)
    done = buyer.post(
        "/buying/alerts/read",
        data={"csrf_token": csrf_token(page), "id": ids},
        follow_redirects=True,
    )
    assert "1 alert marked read." in done.get_data(as_text=True)
    assert "still expected" not in buyer.get("/buying/purchase-orders").get_data(as_text=True)
