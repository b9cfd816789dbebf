"""The knowledge base's sheet of the metrics workbook (returns/metrics_sheets.py writes the
rest): the deflection rate with its parts, the most-linked articles, and the gaps (a part and
return reason with many cases but no published article)."""

from __future__ import annotations

from core.spreadsheets import Column, Kind, WorkbookWriter
from knowledge.figures import KnowledgeFigures
from returns.metrics_sheets import number


def knowledge_sheet(writer: WorkbookWriter, figures: KnowledgeFigures) -> None:
    """One sheet, three blocks told apart by the "Figure" column: ``deflection``,
    ``most_linked`` (one row per article) and ``gap`` (one row per part and reason)."""
    table = writer.table(
        "Knowledge",
        [
            Column("figure", "Figure", 12),
            Column("name", "Article or part", 32),
            Column("detail", "Language or reason", 16),
            Column("count", "Count", 10, Kind.INTEGER),
            Column("of", "Of", 10, Kind.INTEGER),
            Column("rate", "Rate", 10, Kind.PERCENT),
        ],
    )
    table.append(
        {
            "figure": "deflection",
            "name": "Solved without a return (desk + portal)",
            "detail": f"desk {figures.solved_on_desk}, portal {figures.solved_on_portal}",
            "count": figures.deflected,
            "of": figures.requests,
            "rate": number(figures.deflection_rate),
        }
    )
    for linked in figures.most_linked:
        table.append(
            {
                "figure": "most_linked",
                "name": linked.title,
                "detail": linked.language,
                "count": linked.links,
            }
        )
    for gap in figures.gaps:
        table.append(
            {
                "figure": "gap",
                "name": f"{gap.sku} {gap.part_name}",
                "detail": gap.reason,
                "count": gap.cases,
            }
        )
    table.close()
