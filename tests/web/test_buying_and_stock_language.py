# ruff: noqa: F811 (the floor and planned fixtures come from the warehouse and planning tests)
"""Issue #21 for buyers and the warehouse: a reorder workbook's problems, a serial number that
does not fit a move and a planning target refused read in the reader's language on the pages
(Chinese: none of the English, its Chinese instead); English word for word; the API stays
English (machine clients read the ``code``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Role
from core.errors import InvalidInput
from purchasing.reorder.targets import check_fill_rate
from tests.support.purchasing_scenarios import build_scenario, edit_workbook, row_of
from tests.web.test_buyer_pages import reorder_workbook, upload
from tests.web.test_pages import PASSWORD, csrf_token, sign_in
from tests.web.test_planning_web import planned  # noqa: F401
from tests.web.test_timeline_language import _unescaped
from tests.web.test_warehouse_pages import floor, post_form  # noqa: F401


def _reader(app: Any, email: str, role: Role, language: str) -> Any:
    app.extensions["spareflow"].auth.create_user(email, role, PASSWORD, language=language)
    client = app.test_client()
    assert sign_in(client, email, PASSWORD).status_code == 302
    return client


def _broken_reorder_upload(client: Any) -> str:
    """A reorder workbook with a fractional order qty and a row naming the wrong supplier."""

    def break_it(book: Any) -> None:
        book["ACME"].cell(row_of(book["ACME"], "PSU-65"), 13).value = 2.5
        book["BOLT"].cell(row_of(book["BOLT"], "CAB-1"), 4).value = "ACME"

    token = csrf_token(client.get("/buying/").get_data(as_text=True))
    data = edit_workbook(reorder_workbook(client), break_it)
    response = upload(client, "/buying/reorder/import", data, token)
    assert response.status_code == 422
    return _unescaped(response.get_data(as_text=True))


def test_a_reorder_workbooks_problems_read_in_the_buyers_language(app: Any) -> None:
    build_scenario(app.extensions["spareflow"].inventory)
    chinese = _broken_reorder_upload(_reader(app, "wu@buy.example", Role.BUYER, "zh_Hans"))
    for text in (
        "2.5 不是整数。",
        "该行的供应商为 'ACME'，但 CAB-1 是从 BOLT 采购的。请先修改零件的供应商，或重新导出工作簿。",
    ):
        assert text in chinese, text
    assert "is not a whole number" not in chinese and "is bought from" not in chinese
    english = _broken_reorder_upload(_reader(app, "ed@buy.example", Role.BUYER, "en"))
    for text in (
        "2.5 is not a whole number.",
        "The row says supplier 'ACME', but CAB-1 is bought from BOLT. Change the part's "
        "supplier first, or export the sheet again.",
    ):
        assert text in english, text
    # A file refused as a whole (not a workbook at all) too.
    buyer = _reader(app, "li@buy.example", Role.BUYER, "zh_Hans")
    token = csrf_token(buyer.get("/buying/").get_data(as_text=True))
    refused = upload(buyer, "/buying/reorder/import", b"item,qty\nFAN-80,3\n", token)
    assert refused.status_code == 422
    assert "这不是 .xlsx 工作簿。" in refused.get_data(as_text=True)


def test_a_serial_number_that_does_not_fit_reads_in_chinese_on_the_warehouse_pages(
    app: Any, floor: Any
) -> None:
    app.extensions["spareflow"].inventory.create_part(sku="CAM-1", name="Camera", serialised=True)
    wen = _reader(app, "wen@wh.example", Role.WAREHOUSE, "zh_Hans")
    receive = {"part": "CAM-1", "location": "MAIN/A-01-01"}
    assert (
        post_form(wen, "/warehouse/receive", **receive, qty="2", serials="SN-1\nSN-2").status_code
        == 302
    )
    move = {"part": "CAM-1", "from_location": "MAIN/A-01-01", "to_location": "MAIN/A-01-02"}
    for path, form, chinese, english in (
        ("/warehouse/move", move | {"qty": "1", "serials": "SN-9"},
         "没有序列号为 SN-9 的件。", "No unit with serial SN-9."),
        ("/warehouse/move", move | {"qty": "2", "serials": "SN-1"},
         "CAM-1 按序列号管理：移动 2 件需要填写 2 个序列号（实际填写了 1 个）。",
         "CAM-1 is serialised: a move of 2 units names 2 serials (1 given)."),
        ("/warehouse/receive", receive | {"qty": "1", "serials": "SN-2"},
         "序列号 SN-2 已在 MAIN/A-01-01 的库存中；不能再次收货。",
         "Serial SN-2 is already in stock at MAIN/A-01-01; it cannot be received again."),
    ):  # fmt: skip
        refused = post_form(wen, path, **form)
        assert refused.status_code == 422, path
        html = _unescaped(refused.get_data(as_text=True))
        assert chinese in html and english not in html, english
        in_english = _unescaped(post_form(floor, path, **form).get_data(as_text=True))
        assert english in in_english, english


def test_a_planning_target_refused_reads_in_chinese_on_the_page_and_in_english_by_api(
    app: Any, planned: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    buyer = _reader(app, "wu@plan.example", Role.BUYER, "zh_Hans")
    token = csrf_token(buyer.get("/buying/").get_data(as_text=True))
    wrong = buyer.post(
        "/buying/planning/targets",
        data={"csrf_token": token, "scope": "class", "key": "wobbly", "fill_rate": "90"},
        follow_redirects=True,
    )
    html = _unescaped(wrong.get_data(as_text=True))
    assert "需求类型须为以下之一：smooth, erratic, intermittent, lumpy；收到的是 'wobbly'。" in html
    assert "A demand class is one of" not in html
    # The API reads the same input in its schema, in English whatever the reader's language.
    api = app.test_client().put(
        "/api/v1/planning/targets",
        json={"scope": "class", "key": "wobbly", "fill_rate": "0.9"},
        headers=role_headers[Role.BUYER] | {"Accept-Language": "zh-CN"},
    )
    assert api.status_code == 422
    assert api.json["error"]["details"]["fields"] == {
        "key": ["One of smooth, erratic, intermittent, lumpy."]
    }
    # A rate out of range (the page's form and the API's schema stop it before the domain): a
    # literal per cent sign in a template with parameters, in both languages.
    with pytest.raises(InvalidInput) as raised:
        check_fill_rate(Decimal("1.5"))
    assert str(raised.value) == (
        "A fill rate target is a share from 0.5 to 0.999 (0.95 = 95% of the units asked for "
        "served from stock); got 1.5."
    )
    with app.test_request_context("/buying/", headers={"Accept-Language": "zh-CN"}):
        assert raised.value.message == (
            "满足率目标是 0.5 到 0.999 之间的比例（0.95 = 95% 的需求件数由库存满足）；收到的是 1.5。"
        )
