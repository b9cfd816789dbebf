"""Uploaded buying workbooks checked against the data, then applied: all rows or none.

As in :mod:`inventory.sheet_imports`, every function first collects *every* problem (with
sheet, row and column), raises :class:`SpreadsheetRejected` if there is any, and only then
writes. It flushes, never commits: the service's unit of work commits once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import SYSTEM_ACTOR
from core.clock import Clock
from core.errors import N_, Conflict
from core.spreadsheets import Problem, rejected
from inventory.catalog import check_serialisation_change, record_price_change
from inventory.ledger import Who
from inventory.models import Part, Supplier, sku_key
from inventory.sheet_imports import chunks, parts_by_key, raise_if_any
from purchasing.models import PurchaseOrder, ReorderPolicy
from purchasing.orders import DraftLine, create_draft
from purchasing.status import ReorderMethod
from purchasing.workbooks import CatalogueRow, ReorderLine

# --- reorder sheet -> draft purchase orders ----------------------------------------------


def import_reorder(
    session: Session,
    who: Who,
    lines: Sequence[ReorderLine],
    problems: list[Problem],
    *,
    source: str,
    sheet_order: Sequence[str] = (),
) -> list[PurchaseOrder]:
    """One draft purchase order per supplier from the rows with an order qty above 0.

    Every row's SKU must exist and appear once; rows to order must name the part's
    current supplier, and the part must be active.
    """
    parts = parts_by_key(session, (sku_key(line.sku) for line in lines))
    first_seen: dict[str, ReorderLine] = {}
    orders: dict[str, tuple[Supplier, list[DraftLine]]] = {}
    for line in lines:
        key = sku_key(line.sku)
        if key in first_seen:
            first = first_seen[key]
            problems.append(
                line.problem(
                    "sku",
                    "duplicate_sku",
                    N_(
                        "%(sku)s is listed twice (also sheet %(sheet)s row %(row)s); keep one "
                        "row per part.",
                        sku=line.sku,
                        sheet=repr(first.table.sheet),
                        row=first.row,
                    ),
                )
            )
            continue
        first_seen[key] = line
        part = parts.get(key)
        if part is None:
            problems.append(
                line.problem(
                    "sku", "unknown_sku", N_("No part with SKU %(sku)s.", sku=repr(line.sku))
                )
            )
            continue
        if line.qty == 0:
            continue
        if not part.active:
            problems.append(
                line.problem(
                    "sku",
                    "inactive_part",
                    N_("%(sku)s is inactive; reactivate it.", sku=part.sku),
                )
            )
            continue
        if part.supplier is None:
            problems.append(
                line.problem(
                    "supplier",
                    "no_supplier",
                    N_(
                        "%(sku)s has no supplier; set one on the part before ordering it.",
                        sku=part.sku,
                    ),
                )
            )
            continue
        if (line.supplier or "").strip().upper() != part.supplier.code:
            problems.append(
                line.problem(
                    "supplier",
                    "supplier_mismatch",
                    N_(
                        "The row says supplier %(given)s, but %(sku)s is bought from "
                        "%(supplier)s. Change the part's supplier first, or export the sheet "
                        "again.",
                        given=repr(line.supplier),
                        sku=part.sku,
                        supplier=part.supplier.code,
                    )
                    if line.supplier
                    else N_(
                        "The row says supplier '(blank)', but %(sku)s is bought from "
                        "%(supplier)s. Change the part's supplier first, or export the sheet "
                        "again.",
                        sku=part.sku,
                        supplier=part.supplier.code,
                    ),
                )
            )
            continue
        _, draft_lines = orders.setdefault(part.supplier.code, (part.supplier, []))
        draft_lines.append(DraftLine(part, line.qty, part.unit_cost))
    raise_if_any(problems, sheet_order)
    if not orders:
        raise rejected("nothing_to_order", N_("No row has an order qty above 0: nothing to order."))
    return [
        create_draft(session, who, supplier, draft_lines, source)
        for _, (supplier, draft_lines) in sorted(orders.items())
    ]


# --- catalogue ---------------------------------------------------------------------------

PART_COLUMNS = (
    "name",
    "description",
    "unit",
    "category",
    "barcode",
    "unit_cost",
    "lead_time_days",
    "reorder_point",
    "reorder_qty",
    "safety_stock",
    "active",
    "serialised",
)
POLICY_COLUMNS = ("pack_size", "min_order_qty", "max_level", "method")
POLICY_DEFAULTS: dict[str, Any] = {
    "pack_size": 1,
    "min_order_qty": 0,
    "max_level": None,
    "method": ReorderMethod.MANUAL,
}


@dataclass(frozen=True)
class CatalogueResult:
    created: int
    updated: int
    unchanged: int


def import_catalogue(
    session: Session,
    clock: Clock,
    rows: Sequence[CatalogueRow],
    problems: list[Problem],
    *,
    sheet_order: Sequence[str] = (),
    actor: str = SYSTEM_ACTOR,
) -> CatalogueResult:
    """Create the parts that are new and change the ones that differ. A blank cell means
    the field's empty or default value; a column left out of the sheet is left alone."""
    existing = parts_by_key(session, (sku_key(row.sku) for row in rows))
    codes = {row.fields["supplier"] for row in rows if row.fields.get("supplier")}
    suppliers: dict[str, Supplier] = {}
    for chunk in chunks(sorted(codes)):
        suppliers.update(
            (s.code, s) for s in session.scalars(select(Supplier).where(Supplier.code.in_(chunk)))
        )
    barcodes = {row.fields["barcode"] for row in rows if row.fields.get("barcode")}
    barcode_owner: dict[str | None, str] = {}  # the query leaves out parts without one
    for chunk in chunks(sorted(barcodes)):
        barcode_owner.update(
            session.execute(select(Part.barcode, Part.sku_key).where(Part.barcode.in_(chunk))).all()
        )
    seen_sku: dict[str, CatalogueRow] = {}
    seen_barcode: dict[str, CatalogueRow] = {}
    for row in rows:
        key = sku_key(row.sku)
        if key in seen_sku:
            first = seen_sku[key]
            problems.append(
                row.problem(
                    "sku",
                    "duplicate_sku",
                    N_(
                        "%(sku)s is listed twice (also row %(row)s); SKUs ignore case.",
                        sku=row.sku,
                        row=first.row,
                    ),
                )
            )
            continue
        seen_sku[key] = row
        code = row.fields.get("supplier")
        if code and code not in suppliers:
            problems.append(
                row.problem(
                    "supplier",
                    "unknown_supplier",
                    N_("No supplier with code %(code)s.", code=repr(code)),
                )
            )
        barcode = row.fields.get("barcode")
        if barcode:
            owner = barcode_owner.get(barcode)
            if owner is not None and owner != key:
                problems.append(
                    row.problem(
                        "barcode",
                        "duplicate_barcode",
                        N_("Barcode %(barcode)s belongs to another part.", barcode=barcode),
                    )
                )
            elif barcode in seen_barcode:
                problems.append(
                    row.problem(
                        "barcode",
                        "duplicate_barcode",
                        N_(
                            "Barcode %(barcode)s is also on row %(row)s.",
                            barcode=barcode,
                            row=seen_barcode[barcode].row,
                        ),
                    )
                )
            seen_barcode.setdefault(barcode, row)
        part = existing.get(key)
        if part is not None and "serialised" in row.fields:
            try:
                check_serialisation_change(session, part, row.fields["serialised"])
            except Conflict as refused:
                problems.append(row.problem("serialised", refused.code, refused.text))
    raise_if_any(problems, sheet_order)

    now = clock.now()
    policies: dict[int, ReorderPolicy] = {}
    ids = [p.id for p in existing.values()]
    for chunk in chunks(ids):
        policies.update(
            (p.part_id, p)
            for p in session.scalars(select(ReorderPolicy).where(ReorderPolicy.part_id.in_(chunk)))
        )
    created = updated = unchanged = 0
    new_policies: list[tuple[Part, dict[str, Any]]] = []
    for row in rows:
        fields = row.fields
        part = existing.get(sku_key(row.sku))
        wanted = {name: fields[name] for name in POLICY_COLUMNS if name in fields}
        if part is None:
            part = Part(
                sku=row.sku,
                sku_key=sku_key(row.sku),
                name=fields["name"],
                description=fields.get("description", ""),
                unit=fields.get("unit", "pcs"),
                category=fields.get("category"),
                barcode=fields.get("barcode"),
                supplier=suppliers.get(fields.get("supplier") or ""),
                unit_cost=fields.get("unit_cost", Decimal("0")),
                lead_time_days=fields.get("lead_time_days"),
                reorder_point=fields.get("reorder_point", 0),
                reorder_qty=fields.get("reorder_qty", 0),
                safety_stock=fields.get("safety_stock", 0),
                active=fields.get("active", True),
                serialised=fields.get("serialised", False),
                created_at=now,
                updated_at=now,
            )
            session.add(part)
            created += 1
            if any(value != POLICY_DEFAULTS[name] for name, value in wanted.items()):
                new_policies.append((part, wanted))
            continue
        changed = False
        old_cost = part.unit_cost
        for name in PART_COLUMNS:
            if name in fields and getattr(part, name) != fields[name]:
                setattr(part, name, fields[name])
                changed = True
        if "supplier" in fields:
            supplier = suppliers.get(fields["supplier"] or "")
            if part.supplier_id != (supplier.id if supplier else None):
                part.supplier = supplier
                changed = True
        policy = policies.get(part.id)
        current = {n: getattr(policy, n) if policy else POLICY_DEFAULTS[n] for n in wanted}
        if wanted != current:
            if policy is None:
                policy = ReorderPolicy(part_id=part.id, part=part, **POLICY_DEFAULTS)
                session.add(policy)
            for name, value in wanted.items():
                setattr(policy, name, value)
            policy.updated_at = now
            changed = True
        if changed:
            part.updated_at = now
            record_price_change(session, part, old_cost, actor, now)
            updated += 1
        else:
            unchanged += 1
    if new_policies:
        session.flush()  # the new parts get their ids
        for part, wanted in new_policies:
            session.add(
                ReorderPolicy(
                    part_id=part.id, part=part, **{**POLICY_DEFAULTS, **wanted}, updated_at=now
                )
            )
    session.flush()
    return CatalogueResult(created, updated, unchanged)


def catalogue_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Every part with its reorder settings, in SKU order, streamed."""
    query = (
        select(
            Part.sku,
            Part.name,
            Part.description,
            Part.unit,
            Part.category,
            Part.barcode,
            Supplier.code,
            Part.unit_cost,
            Part.lead_time_days,
            Part.reorder_point,
            Part.reorder_qty,
            Part.safety_stock,
            func.coalesce(ReorderPolicy.pack_size, 1),
            func.coalesce(ReorderPolicy.min_order_qty, 0),
            ReorderPolicy.max_level,
            ReorderPolicy.method,
            Part.active,
            Part.serialised,
        )
        .outerjoin(Supplier, Supplier.id == Part.supplier_id)
        .outerjoin(ReorderPolicy, ReorderPolicy.part_id == Part.id)
        .order_by(Part.sku_key)
        .execution_options(yield_per=1000)
    )
    keys = ("sku", "name", "description", "unit", "category", "barcode", "supplier",
            "unit_cost", "lead_time_days", "reorder_point", "reorder_qty", "safety_stock",
            "pack_size", "min_order_qty", "max_level")  # fmt: skip
    for *columns, method, active, serialised in session.execute(query):
        values = dict(zip(keys, columns, strict=True))
        values["method"] = (method or ReorderMethod.MANUAL).value
        values["active"] = "yes" if active else "no"
        values["serialised"] = "yes" if serialised else "no"
        yield values
