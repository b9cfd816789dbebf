"""Admin > Messages: templates edited with a preview, checked before saving, reset."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from tests.web.test_pages import PASSWORD, csrf_token, sign_in


@pytest.fixture
def admin_client(app: Any) -> Any:
    auth = app.extensions["spareflow"].auth
    auth.create_user("admin@msg.example", Role.ADMIN, PASSWORD)
    auth.create_user("desk@msg.example", Role.SERVICE_DESK, PASSWORD)
    client = app.test_client()
    assert sign_in(client, "admin@msg.example", PASSWORD).status_code == 302
    return client


def test_an_admin_previews_edits_and_resets_a_template(app, admin_client) -> None:
    listing = admin_client.get("/admin/messages").get_data(as_text=True)
    assert "authorised" in listing and "简体中文" in listing and 'id="mail-off"' in listing
    page = admin_client.get("/admin/messages/authorised/zh_Hans")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "已获批准" in html  # the shipped template, previewed
    token = csrf_token(html)
    form = {
        "csrf_token": token,
        "subject": "退货 {{ number }} 已批准",
        "text": "{{ customer_name }}：请在 {{ deadline }} 前寄回。",
        "html": "<p>{{ customer_name }}</p>",
    }
    preview = admin_client.post(
        "/admin/messages/authorised/zh_Hans", data={**form, "action": "preview"}
    )
    assert "退货 RMA-20261123-0042 已批准" in preview.get_data(as_text=True)
    saved = admin_client.post("/admin/messages/authorised/zh_Hans", data={**form, "action": "save"})
    assert saved.status_code == 302
    listing = admin_client.get("/admin/messages").get_data(as_text=True)
    assert "edited by admin@msg.example" in listing

    broken = admin_client.post(
        "/admin/messages/authorised/zh_Hans",
        data={**form, "text": "{% if %}", "action": "save"},
    )
    assert broken.status_code == 422
    assert "does not render" in broken.get_data(as_text=True)
    unknown = admin_client.post(
        "/admin/messages/authorised/zh_Hans",
        data={**form, "text": "{{ secret_key }}", "action": "save"},
    )
    assert unknown.status_code == 422  # an unknown variable is a mistake, not an empty string

    reset = admin_client.post(
        "/admin/messages/authorised/zh_Hans/reset", data={"csrf_token": token}
    )
    assert reset.status_code == 302
    assert "as shipped" in admin_client.get("/admin/messages").get_data(as_text=True)
    assert admin_client.get("/admin/messages/nope/en").status_code == 404


def test_a_sandboxed_template_cannot_reach_python_internals(admin_client) -> None:
    token = csrf_token(admin_client.get("/admin/messages/reply/en").get_data(as_text=True))
    attack = admin_client.post(
        "/admin/messages/reply/en",
        data={
            "csrf_token": token,
            "subject": "x",
            "text": "{{ message.__class__.__mro__[1].__subclasses__() }}",
            "html": "<p>x</p>",
            "action": "save",
        },
    )
    assert attack.status_code == 422
    body = attack.get_data(as_text=True)
    assert "does not render" in body and "&lt;class" not in body and "<class" not in body


def test_only_admins_edit_messages(app) -> None:
    client = app.test_client()
    auth = app.extensions["spareflow"].auth
    auth.create_user("desk2@msg.example", Role.SERVICE_DESK, PASSWORD)
    sign_in(client, "desk2@msg.example", PASSWORD)
    assert client.get("/admin/messages").status_code == 403
    assert client.get("/admin/messages/authorised/en").status_code == 403
