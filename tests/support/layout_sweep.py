"""The layout sweep (docs/testing.md "The layout sweep"), shared by the files that run it.

Every page of a role, at 390 px (a phone) and 1366 px (a laptop), in English and in
Simplified Chinese, in a real browser (Debian's Chromium, Playwright) against the demo data
served by spareflow as a real process. The sweep is split into one file per role
(tests/web/test_browser_layout_*.py) so that pytest-xdist (``--dist loadfile``) runs them on
different workers; each file runs ``sweep()`` for its own people and the checks below
(imported into it) read the findings: sideways scrolling, raw enum codes, untranslated
texts, axe-core's serious and critical findings on the main pages (labelled fields, contrast
AA) and a visible focus. Screenshots of the main pages and ``layout-report-<file>.json`` go to
``SPAREFLOW_SCREENSHOTS_DIR`` (``test-artifacts/layout/`` when unset) for CI to keep.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from accounts.models import Role
from demo.data import DEMO_PORTAL_ORDER
from tests.support import page_audit as audit_
from tests.support.demo_sites import copy_demo_site
from tests.support.page_audit import Visit
from tests.support.processes import running, spareflow_env, waitress

#: Where the screenshots and layout-report.json go unless SPAREFLOW_SCREENSHOTS_DIR says.
ARTIFACTS = audit_.ROOT / "test-artifacts" / "layout"
WIDE, PHONE = 1366, 390
HEIGHT = {WIDE: 900, PHONE: 844}
LANGUAGES = ("en", "zh_Hans")
ACCOUNTS = {
    Role.ADMIN: ("admin@demo.spareflow", "demo-admin-pass"),
    Role.WAREHOUSE: ("warehouse@demo.spareflow", "demo-warehouse-pass"),
    Role.BUYER: ("buyer@demo.spareflow", "demo-buyer-pass"),
    Role.SERVICE_DESK: ("desk@demo.spareflow", "demo-desk-pass"),
}
#: Where each role starts its day (issue #21): its own work, not the parts list.
LANDING = {
    Role.ADMIN: "inventory.parts",
    Role.WAREHOUSE: "warehouse.index",
    Role.BUYER: "buying.reorder",
    Role.SERVICE_DESK: "desk.queue",
}
#: The main pages: screenshot and axe-core at both widths, in both languages.
MAIN = {
    "inventory.parts", "inventory.part", "inventory.dashboard", "warehouse.index",
    "warehouse.goods_in", "warehouse.parcel", "warehouse.pick_list", "desk.queue", "desk.detail",
    "desk.new", "buying.reorder", "buying.purchase_orders", "buying.purchase_order",
    "claims_pages.claims", "metrics_pages.page", "orders_pages.index", "loans_pages.pool",
    "admin.index", "status.page", "portal.start", "session.sign_in",
}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("layout")
    copy_demo_site(folder, parts=80)
    env = {
        **spareflow_env(folder),
        "SPAREFLOW_CARRIERS_SANDBOX": "true",
        "SPAREFLOW_RETURNS_CARRIER": "sandbox",
    }
    command, port = waitress(env)
    with running(command, env, port) as base_url:
        yield base_url


class Sweep:
    def __init__(self, base_url: str, shots: Path) -> None:
        from web import create_app

        self.base_url = base_url
        self.shots = shots
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
        self.visits: list[Visit] = []
        self.axe: list[str] = []
        self.focus: list[str] = []
        self.landing: dict[Role, str | None] = {}
        self.unreached: dict[str, list[str]] = {}
        self.checked: set[tuple[str, str, int]] = set()
        self.timing: dict[str, float] = defaultdict(float)
        self.pool: dict[str, list[Any]] = {}  # argument values of the links seen
        self.axe_source = audit_.AXE.read_text()
        self.roles: tuple[Role, ...] = ()  # whose pages were swept (besides the customer's)

    def open(self, page: Any, who: str, language: str, path: str) -> list[str]:
        """Measure ``path`` at both widths; the page's local links for further pages."""
        page.set_viewport_size({"width": WIDE, "height": HEIGHT[WIDE]})
        started = time.monotonic()
        response = page.goto(self.base_url + path)
        self.timing["loading"] += time.monotonic() - started
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            return []
        endpoint = audit_.endpoint_of(self.app, page.url.removeprefix(self.base_url)) or "?"
        visit = Visit(who, language, path, endpoint)
        text = page.evaluate(audit_.VISIBLE_TEXT)
        visit.raw_codes = audit_.raw_codes(text)
        if language != "en":
            visit.untranslated = audit_.untranslated(text)
        for width in (WIDE, PHONE):
            if width != WIDE:
                page.set_viewport_size({"width": width, "height": HEIGHT[width]})
            measured = page.evaluate(audit_.MEASURE)
            visit.widths[width] = measured["scrollWidth"]
            visit.culprits[width] = measured["wide"]
            visit.header_lines[width] = measured["headerLines"]
            if endpoint in MAIN and (endpoint, language, width) not in self.checked:
                self.checked.add((endpoint, language, width))
                self.main_page(page, visit, width)
        self.visits.append(visit)
        return audit_.local_links(page)

    def main_page(self, page: Any, visit: Visit, width: int) -> None:
        name = f"{visit.language}-{width}-{visit.endpoint.replace('.', '-')}.jpeg"
        started = time.monotonic()
        page.screenshot(path=str(self.shots / name), full_page=True, type="jpeg", quality=75)
        self.timing["screenshots"] += time.monotonic() - started
        if width == WIDE:
            if visit.language == "en":
                self.check_focus(page, visit.path)
            return  # axe on the phone, in both languages: labels and contrast do not change with width
        started = time.monotonic()
        if page.evaluate("typeof window.axe") == "undefined":
            page.evaluate(self.axe_source)
        found = page.evaluate(
            """async rules => (await axe.run(document, {runOnly: {type: 'rule', values: rules},
                 resultTypes: ['violations']})).violations
               .filter(v => v.impact === 'serious' || v.impact === 'critical')
               .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))""",
            audit_.AXE_RULES,
        )
        self.axe.extend(f"{visit.language} {width}px {visit.path}: {one}" for one in found)
        self.timing["axe"] += time.monotonic() - started

    def check_focus(self, page: Any, path: str) -> None:
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("Tab")
        shown = page.evaluate(
            """() => { const e = document.activeElement; if (!e || e === document.body) return 'none';
               const s = getComputedStyle(e);
               return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                      || s.boxShadow !== 'none' ? '' : e.tagName + ' ' + (e.textContent || '').trim(); }"""
        )
        if shown:
            self.focus.append(f"{path}: {shown}")

    def role(self, context: Any, role: Role) -> None:
        page = context.new_page()
        email, password = ACCOUNTS[role]
        page.goto(f"{self.base_url}/")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.press("input[name=password]", "Enter")
        page.wait_for_load_state()
        self.landing[role] = audit_.endpoint_of(self.app, page.url.removeprefix(self.base_url))
        paths = self.discover(page, role)
        page.set_viewport_size({"width": WIDE, "height": HEIGHT[WIDE]})
        page.goto(f"{self.base_url}/dashboard")
        with page.expect_navigation():
            page.select_option("select[name=language]", "zh_Hans")  # sends itself (no button)
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        for path in paths:
            self.open(page, role.value, "zh_Hans", path)

    def discover(self, page: Any, role: Role) -> list[str]:
        """Open the role's pages in English; the paths opened, for the other language."""
        rules = audit_.page_rules(self.app, role)
        opened: list[str] = []
        links: list[str] = []
        for rule, _endpoint in rules:
            if "<" not in rule:
                opened.append(rule)
                links += self.open(page, role.value, "en", rule)
        wanted = {endpoint for rule, endpoint in rules if "<" in rule}
        for _round in range(3):
            found: dict[str, str] = {}
            for link in links:
                endpoint, arguments = audit_.match(self.app, link)
                for name, value in arguments.items():
                    if value not in self.pool.setdefault(name, []):
                        self.pool[name].append(value)
                if endpoint in wanted and endpoint not in found:
                    found[endpoint] = link
            links = []
            for endpoint, link in found.items():
                wanted.discard(endpoint)
                opened.append(link)
                links += self.open(page, role.value, "en", link)
        for endpoint in sorted(wanted):  # no link to it: try the values other pages linked with
            for path in audit_.candidates(self.app, endpoint, self.pool):
                if page.request.get(self.base_url + path, max_redirects=0).status == 200:
                    wanted.discard(endpoint)
                    opened.append(path)
                    self.open(page, role.value, "en", path)
                    break
        self.unreached[role.value] = sorted(wanted)
        return opened

    def customer(self, browser: Any, language: str, status_paths: list[str]) -> list[str]:
        locale = "en-GB" if language == "en" else "zh-CN"
        context = browser.new_context(locale=locale, viewport={"width": WIDE, "height": 900})
        page = context.new_page()
        for path in ("/sign-in", "/returns-portal", *status_paths):
            self.open(page, "customer", language, path)
        if not status_paths:  # the portal: find the demo order, send a return back
            page.set_viewport_size({"width": PHONE, "height": HEIGHT[PHONE]})
            page.goto(f"{self.base_url}/returns-portal")
            page.fill("input[name=order_number]", DEMO_PORTAL_ORDER[0])
            page.fill("input[name=email]", DEMO_PORTAL_ORDER[1])
            page.click("#find-order button")
            page.wait_for_selector("#choose")
            page.select_option("select[name=qty-0]", "1")
            page.select_option("select[name=reason-0]", "defective")
            page.fill("textarea[name=description-0]", "Rattles")
            page.check("input[name=resolution][value=refund]")
            page.click("#send")
            page.wait_for_selector("#decision")
            status = urlsplit(page.locator("#status-link").get_attribute("href") or "").path
            status_paths = [status, f"{status}/sheet"]
            for path in status_paths:
                self.open(page, "customer", language, path)
        context.close()
        return status_paths


def sweep(
    browser: Any, base_url: str, name: str, roles: Iterable[Role] = (), customer: bool = False
) -> Sweep:
    """Sweep the customer's pages (``customer``) and every page of ``roles``, in both languages."""
    shots = Path(os.environ.get("SPAREFLOW_SCREENSHOTS_DIR") or ARTIFACTS)
    shots.mkdir(parents=True, exist_ok=True)
    done = Sweep(base_url, shots)
    done.roles = tuple(roles)
    started = time.monotonic()
    if customer:
        status_paths = done.customer(browser, "en", [])
        done.customer(browser, "zh_Hans", status_paths)
    for role in roles:
        context = browser.new_context(locale="en-GB")
        done.role(context, role)
        context.close()
    seconds = time.monotonic() - started
    report = {
        "seconds": round(seconds, 1),
        "visits": [
            {"who": v.who, "language": v.language, "path": v.path, "endpoint": v.endpoint,
             "scroll_width": v.widths, "too_wide": v.culprits, "header_lines": v.header_lines, "raw_codes": sorted(v.raw_codes),
             "untranslated": sorted(audit_.readable(p) for p in v.untranslated)}
            for v in done.visits
        ],
        "timing": {k: round(v, 1) for k, v in done.timing.items()},
        "axe": done.axe, "focus": done.focus, "unreached": done.unreached,
    }  # fmt: skip
    report_file = shots / f"layout-report-{name}.json"
    report_file.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(
        f"\nlayout sweep ({name}): {len(done.visits)} page visits in {seconds:.0f}s; {dict(done.timing)}; report in {report_file}"
    )
    return done


def main_pages_checked(audit: Sweep) -> set[str]:
    """The main pages the sweep checked all four ways (two widths, two languages)."""
    ways = defaultdict(set)
    for endpoint, language, width in audit.checked:
        ways[endpoint].add((language, width))
    return {endpoint for endpoint, seen in ways.items() if len(seen) == 4}


# --- the checks every sweep file imports (its ``audit`` fixture is its own sweep) ----------


def test_no_page_scrolls_sideways_at_390_or_1366_px_in_either_language(audit: Sweep) -> None:
    assert audit_.overflowing(audit.visits) == []


def test_no_page_shows_a_raw_code(audit: Sweep) -> None:
    assert [
        f"{v.who} {v.language} {v.path}: {sorted(v.raw_codes)}" for v in audit.visits if v.raw_codes
    ] == []


def test_chinese_pages_show_no_untranslated_text(audit: Sweep) -> None:
    missing: dict[str, set[str]] = {}
    for visit in audit.visits:
        for pattern in visit.untranslated:
            missing.setdefault(audit_.readable(pattern), set()).add(visit.endpoint)
    assert {text: sorted(pages) for text, pages in sorted(missing.items())} == {}


def test_main_pages_have_labelled_fields_and_aa_contrast(audit: Sweep) -> None:
    assert audit.checked
    assert audit.axe == []


def test_the_focused_control_is_visibly_marked(audit: Sweep) -> None:
    assert audit.focus == []


# --- the checks every role's sweep file imports as well ----------------------------------


def test_every_role_lands_on_its_own_work(audit: Sweep) -> None:
    assert audit.roles
    assert audit.landing == {role: LANDING[role] for role in audit.roles}


def test_every_page_of_every_role_is_reached(audit: Sweep) -> None:
    assert {who: left for who, left in audit.unreached.items() if left} == {}
    assert set(audit.unreached) == {role.value for role in audit.roles}


def test_the_header_is_one_line_at_1366_px(audit: Sweep) -> None:
    signed_in = [v for v in audit.visits if v.who != "customer" and v.header_lines.get(WIDE)]
    assert signed_in
    assert [f"{v.who} {v.language} {v.path}" for v in signed_in if v.header_lines[WIDE] != 1] == []
