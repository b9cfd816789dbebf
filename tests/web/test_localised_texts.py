"""Every text in the reader's language (issue #21), through the Flask client: domain errors
and timeline lines translated at the edge, dates and durations in Babel's formats, carrier
states as labels not codes, and the return sheet in the customer's language."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select, update

from accounts.models import Role
from core.errors import N_, InvalidInput
from returns.rma import Rma, RmaTransition
from tests.web.test_desk_pages import signed_in
from tests.web.test_pages import PASSWORD, sign_in
from tests.web.test_rma_page_actions import desk_app, open_return  # noqa: F401 - the fixture
from web.i18n import format_duration, format_moment

ISO_MINUTE = re.compile(r"\b20\d\d-\d\d-\d\d \d\d:\d\d\b")


def _chinese_desk(app: Any) -> Any:
    services = app.extensions["spareflow"]
    services.auth.create_user("li@desk.example", Role.SERVICE_DESK, PASSWORD, language="zh_Hans")
    client = app.test_client()
    assert sign_in(client, "li@desk.example", PASSWORD).status_code == 302
    return client


def test_a_domain_error_is_translated_on_pages_but_stays_english_in_the_api_and_logs(
    desk_app: Any,  # noqa: F811
) -> None:
    error = InvalidInput("lines", N_("Choose at least one part to return."))
    assert error.message == str(error) == "Choose at least one part to return."  # no request
    with desk_app.test_request_context("/returns/new"), force_locale("zh_Hans"):
        assert error.message == "请至少选择一个要退回的配件。"
    with desk_app.test_request_context("/api/v1/rmas"), force_locale("zh_Hans"):
        assert error.message == "Choose at least one part to return."
    templated = InvalidInput("x", N_("Loaner %(sku)s lent, due %(due)s.", sku="FAN-80", due="D"))
    assert str(templated) == "Loaner FAN-80 lent, due D."
    with desk_app.test_request_context("/"), force_locale("zh_Hans"):
        assert "FAN-80" in templated.message and "Loaner" not in templated.message


def test_the_timeline_shows_spareflows_lines_in_the_readers_language_and_old_rows_as_written(
    desk_app: Any,  # noqa: F811
) -> None:
    desk = signed_in(desk_app, Role.SERVICE_DESK)
    location = open_return(desk)
    number = location.rstrip("/").rsplit("/", 1)[-1]
    services = desk_app.extensions["spareflow"]
    with services.session_factory.begin() as session:
        rma = session.scalars(select(Rma).where(Rma.number == number)).one()
        now = services.clock.now()
        rma.note("loan", "ann", N_("Loaner %(sku)s lent, due %(due)s.", sku="FAN-80", due="X"), now)
        rma.note("loan", "ann", "An old line, written before templates were kept", now)
    with services.session_factory() as session:
        kept = session.scalars(
            select(RmaTransition).where(RmaTransition.kind == "loan").order_by(RmaTransition.id)
        ).all()
        assert kept[0].reason == "Loaner FAN-80 lent, due X."  # English kept for exports, logs
        assert kept[0].reason_template == "Loaner %(sku)s lent, due %(due)s."
        assert kept[0].reason_params == {"sku": "FAN-80", "due": "X"}
        assert kept[1].reason_template is None
    english = desk.get(location).get_data(as_text=True)
    assert "Loaner FAN-80 lent, due X." in english
    chinese = _chinese_desk(desk_app).get(location).get_data(as_text=True)
    timeline = chinese[chinese.index('id="timeline"') :]
    timeline = timeline[: timeline.index("</ol>")]
    assert "Loaner FAN-80" not in timeline and "FAN-80" in timeline
    assert "An old line, written before templates were kept" in timeline  # shown as it is
    assert not ISO_MINUTE.search(timeline)  # Babel's date format, not strftime
    assert "年" in timeline and "月" in timeline


def test_carrier_scans_on_the_timeline_are_labels_not_codes(desk_app: Any) -> None:  # noqa: F811
    desk = signed_in(desk_app, Role.SERVICE_DESK)
    location = open_return(desk)
    number = location.rstrip("/").rsplit("/", 1)[-1]
    services = desk_app.extensions["spareflow"]
    with services.session_factory.begin() as session:
        rma = session.scalars(select(Rma).where(Rma.number == number)).one()
        rma.note(
            "status",
            "system",
            N_(
                "Carrier: %(carrier)s %(tracking_number)s: %(status)s",
                carrier="sandbox",
                tracking_number="1Z9",
                status="in_transit",
            ),
            services.clock.now(),
        )
    html = desk.get(location).get_data(as_text=True)
    assert "Carrier: sandbox 1Z9: in transit" in html
    assert "in_transit" not in html[html.index('id="timeline"') :]


def test_dates_and_durations_follow_the_locale(desk_app: Any) -> None:  # noqa: F811
    moment = desk_app.extensions["spareflow"].clock.now().replace(month=9, day=6, hour=14, minute=5)
    with desk_app.test_request_context("/"):
        with force_locale("zh_Hans"):
            assert format_moment(moment).endswith("9月6日 14:05")
            assert format_duration(timedelta(hours=24)) == "24小时"
            assert format_duration(timedelta(hours=2, minutes=5)) == "2小时5分钟"
            assert format_duration(timedelta(minutes=-15)) == "-15分钟"
        with force_locale("en"):
            assert format_moment(moment) == f"Sep 6, {moment.year} 14:05"
            assert format_duration(timedelta(hours=2, minutes=5)) == "2 hr 5 min"
            assert format_duration(timedelta(minutes=-70), absolute=True) == "1 hr 10 min"


def test_the_return_sheet_is_in_the_customers_language_whoever_prints_it(
    desk_app: Any,  # noqa: F811
) -> None:
    desk = signed_in(desk_app, Role.SERVICE_DESK)  # an English-speaking agent
    location = open_return(desk)
    number = location.rstrip("/").rsplit("/", 1)[-1]
    services = desk_app.extensions["spareflow"]
    with services.session_factory.begin() as session:
        session.execute(update(Rma).where(Rma.number == number).values(customer_language="zh_Hans"))
    sheet = desk.get(f"{location}/sheet").get_data(as_text=True)
    assert 'lang="zh-Hans"' in sheet
    assert re.search(r"[\u4e00-\u9fff]{2,}", sheet)
    # The agent's own pages stay in English.
    assert 'lang="en"' in desk.get(location).get_data(as_text=True)
