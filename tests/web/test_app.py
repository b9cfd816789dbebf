"""App set-up: configuration sources, health check, content types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from web import create_app


def test_the_health_check_answers_when_the_database_does(client: Any) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok", "database": "ok"})


def test_the_health_check_fails_when_the_database_is_unreachable() -> None:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "LOG_LEVEL": "CRITICAL",
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "database_unavailable"


def test_api_writes_without_a_json_content_type_are_refused(
    client: Any, admin: dict[str, str]
) -> None:
    response = client.patch(
        "/api/v1/parts/ANY",
        data="unit_cost=1",
        headers=admin,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"
    assert client.post("/api/v1/reservations", headers=admin).status_code == 415


def test_settings_come_from_the_environment_with_the_spareflow_prefix(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("SPAREFLOW_SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("SPAREFLOW_PROXY_HOPS", "1")
    app = create_app()
    assert app.config["DATABASE_URL"].endswith("env.db")
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["PROXY_HOPS"] == 1
    app.extensions["spareflow"].engine.dispose()


def test_a_named_config_file_is_read_and_must_exist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "prod.cfg"
    config.write_text(
        f"DATABASE_URL = 'sqlite:///{tmp_path / 'file.db'}'\nSECRET_KEY = 'from-file'\n"
    )
    monkeypatch.setenv("SPAREFLOW_CONFIG", str(config))
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-file"
    app.extensions["spareflow"].engine.dispose()
    monkeypatch.setenv("SPAREFLOW_CONFIG", str(tmp_path / "missing.cfg"))
    with pytest.raises(FileNotFoundError):
        create_app()


def test_without_a_secret_key_one_is_generated_once_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SPAREFLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    first = create_app()
    second = create_app()
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0
    assert first.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'spareflow.db'}"
    for app in (first, second):
        app.extensions["spareflow"].engine.dispose()
