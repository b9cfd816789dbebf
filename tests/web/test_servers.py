"""spareflow served for real: gunicorn (production) and `spareflow serve` (demo), over loopback."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.support.processes import gunicorn, running, spareflow, spareflow_env, waitress


def get_json(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def prepared(tmp_path: Path) -> tuple[dict[str, str], str]:
    env = spareflow_env(tmp_path)
    spareflow(env, "db", "upgrade")
    spareflow(env, "demo-data", "--parts", "40")
    token = spareflow(env, "tokens", "create", "buyer@demo.spareflow").strip()
    return env, token


def test_gunicorn_serves_the_wsgi_entry_point_with_several_workers(tmp_path: Path) -> None:
    env, token = prepared(tmp_path)
    command, port = gunicorn(env, workers=2)
    with running(command, env, port) as base_url:
        statuses = set()
        for _ in range(6):  # spread over both workers
            status, body = get_json(f"{base_url}/api/v1/parts?limit=5", token)
            statuses.add(status)
            assert len(body["items"]) == 5
        assert statuses == {200}
        status, body = get_json(
            f"{base_url}/api/v1/parts?below_reorder_point=true&limit=200", token
        )
        assert body["items"] and all(item["below_reorder_point"] for item in body["items"])


def test_spareflow_serve_answers_pages_and_the_api(tmp_path: Path) -> None:
    env, token = prepared(tmp_path)
    command, port = waitress(env)
    with running(command, env, port) as base_url:
        with urllib.request.urlopen(f"{base_url}/sign-in", timeout=10) as page:
            assert "Sign in" in page.read().decode()
        status, body = get_json(f"{base_url}/api/v1/stock/{'SP-BAT-0003'}", token)
        assert status == 200
        assert body["sku"] == "SP-BAT-0003"
