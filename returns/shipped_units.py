"""The order feed's shipped serials, linked to the customer in the serial table.

Sales knows nothing of stock; the wiring (bootstrap) hands this to the order use cases, which
call it inside the transaction that stores an order whose lines name shipped serials.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from inventory import serials
from sales.models import SalesOrder


def link_shipped_serials(session: Session, order: SalesOrder) -> None:
    """Each serial on the order is now the customer's, shipped when the order shipped (or,
    with no ship date yet, when the order was placed). Units not known yet are created as
    with the customer; see :func:`inventory.serials.link_shipped` for units still in stock."""
    customer = serials.Customer(order.customer_name, order.customer_email, order.number)
    shipped_at = order.shipped_at or order.ordered_at
    for line in order.lines:
        names = serials.parse_serials(line.serials.split("\n"))
        if names:
            serials.link_shipped(session, line.sku, names, customer, shipped_at, order.updated_at)
