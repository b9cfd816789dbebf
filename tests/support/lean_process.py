"""What makes a test process cheaper to run, without changing what any test sees.

The suite builds a new Flask app for nearly every test (``app`` in tests/conftest.py), a few
thousand per run, where production builds one per process. Two costs of that are the test
process's own, and are cut here (docs/testing.md, "How the suite stays fast"):

- **URL rules.** Werkzeug compiles two builder functions for each of the app's 260 rules with
  ``ast`` and ``compile()``: about 60 % of building an app. The code it generates depends
  only on the rule's text, its host part, its defaults and whether unknown arguments are
  appended; it reaches the rule itself through the ``self`` it is bound to. So a test process
  keeps each generated function and binds it to each new rule, as werkzeug does.
- **The garbage collector.** A test worker holds every module of the app and of the test
  libraries; each full collection walked all of them again, every few apps. ``gc.freeze()``
  once the tests are collected moves those objects out of the collector's sight, and a larger
  first generation makes collections rarer. Cycles made by the tests are still collected.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from werkzeug.routing.rules import Rule

#: Allocations before a first-generation collection (CPython's default is 700).
FIRST_GENERATION_THRESHOLD = 50_000

_builders: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}


def _builder_key(rule: Rule, append_unknown: bool) -> tuple[Any, ...]:
    """Everything werkzeug's generated builder depends on (werkzeug/routing/rules.py,
    ``Rule._compile_builder``)."""
    assert rule.map is not None, "rule not bound"
    defaults = tuple(sorted((name, repr(value)) for name, value in (rule.defaults or {}).items()))
    return (
        rule.rule,
        rule.subdomain,
        rule.host,
        rule.map.host_matching,
        rule.merge_slashes,
        defaults,
        append_unknown,
    )


def reuse_url_rule_builders() -> None:
    """Let werkzeug compile each rule's builders once per process, not once per app."""
    if getattr(Rule._compile_builder, "spareflow_reused", False):
        return
    compile_builder = Rule._compile_builder

    def reused(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        key = _builder_key(self, append_unknown)
        if key not in _builders:
            _builders[key] = compile_builder(self, append_unknown)
        return _builders[key]

    reused.spareflow_reused = True  # type: ignore[attr-defined]
    reused.original = compile_builder  # type: ignore[attr-defined]
    Rule._compile_builder = reused  # type: ignore[method-assign]


def calm_the_garbage_collector() -> None:
    """Leave what is loaded by now to itself, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(FIRST_GENERATION_THRESHOLD, second, third)
