"""What the layout audit (tests/web/test_browser_layout_*.py) checks on every page it opens.

- Which pages a role has: the GET routes of the URL map its role may open (as
  tests/support/route_declarations.py reads them), minus downloads; routes with parts
  (``/parts/<sku>``) are opened through the first link to them found on the role's pages.
- Sideways scrolling: ``document.documentElement.scrollWidth`` beyond ``innerWidth``.
- Raw codes: an enum value with an underscore (``in_transit``, ``picked_up``) shown as text.
- Untranslated texts: on a Chinese page, a message id of the app (extracted from the code as
  ``make translations`` would) that has no Chinese translation, shown as it is.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).parents[2]
PO_FILE = ROOT / "web" / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
AXE = ROOT / "tests" / "fixtures" / "axe" / "axe.min.js"

#: Routes that answer with a file, not a page (spreadsheets, labels, photos).
DOWNLOAD_ENDPOINT_WORDS = ("download", "export", "recall", "report", "label", "photo")
#: Not pages but parts of one, fetched by the page's own script (live updates, suggestions):
#: they are laid out inside the page that asks for them, which the sweep checks.
FRAGMENT_ENDPOINTS = {"rma_page.rma_live", "rma_page.queue_live", "knowledge_pages.suggestions"}
#: Offered only when e-mail is configured (a canned reply fills the reply form that sends
#: one); the sweep's demo sends no mail. tests/web/test_owner_pages.py opens it.
MAIL_ONLY_ENDPOINTS = {"owners_pages.canned_reply"}
#: The axe-core rules of the issue's accessibility bar: labelled fields, contrast (AA).
AXE_RULES = [
    "label",
    "select-name",
    "button-name",
    "input-button-name",
    "link-name",
    "aria-input-field-name",
    "color-contrast",
]

MEASURE = """() => {
  const root = document.documentElement;
  const wide = [];
  if (root.scrollWidth > window.innerWidth) {
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.right > window.innerWidth + 1 && box.width > 0 && el.checkVisibility()) {
        wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                  (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
        if (wide.length > 4) break;
      }
    }
  }
  // The header's lines, from how far apart the middles of its links and controls are (1: one line).
  const header = document.querySelector('header.topbar');
  const items = header ? [...header.querySelectorAll('nav a, .account > *, .brand')].filter(e => e.checkVisibility()) : [];
  const centres = items.map(e => { const r = e.getBoundingClientRect(); return (r.top + r.bottom) / 2; });
  const lines = centres.length ? 1 + Math.round((Math.max(...centres) - Math.min(...centres)) / 20) : 0;
  return {scrollWidth: root.scrollWidth, innerWidth: window.innerWidth, wide: wide, headerLines: lines};
}"""


@dataclass
class Visit:
    who: str
    language: str
    path: str
    endpoint: str
    widths: dict[int, int] = field(default_factory=dict)  # viewport -> scrollWidth
    culprits: dict[int, list[str]] = field(default_factory=dict)
    header_lines: dict[int, int] = field(default_factory=dict)
    raw_codes: set[str] = field(default_factory=set)
    untranslated: set[str] = field(default_factory=set)


def page_rules(app: Any, role: Any) -> list[tuple[str, str]]:
    """(rule, endpoint) of every page ``role`` may open, plain ones first."""
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static/")):
            continue
        if rule.rule.endswith((".xlsx", ".csv", ".pdf")) or any(
            word in rule.endpoint for word in DOWNLOAD_ENDPOINT_WORDS
        ):
            continue
        if rule.endpoint in FRAGMENT_ENDPOINTS | MAIL_ONLY_ENDPOINTS:
            continue
        roles = getattr(app.view_functions[rule.endpoint], "allowed_roles", None)
        if isinstance(roles, frozenset | set) and role in roles:
            found.append((rule.rule, rule.endpoint))
    return sorted(found, key=lambda item: ("<" in item[0], item[0]))


def endpoint_of(app: Any, path: str) -> str | None:
    return match(app, path)[0]


def match(app: Any, path: str) -> tuple[str | None, dict[str, Any]]:
    """The endpoint of ``path`` and its arguments (``None`` when it is not a page's path)."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, arguments = adapter.match(urlsplit(path).path, method="GET")
    except Exception:  # a redirect, a 404, another method: not a page link
        return None, {}
    return str(endpoint), dict(arguments)


def candidates(app: Any, endpoint: str, pool: dict[str, list[Any]]) -> list[str]:
    """Paths of ``endpoint`` built from argument values seen in other links (a purchase
    order's number from the buyer's list for the warehouse's goods-in page)."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == endpoint and len(rule.arguments) == 1:
            (name,) = rule.arguments
            return [adapter.build(endpoint, {name: value}) for value in pool.get(name, [])]
    return []


def local_links(page: Any) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "a[href]", "links => links.map(link => link.getAttribute('href'))"
    )
    return [href for href in hrefs if href.startswith("/") and not href.startswith("//")]


@cache
def enum_codes() -> frozenset[str]:
    """Every enum value of the app's domain with an underscore: what a page must never show."""
    import web  # noqa: F401 - imports the domain packages and their enums

    codes: set[str] = set()
    pending = list(enum.Enum.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in {
            "accounts",
            "carriers",
            "core",
            "inventory",
            "purchasing",
            "returns",
            "sales",
            "web",
        }:
            codes.update(str(m.value) for m in cls if isinstance(m.value, str) and "_" in m.value)
    return frozenset(codes)


#: The page's visible text, less ``<code>`` (deliberately raw: the audit log's action codes).
VISIBLE_TEXT = """() => {
  let text = document.body.innerText;
  for (const code of document.body.querySelectorAll('code')) text = text.replace(code.innerText, ' ');
  return text;
}"""


def raw_codes(text: str) -> set[str]:
    return set(re.findall(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", text)) & enum_codes()


@cache
def untranslated_ids() -> tuple[re.Pattern[str], ...]:
    """Message ids of the app that have no Chinese translation (or no catalogue entry yet)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        if isinstance(message, str):
            ids.add(message)
    with PO_FILE.open("rb") as po:
        catalog = read_po(po)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    shown = []
    for message in ids - translated:
        text = message.replace("&amp;", "&")
        if "%(" in text or "{" in text or len(text) < 4 or not re.search("[a-z]", text):
            continue  # formatted or too short to tell from data
        shown.append(re.compile(r"(?<![\w-])" + re.escape(text) + r"(?![\w-])"))
    return tuple(shown)


def untranslated(text: str) -> set[str]:
    return {pattern.pattern for pattern in untranslated_ids() if pattern.search(text)}


def readable(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern.removeprefix(r"(?<![\w-])").removesuffix(r"(?![\w-])"))


def overflowing(visits: Iterable[Visit]) -> list[str]:
    lines = []
    for visit in visits:
        for width, scroll in sorted(visit.widths.items()):
            if scroll > width:
                lines.append(
                    f"{visit.who} {visit.language} {width}px {visit.path}: {scroll}px "
                    f"({', '.join(visit.culprits.get(width, []))})"
                )
    return lines
