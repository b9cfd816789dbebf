"""The state machine of test_ledger_stateful.py on PostgreSQL (the session's database, emptied
before each example); a file of its own so that it runs beside the SQLite run, not after it."""

from __future__ import annotations

from typing import Any

from hypothesis.stateful import run_state_machine_as_test

from tests.integration.test_ledger_stateful import SETTINGS, PostgresDatabase, ledger_machine


def test_random_stock_operations_keep_levels_equal_to_the_model_and_to_the_ledger_on_postgresql(
    postgres_engine: Any,
) -> None:
    databases = PostgresDatabase(postgres_engine)
    try:
        run_state_machine_as_test(ledger_machine(databases), settings=SETTINGS)
    finally:
        databases.done()
