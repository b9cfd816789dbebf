"""Search terms for the knowledge base, the same for the articles (on save) and the query.

Chinese has no spaces between words, so a run of CJK characters gives its single
characters and its overlapping pairs (bigrams): 风扇噪音 gives 风 扇 噪 音 风扇 扇噪 噪音,
and "风扇有噪音" holds 风扇 and 噪音 and every single character, so it is found. English and
digits give lower-cased words with a light stemming (plural, -ing, -ed, a final e), so
"noises" finds "noise" and "charging" finds "charged"; common words are dropped.

The terms are plain strings stored in ``kb_article_terms`` and compared with ``=``/``IN``:
the search behaves the same on SQLite and PostgreSQL (no full-text engine or extension).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Han ideographs (with extension A and compatibility), kana and hangul: written without spaces.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_TOKENS = re.compile(rf"[{_CJK}]+|[^\W_]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")
#: Longest term stored (the column's length).
MAX_TERM = 64
#: Most distinct terms taken from a query: a pasted essay does not become a huge IN list.
MAX_QUERY_TERMS = 80

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "this",
        "to",
        "was",
        "when",
        "which",
        "will",
        "with",
        "you",
        "your",
    ]
)

#: How much a term found in each field counts.
FIELD_WEIGHTS = {"title": 3, "symptom": 2, "cause": 1, "fix": 1}


def stem(word: str) -> str:
    """A light English stem: enough for plurals and the common verb endings."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The search terms of ``text`` in order, repeats kept."""
    found: list[str] = []
    for token in _TOKENS.findall(text.casefold()):
        if _IS_CJK.match(token):
            found.extend(token)
            found.extend(token[i : i + 2] for i in range(len(token) - 1))
        elif token not in STOP_WORDS:
            found.append(stem(token)[:MAX_TERM])
    return found


def is_bigram(term: str) -> bool:
    return len(term) == 2 and all(_IS_CJK.match(char) for char in term)


def term_value(term: str) -> int:
    """How much matching one query term is worth: a single CJK character says little, a pair
    of characters or an English word says more."""
    return 1 if len(term) == 1 and _IS_CJK.match(term) else 2


def weighted_terms(fields: dict[str, str]) -> dict[str, int]:
    """Each distinct term of an article with the weight of the heaviest field it is in."""
    weights: dict[str, int] = {}
    for name, text in fields.items():
        weight = FIELD_WEIGHTS[name]
        for term in terms(text):
            if weights.get(term, 0) < weight:
                weights[term] = weight
    return weights


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query, first seen first, at most MAX_QUERY_TERMS."""
    return list(dict.fromkeys(terms(query)))[:MAX_QUERY_TERMS]


def text_score(query: Iterable[str], article_terms: dict[str, int]) -> float:
    """0..1: how well the article's terms cover the query. Coverage (the share of the query's
    value the article holds) counts most; where the terms are (title over symptom over cause
    and fix) adds up to a third, so every term in the fix beats half of them in the title."""
    wanted = list(query)
    total = sum(term_value(term) for term in wanted)
    held = [(term_value(term), article_terms[term]) for term in wanted if term in article_terms]
    held_value = sum(value for value, _ in held)
    if not total or not held_value:
        return 0.0
    placement = sum(value * weight for value, weight in held) / (
        held_value * FIELD_WEIGHTS["title"]
    )
    return held_value / total * (2 + placement) / 3
