"""The pages in English and Simplified Chinese: per user, by the browser's Accept-Language on
the sign-in page, a switcher every user can use, and a catalogue that covers every text."""

from __future__ import annotations

import enum
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from accounts.models import LANGUAGES, Role
from tests.support.purchasing_scenarios import build_scenario
from tests.web.test_browser import browser  # noqa: F401 - the shared Chromium fixture
from tests.web.test_desk_pages import intake
from tests.web.test_pages import PASSWORD, csrf_token, sign_in
from web.i18n import language_for_header

ROOT = Path(__file__).parents[2]
TRANSLATIONS = ROOT / "web" / "translations"
ZH_PO = TRANSLATIONS / "zh_Hans" / "LC_MESSAGES" / "messages.po"
ZH_MO = TRANSLATIONS / "zh_Hans" / "LC_MESSAGES" / "messages.mo"
#: The keywords ``make translations`` passes to ``pybabel extract`` (-k _l -k lazy_gettext).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]+")


@pytest.fixture
def people(app: Any) -> Any:
    """An admin and a warehouse user in Chinese, an admin in English, and some stock."""
    services = app.extensions["spareflow"]
    auth = services.auth
    auth.create_user("li@i18n.example", Role.ADMIN, PASSWORD, language="zh_Hans")
    auth.create_user("wang@i18n.example", Role.WAREHOUSE, PASSWORD, language="zh_Hans")
    auth.create_user("ann@i18n.example", Role.ADMIN, PASSWORD)
    build_scenario(services.inventory)
    return app


def client_for(app: Any, email: str, **headers: str) -> Any:
    client = app.test_client()
    if headers:
        client.environ_base.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    response = sign_in(client, email, PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def language_of(app: Any, email: str) -> str:
    user = app.extensions["spareflow"].auth.find_user(email)
    assert user is not None
    return user.language


def page(client: Any, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    """What a reader sees: the page without its tags and attributes."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def open_a_return(client: Any) -> str:
    token = csrf_token(page(client, "/returns/new"))
    response = client.post("/returns/new", data=intake(token), follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- which language ----------------------------------------------------------------------


def test_a_chinese_user_sees_the_dashboard_warehouse_desk_and_buyer_pages_in_chinese(
    people: Any,
) -> None:
    people.extensions["spareflow"].inventory.create_part(sku="FAN-80X", name="Cooling fan 80mm X")
    client = client_for(people, "li@i18n.example")

    html = page(client, "/dashboard")
    assert '<html lang="zh-Hans">' in html and "<title>概览 · spareflow</title>" in html
    dashboard = text_of(html)
    for text in (
        "今日",
        "今日已发放退款",
        "退货队列",
        "待拣补发件",
        "库存预警",
        "再订货点",
        "退出登录",
    ):
        assert text in dashboard, text
    for english in ("Today", "Refunds released today", "Return queue", "Stock alerts", "Sign out"):
        assert english not in dashboard, english
    assert "Cooling fan 80mm" in dashboard  # data stays as it is

    warehouse = text_of(page(client, "/warehouse"))
    for text in ("仓库", "退回包裹", "按采购订单收货", "库位间移库", "盘点", "拣货队列：提前补发"):
        assert text in warehouse, text
    for english in ("Returned parcel", "Move between bins", "Cycle count", "Print pick list"):
        assert english not in warehouse, english

    opened = open_a_return(client)  # the flash, the RMA page and its states, all in Chinese
    assert "已创建 RMA-20261123-0001。" in opened and "已申请" in opened
    assert "Mia Chen" in opened and "opened." not in opened
    desk = text_of(page(client, "/returns"))
    for text in ("退货服务台", "新建退货", "优先级", "补发/换货", "已申请", "全部未结"):
        assert text in desk, text
    for english in ("Returns desk", "Open a return", "Priority", "requested", "All open"):
        assert english not in desk, english

    buyer = text_of(page(client, "/buying/"))
    for text in ("补货建议", "供应商", "全部供应商", "下载 .xlsx", "缺货", "生成采购订单草稿"):
        assert text in buyer, text
    for english in ("Reorder suggestions", "All suppliers", "Download .xlsx", "Order qty"):
        assert english not in buyer, english
    assert "PSU-65" in buyer and "Power supply 65W" in buyer


def test_an_english_user_sees_the_same_pages_in_english(people: Any) -> None:
    client = client_for(people, "ann@i18n.example")
    open_a_return(client)
    expected = {
        "/dashboard": ("Today", "Refunds released today", "Return queue", "Stock alerts"),
        "/warehouse": ("Returned parcel", "Move between bins", "Cycle count"),
        "/returns": ("Returns desk", "Open a return", "requested", "replacement"),
        "/buying/": ("Reorder suggestions", "All suppliers", "Download .xlsx", "short"),
    }
    for path, texts in expected.items():
        html = page(client, path)
        assert '<html lang="en">' in html
        assert all(text in text_of(html) for text in texts), path
        # The only Chinese on an English page is the switcher naming its language in itself.
        assert CJK.findall(html) == ["中文"], path


def test_a_chinese_warehouse_user_gets_form_labels_and_errors_in_chinese(people: Any) -> None:
    client = client_for(people, "wang@i18n.example")
    form = page(client, "/warehouse/receive")
    assert "零件（扫描 SKU 或条码）" in form and "放入库位" in form and "登记" in form
    response = client.post("/warehouse/receive", data={"csrf_token": csrf_token(form)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请扫描或输入。" in html and "数量是多少？" in html
    assert "Scan or type it." not in html
    received = client.post(
        "/warehouse/receive",
        data={
            "csrf_token": csrf_token(form),
            "part": "CAB-1",
            "location": "MAIN/A-01-01",
            "qty": "3",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已收货 3 件 CAB-1，放入 MAIN/A-01-01。" in received


def test_error_pages_part_pages_and_the_chart_are_chinese_too_but_the_api_stays_english(
    people: Any, admin: dict[str, str]
) -> None:
    client = client_for(people, "li@i18n.example")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert "服务器上找不到请求的页面。" in missing.get_data(as_text=True)
    api = client.get("/api/v1/parts/NOPE-1", headers=admin)
    assert api.status_code == 404 and api.is_json
    assert not CJK.search(api.get_data(as_text=True))  # the API is not translated
    part = page(client, "/parts/FAN-80")
    assert "各库位库存" in part and "最近库存变动" in part and ">今天</text>" in part
    assert "Stock by location" not in part and ">today</text>" not in part
    english = client_for(people, "ann@i18n.example")
    assert ">today</text>" in page(english, "/parts/FAN-80")


def test_werkzeugs_error_texts_are_the_ones_translated() -> None:
    from werkzeug import exceptions

    from web.errors import PAGE_MESSAGES

    for error in (
        exceptions.BadRequest,
        exceptions.Forbidden,
        exceptions.NotFound,
        exceptions.MethodNotAllowed,
        exceptions.RequestEntityTooLarge,
        exceptions.TooManyRequests,
    ):
        assert error.description in PAGE_MESSAGES, error


@pytest.mark.parametrize(
    ("header", "lang", "title"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans", "登录"),
        ("zh", "zh-Hans", "登录"),
        ("zh-Hans-CN", "zh-Hans", "登录"),
        ("fr-FR, zh;q=0.5", "zh-Hans", "登录"),
        ("en-GB,en;q=0.9,zh-CN;q=0.8", "en", "Sign in"),
        ("zh-TW", "en", "Sign in"),  # Traditional script: not Simplified Chinese
        ("de-DE", "en", "Sign in"),
        ("", "en", "Sign in"),
    ],
)
def test_the_sign_in_page_follows_the_browsers_accept_language(
    app: Any, header: str, lang: str, title: str
) -> None:
    headers = {"Accept-Language": header} if header else {}
    html = app.test_client().get("/sign-in", headers=headers).get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{title}</h1>" in html


def test_a_wrong_password_is_refused_in_the_browsers_language(people: Any) -> None:
    client = people.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    asked = client.get("/dashboard", follow_redirects=True).get_data(as_text=True)
    assert "请登录后继续。" in asked and "<h1>登录</h1>" in asked
    response = sign_in(client, "li@i18n.example", "not the password")
    assert response.status_code == 401
    assert "该电子邮箱和密码与任何有效账户都不匹配。" in response.get_data(as_text=True)


def test_a_signed_in_users_choice_wins_over_the_browser(people: Any) -> None:
    client = client_for(people, "ann@i18n.example", accept_language="zh-CN")
    assert '<html lang="en">' in page(client, "/dashboard")
    chinese = client_for(people, "li@i18n.example", accept_language="en-US")
    assert '<html lang="zh-Hans">' in page(chinese, "/dashboard")


def test_the_header_language_matches_the_supported_locales() -> None:
    assert language_for_header(["zh-cn"]) == "zh_Hans"
    assert language_for_header(["zh_Hans"]) == "zh_Hans"
    assert language_for_header(["zh-hk", "en-us"]) == "en"
    assert language_for_header(["fr", "it"]) is None
    assert set(LANGUAGES) == {"en", "zh_Hans"}


# --- the switcher ------------------------------------------------------------------------


def switch(client: Any, language: str, next_url: str, *, with_token: bool = True) -> Any:
    data = {"language": language, "next": next_url}
    if with_token:
        data["csrf_token"] = csrf_token(page(client, "/dashboard"))
    return client.post("/account/language", data=data)


def test_the_switcher_changes_the_language_and_it_persists(people: Any) -> None:
    client = client_for(people, "ann@i18n.example")
    assert 'name="language"' in page(client, "/warehouse")  # every page has the switcher
    response = switch(client, "zh_Hans", "/warehouse?x=1")
    assert (response.status_code, response.headers["Location"]) == (302, "/warehouse?x=1")
    assert language_of(people, "ann@i18n.example") == "zh_Hans"
    html = page(client, "/warehouse")
    assert '<html lang="zh-Hans">' in html and "库位间移库" in html
    assert '<option value="zh_Hans" lang="zh-Hans" selected>' in html

    again = client_for(people, "ann@i18n.example")  # a new session, another browser
    assert "库位间移库" in page(again, "/warehouse")

    switch(again, "en", "/warehouse")
    assert language_of(people, "ann@i18n.example") == "en"
    assert "Move between bins" in page(again, "/warehouse")


def test_the_switcher_refuses_an_unknown_language_and_says_why(people: Any) -> None:
    client = client_for(people, "ann@i18n.example")
    response = switch(client, "fr", "/dashboard")
    assert (response.status_code, response.headers["Location"]) == (302, "/dashboard")
    html = page(client, "/dashboard")
    assert "Unknown language fr; choose one of English (en), 中文 (zh_Hans)." in html
    assert language_of(people, "ann@i18n.example") == "en"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/path", "/\\evil.example", "javascript:x"]
)
def test_the_switcher_goes_back_to_local_pages_only(people: Any, target: str) -> None:
    client = client_for(people, "ann@i18n.example")
    response = switch(client, "zh_Hans", target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil" not in location and location.startswith("/") and not location.startswith("//")
    assert language_of(people, "ann@i18n.example") == "zh_Hans"


def test_the_switcher_needs_the_csrf_token_and_a_signed_in_user(people: Any) -> None:
    client = client_for(people, "ann@i18n.example")
    assert switch(client, "zh_Hans", "/dashboard", with_token=False).status_code == 400
    assert language_of(people, "ann@i18n.example") == "en"
    chinese = client_for(people, "li@i18n.example")
    refused = switch(chinese, "en", "/dashboard", with_token=False)
    assert refused.status_code == 400 and "缺少 CSRF 令牌" in refused.get_data(as_text=True)
    assert language_of(people, "li@i18n.example") == "zh_Hans"
    anonymous = people.test_client()
    token = csrf_token(page(anonymous, "/sign-in"))
    response = anonymous.post(
        "/account/language", data={"language": "zh_Hans", "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_an_admin_sets_a_users_language(people: Any) -> None:
    client = client_for(people, "ann@i18n.example")
    token = csrf_token(page(client, "/admin"))
    wang = people.extensions["spareflow"].auth.find_user("wang@i18n.example")
    form = {"csrf_token": token, "role": "warehouse", "active": "1", "language": "en"}
    assert client.post(f"/admin/users/{wang.id}", data=form).status_code == 302
    assert language_of(people, "wang@i18n.example") == "en"
    refused = client.post(
        f"/admin/users/{wang.id}", data={**form, "language": "xx"}, follow_redirects=True
    )
    assert "Unknown language" in refused.get_data(as_text=True)
    assert language_of(people, "wang@i18n.example") == "en"
    new = {
        "csrf_token": token,
        "email": "zhao@i18n.example",
        "name": "Zhao",
        "role": "buyer",
        "language": "zh_Hans",
        "password": PASSWORD,
    }
    assert client.post("/admin/users", data=new).status_code == 302
    assert language_of(people, "zhao@i18n.example") == "zh_Hans"
    zhao = client_for(people, "zhao@i18n.example")
    # The admin chose the password, so Zhao first picks one of their own, in Chinese.
    assert zhao.get("/buying/").headers["Location"] == "/account/password"
    forced = page(zhao, "/account/password")
    assert "修改您的密码" in forced
    zhao.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(forced),
            "current_password": PASSWORD,
            "new_password": "zhao's own passphrase",
            "repeat": "zhao's own passphrase",
        },
    )
    assert "补货建议" in page(zhao, "/buying/")


# --- the catalogue -----------------------------------------------------------------------


#: Where messages are extracted from: the web layer, and the domain packages (core/errors.py N_).
EXTRACTED = {
    "web",
    "core",
    "accounts",
    "carriers",
    "inventory",
    "knowledge",
    "purchasing",
    "returns",
    "sales",
}


def extracted_messages() -> dict[Any, set[str]]:
    """What ``make translations`` extracts from web/ and the domain packages' ``N_`` messages,
    run in-process with babel.cfg."""
    method_map, options_map = parse_mapping_cfg(io.StringIO((ROOT / "babel.cfg").read_text()))
    messages: dict[Any, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        assert filename.split("/")[0] in EXTRACTED, filename
        key = message if isinstance(message, str) else tuple(message[:2])
        messages.setdefault(key, set()).add(filename)
    return messages


@pytest.fixture(scope="module")
def zh_catalog() -> Any:
    with ZH_PO.open("rb") as po:
        return read_po(po, locale="zh_Hans")


def test_every_text_in_the_pages_has_a_chinese_translation(zh_catalog: Any) -> None:
    messages = extracted_messages()
    assert len(messages) > 300  # templates and views were all read
    assert "Returns desk" in messages and ("%(num)d part created", "%(num)d parts created") in (
        messages
    )
    problems = []
    for key, files in sorted(messages.items(), key=lambda item: str(item[0])):
        entry = zh_catalog.get(key[0] if isinstance(key, tuple) else key)
        strings = (
            entry.string
            if entry is not None and isinstance(entry.string, tuple)
            else ((entry.string,) if entry is not None else ())
        )
        if entry is None:
            problems.append(f"missing from messages.po: {key!r} ({', '.join(sorted(files))})")
        elif entry.fuzzy or not strings or not all(strings):
            problems.append(f"untranslated or fuzzy: {key!r}")
        elif isinstance(key, tuple) != entry.pluralizable:
            problems.append(f"plural forms differ: {key!r}")
    assert problems == []


def test_the_translations_keep_every_placeholder(zh_catalog: Any) -> None:
    placeholder = re.compile(r"%\((\w+)\)[sd]")
    for entry in zh_catalog:
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set().union(*(placeholder.findall(text) for text in ids))
        for text in strings:
            assert set(placeholder.findall(text)) == wanted, entry.id


def test_the_committed_mo_file_is_the_compiled_po(zh_catalog: Any) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, zh_catalog)
    compiled.seek(0)
    expected = read_mo(compiled)
    with ZH_MO.open("rb") as mo:
        committed = read_mo(mo)

    def as_dict(catalog: Any) -> dict[Any, Any]:
        def plain(value: Any) -> Any:
            return tuple(value) if isinstance(value, (list, tuple)) else value

        return {plain(entry.id): plain(entry.string) for entry in catalog if entry.id}

    assert as_dict(committed) == as_dict(expected)
    assert len(as_dict(committed)) == len([entry for entry in zh_catalog if entry.id])
    assert committed.plural_forms == zh_catalog.plural_forms == "nplurals=1; plural=0;"


def test_every_state_and_kind_a_page_shows_has_a_translation(zh_catalog: Any) -> None:
    from carriers.models import Direction
    from carriers.status import TrackingStatus
    from inventory.status import LocationKind, MoveKind, ReservationStatus
    from purchasing import status as po_status
    from returns import status

    shown: list[type[enum.Enum]] = [
        Role,
        Direction,
        TrackingStatus,
        LocationKind,
        MoveKind,
        ReservationStatus,
        po_status.PurchaseOrderStatus,
        po_status.Urgency,
        status.RmaStatus,
        status.RefundStatus,
        status.ReplacementStatus,
        status.Priority,
        status.Resolution,
        status.Reason,
        status.Channel,
        status.Disposition,
    ]
    missing = [
        f"{kind.__name__}.{member.name}"
        for kind in shown
        for member in kind
        if not (entry := zh_catalog.get(member.value.replace("_", " "))) or not entry.string
    ]
    assert missing == []


# --- in a real browser -------------------------------------------------------------------

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.support.processes import running, spareflow, spareflow_env, waitress

    env = spareflow_env(tmp_path_factory.mktemp("i18n"))
    spareflow(env, "db", "upgrade")
    spareflow(env, "users", "create", "mei@i18n.example", "--role", "admin", stdin=PASSWORD + "\n")
    command, port = waitress(env)
    with running(command, env, port) as base_url:
        yield base_url


def test_a_user_switches_to_chinese_in_the_browser_and_it_stays(
    browser: Any,  # noqa: F811
    served: str,
    request: pytest.FixtureRequest,
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        tab = context.new_page()
        tab.goto(f"{served}/sign-in")
        assert tab.locator("h1").inner_text() == "Sign in"
        tab.fill("input[name=email]", "mei@i18n.example")
        tab.fill("input[name=password]", PASSWORD)
        tab.press("input[name=password]", "Enter")
        tab.wait_for_selector("details.menu")  # signed in (the menu is folded on a phone)
        tab.goto(f"{served}/warehouse")
        assert tab.locator("h1").inner_text() == "Warehouse"

        with tab.expect_navigation():
            tab.select_option("#language-form select[name=language]", "zh_Hans")  # submits
        assert tab.url == f"{served}/warehouse"
        assert tab.locator("html").get_attribute("lang") == "zh-Hans"
        assert tab.locator("h1").inner_text() == "仓库"
        assert tab.locator("header nav").inner_text().split() == [
            "概览", "零件与库存", "补货", "采购订单", "供应商索赔", "仓库",
            "序列号", "退货服务台", "订单", "知识库", "备用机池", "售后指标", "管理",
        ]  # fmt: skip
        tab.goto(f"{served}/dashboard")
        assert tab.locator("h1").inner_text() == "今日"
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()
