"""The loaner e-mails ship in English and Chinese and render with the values the loans stage
gives them (an admin's edit is checked against the same sample values)."""

from __future__ import annotations

import pytest

from returns.messages import CUSTOMER_KINDS, Templates, sample_context, shipped_templates


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
@pytest.mark.parametrize("kind", ["loaner_sent", "loaner_overdue"])
def test_a_loaner_message_names_the_part_serial_and_due_date(kind: str, language: str) -> None:
    assert kind in CUSTOMER_KINDS
    templates = Templates()
    source = shipped_templates(language)[kind]
    rendered = templates.render(source, language, sample_context(kind, language))
    for text in (rendered.text, rendered.html):
        assert "PSU-65" in text and "LN-0007" in text and "2026-12-21" in text
    assert "RMA-20261123-0042" in rendered.subject
    templates.check(source, kind, language)
