"""The demo in a real browser (Debian's Chromium driven by Playwright) against a real server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.data import DEMO_PORTAL_ORDER
from tests.support.demo_sites import copy_demo_site
from tests.support.processes import running, spareflow_env, waitress

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def expect(target: Any) -> Any:
    """Playwright's retrying assertions (imported here: without playwright the browser tests
    skip rather than fail to import). Unlike ``wait_for_function`` with a string they evaluate
    nothing in the page, which the pages' CSP (no ``unsafe-eval``) would refuse."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not shutil.which(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("browser tests need Chromium (/usr/bin/chromium) and playwright in CI")
        pytest.skip("browser tests need Debian's chromium and the playwright package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path: Path = tmp_path_factory.mktemp("demo")
    copy_demo_site(tmp_path, parts=80)
    env = spareflow_env(tmp_path)
    command, port = waitress(env)
    with running(command, env, port) as base_url:
        yield base_url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/")
    assert "/sign-in" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")


def test_a_warehouse_user_signs_in_and_finds_a_part_by_scanning_its_barcode(
    page: Any, demo_url: str
) -> None:
    sign_in(page, demo_url, "warehouse@demo.spareflow", "demo-warehouse-pass")
    page.wait_for_selector("#scan-rma")  # the warehouse starts on its scan page
    page.click("nav >> text=Parts")
    page.wait_for_selector("#parts")
    assert page.locator("#parts tbody tr").count() == 50  # one page
    # A scanner types the barcode into the focused field and sends Enter.
    expect(page.locator("input[name=q]")).to_be_focused()
    page.keyboard.type("200000000017")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=200000000017**")
    rows = page.locator("#parts tbody tr")
    assert rows.count() == 1
    rows.first.locator("a").click()
    page.wait_for_selector("#levels")
    assert page.locator("h1").inner_text().startswith("SP-")
    assert page.locator("#moves tbody tr").count() >= 1


def test_the_below_reorder_point_view_lists_only_short_parts(page: Any, demo_url: str) -> None:
    sign_in(page, demo_url, "buyer@demo.spareflow", "demo-buyer-pass")
    page.wait_for_selector("#suggestions")  # buyers start on the reorder page
    page.click("nav >> text=Parts")
    page.click("text=Below reorder point")
    page.wait_for_selector("#parts")
    rows = page.locator("#parts tbody tr")
    assert rows.count() > 0
    highlighted = 0
    for index in range(rows.count()):
        cells = rows.nth(index).locator("td")
        available, reorder_point = int(cells.nth(6).inner_text()), int(cells.nth(7).inner_text())
        assert available <= reorder_point
        # Only the rows actually below their point stand out, not every row of this list.
        low = "low" in (rows.nth(index).get_attribute("class") or "")
        assert low == (available < reorder_point)
        highlighted += low
    assert highlighted > 0


def test_a_wrong_password_keeps_the_user_out_with_a_clear_message(page: Any, demo_url: str) -> None:
    sign_in(page, demo_url, "desk@demo.spareflow", "wrong password")
    assert "do not match an active account" in page.locator(".flash-error").inner_text()
    assert page.input_value("input[name=email]") == "desk@demo.spareflow"  # nothing retyped


def test_the_desk_compares_refund_on_pickup_with_refund_on_receipt_and_downloads_the_report(
    page: Any, demo_url: str
) -> None:
    import io

    import openpyxl

    sign_in(page, demo_url, "desk@demo.spareflow", "demo-desk-pass")
    page.wait_for_selector("details.menu")  # signed in (the menu is folded on a phone)
    page.click("nav >> text=Metrics")
    page.wait_for_selector("#what-if")
    # The demo's history: refunds at pickup take 1-2 days, waiting for the dock 6-10.
    actual = float(page.inner_text("#what-if-actual").removesuffix(" d"))
    waited = float(page.inner_text("#what-if-waited").removesuffix(" d"))
    assert actual < 2.5 < 6 < waited
    for chart in ("#chart-what-if svg", "#chart-distribution svg", "#chart-refund-trend svg"):
        assert page.locator(chart).is_visible(), chart
    # A shorter period through the form.
    last = page.input_value("input[name=to]")
    page.fill("input[name=from]", last[:8] + "01")
    page.click("#period button")
    page.wait_for_url("**from=*")
    assert page.input_value("input[name=from]").endswith("-01")
    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename.startswith("metrics-")
    book = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert "What-if" in book.sheetnames


def test_a_new_user_changes_the_temporary_password_sets_up_two_factor_and_signs_in_with_it(
    browser: Any, page: Any, demo_url: str
) -> None:
    import pyotp

    sign_in(page, demo_url, "admin@demo.spareflow", "demo-admin-pass")
    page.goto(f"{demo_url}/admin")
    form = page.locator("#new-user")
    form.locator("input[name=email]").fill("li@demo.spareflow")
    form.locator("select[name=role]").select_option("buyer")
    form.locator("input[name=password]").fill("temporary for li")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#users")
    assert "li@demo.spareflow" in page.inner_text("#users")

    li = browser.new_context().new_page()
    sign_in(li, demo_url, "li@demo.spareflow", "temporary for li")
    li.wait_for_selector("#must-change")  # sent to choose a password before anything else
    li.fill("input[name=current_password]", "temporary for li")
    li.fill("input[name=new_password]", "li picks her own words")
    li.fill("input[name=repeat]", "li picks her own words")
    li.click("#password-form button[type=submit]")
    li.wait_for_selector("#suggestions")  # a buyer's own page

    li.goto(f"{demo_url}/account/two-factor")
    li.click("#start-form button[type=submit]")
    li.wait_for_selector("#qr svg")  # the QR code, inline SVG
    secret = li.inner_text("#totp-secret")
    li.fill("#confirm-form input[name=code]", pyotp.TOTP(secret).now())
    li.click("#confirm-form button[type=submit]")
    li.wait_for_selector("#recovery-codes")
    codes = li.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10

    # A copy of Li's cookie, taken before she signs out, is worth nothing afterwards.
    thief = browser.new_context()
    thief.add_cookies(li.context.cookies())
    li.click("form.signout button[type=submit]")
    li.wait_for_selector("input[name=email]")
    stolen = thief.new_page()
    stolen.goto(f"{demo_url}/")
    assert "/sign-in" in stolen.url

    # Password, then a recovery code (the TOTP code of this 30 s was used already).
    sign_in(li, demo_url, "li@demo.spareflow", "li picks her own words")
    li.wait_for_selector("input[name=code]")
    li.goto(f"{demo_url}/")
    assert "/sign-in" in li.url  # half signed in: no page
    li.goto(f"{demo_url}/sign-in/code")
    li.fill("input[name=code]", codes[0])
    li.press("input[name=code]", "Enter")
    li.wait_for_selector("#suggestions")
    thief.close()
    li.context.close()


# --- the Content-Security-Policy in a real browser ---------------------------------------------

#: Runs before the page's own scripts (Playwright injects it outside the page's CSP): records
#: every CSP violation, and makes window.print observable.
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
window.print = function () { window.__printed = true; };
"""


@pytest.fixture
def watched(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page that records console errors; ``no_violations`` checks it and the CSP events."""
    context = browser.new_context()
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)  # fmt: skip
    page.on("pageerror", lambda error: console.append(str(error)))
    yield page, console
    context.close()


#: Playwright's own helpers sometimes evaluate strings in their isolated world; Chromium then
#: logs an 'unsafe-eval' refusal with no securitypolicyviolation event in the page. The page's
#: own eval would fire that event too, so ``window.__violations`` still catches it.
DRIVER_EVAL = "Evaluating a string as JavaScript violates"


def no_violations(page: Any, console: list[str]) -> None:
    assert page.evaluate("window.__violations") == [], page.url
    refused = [text for text in console if "Content Security Policy" in text]
    assert [text for text in refused if not text.startswith(DRIVER_EVAL)] == [], page.url


def test_the_pages_that_had_inline_behaviour_work_under_the_csp(
    watched: tuple[Any, list[str]], demo_url: str
) -> None:
    import re

    page, console = watched
    sign_in(page, demo_url, "desk@demo.spareflow", "demo-desk-pass")
    page.wait_for_selector("details.menu")  # signed in (the menu is folded on a phone)
    response = page.goto(f"{demo_url}/returns")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # The state filter sends its form when an option is chosen (was onchange="...").
    page.select_option("select[name=state]", "authorised")
    page.wait_for_url("**state=authorised**")
    assert page.input_value("select[name=state]") == "authorised"
    no_violations(page, console)
    # The language menu in the top bar does the same, and back.
    page.select_option("select[name=language]", "zh_Hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.select_option("select[name=language]", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    no_violations(page, console)
    # An RMA: send the customer a new status page link, open it (a public page, no-referrer).
    page.goto(f"{demo_url}/returns")
    page.locator("#rmas tbody tr.kind-return a").first.click()  # not an enquiry's page
    page.wait_for_selector("#status-link")
    number = page.locator("h1").inner_text().split()[0]
    page.click("#status-link button")
    page.wait_for_selector(".flash-success")
    [token] = re.findall(r"/status/([A-Za-z0-9_-]{43,})", page.inner_text(".flash-success"))
    no_violations(page, console)
    status = page.goto(f"{demo_url}/status/{token}")
    assert status.status == 200 and number in page.inner_text("h1")
    assert status.headers["referrer-policy"] == "no-referrer"
    assert status.headers["cache-control"] == "no-store"
    no_violations(page, console)
    # The printable return sheet's button prints (was onclick="window.print()").
    page.goto(f"{demo_url}/returns/{number}/sheet")
    page.click("button[data-print]")
    assert page.evaluate("window.__printed") is True
    assert page.locator("table").first.evaluate("t => getComputedStyle(t).borderCollapse") == (
        "collapse"  # print.css, no longer an inline <style>
    )
    no_violations(page, console)


def test_the_api_browser_and_the_email_preview_work_under_the_csp(
    watched: tuple[Any, list[str]], demo_url: str
) -> None:
    page, console = watched
    sign_in(page, demo_url, "admin@demo.spareflow", "demo-admin-pass")
    page.wait_for_selector("details.menu")  # signed in (the menu is folded on a phone)
    page.goto(f"{demo_url}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20000)
    assert page.locator(".swagger-ui .opblock").count() > 20
    no_violations(page, console)
    # The e-mail preview: the HTML in a sandboxed frame of its own, its inline styles applied.
    page.goto(f"{demo_url}/admin/messages/reply/en")
    frame = page.frame(name="html-preview")
    assert frame is not None
    frame.wait_for_selector("p >> text=Thank you, we are looking into it.")
    white_space = frame.locator("p >> text=Thank you").evaluate(
        "p => getComputedStyle(p).whiteSpace"
    )
    assert white_space == "pre-line"
    assert page.locator("#html-preview").evaluate("f => f.getBoundingClientRect().height") > 400
    no_violations(page, console)


def test_the_demo_order_the_readme_names_opens_on_the_returns_portal(
    page: Any, demo_url: str
) -> None:
    """README: the portal finds SO-1001 with mia.chen@example.com, its lines ready to pick."""
    number, email = DEMO_PORTAL_ORDER
    page.goto(f"{demo_url}/returns-portal")
    page.fill("input[name=order_number]", number)
    page.fill("input[name=email]", email.upper())  # e-mails are compared without case
    page.locator("input[name=order_number]").press("Enter")
    page.wait_for_selector("select[name=qty-0]")
    assert number in page.content()
