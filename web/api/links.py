"""OpenAPI links: which answer gives the identifier another operation takes in its path.

A client (or a fuzzer: tests/web/test_api_fuzz_stateful.py runs schemathesis' state machine
over these) reads them as "the ``rma_number`` of this RMA is the ``{rma}`` of its actions". They are
written into the document by :class:`LinksPlugin` as each operation is registered, from the
table :data:`LINKS`, so the views stay as they are.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

API = "/api/v1"
PART = f"{API}/parts/{{sku}}"
RMA = f"{API}/returns/{{rma}}"
PURCHASE_ORDER = f"{API}/purchase-orders/{{number}}"
SHIPMENT = f"{API}/shipments/{{tracking_number}}"

#: Everything done to one RMA, by ``{rma}`` (link name, method, path).
RMA_OPERATIONS = [
    ("GetReturn", "get", RMA),
    *(
        (name, "post", f"{RMA}/{action}")
        for name, action in [
            ("Authorise", "authorise"),
            ("Reject", "reject"),
            ("Cancel", "cancel"),
            ("Receive", "receive"),
            ("Inspect", "inspect"),
            ("Close", "close"),
            ("FollowUp", "follow-up"),
            ("ReleaseRefund", "refund/release"),
            ("RetryRefund", "refund/retry"),
            ("RetryLabel", "label/retry"),
            ("ApproveLabel", "label/approve"),
            ("Reply", "reply"),
            ("BookPickup", "pickup"),
            ("NewStatusLink", "status-link"),
            ("LendLoaner", "loans"),
            ("TakeCase", "take"),
            ("HandOverCase", "hand-over"),
        ]
    ),
    ("GetOwner", "get", f"{RMA}/owner"),
    ("ChangeCustomerAddress", "patch", f"{RMA}/customer-address"),
]
#: The repair order of one RMA (returns/repairs.py), by ``{rma}``.
REPAIR = f"{RMA}/repair"
REPAIR_OPERATIONS = [
    ("GetRepair", "get", REPAIR),
    ("OpenRepair", "post", REPAIR),
    ("UseRepairPart", "post", f"{REPAIR}/parts"),
    ("RetryRepairParts", "post", f"{REPAIR}/parts/retry"),
    ("BookRepairLabour", "post", f"{REPAIR}/labour"),
    ("RecordRepairTest", "post", f"{REPAIR}/test"),
    ("ShipRepair", "post", f"{REPAIR}/ship"),
]
#: Everything read or changed of one part, by ``{sku}``.
PART_OPERATIONS = [
    ("GetPart", "get", PART),
    ("UpdatePart", "patch", PART),
    ("GetStock", "get", f"{API}/stock/{{sku}}"),
    ("GetMoves", "get", f"{API}/stock/{{sku}}/moves"),
    ("GetPolicy", "get", f"{API}/reorder/policies/{{sku}}"),
    ("UpdatePolicy", "patch", f"{API}/reorder/policies/{{sku}}"),
]
PURCHASE_ORDER_OPERATIONS = [
    ("GetPurchaseOrder", "get", PURCHASE_ORDER),
    ("SendPurchaseOrder", "post", f"{PURCHASE_ORDER}/send"),
    ("CancelPurchaseOrder", "post", f"{PURCHASE_ORDER}/cancel"),
    ("ReceivePurchaseOrder", "post", f"{PURCHASE_ORDER}/receive"),
]
SHIPMENT_OPERATIONS = [
    ("GetShipment", "get", SHIPMENT),
    ("RecordEvent", "post", f"{SHIPMENT}/events"),
    ("GetLabel", "get", f"{SHIPMENT}/label"),
]
REPLACEMENT = f"{API}/replacements/{{replacement_id}}"
SHIP_REPLACEMENT = [
    ("ShipReplacement", "post", f"{REPLACEMENT}/ship"),
    ("OrderOutboundLabel", "post", f"{REPLACEMENT}/label"),
    ("GetOutboundLabel", "get", f"{REPLACEMENT}/label"),
]
ORDER = f"{API}/orders/{{number}}"
ORDER_OPERATIONS = [("GetOrder", "get", ORDER)]
CLAIM = f"{API}/claims/{{claim_id}}"
CLAIM_OPERATIONS = [
    ("GetClaim", "get", CLAIM),
    ("ShipClaim", "post", f"{CLAIM}/ship"),
    ("AcknowledgeClaim", "post", f"{CLAIM}/acknowledge"),
    ("CreditClaim", "post", f"{CLAIM}/credit"),
    ("RejectClaim", "post", f"{CLAIM}/reject"),
    ("CancelClaim", "post", f"{CLAIM}/cancel"),
]
#: Where one serialised unit is, by ``{serial}``.
SERIAL_OPERATIONS = [("GetSerial", "get", f"{API}/serials/{{serial}}")]
LOAN = f"{API}/loans/{{loan_id}}"
LOAN_OPERATIONS = [
    ("GetLoan", "get", LOAN),
    ("ReturnLoan", "post", f"{LOAN}/return"),
    ("ChargeLoan", "post", f"{LOAN}/charge"),
    ("WriteOffLoan", "post", f"{LOAN}/write-off"),
]
CASE = f"{API}/cases/{{rma}}"
#: An enquiry's or a complaint's moves (web/api/cases.py), by ``{rma}``.
CASE_OPERATIONS = [
    ("GetCase", "get", CASE),
    *(
        (name, "post", f"{CASE}/{move}")
        for name, move in [
            ("AnswerCase", "answer"),
            ("WaitForCustomer", "wait"),
            ("ResolveCase", "resolve"),
            ("ReopenCase", "reopen"),
            ("CloseCase", "close"),
        ]
    ),
]
CONVERT_COMPLAINT = [("ConvertComplaint", "post", f"{CASE}/convert")]
RECORD_CALL = [("RecordCall", "post", f"{API}/cases/followups/{{followup_id}}/calls")]
#: A case's internal notes (their answers carry no RMA number to link on from).
NOTE_OPERATIONS = [("GetNotes", "get", f"{RMA}/notes"), ("AddNote", "post", f"{RMA}/notes")]
#: The desk's set-up and canned replies (docs/desk.md), by their ids.
CANNED = f"{API}/canned-replies/{{reply_id}}"
CANNED_OPERATIONS = [
    ("UpdateCannedReply", "put", CANNED),
    ("DeleteCannedReply", "delete", CANNED),
    ("FillCannedReply", "get", f"{RMA}/canned-replies/{{reply_id}}"),
]
TEAM_OPERATIONS = [("UpdateTeam", "put", f"{API}/desk/teams/{{team_id}}")]
SHIFT = f"{API}/desk/shifts/{{user_id}}"
SHIFT_OPERATIONS = [("SetHours", "put", SHIFT), ("AddDaysOff", "post", f"{SHIFT}/days-off")]
RULE_OPERATIONS = [("DeleteRule", "delete", f"{API}/desk/routing-rules/{{rule_id}}")]
CANCEL_RESERVATION = [("CancelReservation", "delete", f"{API}/reservations/{{reservation_id}}")]

#: The knowledge base (web/api/knowledge.py): one article by ``{article_id}``, and the
#: knowledge of one case by ``{rma}``.
ARTICLE = f"{API}/knowledge/{{article_id}}"
ARTICLE_OPERATIONS = [
    ("GetArticle", "get", ARTICLE),
    ("EditArticle", "patch", ARTICLE),
    ("ArticleRevisions", "get", f"{ARTICLE}/revisions"),
]
CASE_KNOWLEDGE_OPERATIONS = [
    ("GetCaseKnowledge", "get", f"{RMA}/knowledge"),
    ("LinkArticle", "post", f"{RMA}/knowledge"),
    ("SolvedWithoutReturn", "post", f"{RMA}/solved-without-return"),
]


def _ref(method: str, path: str) -> str:
    """A JSON pointer to an operation of this document (RFC 6901: ``~`` and ``/`` escaped)."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _to(
    targets: list[tuple[str, str, str]], parameter: str, expression: str
) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "operationRef": _ref(method, path),
            "parameters": {parameter: expression},
            "description": f"`{parameter}` is `{expression}` of this answer.",
        }
        for name, method, path in targets
    }


def _table() -> dict[tuple[str, str, str], dict[str, dict[str, Any]]]:
    """(method, path, status) of the answer -> its links."""
    links: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}

    def add(source: tuple[str, str, str], found: dict[str, dict[str, Any]]) -> None:
        links.setdefault(source, {}).update(found)

    rma = "$response.body#/rma_number"
    add(("post", f"{API}/returns", "201"), _to(RMA_OPERATIONS, "rma", rma))
    add(
        ("get", f"{API}/returns", "200"),
        _to(RMA_OPERATIONS, "rma", "$response.body#/items/0/rma_number"),
    )
    for _, method, path in RMA_OPERATIONS:
        add((method, path, "200"), _to(RMA_OPERATIONS, "rma", rma))
        add(
            (method, path, "200"),
            _to(SHIP_REPLACEMENT, "replacement_id", "$response.body#/replacements/0/id"),
        )
        add((method, path, "200"), _to(REPAIR_OPERATIONS, "rma", rma))
        add((method, path, "200"), _to(NOTE_OPERATIONS, "rma", rma))
    add(("post", f"{API}/returns", "201"), _to(REPAIR_OPERATIONS, "rma", rma))
    add(("post", f"{API}/returns", "201"), _to(NOTE_OPERATIONS, "rma", rma))
    for _, method, path in REPAIR_OPERATIONS:
        status = "201" if (method, path) == ("post", REPAIR) else "200"
        add((method, path, status), _to([*REPAIR_OPERATIONS, *RMA_OPERATIONS], "rma", rma))
    queue = f"{API}/replacements"
    add(
        ("post", f"{REPLACEMENT}/label", "202"),
        _to(SHIP_REPLACEMENT, "replacement_id", "$response.body#/id"),
    )
    add(("get", queue, "200"), _to(SHIP_REPLACEMENT, "replacement_id", "$response.body#/0/id"))
    add(("get", queue, "200"), _to(RMA_OPERATIONS, "rma", "$response.body#/0/rma_number"))

    add(("post", f"{API}/parts", "201"), _to(PART_OPERATIONS, "sku", "$response.body#/sku"))
    add(("get", f"{API}/parts", "200"), _to(PART_OPERATIONS, "sku", "$response.body#/items/0/sku"))
    for _, method, path in PART_OPERATIONS[:2]:
        add((method, path, "200"), _to(PART_OPERATIONS, "sku", "$response.body#/sku"))

    number = "$response.body#/number"
    add(
        ("get", f"{API}/purchase-orders", "200"),
        _to(PURCHASE_ORDER_OPERATIONS, "number", "$response.body#/items/0/number"),
    )
    for _, method, path in PURCHASE_ORDER_OPERATIONS[:3]:
        add((method, path, "200"), _to(PURCHASE_ORDER_OPERATIONS, "number", number))

    for status in ("200", "201"):
        add(("post", f"{API}/orders", status), _to(ORDER_OPERATIONS, "number", number))
    add(("get", ORDER, "200"), _to(ORDER_OPERATIONS, "number", number))
    add(
        ("get", f"{API}/orders", "200"),
        _to(ORDER_OPERATIONS, "number", "$response.body#/items/0/number"),
    )
    add(
        ("get", f"{API}/claims", "200"),
        _to(CLAIM_OPERATIONS, "claim_id", "$response.body#/items/0/id"),
    )
    for _, method, path in CLAIM_OPERATIONS:
        add((method, path, "200"), _to(CLAIM_OPERATIONS, "claim_id", "$response.body#/id"))

    loan = "$response.body#/id"
    add(("post", f"{API}/returns/{{rma}}/loans", "201"), _to(LOAN_OPERATIONS, "loan_id", loan))
    add(("get", f"{API}/loans", "200"), _to(LOAN_OPERATIONS, "loan_id", "$response.body#/0/id"))
    for _, method, path in LOAN_OPERATIONS:
        add((method, path, "200"), _to(LOAN_OPERATIONS, "loan_id", loan))

    article = "$response.body#/id"
    add(("post", f"{API}/knowledge", "201"), _to(ARTICLE_OPERATIONS, "article_id", article))
    for source in (f"{API}/knowledge", f"{API}/knowledge/suggest"):
        add(("get", source, "200"), _to(ARTICLE_OPERATIONS, "article_id", "$response.body#/0/id"))
    for _, method, path in ARTICLE_OPERATIONS[:2]:
        add((method, path, "200"), _to(ARTICLE_OPERATIONS, "article_id", article))
    # Among themselves only: links from every RMA answer would thin out the fuzzer's RMA runs.
    for _, method, path in CASE_KNOWLEDGE_OPERATIONS:
        add((method, path, "200"), _to(CASE_KNOWLEDGE_OPERATIONS, "rma", "$response.body#/number"))

    tracking = "$response.body#/tracking_number"
    add(("post", f"{API}/shipments", "201"), _to(SHIPMENT_OPERATIONS, "tracking_number", tracking))
    add(("get", SHIPMENT, "200"), _to(SHIPMENT_OPERATIONS, "tracking_number", tracking))

    # From receipts only: links from every move kind would thin out the fuzzer's RMA runs.
    add(
        ("post", f"{API}/stock/receipts", "201"),
        _to(SERIAL_OPERATIONS, "serial", "$response.body#/serials/0"),
    )

    case_targets = [*CASE_OPERATIONS, *CONVERT_COMPLAINT]
    add(("post", f"{API}/cases", "201"), _to(case_targets, "rma", rma))
    add(
        ("get", f"{API}/cases", "200"),
        _to(case_targets, "rma", "$response.body#/items/0/rma_number"),
    )
    for _, method, path in CASE_OPERATIONS:
        add((method, path, "200"), _to(case_targets, "rma", rma))
    add(("post", f"{CASE}/convert", "201"), _to(RMA_OPERATIONS, "rma", rma))
    add(
        ("get", f"{API}/cases/followups", "200"),
        _to(RECORD_CALL, "followup_id", "$response.body#/0/id"),
    )
    add(
        ("post", f"{API}/reservations", "201"),
        _to(CANCEL_RESERVATION, "reservation_id", "$response.body#/id"),
    )
    _desk_links(add)
    return links


def _desk_links(add: Any) -> None:
    """Canned replies, teams, shifts and routing rules: from the answers that name them."""
    first, one = "$response.body#/0/id", "$response.body#/id"
    canned = f"{API}/canned-replies"
    add(("post", canned, "201"), _to(CANNED_OPERATIONS, "reply_id", one))
    add(("get", canned, "200"), _to(CANNED_OPERATIONS, "reply_id", first))
    add(("put", CANNED, "200"), _to(CANNED_OPERATIONS, "reply_id", one))
    teams = f"{API}/desk/teams"
    add(("post", teams, "201"), _to(TEAM_OPERATIONS, "team_id", one))
    add(("get", teams, "200"), _to(TEAM_OPERATIONS, "team_id", first))
    add(("post", teams, "201"), _to(SHIFT_OPERATIONS, "user_id", "$response.body#/member_ids/0"))
    add(
        ("get", f"{API}/desk/shifts", "200"),
        _to(SHIFT_OPERATIONS, "user_id", "$response.body#/people/0/user_id"),
    )
    add(("put", SHIFT, "200"), _to(SHIFT_OPERATIONS, "user_id", "$response.body#/user_id"))
    rules = f"{API}/desk/routing-rules"
    add(("post", rules, "201"), _to(RULE_OPERATIONS, "rule_id", one))
    add(("get", rules, "200"), _to(RULE_OPERATIONS, "rule_id", first))


LINKS = _table()


class LinksPlugin(BasePlugin):
    """Adds :data:`LINKS` to each documented answer as flask-smorest registers operations."""

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            for status, response in operation.get("responses", {}).items():
                found = LINKS.get((method, path or "", str(status)))
                if found and isinstance(response, dict):
                    response.setdefault("links", {}).update(found)
