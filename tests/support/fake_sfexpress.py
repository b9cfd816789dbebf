"""A loopback SF Express open-platform gateway for tests (a real HTTP server on 127.0.0.1).

Built from SF's documented requests and answers (tests/fixtures/sfexpress/README.md): it checks
every request's ``msgDigest`` exactly as SF does, answers in SF's envelope from the fixture
templates, and serves the cloud-print PDF behind its ``X-Auth-token``. Knobs:
- ``fail_next``: that many calls answer HTTP 500;
- ``lose_next_create``: the next order is created, then the answer is held past the client's
  timeout (a process that never saw SF's answer);
- ``out_of_range_cities``: orders touching these cities get ``filterResult`` 3;
- ``answer_duplicate_with_waybill``: a reused orderId is answered with the first order's
  waybill (newer SF documents) instead of ``8016`` 重复下单.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

from carriers.label_providers.sfexpress import msg_digest
from tests.support.sandbox_servers import serving

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sfexpress"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass
class SfOrder:
    order_id: str
    waybill: str
    body: dict[str, Any]
    cancelled: bool = False


@dataclass
class FakeSfExpress:
    partner_id: str = "SPAREFLOWTEST"
    check_word: str = "fjcg5PGKaNpPSHFAZ4QsCOkV71R3zVci"
    fail_next: int = 0
    lose_next_create: bool = False
    hang_seconds: float = 1.0
    answer_duplicate_with_waybill: bool = False
    out_of_range_cities: set[str] = field(default_factory=set)
    orders: dict[str, SfOrder] = field(default_factory=dict)
    #: Every request SF accepted: (serviceCode, msgData as decoded JSON).
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rejected_signatures: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def created(self) -> int:
        return sum(1 for service, _ in self.calls if service == "EXP_RECE_CREATE_ORDER")

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        if request.method == "GET" and request.path.startswith("/print/"):
            return self._download(request)(environ, start_response)
        return self._gateway(request)(environ, start_response)

    def _gateway(self, request: Request) -> Response:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return Response("Internal Server Error", status=500)
        form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        expected = msg_digest(form.get("msgData", ""), form.get("timestamp", ""), self.check_word)
        if form.get("partnerID") != self.partner_id or form.get("msgDigest") != expected:
            self.rejected_signatures += 1
            return _envelope(None, code="A1006", message="数字签名无效")
        service = form.get("serviceCode", "")
        body = json.loads(form["msgData"])
        with self._lock:
            self.calls.append((service, body))
            handler = {
                "EXP_RECE_CREATE_ORDER": self._create,
                "EXP_RECE_SEARCH_ORDER_RESP": self._search,
                "EXP_RECE_UPDATE_ORDER": self._update,
                "COM_RECE_CLOUD_PRINT_WAYBILLS": self._print,
            }.get(service)
            if handler is None:
                return _envelope(None, code="A1004", message="无对应服务权限")
            answer, hang = handler(body)
        if hang:
            time.sleep(self.hang_seconds)
        return answer

    # --- services -------------------------------------------------------------------------

    def _create(self, body: dict[str, Any]) -> tuple[Response, bool]:
        order_id = body["orderId"]
        existing = self.orders.get(order_id)
        if existing is not None:
            if self.answer_duplicate_with_waybill:
                return _business(_order_answer(existing)), False
            return _business(None, error_code="8016", error_msg="重复下单"), False
        if "sendStartTm" in body:
            try:  # the documented format, "YYYY-MM-DD HH24:MM:SS" (China time)
                datetime.strptime(str(body["sendStartTm"]), "%Y-%m-%d %H:%M:%S")
            except ValueError:
                return _business(
                    None, error_code="FAKE_BAD_SEND_START_TM", error_msg="sendStartTm格式错误"
                ), False
        cities = {c.get("city", "") for c in body.get("contactInfoList", [])}
        if cities & self.out_of_range_cities:
            answer = _order_answer(SfOrder(order_id, "", body))
            answer.update(filterResult=3, remark="2", waybillNoInfoList=[], routeLabelInfo=[])
            return _business(answer), False
        order = SfOrder(order_id, f"SF{7444496931331 + len(self.orders)}", body)
        self.orders[order_id] = order
        lose = self.lose_next_create
        self.lose_next_create = False
        return _business(_order_answer(order)), lose

    def _search(self, body: dict[str, Any]) -> tuple[Response, bool]:
        order = self.orders.get(body.get("orderId", ""))
        if order is None:
            # SF's code for an unknown orderId is not in its published material.
            return _business(None, error_code="FAKE_ORDER_NOT_FOUND", error_msg="订单不存在"), False
        return _business(_order_answer(order)), False

    def _update(self, body: dict[str, Any]) -> tuple[Response, bool]:
        order = self.orders.get(body.get("orderId", ""))
        if order is None or body.get("dealType") != 2:
            return _business(None, error_code="FAKE_ORDER_NOT_FOUND", error_msg="订单不存在"), False
        order.cancelled = True
        waybills = [{"waybillType": 1, "waybillNo": order.waybill}]
        answer = {"orderId": order.order_id, "waybillNoInfoList": waybills, "resStatus": 2}
        return _business(answer), False

    def _print(self, body: dict[str, Any]) -> tuple[Response, bool]:
        answer = json.loads(fixture("cloud_print_response.json")["apiResultData"])
        waybill = body["documents"][0]["masterWaybillNo"]
        token = "AUTH_tkv12_" + uuid.uuid4().hex
        self.tokens[waybill] = token
        file = answer["obj"]["files"][0]
        file.update(token=token, url=f"{self.base_url}/print/{waybill}.pdf", waybillNo=waybill)
        answer["obj"]["templateCode"] = body["templateCode"]
        return _envelope(answer), False

    def _download(self, request: Request) -> Response:
        waybill = request.path.removeprefix("/print/").removesuffix(".pdf")
        if not waybill or request.headers.get("X-Auth-token") != self.tokens.get(waybill):
            return Response("forbidden", status=403)
        pdf = f"%PDF-1.4\n% SF waybill {waybill}\n%%EOF\n".encode()
        return Response(pdf, content_type="application/pdf")


def _order_answer(order: SfOrder) -> dict[str, Any]:
    answer: dict[str, Any] = copy.deepcopy(
        json.loads(fixture("create_order_response.json")["apiResultData"])["msgData"]
    )
    answer["orderId"] = order.order_id
    answer["waybillNoInfoList"][0]["waybillNo"] = order.waybill
    answer["routeLabelInfo"][0]["routeLabelData"]["waybillNo"] = order.waybill
    return answer


def _business(
    msg_data: dict[str, Any] | None, *, error_code: str = "S0000", error_msg: str | None = None
) -> Response:
    ok = error_code == "S0000"
    inner = {"success": ok, "errorCode": error_code, "errorMsg": error_msg, "msgData": msg_data}
    return _envelope(inner)


def _envelope(inner: dict[str, Any] | None, *, code: str = "A1000", message: str = "") -> Response:
    outer = {
        "apiErrorMsg": message,
        "apiResponseID": uuid.uuid4().hex.upper(),
        "apiResultCode": code,
        "apiResultData": None if inner is None else json.dumps(inner, ensure_ascii=False),
    }
    return Response(
        json.dumps(outer, ensure_ascii=False), content_type="application/json;charset=UTF-8"
    )


@contextmanager
def fake_sfexpress(**options: Any) -> Iterator[FakeSfExpress]:
    fake = FakeSfExpress(**options)
    with serving(fake) as base_url:
        fake.base_url = base_url
        yield fake
