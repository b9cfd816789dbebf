"""The metrics page: the returns desk's figures for a period, charts, breakdowns, the what-if,
and the xlsx report. Service desk, buyers and admins (checked on the server)."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from accounts.models import Role
from core.errors import InvalidInput
from knowledge.sheets import knowledge_sheet
from returns.metrics_figures import RESPONSE_BAR, Metrics
from returns.metrics_maths import Bucket, Period
from returns.metrics_sheets import write_report
from web.charts import Series, bar_chart, line_chart
from web.downloads import xlsx_download
from web.extensions import services
from web.i18n import current_language
from web.pages.access import roles_required

bp = Blueprint("metrics_pages", __name__)

READERS = (Role.ADMIN, Role.BUYER, Role.SERVICE_DESK)
#: Rows shown per part or supplier table on the page (the workbook has them all).
PAGE_ROWS = 25
NO_VALUE = "\N{EN DASH}"


def _date(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            name, _("'%(value)s' is not a date (YYYY-MM-DD).", value=raw[:20])
        ) from None


def requested_period() -> Period:
    """The period in the query (``from``, ``to``, both days included); the last 28 days."""
    return services().metrics.asked(_date("from"), _date("to"))


def _short(day: date) -> str:
    """A week's first day, short and in the page's locale ("9/6")."""
    return format_skeleton("Md", day, locale=current_language())


def day_unit() -> str:
    """The suffix of a number of days in charts and tables (" d")."""
    return _(" d")


def trend_charts(metrics: Metrics) -> dict[str, Markup]:
    """The weekly trend of refund completion time and of response compliance."""
    weeks = [_short(w.start.date()) for w in metrics.weekly]
    refund = line_chart(
        weeks,
        [
            Series(_("mean"), [w.figures.refund_time.mean for w in metrics.weekly], "s1"),
            Series(_("90th percentile"), [w.figures.refund_time.p90 for w in metrics.weekly], "s2"),
        ],
        _("Refund completion time per week, days"),
        unit=day_unit(),
        x_label=_("Week starting"),
        y_label=_("Days"),
    )

    def pct(value: float | None) -> float | None:
        return None if value is None else value * 100

    response = line_chart(
        weeks,
        [
            Series(
                _("by the deadline"),
                [pct(w.figures.response_on_target.value) for w in metrics.weekly],
                "s1",
            ),
            Series(
                _("within 24 h"),
                [pct(w.figures.response_within_24h.value) for w in metrics.weekly],
                "s2",
            ),
        ],
        _("First responses on time per week, percent (target %(target)s%%)", target=90),
        unit="%",
        top=100,
        target=RESPONSE_BAR * 100,
        target_label=_("target"),
        x_label=_("Week starting"),
        y_label=_("Percent on time"),
    )
    return {"refund_trend": refund, "response_trend": response}


def charts(metrics: Metrics) -> dict[str, Markup]:
    what_if = metrics.what_if
    buckets = [bucket_label(b) for b in what_if.actual_histogram]
    return {
        **trend_charts(metrics),
        "distribution": bar_chart(
            buckets,
            [
                Series(_("refund on pickup"), [b.count for b in what_if.actual_histogram], "s1"),
                Series(
                    _("had it waited for receipt"),
                    [b.count for b in what_if.hypothetical_histogram],
                    "s2",
                ),
            ],
            _("Refund completion time, number of refunds per range of days"),
            x_label=_("Days from request to refund"),
            y_label=_("Refunds"),
        ),
        "what_if": bar_chart(
            [_("mean"), _("median"), _("90th percentile")],
            [
                Series(
                    _("refund on pickup (actual)"),
                    [
                        what_if.actual_arrived.mean,
                        what_if.actual_arrived.median,
                        what_if.actual_arrived.p90,
                    ],
                    "s1",
                ),
                Series(
                    _("on receipt (what-if)"),
                    [
                        what_if.hypothetical.mean,
                        what_if.hypothetical.median,
                        what_if.hypothetical.p90,
                    ],
                    "s2",
                ),
            ],
            _("Refund completion time in days: on pickup beside waiting for the warehouse"),
            unit=day_unit(),
            y_label=_("Days"),
        ),
    }


@bp.get("/metrics")
@roles_required(*READERS)
def page() -> ResponseReturnValue:
    try:
        period = requested_period()
    except InvalidInput as problem:
        return (
            render_template(
                "metrics.html",
                metrics=None,
                problem=problem,
                first=request.args.get("from", "")[:20],
                last=request.args.get("to", "")[:20],
            ),
            422,
        )
    metrics = services().metrics.report(period)
    return render_template(
        "metrics.html",
        metrics=metrics,
        claim_figures=services().buying.claims.supplier_figures(period.start, period.end),
        knowledge=services().knowledge.metrics.figures(period),
        charts=charts(metrics),
        problem=None,
        first=period.first_day.isoformat(),
        last=period.last_day.isoformat(),
        page_rows=PAGE_ROWS,
    )


@bp.get("/metrics/report.xlsx")
@roles_required(*READERS)
def report() -> ResponseReturnValue:
    period = requested_period()
    metrics = services().metrics.report(period)
    knowledge = services().knowledge.metrics.figures(period)
    return xlsx_download(
        lambda stream: write_report(
            metrics, stream, [lambda writer: knowledge_sheet(writer, knowledge)]
        ),
        f"metrics-{period.first_day.isoformat()}-{period.last_day.isoformat()}.xlsx",
    )


def bucket_label(bucket: Bucket) -> str:
    if bucket.high is None:
        return _("%(low)s+ d", low=f"{bucket.low:g}")
    return _("%(low)s-%(high)s d", low=f"{bucket.low:g}", high=f"{bucket.high:g}")


@bp.app_template_filter("days")
def days_filter(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:.1f}{day_unit()}"


@bp.app_template_filter("share")
def share_filter(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value * 100:.1f}%"
