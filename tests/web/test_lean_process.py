"""tests/support/lean_process.py: the test processes' shortcuts change nothing a test sees."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from flask import url_for
from werkzeug.routing.rules import Rule

from tests.support import lean_process


def test_every_rule_builds_with_the_code_werkzeug_itself_generates(app: Any) -> None:
    compile_afresh = Rule._compile_builder.original  # type: ignore[attr-defined]
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 200
    for rule in rules:
        for append_unknown, built in ((False, rule._build), (True, rule._build_unknown)):
            own = compile_afresh(rule, append_unknown).__code__
            reused = built.__func__.__code__
            assert (reused.co_code, reused.co_consts, reused.co_varnames) == (
                own.co_code,
                own.co_consts,
                own.co_varnames,
            ), rule.rule
            assert built.__self__ is rule  # bound to this app's rule, its own converters


def test_two_apps_share_the_builders_and_build_the_same_urls(app: Any) -> None:
    from web import create_app

    other = create_app(app.config)
    try:
        first = {(rule.endpoint, rule.rule): rule for rule in app.url_map.iter_rules()}
        for rule in other.url_map.iter_rules():
            twin = first[(rule.endpoint, rule.rule)]
            assert rule._build.__func__ is twin._build.__func__
            assert rule._build.__self__ is rule and twin._build.__self__ is twin
        for one in (app, other):
            with one.test_request_context():
                assert url_for("desk.detail", number="RMA-2026-000001", tab="x") == (
                    "/returns/RMA-2026-000001?tab=x"
                )
    finally:
        other.extensions["spareflow"].engine.dispose()


def test_a_cycle_made_after_the_freeze_is_still_collected() -> None:
    lean_process.calm_the_garbage_collector()  # done once per run already; again is harmless

    class Node:
        partner: Any = None

    first, second = Node(), Node()
    first.partner, second.partner = second, first
    gone = weakref.ref(first)
    del first, second
    gc.collect()
    assert gone() is None
