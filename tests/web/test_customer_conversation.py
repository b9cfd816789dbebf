"""The customer writes to the desk on the status page; the desk sees it and answers by Reply."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from accounts.models import Role
from returns.conversation import MAX_MESSAGES_PER_HOUR
from tests.support import desk as builders
from tests.web.test_pages import PASSWORD, csrf_token, sign_in
from tests.web.test_status_page import (  # noqa: F401 (fixtures)
    STAFF,
    link,
    open_return,
    refunds_url,
    shop,
    status_page_config,
)


@pytest.fixture
def app_config(smtp_sink: Any, refunds_url: str) -> dict[str, Any]:  # noqa: F811
    return status_page_config(smtp_sink, refunds_url)


def write(client: Any, url: str, message: str, *, with_csrf: bool = True) -> Any:
    data = {"message": message}
    if with_csrf:
        data["csrf_token"] = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(f"{url}/message", data=data)


def desk_client(app: Any) -> Any:
    app.extensions["spareflow"].auth.create_user("agent@desk.example", Role.SERVICE_DESK, PASSWORD)
    client = app.test_client()
    assert sign_in(client, "agent@desk.example", PASSWORD).status_code == 302
    return client


def test_the_customer_writes_the_desk_is_alerted_and_answers(app, client, shop) -> None:  # noqa: F811
    number = open_return(shop)
    url = link(shop, number)
    response = write(client, url, "Can I send the <b>cable</b> too?")
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Your message has been sent to our desk." in page
    assert "Can I send the &lt;b&gt;cable&lt;/b&gt; too?" in page  # escaped, never markup

    # On the timeline as the customer's, and not the desk's first response.
    rma = shop.returns.get(number)
    [entry] = [t for t in rma.timeline if t.kind == "customer_message"]
    assert entry.actor == "customer (status page)" and entry.reason.startswith("Can I send")
    assert rma.first_response_at is None

    # The desk: an alert on the queue, the message on the RMA page.
    desk = desk_client(app)
    queue = desk.get("/returns").get_data(as_text=True)
    assert f"{number}: the customer wrote: Can I send" in queue
    rma_page = desk.get(f"/returns/{number}").get_data(as_text=True)
    assert "customer message" in rma_page and "Can I send the &lt;b&gt;cable" in rma_page

    # The desk answers with Reply; the customer sees it, without the agent's name.
    shop.returns.closing.reply(STAFF, number, "Yes, please put it in the same box.")
    page = client.get(url).get_data(as_text=True)
    conversation = page[page.index('id="conversation"') :]
    assert conversation.index("Can I send") < conversation.index("Yes, please put it in")
    assert "Replied to the customer" not in page and STAFF not in page


def test_an_empty_overlong_or_forged_message_records_nothing(client, shop) -> None:  # noqa: F811
    number = open_return(shop)
    url = link(shop, number)
    write(client, url, "   ")
    assert "Write your message." in client.get(url).get_data(as_text=True)
    write(client, url, "x" * 2001)
    assert "Keep the message under 2,000 characters." in client.get(url).get_data(as_text=True)
    assert write(client, url, "no token", with_csrf=False).status_code == 400
    kinds = [t.kind for t in shop.returns.get(number).timeline]
    assert "customer_message" not in kinds


def test_an_expired_or_unknown_link_cannot_write(client, shop, clock) -> None:  # noqa: F811
    number = open_return(shop)
    url = link(shop, number)
    token = csrf_token(client.get(url).get_data(as_text=True))
    shop.returns.authorisation.cancel(STAFF, number, "customer changed their mind")
    clock.advance(timedelta(days=10, seconds=1))  # past STATUS_PAGE_GRACE_DAYS
    response = client.post(f"{url}/message", data={"csrf_token": token, "message": "Hello?"})
    assert response.status_code == 404
    assert client.post("/status/unknown/message", data={"message": "x"}).status_code in (400, 404)
    kinds = [t.kind for t in shop.returns.get(number).timeline]
    assert "customer_message" not in kinds


def test_one_return_takes_a_limited_number_of_messages_an_hour(client, shop, clock) -> None:  # noqa: F811
    number = open_return(shop)
    url = link(shop, number)
    for n in range(MAX_MESSAGES_PER_HOUR + 1):
        write(client, url, f"message {n}")
    page = client.get(url).get_data(as_text=True)
    assert "please wait for our answer" in page
    count = sum(t.kind == "customer_message" for t in shop.returns.get(number).timeline)
    assert count == MAX_MESSAGES_PER_HOUR
    clock.advance(timedelta(hours=1, seconds=1))
    write(client, url, "after an hour")
    count = sum(t.kind == "customer_message" for t in shop.returns.get(number).timeline)
    assert count == MAX_MESSAGES_PER_HOUR + 1


def test_writing_is_rate_limited_like_the_page(app, client, shop) -> None:  # noqa: F811
    number = open_return(shop)
    url = link(shop, number)
    token = csrf_token(client.get(url).get_data(as_text=True))
    app.config["STATUS_PAGE_RATE_LIMIT"] = "2 per minute"
    codes = [
        client.post(f"{url}/message", data={"csrf_token": token, "message": "hi"}).status_code
        for _ in range(3)
    ]
    assert codes == [302, 302, 429]


def test_builders_reply_needs_no_message_from_the_customer(shop) -> None:  # noqa: F811
    """The status page shows a desk reply even when the customer never wrote."""
    number = open_return(shop)
    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-8")
    shop.returns.closing.reply(STAFF, number, "We have your parcel booked.")
    from returns.conversation import conversation

    [entry] = conversation(shop.returns.get(number).timeline)
    assert (entry.from_customer, entry.text) == (False, "We have your parcel booked.")
