"""Security headers on every response, and pages that keep working under their CSP.

The Content-Security-Policy forbids inline script, inline event handlers and style attributes,
so no template and no rendered page may carry one: behaviour lives in web/static/*.js.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape as html_unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Role
from returns.status import Channel, Reason, Resolution
from tests.support import desk as builders
from tests.web.test_page_roles import EXPECTED_PAGE_ROLES, concrete
from tests.web.test_pages import PASSWORD, csrf_token, sign_in
from web.security_headers import CONTENT_SECURITY_POLICY

TEMPLATES = Path(__file__).parents[2] / "web" / "templates"


class InlineFinder(HTMLParser):
    """Collects what the CSP would block: inline <script>/<style>, on*= and style= attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        for name in names:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.found.append("<style> element")
        self._script_without_src = tag == "script" and "src" not in names
        if self._script_without_src:
            self.found.append("<script> without src")

    def handle_data(self, data: str) -> None:
        if self._script_without_src and data.strip():
            self.found.append(f"inline script: {data.strip()[:40]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script_without_src = False


def inline_behaviour(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def test_the_finder_catches_what_the_csp_blocks() -> None:
    assert inline_behaviour('<select onchange="this.form.submit()">') == ["<select onchange=...>"]
    assert inline_behaviour('<p style="color:red">') == ["<p style=...>"]
    assert inline_behaviour("<script>alert(1)</script>") == [
        "<script> without src",
        "inline script: alert(1)",
    ]
    assert inline_behaviour("<style>p{}</style>") == ["<style> element"]
    assert inline_behaviour('<script src="/static/spareflow.js" defer></script>') == []


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_carries_inline_script_handlers_or_styles(template: str) -> None:
    source = (TEMPLATES / template).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), template
    assert not re.search(r"\son[a-z]+\s*=", source), template
    assert not re.search(r"\sstyle\s*=|<style", source), template


@pytest.fixture
def shop(app: Any) -> Any:
    services = app.extensions["spareflow"]
    services.inventory.create_location(code="MAIN/A-01-01")
    services.inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    services.auth.create_user("admin@headers.example", Role.ADMIN, PASSWORD)
    return services


def open_return(services: Any) -> str:
    return builders.open_rma(
        services.returns,
        "desk@headers.example",
        customer={"name": "Mia Chen", "email": "mia@example.com"},
        channel=Channel.WEB,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REFUND,
        payment_reference="pi_headers_1",
        lines=[{"sku": "FAN-80", "qty": 1, "unit_price": Decimal("24.99")}],
    ).number


def test_every_page_renders_without_inline_script_handlers_or_styles(app: Any, shop: Any) -> None:
    number = open_return(shop)
    status_url = shop.status_links.issue(number)
    client = app.test_client()
    assert sign_in(client, "admin@headers.example", PASSWORD).status_code == 302
    paths = [
        concrete(rule).replace("NO-SUCH-NUMBER", number).replace("NO-SUCH-SKU", "FAN-80")
        for method, rule in EXPECTED_PAGE_ROLES
        if method == "GET" and rule != "/healthz"
    ]
    paths += [
        "/admin/messages/authorised/en",
        "/no-such-page",
        "/api/v1/docs",
        "/status/" + status_url.rsplit("/", 1)[1],
    ]
    checked = 0
    for path in paths:
        response = client.get(path)
        response.close()  # a static file or a download is a stream
        if response.mimetype != "text/html":
            continue
        assert inline_behaviour(response.get_data(as_text=True)) == [], path
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        checked += 1
    assert checked >= 25


def assert_common_headers(response: Any) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self';" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in headers  # plain http


def test_a_signed_in_page_is_never_stored_and_sends_same_origin_referrers(
    app: Any, shop: Any
) -> None:
    client = app.test_client()
    signed_out = client.get("/sign-in")
    assert_common_headers(signed_out)
    assert signed_out.headers["Referrer-Policy"] == "same-origin"
    assert sign_in(client, "admin@headers.example", PASSWORD).status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert_common_headers(page)
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Cache-Control"] == "no-store"
    error = client.get("/parts/NO-SUCH-SKU")
    assert error.status_code == 404
    assert_common_headers(error)
    assert error.headers["Cache-Control"] == "no-store"
    static = client.get("/static/spareflow.js")
    assert static.status_code == 200
    assert_common_headers(static)
    assert static.headers.get("Cache-Control") != "no-store"  # shared files stay cacheable
    static.close()


def test_an_api_answer_and_an_api_error_carry_the_headers(client: Any, admin: Any) -> None:
    answer = client.get("/api/v1/parts", headers=admin)
    assert answer.status_code == 200
    assert_common_headers(answer)
    assert answer.headers["Cache-Control"] == "no-store"
    for error in (
        client.get("/api/v1/parts/NO-SUCH", headers=admin),
        client.get("/api/v1/parts"),  # 401
        client.post("/api/v1/parts", data="x", headers=admin),  # 415
    ):
        assert error.status_code in (401, 404, 415), error.status_code
        assert_common_headers(error)
        assert error.headers["Cache-Control"] == "no-store"
        assert error.json["error"]["code"]


def test_a_webhook_answer_and_a_server_error_carry_the_headers(app: Any, client: Any) -> None:
    @app.get("/test-only-boom")
    def boom() -> str:
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    refused = client.post("/webhooks/carriers/sandbox", json={})
    assert refused.status_code == 401
    assert_common_headers(refused)
    crashed = client.get("/test-only-boom")
    assert crashed.status_code == 500
    assert_common_headers(crashed)


def test_the_status_page_sends_no_referrer_and_is_never_stored(app: Any, shop: Any) -> None:
    number = open_return(shop)
    path = "/status/" + shop.status_links.issue(number).rsplit("/", 1)[1]
    client = app.test_client()
    for response in (client.get(path), client.get(path + "/sheet"), client.get("/status/x")):
        assert response.status_code in (200, 404)
        assert_common_headers(response)
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("app_config", [{"PROXY_HOPS": 1}])
def test_hsts_only_when_the_request_came_over_https(client: Any) -> None:
    assert "Strict-Transport-Security" not in client.get("/sign-in").headers
    direct = client.get("/sign-in", base_url="https://localhost")
    assert direct.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    proxied = client.get("/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_api_browser_starts_from_a_static_file(client: Any) -> None:
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert inline_behaviour(html) == []
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert 'src="/static/swagger-init.js"' in html
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    with client.get("/static/swagger-init.js") as script:
        assert "SwaggerUIBundle" in script.get_data(as_text=True)


def test_pages_and_the_print_sheet_load_the_behaviour_file(app: Any, shop: Any) -> None:
    client = app.test_client()
    assert sign_in(client, "admin@headers.example", PASSWORD).status_code == 302
    number = open_return(shop)
    queue = client.get("/returns").get_data(as_text=True)
    assert re.search(r'<select name="state"[^>]* data-autosubmit>', queue)
    assert 'src="/static/spareflow.js" defer' in queue
    sheet = client.get(f"/returns/{number}/sheet").get_data(as_text=True)
    assert "data-print" in sheet and 'href="/static/print.css"' in sheet


def test_the_email_preview_is_framed_from_a_sandboxed_answer_of_its_own(
    app: Any, shop: Any
) -> None:
    """E-mails need inline styles: they get them only in a sandbox with no script at all."""
    client = app.test_client()
    assert sign_in(client, "admin@headers.example", PASSWORD).status_code == 302
    page = client.get("/admin/messages/reply/en")
    html = page.get_data(as_text=True)
    assert inline_behaviour(html) == [] and "srcdoc" not in html
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert 'target="html-preview"' in html and "data-submit-on-load" in html
    assert '<iframe name="html-preview"' in html and 'sandbox=""' in html
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    form = {key: html_unescape(value) for key, value in form.items()}
    framed = client.post("/admin/messages/reply/en/preview", data=form)
    assert framed.status_code == 200, framed.get_data(as_text=True)
    policy = framed.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "frame-ancestors 'self'" in policy
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert 'style="white-space: pre-line"' in framed.get_data(as_text=True)
    assert client.post("/admin/messages/reply/en/preview", data={}).status_code == 400
    shop.auth.create_user("desk@headers.example", Role.SERVICE_DESK, PASSWORD)
    desk = app.test_client()
    assert sign_in(desk, "desk@headers.example", PASSWORD).status_code == 302
    form["csrf_token"] = csrf_token(desk.get("/").get_data(as_text=True))
    assert desk.post("/admin/messages/reply/en/preview", data=form).status_code == 403
