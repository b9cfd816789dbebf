"""SF Express (顺丰) waybills and door pickup through SF's open platform (丰桥).

Every call is one form POST to the gateway (``application/x-www-form-urlencoded``, UTF-8) with
``partnerID`` (顾客编码), ``requestID`` (a UUID), ``serviceCode``, ``timestamp`` (ms), ``msgData``
(the JSON body) and ``msgDigest`` = Base64(MD5(URLEncoder.encode(msgData + timestamp +
checkWord, "UTF-8"))), as SF's "数字签名认证说明" says (its worked example is a test vector in
tests/fixtures/sfexpress/). The answer is ``{"apiResultCode": "A1000", "apiErrorMsg": "",
"apiResultData": "<JSON text>"}``; inside, ``success``/``errorCode`` (S0000)/``errorMsg``/
``msgData``.

Services used (samples and sources in tests/fixtures/sfexpress/README.md):
- ``EXP_RECE_CREATE_ORDER``: the order, with ``sendStartTm`` (when the courier may come,
  "YYYY-MM-DD HH24:MM:SS" in China time, UTC+8; without it SF sends the courier within the
  hour) when the request has ``pickup_starts_at``; our ``idempotency_key`` as ``orderId``
  (SF refuses a second order with the same orderId: ``8016`` 重复下单, or, per newer
  documents, answers with the first order's waybill), our reference as
  ``custReferenceNo``, ``isDocall`` 1 for door pickup. ``filterResult`` 3 (不可以收派) is the
  out-of-service-area refusal.
- ``EXP_RECE_SEARCH_ORDER_RESP``: the order behind an orderId (``find_label``).
- ``COM_RECE_CLOUD_PRINT_WAYBILLS`` (云打印面单 2.0): the label PDF, fetched from the answer's
  ``url`` with header ``X-Auth-token``.
- ``EXP_RECE_UPDATE_ORDER`` with ``dealType`` 2: cancels an uncollected order (the "refund":
  SF bills on collection).
SF's order answer carries no price: labels are recorded at 0 CNY.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import quote_plus

import httpx

from carriers.labels import (
    Address,
    BookedPickup,
    LabelProviderUnavailable,
    LabelRefused,
    LabelRequest,
    PickupCancelOutcome,
    PickupWindow,
    PurchasedLabel,
    RefundOutcome,
)
from core.http import http_client

#: Gateway addresses from SF's API pages ("生产环境地址" / "沙箱环境地址").
PRODUCTION_API_BASE = "https://bspgw.sf-express.com/std/service"
SANDBOX_API_BASE = "https://sfapi-sbox.sf-express.com/std/service"

CREATE_ORDER = "EXP_RECE_CREATE_ORDER"
SEARCH_ORDER = "EXP_RECE_SEARCH_ORDER_RESP"
UPDATE_ORDER = "EXP_RECE_UPDATE_ORDER"
CLOUD_PRINT = "COM_RECE_CLOUD_PRINT_WAYBILLS"

#: China Standard Time (UTC+8, no daylight saving): the clock SF's times are written in.
CHINA_TIME = timezone(timedelta(hours=8), "CST")
#: ``sendStartTm``'s format: "YYYY-MM-DD HH24:MM:SS" (create-order field table).
SEND_START_FORMAT = "%Y-%m-%d %H:%M:%S"

API_OK = "A1000"
#: Gateway refusals a person must fix (SF's wording as quoted by its clients).
API_REFUSALS = {
    "A1004": "无对应服务权限 (the app is not linked to this API)",
    "A1006": "数字签名无效",
}
BUSINESS_OK = "S0000"
DUPLICATE_ORDER = "8016"  # 重复下单
FILTER_REFUSED = 3  # filterResult 3: 不可以收派
FILTER_REMARKS = {"1": "收方超范围", "2": "派方超范围", "3": "其它原因"}
CANCEL = 2  # dealType 2: 取消
ORDER_ID_MAX = 64  # orderId String(64)
SEND_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # sendStartTm, Beijing time


def java_url_encode(text: str) -> str:
    """``java.net.URLEncoder.encode(text, "UTF-8")``: space → ``+``, ``*`` kept, ``~`` encoded."""
    return quote_plus(text, safe="*", encoding="utf-8").replace("~", "%7E")


def msg_digest(msg_data: str, timestamp: str, check_word: str) -> str:
    """SF's signature of one request."""
    encoded = java_url_encode(msg_data + timestamp + check_word)
    digest = hashlib.md5(encoded.encode("utf-8"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def sf_order_id(idempotency_key: str) -> str:
    """The orderId for a label: the key itself, or its hash when SF's 64 characters are too few."""
    if len(idempotency_key) <= ORDER_ID_MAX:
        return idempotency_key
    return "k-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:60]


def split_city(city: str) -> tuple[str, str]:
    """``city`` holds city and district ("深圳市 南山区" or "深圳市南山区"): SF wants them apart."""
    parts = city.split()
    if len(parts) > 1:
        return parts[0], " ".join(parts[1:])
    head, sep, rest = city.partition("市")
    if sep and rest:
        return head + sep, rest
    return city, ""


def contact(address: Address, contact_type: int) -> dict[str, Any]:
    city, county = split_city(address.city)
    street = " ".join(part for part in (address.street, address.street2) if part)
    entry: dict[str, Any] = {
        "contactType": contact_type,
        "contact": address.name,
        "country": address.country.upper(),
        "province": address.state,
        "city": city,
        "county": county,
        "address": street,
        "postCode": address.postcode,
        "mobile": address.phone,
    }
    if address.company:
        entry["company"] = address.company
    if address.email:
        entry["email"] = address.email
    return {key: value for key, value in entry.items() if value != ""}


def send_start_time(moment: datetime) -> str:
    """``sendStartTm`` for an aware moment: China time, "YYYY-MM-DD HH24:MM:SS"."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("pickup_starts_at must carry its UTC offset")
    return moment.astimezone(CHINA_TIME).strftime(SEND_START_FORMAT)


class SfExpressLabels:
    name: ClassVar[str] = "sfexpress"
    #: Door pickup is booked with the order itself (``isDocall``, from ``sendStartTm``). SF
    #: documents no way to move it afterwards: EXP_RECE_UPDATE_ORDER takes only ``dealType``
    #: 1 (confirm) or 2 (cancel) with weights, sizes and services, no time; and cancelling to
    #: order again voids the waybill the customer printed (a cancelled orderId cannot be used
    #: again, so the new order has a new waybill and needs a new label). So ``book_pickup``
    #: and ``cancel_pickup`` refuse, and the status page offers no window for SF labels.
    books_pickups: ClassVar[bool] = False
    cancels_pickups: ClassVar[bool] = False

    def __init__(
        self,
        *,
        partner_id: str,
        check_word: str,
        api_base: str = PRODUCTION_API_BASE,
        monthly_card: str = "",
        template_code: str = "",
        express_type: int = 1,
        pay_method: int = 1,
        cargo_name: str = "spare parts",
        http: httpx.Client | None = None,
    ):
        self.partner_id = partner_id
        self.check_word = check_word
        self.api_base = api_base
        self.monthly_card = monthly_card
        # SF: "like fm_76130_standard_{partnerId}"; 150 is the 100 x 150 mm waybill.
        self.template_code = template_code or f"fm_150_standard_{partner_id}"
        self.express_type = express_type
        self.pay_method = pay_method
        self.cargo_name = cargo_name
        self.http = http or http_client(timeout=httpx.Timeout(20.0, connect=5.0))

    # --- the contract ------------------------------------------------------------------

    def buy_label(self, request: LabelRequest) -> PurchasedLabel:
        order_id = sf_order_id(request.idempotency_key)
        try:
            answer = self._business(CREATE_ORDER, self._order(request, order_id))
        except _DuplicateOrder:
            found = self._search(order_id)
            if found is None:
                raise LabelProviderUnavailable(
                    f"SF says order {order_id} exists but does not return it yet; try again.",
                    code="sf_duplicate_unreadable",
                ) from None
            answer = found
        return self._label(order_id, answer)

    def find_label(self, request: LabelRequest) -> PurchasedLabel | None:
        order_id = sf_order_id(request.idempotency_key)
        found = self._search(order_id)
        return None if found is None else self._label(order_id, found)

    def refund_label(self, label: PurchasedLabel) -> RefundOutcome:
        body = {"orderId": label.provider_label_id, "dealType": CANCEL}
        try:
            self._business(UPDATE_ORDER, body)
        except _BusinessRefusal:
            return RefundOutcome.REFUSED  # collected already, or not cancellable
        return RefundOutcome.REFUNDED

    def book_pickup(
        self,
        label: PurchasedLabel,
        address: Address,
        window: PickupWindow,
        *,
        provider_record: str | None = None,
        remember: Callable[[str], str] | None = None,
    ) -> BookedPickup:
        raise LabelRefused(
            "SF Express books the courier with the order itself (door pickup on the label "
            "request); a separate pickup booking is not supported.",
            code="pickup_not_supported",
        )

    def cancel_pickup(self, provider_pickup_id: str) -> PickupCancelOutcome:
        raise LabelRefused(
            "SF Express's collection belongs to the order; it cannot be cancelled on its own "
            "(cancelling the order voids the waybill).",
            code="pickup_cancel_not_supported",
        )

    # --- building and reading ----------------------------------------------------------

    def _order(self, request: LabelRequest, order_id: str) -> dict[str, Any]:
        parcel = request.parcel
        weight_kg = round(parcel.weight_grams / 1000, 3)
        body: dict[str, Any] = {
            "language": "zh-CN",
            "orderId": order_id,
            "custReferenceNo": request.reference,
            "cargoDetails": [{"name": self.cargo_name, "count": 1, "weight": weight_kg}],
            "contactInfoList": [contact(request.from_address, 1), contact(request.to_address, 2)],
            "expressTypeId": self.express_type,
            "payMethod": self.pay_method,
            "parcelQty": 1,
            "totalWeight": weight_kg,
            "totalLength": round(parcel.length_mm / 10, 1),
            "totalWidth": round(parcel.width_mm / 10, 1),
            "totalHeight": round(parcel.height_mm / 10, 1),
            "isDocall": 1 if request.door_pickup else 0,
        }
        if request.pickup_starts_at is not None:
            body["sendStartTm"] = send_start_time(request.pickup_starts_at)
        if self.monthly_card:
            body["monthlyCard"] = self.monthly_card
        return body

    def _label(self, order_id: str, answer: Mapping[str, Any]) -> PurchasedLabel:
        if _int(answer.get("filterResult")) == FILTER_REFUSED:
            remark = str(answer.get("remark") or "")
            reason = FILTER_REMARKS.get(remark.split(":")[0].strip(), remark)
            raise LabelRefused(
                f"SF Express does not serve this address ({reason}).",
                code="out_of_service_area",
                remark=remark,
            )
        waybill = _waybill(answer)
        if not waybill:
            raise LabelProviderUnavailable(
                f"SF order {order_id} has no waybill number yet.", code="sf_no_waybill"
            )
        return PurchasedLabel(
            provider=self.name,
            carrier="sfexpress",  # SF carries what it sells: tracked by its own adapter
            service=f"expressTypeId {self.express_type}",
            tracking_number=waybill,
            provider_label_id=order_id,
            cost_minor=0,  # SF's order answer carries no price; SF bills on collection
            currency="cny",
            document=self._print(waybill),
        )

    def _search(self, order_id: str) -> Mapping[str, Any] | None:
        body = {"searchType": "1", "orderId": order_id, "language": "zh-CN"}
        try:
            return self._business(SEARCH_ORDER, body)
        except (_BusinessRefusal, _DuplicateOrder):
            return None  # no such order (SF refuses a duplicate orderId anyway)

    def _print(self, waybill: str) -> bytes:
        body = {
            "templateCode": self.template_code,
            "version": "2.0",
            "fileType": "pdf",
            "sync": True,
            "documents": [{"masterWaybillNo": waybill}],
        }
        data = self._call(CLOUD_PRINT, body)
        files = (
            (data.get("obj") or {}).get("files") if data.get("success") in (True, "true") else None
        )
        if not files or not isinstance(files, list) or not files[0].get("url"):
            raise LabelProviderUnavailable(
                f"SF cloud print gave no file for {waybill}: {data.get('errorMessage') or data}",
                code="sf_print_failed",
            )
        file = files[0]
        try:
            response = self.http.get(
                str(file["url"]), headers={"X-Auth-token": str(file.get("token") or "")}
            )
        except httpx.HTTPError as exc:
            raise LabelProviderUnavailable(f"SF label download failed: {exc}") from exc
        if response.status_code != 200 or not response.content:
            raise LabelProviderUnavailable(
                f"SF label download answered {response.status_code}", code="sf_print_failed"
            )
        return response.content

    # --- the wire ----------------------------------------------------------------------

    def _business(self, service: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """``msgData`` of a successful answer; business errors raised."""
        data = self._call(service, body)
        if data.get("success") in (True, "true") and data.get("errorCode") in (BUSINESS_OK, None):
            msg = data.get("msgData")
            if isinstance(msg, str):
                msg = json.loads(msg) if msg.strip() else {}
            return msg if isinstance(msg, dict) else {}
        error_code = str(data.get("errorCode") or "")
        message = str(data.get("errorMsg") or "")
        if error_code == DUPLICATE_ORDER:
            raise _DuplicateOrder(message)
        raise _BusinessRefusal(
            f"SF Express refused {service}: {message} ({error_code})",
            code=f"sf_{error_code or 'error'}",
            sf_error_code=error_code,
        )

    def _call(self, service: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        msg_data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        timestamp = str(int(datetime.now().timestamp() * 1000))
        form = {
            "partnerID": self.partner_id,
            "requestID": uuid.uuid4().hex,
            "serviceCode": service,
            "timestamp": timestamp,
            "msgDigest": msg_digest(msg_data, timestamp, self.check_word),
            "msgData": msg_data,
        }
        try:
            response = self.http.post(self.api_base, data=form)
        except httpx.HTTPError as exc:
            raise LabelProviderUnavailable(f"SF Express could not be reached: {exc}") from exc
        if response.status_code != 200:
            raise LabelProviderUnavailable(
                f"SF Express answered HTTP {response.status_code}", code="sf_http_error"
            )
        try:
            outer = response.json()
            code = str(outer.get("apiResultCode") or "")
            if code != API_OK:
                return self._gateway_error(code, str(outer.get("apiErrorMsg") or ""))
            inner = outer.get("apiResultData")
            data = json.loads(inner) if isinstance(inner, str) else inner
        except (ValueError, AttributeError) as exc:
            raise LabelProviderUnavailable(f"unreadable SF Express answer: {exc}") from exc
        if not isinstance(data, dict):
            raise LabelProviderUnavailable("SF Express answered without apiResultData")
        return data

    @staticmethod
    def _gateway_error(code: str, message: str) -> Mapping[str, Any]:
        if code in API_REFUSALS:
            raise LabelRefused(
                f"SF Express gateway refused the call: {message or API_REFUSALS[code]} ({code});"
                " check SFEXPRESS_PARTNER_ID, SFEXPRESS_CHECK_WORD and the API's linking.",
                code=f"sf_{code}",
            )
        raise LabelProviderUnavailable(
            f"SF Express gateway error {code}: {message}", code="sf_gateway_error"
        )


class _BusinessRefusal(LabelRefused):
    """A business error in ``apiResultData`` (the gateway itself accepted the call)."""


class _DuplicateOrder(Exception):
    """SF's 8016: an order with this orderId exists already."""


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _waybill(answer: Mapping[str, Any]) -> str:
    infos = answer.get("waybillNoInfoList") or []
    if not isinstance(infos, list):
        return ""
    masters = [i for i in infos if isinstance(i, dict) and _int(i.get("waybillType")) == 1]
    chosen = (masters or [i for i in infos if isinstance(i, dict)] or [{}])[0]
    return str(chosen.get("waybillNo") or "")


def from_settings(
    settings: Mapping[str, object], http: httpx.Client | None = None
) -> SfExpressLabels | None:
    """The provider when ``SFEXPRESS_PARTNER_ID`` and ``SFEXPRESS_CHECK_WORD`` are set."""
    partner = settings.get("SFEXPRESS_PARTNER_ID")
    check_word = settings.get("SFEXPRESS_CHECK_WORD")
    if partner in (None, "") or check_word in (None, ""):
        return None
    return SfExpressLabels(
        partner_id=str(partner),
        check_word=str(check_word),
        api_base=str(settings.get("SFEXPRESS_API_BASE") or PRODUCTION_API_BASE),
        monthly_card=str(settings.get("SFEXPRESS_MONTHLY_CARD") or ""),
        template_code=str(settings.get("SFEXPRESS_TEMPLATE_CODE") or ""),
        express_type=int(str(settings.get("SFEXPRESS_EXPRESS_TYPE") or 1)),
        pay_method=int(str(settings.get("SFEXPRESS_PAY_METHOD") or 1)),
        http=http,
    )
