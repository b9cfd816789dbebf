"""The RMA page through the Flask client: the next action first, destructive actions confirmed,
plain words, one status vocabulary for desk and customer, part names, and the live fragments."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from accounts.models import Role
from carriers.status import TrackingStatus
from tests.web.test_desk_pages import desk_app as desk_pages_app
from tests.web.test_desk_pages import intake, signed_in
from tests.web.test_pages import csrf_token

PART_NAME = "Cooling fan 80mm"

#: The desk pages' app: a desk, warehouse, buyer and admin; FAN-80 in stock.
desk_app = desk_pages_app


def open_return(client: Any, **overrides: str) -> str:
    token = csrf_token(client.get("/returns/new").get_data(as_text=True))
    response = client.post("/returns/new", data=intake(token, **overrides))
    assert response.status_code == 302
    return str(response.headers["Location"])


def authorise_on_page(client: Any, location: str, tracking: str) -> str:
    page = client.get(location).get_data(as_text=True)
    response = client.post(
        location + "/authorise",
        data={"csrf_token": csrf_token(page), "carrier": "sandbox", "tracking_number": tracking},
    )
    assert response.status_code == 302
    return str(client.get(location).get_data(as_text=True))


def _carrier_says(app: Any, tracking: str, status: TrackingStatus) -> None:
    app.extensions["spareflow"].carriers.record_event(
        "admin@desk.example",
        tracking_number=tracking,
        status=status,
        occurred_at=None,
        reason="the carrier's scan, in the test",
        supervisor=True,
    )


def _live_url(html: str) -> str:
    match = re.search(r'id="live-poller" hidden hx-get="([^"]+)"', html)
    assert match, "the page has no live poller"
    return match.group(1).replace("&amp;", "&")


def test_the_next_action_comes_first_with_the_one_primary_button(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    location = open_return(client)
    html = client.get(location).get_data(as_text=True)
    next_step = html.index('id="next-action"')
    # Above the customer's facts, the lines and every other action.
    assert next_step < html.index('class="facts card"') < html.index('id="lines"')
    assert next_step < html.index('id="authorise"') < html.index("Other actions")
    assert html.count('class="primary"') == 1
    assert re.search(r'id="authorise".*?<button type="submit" class="primary">', html, re.S)
    # Once authorised the desk waits for the carrier: nothing to do, and it says why.
    html = authorise_on_page(client, location, "SBXNA1")
    assert 'id="nothing-to-do"' in html and "Waiting for the carrier to collect" in html
    assert 'class="primary"' not in html


def test_reject_and_cancel_are_danger_and_run_only_once_confirmed(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    location = open_return(client)
    number = location.rsplit("/", 1)[1]
    html = client.get(location).get_data(as_text=True)
    for action, words in (("reject", "Reject this return"), ("cancel", "Cancel this return")):
        card = re.search(rf'<form[^>]*class="card action danger" id="{action}"', html)
        assert card, action
        assert f"{words}…</button>" in html and f'id="confirm-{action}"' in html
    assert ">Cancel<" not in html and ">Reject<" not in html
    token = csrf_token(html)
    # Without the confirmation: a page that asks, and nothing changes.
    asked = client.post(location + "/cancel", data={"csrf_token": token, "reason": "Duplicate"})
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert f"Cancel return {number}?" in page and "Yes, cancel this return" in page
    assert 'name="confirmed" value="yes"' in page and "Duplicate" in page
    assert 'data-state="requested"' in client.get(location).get_data(as_text=True)
    # No reason: sent back to say why, still nothing changes.
    empty = client.post(location + "/cancel", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 302
    assert "Say why" in client.get(location).get_data(as_text=True)
    # Confirmed: it runs, and the flash says what happened in plain words.
    done = client.post(
        location + "/cancel",
        data={"csrf_token": csrf_token(page), "reason": "Duplicate", "confirmed": "yes"},
    )
    assert done.status_code == 302
    html = client.get(location).get_data(as_text=True)
    assert f"Return {number} cancelled." in html and "done." not in html
    assert 'data-state="cancelled"' in html


def test_authorising_reads_in_plain_words(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    location = open_return(client)
    number = location.rsplit("/", 1)[1]
    html = client.get(location).get_data(as_text=True)
    assert "Customer&#39;s own carrier" not in html and "buy a prepaid label —" not in html
    assert "How the parcel comes back" in html
    assert '<option selected value="">We buy a prepaid return label</option>' in html or (
        ">We buy a prepaid return label</option>" in html
    )
    assert ">The customer ships with sandbox</option>" in html
    html = authorise_on_page(client, location, "SBXPW1")
    assert f"Return {number} authorised." in html
    assert "authorise done" not in html


def test_a_delivered_parcel_reads_delivered_to_the_desk_and_the_customer(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    location = open_return(client, resolution="refund")
    number = location.rsplit("/", 1)[1]
    authorise_on_page(client, location, "SBXDL1")
    _carrier_says(desk_app, "SBXDL1", TrackingStatus.IN_TRANSIT)
    html = client.get(location).get_data(as_text=True)
    assert 'data-state="in_transit"' in html and "On its way to us" in html
    _carrier_says(desk_app, "SBXDL1", TrackingStatus.DELIVERED)
    html = client.get(location).get_data(as_text=True)
    # The RMA is still "in transit" until the warehouse books it in; the page no longer says so
    # beside a parcel heading that says "delivered".
    assert 'data-state="delivered"' in html and "Delivered to us: to book in" in html
    assert re.search(r'class="parcel-status">\s*delivered', html)
    assert "On its way to us" not in html
    queue = client.get("/returns").get_data(as_text=True)
    row = re.search(rf"{number}</a>.*?</tr>", queue, re.S)
    assert row and 'data-state="delivered"' in row.group(0)
    # The customer's page agrees: the bar stands on "Parcel at our warehouse".
    url = desk_app.extensions["spareflow"].status_links.rotate("test", number).url
    status = desk_app.test_client().get(urlsplit(url).path).get_data(as_text=True)
    assert 'data-state="delivered"' in status and "Delivered to our warehouse" in status
    current = re.search(r'<li data-step="(\w+)" class="current">', status)
    assert current and current.group(1) == "received"
    assert 'data-step="with_carrier" class="done"' in status


def test_an_exchange_says_why_its_refund_is_released(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    # A replacement with the original payment to refund: DOMAIN.md's exchange.
    location = open_return(client, resolution="replacement", payment_reference="pi_exchange")
    number = location.rsplit("/", 1)[1]
    html = authorise_on_page(client, location, "SBXEX1")
    assert 'data-note="exchange_refund"' in html
    assert "Exchange: the original payment is refunded when the carrier collects" in html
    url = desk_app.extensions["spareflow"].status_links.rotate("test", number).url
    status = desk_app.test_client().get(urlsplit(url).path).get_data(as_text=True)
    assert "This is an exchange: we refund your original payment" in status
    # A warranty replacement (no payment to refund) has no such note.
    free = open_return(client, resolution="replacement", payment_reference="")
    assert 'data-note="exchange_refund"' not in client.get(free).get_data(as_text=True)


def test_the_documents_show_the_part_name_beside_the_sku(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    location = open_return(client)
    number = location.rsplit("/", 1)[1]
    html = authorise_on_page(client, location, "SBXPN1")
    assert re.search(rf'class="sku">FAN-80</td><td class="part-name">{PART_NAME}<', html)
    assert html.count(PART_NAME) >= 2  # the line and the replacement
    sheet = client.get(location + "/sheet").get_data(as_text=True)
    assert f'<td class="part-name">{PART_NAME}</td>' in sheet
    url = desk_app.extensions["spareflow"].status_links.rotate("test", number).url
    status = desk_app.test_client().get(urlsplit(url).path).get_data(as_text=True)
    assert f'FAN-80 <span class="part-name">{PART_NAME}</span>' in status
    warehouse = signed_in(desk_app, Role.WAREHOUSE)
    picks = warehouse.get("/warehouse/pick-list").get_data(as_text=True)
    assert f'<span class="part-name">{PART_NAME}</span>' in picks


def test_the_live_fragment_answers_204_until_a_scan_changes_it(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    location = open_return(client, resolution="refund")
    html = authorise_on_page(client, location, "SBXLV1")
    url = _live_url(html)
    assert parse_qs(urlsplit(url).query)["s"] == ["awaiting_pickup"]
    unchanged = client.get(url)
    assert unchanged.status_code == 204 and unchanged.get_data() == b""
    assert unchanged.headers["ETag"]
    _carrier_says(desk_app, "SBXLV1", TrackingStatus.PICKED_UP)
    changed = client.get(url)
    assert changed.status_code == 200
    fragment = changed.get_data(as_text=True)
    assert 'id="state" data-state="picked_up" hx-swap-oob="true"' in fragment
    assert 'id="timeline" hx-swap-oob="true"' in fragment
    assert "Reload the page for the actions that fit" in fragment
    # The new poller carries the new version: polling again is 204 once more.
    again = _live_url(fragment)
    assert again != url and client.get(again).status_code == 204
    # The warehouse may read it; signed out may not.
    assert signed_in(desk_app, Role.WAREHOUSE).get(again).status_code == 204
    assert desk_app.test_client().get(again).status_code == 302


def test_the_desk_queue_polls_its_table(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    queue = client.get("/returns").get_data(as_text=True)
    url = _live_url(queue)
    assert client.get(url).status_code == 204
    location = open_return(client)
    changed = client.get(url)
    assert changed.status_code == 200
    fragment = changed.get_data(as_text=True)
    assert '<table class="grid" id="rmas" hx-swap-oob="true">' in fragment
    assert location.rsplit("/", 1)[1] in fragment
    assert signed_in(desk_app, Role.WAREHOUSE).get(url).status_code == 403
