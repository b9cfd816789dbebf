"""Parts and stock pages."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from web.charts import step_chart
from web.extensions import services
from web.i18n import format_day
from web.pages.access import signed_in
from web.pages.metrics import trend_charts

bp = Blueprint("inventory", __name__)

PAGE_SIZE = 50
#: Whole weeks of service metrics charted on the dashboard (and this week so far).
DASHBOARD_WEEKS = 8


@bp.get("/")
@signed_in
def parts() -> ResponseReturnValue:
    search = request.args.get("q", "").strip()[:200] or None
    low_only = request.args.get("low") == "1"
    after = request.args.get("after") or None
    rows = services().inventory.list_parts(
        search=search,
        below_reorder_point=True if low_only else None,
        after=after,
        limit=PAGE_SIZE + 1,
    )
    next_after = rows[PAGE_SIZE - 1].part.sku_key if len(rows) > PAGE_SIZE else None
    return render_template(
        "parts.html",
        rows=rows[:PAGE_SIZE],
        search=search or "",
        low_only=low_only,
        next_after=next_after,
    )


@bp.get("/dashboard")
@signed_in
def dashboard() -> ResponseReturnValue:
    short = services().inventory.list_parts(below_reorder_point=True, active=True, limit=500)
    service = services().metrics.weeks(DASHBOARD_WEEKS)
    return render_template(
        "dashboard.html",
        short=short[:10],
        short_count=len(short),
        desk=services().rma_queries.desk_summary(),
        service=service,
        service_charts=trend_charts(service),
    )


@bp.get("/parts/<sku>")
@signed_in
def part(sku: str) -> ResponseReturnValue:
    inventory = services().inventory
    report = inventory.stock_report(sku)
    moves = inventory.list_moves(sku, limit=25)
    history = inventory.stock_history(sku)
    chart = step_chart(
        history,
        _("On hand of %(sku)s, 90 days", sku=report.totals.part.sku),
        services().clock.now(),
        start_text=format_day(history[0][0], year=False) if history else None,
        end_text=_("today"),
        x_label=_("Date"),
        y_label=_("Units on hand"),
    )
    reservations = inventory.open_reservations(sku)
    plan = services().buying.reorder.get_policy(sku)  # the fill-rate plan, docs/planning.md
    return render_template(
        "part.html",
        report=report,
        moves=moves,
        chart=chart,
        reservations=reservations,
        plan=plan,
    )
