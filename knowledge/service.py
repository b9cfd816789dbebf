"""The knowledge base's services, built once (bootstrap/services.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from knowledge.articles import Articles
from knowledge.cases import CaseKnowledgeService
from knowledge.figures import KnowledgeMetrics
from knowledge.suggest import Suggestions


@dataclass(frozen=True)
class KnowledgeBase:
    articles: Articles
    suggestions: Suggestions
    cases: CaseKnowledgeService
    metrics: KnowledgeMetrics


def build_knowledge(
    session_factory: sessionmaker[Session],
    clock: Clock,
    end_case: Callable[[str, str], None] | None = None,
) -> KnowledgeBase:
    """``end_case(actor, number)`` ends a case solved without a return (returns/solved.py)."""
    return KnowledgeBase(
        articles=Articles(session_factory, clock),
        suggestions=Suggestions(session_factory),
        cases=CaseKnowledgeService(session_factory, clock, end_case),
        metrics=KnowledgeMetrics(session_factory),
    )
