"""The knowledge base's search terms and text score, without a database."""

from __future__ import annotations

from knowledge.figures import deflection_rate
from knowledge.text import query_terms, terms, text_score, weighted_terms


def test_chinese_runs_give_characters_and_pairs_so_a_phrase_is_found_inside_another() -> None:
    assert query_terms("风扇噪音") == ["风", "扇", "噪", "音", "风扇", "扇噪", "噪音"]
    article = weighted_terms({"title": "风扇有噪音", "symptom": "", "cause": "", "fix": ""})
    # Everything but the pair 扇噪: 8 of the 10 points, all in the title.
    assert round(text_score(query_terms("风扇噪音"), article), 9) == 0.8


def test_english_words_are_lower_cased_stemmed_and_common_words_dropped() -> None:
    assert terms("The Fans are NOISY when Charging; FAN-120 buzzes") == [
        "fan", "noisy", "charg", "fan", "120", "buzz",
    ]  # fmt: skip
    assert query_terms("noise") == query_terms("noises") == ["nois"]
    assert query_terms("the and of") == []


def test_where_the_words_are_counts_a_third_and_coverage_the_rest() -> None:
    query = query_terms("grinding noise")
    in_fix = weighted_terms({"title": "", "symptom": "", "cause": "", "fix": "grinding noise"})
    half_in_title = weighted_terms({"title": "noise", "symptom": "", "cause": "", "fix": ""})
    assert round(text_score(query, in_fix), 4) == round(7 / 9, 4)  # all terms, in the fix
    assert text_score(query, half_in_title) == 0.5  # half the terms, in the title
    assert text_score(query, {}) == 0.0
    assert text_score([], in_fix) == 0.0


def test_the_deflection_rate_counts_portal_deflections_as_requests_too() -> None:
    assert deflection_rate(8, 2, 2) == 0.4
    assert deflection_rate(0, 0, 0) is None
    assert deflection_rate(0, 0, 3) == 1.0
