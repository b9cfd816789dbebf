""" "Stock became available": the ledger's moves that free stock, told to listeners in the same
transaction, just before it commits.

Inventory knows nothing of who waits for stock (returns' backordered replacements do). A
package that waits registers a listener on the session factory with :func:`watch`; every
session that factory makes then records, as its moves are flushed, the parts that gained
promisable stock:

- a receipt, transfer or count (adjustment) *into* a pickable location
  (:data:`inventory.status.PICKABLE_KINDS`), a transfer between two bins included (a
  reservation takes its units from one bin, so gathering them can make a backorder fit);
- a released reservation at a pickable location.

Before the outermost commit the listeners get those parts and may take the stock (reserve it)
in that very transaction: the move that freed the stock and what it was promised to commit
together, or not at all. Nothing is recorded for a session no listener watches, and a rolled
back transaction forgets what it recorded. Every path that moves stock (the inventory
service, purchase-order receipts, count sheets, returns' restocking) goes through the ledger,
so none has to remember to call anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from inventory.models import Location, StockMove
from inventory.status import PICKABLE_KINDS, MoveKind

#: Called with the open session and the ids of the parts that gained available stock.
Listener = Callable[[Session, frozenset[int]], None]

_FREED = "inventory.stock_freed"
_INTO = (MoveKind.RECEIPT, MoveKind.TRANSFER, MoveKind.ADJUSTMENT)
#: A listener's own moves may free stock again (rarely); past this many rounds it stops.
_MAX_ROUNDS = 10

_listeners: WeakKeyDictionary[sessionmaker[Any], dict[str, Listener]] = WeakKeyDictionary()


def watch(session_factory: Callable[[], Session], name: str, listener: Listener) -> None:
    """Call ``listener`` before each commit of a session of ``session_factory`` whose moves
    freed stock. ``name`` identifies it: wiring the same package again replaces its listener.

    Only a :class:`sessionmaker` can be watched (the app's and the tests' factories are)."""
    if not isinstance(session_factory, sessionmaker):
        raise TypeError(f"Cannot watch stock on {session_factory!r}: not a sessionmaker")
    registered = _listeners.get(session_factory)
    if registered is None:
        registered = _listeners[session_factory] = {}
        event.listen(session_factory, "after_flush", _after_flush)
        event.listen(session_factory, "before_commit", _tell(registered))
        event.listen(session_factory, "after_transaction_end", _after_transaction_end)
    registered[name] = listener


def _frees_stock(session: Session, move: StockMove) -> bool:
    if move.kind in _INTO:
        location_id = move.to_location_id
    elif move.kind is MoveKind.RELEASE:
        location_id = move.from_location_id
    else:
        return False
    if location_id is None:
        return False
    location = session.get(Location, location_id)  # the identity map has it: no query
    return location is not None and location.kind in PICKABLE_KINDS


def _after_flush(session: Session, _context: Any) -> None:
    for instance in session.new:
        if isinstance(instance, StockMove) and instance.qty > 0 and _frees_stock(session, instance):
            session.info.setdefault(_FREED, set()).add(instance.part_id)


def _tell(registered: dict[str, Listener]) -> Callable[[Session], None]:
    def before_commit(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint: the outermost commit tells the listeners
        session.flush()  # so every move of this transaction has been seen
        for _ in range(_MAX_ROUNDS):
            freed = session.info.pop(_FREED, None)
            if not freed:
                return
            for listener in list(registered.values()):
                listener(session, frozenset(freed))
            session.flush()

    return before_commit


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_FREED, None)
