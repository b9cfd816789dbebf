"""Spare-parts inventory: parts, suppliers, locations, the stock ledger and reservations.

Knows nothing of Flask or HTTP. Use cases live in :mod:`inventory.services`; they take a
unit of work and plain values and raise the errors in :mod:`inventory.errors`.
"""
