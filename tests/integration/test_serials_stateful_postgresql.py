"""The state machine of test_serials_stateful.py on PostgreSQL (the session's database, emptied
before each example); a file of its own so that it runs beside the SQLite run, not after it."""

from __future__ import annotations

from typing import Any

from hypothesis.stateful import run_state_machine_as_test

from tests.integration.test_ledger_stateful import PostgresDatabase
from tests.integration.test_serials_stateful import SETTINGS, serial_machine


def test_random_moves_of_serialised_units_never_put_a_serial_in_two_places_on_postgresql(
    postgres_engine: Any,
) -> None:
    databases = PostgresDatabase(postgres_engine)
    try:
        run_state_machine_as_test(serial_machine(databases), settings=SETTINGS)
    finally:
        databases.done()
