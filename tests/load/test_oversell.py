"""Oversell under load: 32 HTTP clients against gunicorn with four workers fight over the last
units of five parts, reserving and issuing through the JSON API."""

from __future__ import annotations

import random
import subprocess
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import Engine, text

from bench.harness import Stack, seeding_services, spareflow_command, stock_parts, tokens

CLIENTS = 32
STOCK = {"LAST-1": 12, "LAST-2": 9, "LAST-3": 6, "LAST-4": 3, "LAST-5": 1}
BIN = "MAIN/A-01-01"


def client_run(
    base: str, headers: dict[str, str], number: int, start: threading.Barrier
) -> dict[str, Any]:
    """Reserve 1-2 units and issue the reservation, or issue 1 unit of free stock directly,
    until every part has refused this client. Returns what succeeded and what was refused."""
    rng = random.Random(number)
    left = list(STOCK)
    outcome: dict[str, Any] = {"issued": Counter(), "refusals": 0, "unexpected": []}
    start.wait(timeout=60)
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        while left:
            sku = rng.choice(left)
            qty = 1
            if rng.random() < 0.7:
                qty = rng.choice([1, 1, 2])
                answer = http.post("/api/v1/reservations", json={"sku": sku, "qty": qty})
                if answer.status_code == 201:
                    issued = http.post(
                        "/api/v1/stock/issues", json={"reservation_id": answer.json()["id"]}
                    )
                    if issued.status_code == 201:
                        outcome["issued"][sku] += issued.json()["qty"]
                    else:
                        outcome["unexpected"].append((issued.status_code, issued.text))
                    continue
            else:
                answer = http.post(
                    "/api/v1/stock/issues",
                    json={"sku": sku, "location": BIN, "qty": 1, "reference": f"R-{number}"},
                )
                if answer.status_code == 201:
                    outcome["issued"][sku] += 1
                    continue
            if answer.status_code == 409 and answer.json()["error"]["code"] == "insufficient_stock":
                outcome["refusals"] += 1
                if qty == 1:  # a refused 2 may still leave 1
                    left.remove(sku)
            else:
                outcome["unexpected"].append((answer.status_code, answer.text))
                left.remove(sku)
    return outcome


def test_thirty_two_http_clients_never_oversell_the_last_units_and_the_ledger_verifies(
    load_stack: Stack, db: Engine
) -> None:
    spareflow = seeding_services(load_stack.database_url)
    try:
        stock_parts(spareflow, STOCK, BIN)
        headers = {"Authorization": f"Bearer {tokens(spareflow)['warehouse']}"}
    finally:
        spareflow.close()
    base = load_stack.start_gunicorn(workers=4)

    start = threading.Barrier(CLIENTS)
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [
            pool.submit(client_run, base, headers, number, start) for number in range(CLIENTS)
        ]
        outcomes = [future.result(timeout=300) for future in futures]

    assert [o["unexpected"] for o in outcomes] == [[]] * CLIENTS
    issued = sum((o["issued"] for o in outcomes), Counter())
    assert dict(issued) == STOCK  # every unit that existed was issued, and not one more
    assert sum(o["refusals"] for o in outcomes) >= CLIENTS  # they really did contend
    with db.connect() as connection:
        levels = connection.execute(
            text(
                "select p.sku, l.on_hand, l.reserved from stock_levels l "
                "join parts p on p.id = l.part_id order by p.sku"
            )
        ).all()
        moves = dict(
            connection.execute(
                text("select kind, sum(qty) from stock_moves group by kind order by kind")
            ).all()
        )
        active = connection.scalar(text("select count(*) from reservations where status='active'"))
    assert [tuple(row) for row in levels] == [(sku, 0, 0) for sku in sorted(STOCK)]
    assert moves["receipt"] == moves["issue"] + moves["reserved_issue"] == sum(STOCK.values())
    assert moves["reserve"] == moves["reserved_issue"] > 0  # every reservation was issued
    assert active == 0
    verify = subprocess.run(
        spareflow_command("stock", "verify"),
        env=load_stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "Stock levels match the ledger." in verify.stdout
