"""The layout sweep of the buyer role's pages (tests/support/layout_sweep.py says what it checks)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from tests.support.layout_sweep import (  # noqa: F401 - the checks, run on this file's sweep
    Sweep,
    site,
    sweep,
    test_chinese_pages_show_no_untranslated_text,
    test_every_page_of_every_role_is_reached,
    test_every_role_lands_on_its_own_work,
    test_main_pages_have_labelled_fields_and_aa_contrast,
    test_no_page_scrolls_sideways_at_390_or_1366_px_in_either_language,
    test_no_page_shows_a_raw_code,
    test_the_focused_control_is_visibly_marked,
    test_the_header_is_one_line_at_1366_px,
)
from tests.web.test_browser import browser  # noqa: F401 - the shared Chromium fixture


@pytest.fixture(scope="module")
def audit(browser: Any, site: str) -> Sweep:  # noqa: F811
    return sweep(browser, site, "buyer", [Role.BUYER])
