"""Purchasing: purchase orders, reorder points and suggestions, the buying workbooks.

Imports inventory (parts, ledger), never the other way round.
"""
