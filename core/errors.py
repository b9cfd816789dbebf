"""One error hierarchy for the whole domain.

The web layer maps each family to an HTTP status in one place (``web/errors.py``);
the domain only says what went wrong, with a stable machine-readable ``code``.

Messages reach people, so they are translatable without the domain knowing about Flask: a
message written ``N_("Only %(num)s on hand", num=3)`` keeps its template and parameters, and
``error.message`` renders them through the translator the edge installed
(``set_translator``; the web's translates into the page's language, see web/i18n.py). Plain
strings pass through the translator too, so a fixed sentence with a catalog entry is
translated as well. ``str(error)`` stays English, for logs. Babel extracts ``N_`` from the
domain packages (babel.cfg).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Translator = Callable[[str, Mapping[str, Any]], str]


def english(template: str, params: Mapping[str, Any]) -> str:
    """The message as written (no translation): the default outside a web request."""
    return template % params if params else template


_translator: Translator = english


def set_translator(translator: Translator | None) -> None:
    """How ``DomainError.message`` renders a template and its parameters (None: English)."""
    global _translator
    _translator = translator or english


class Text(str):
    """A message in English that remembers its template and parameters for translation."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, params: Mapping[str, Any] | None = None) -> Text:
        params = dict(params or {})
        text = super().__new__(cls, english(template, params))
        text.template, text.params = template, params
        return text


def N_(template: str, **params: Any) -> Text:
    """Marks a message for extraction; keeps its ``%(name)s`` parameters for the edge."""
    return Text(template, params)


def translated(message: str) -> str:
    """``message`` rendered by the installed translator (a plain string as its own template)."""
    if isinstance(message, Text):
        return _translator(message.template, message.params)
    return _translator(message, {})


def stored(message: str) -> tuple[str | None, dict[str, str] | None]:
    """A message's template and parameters (as text) for a row to keep beside its English
    rendering, so a page can show it in its reader's language later; (None, None) for a plain
    string (typed by a person, or written before templates were kept)."""
    if not isinstance(message, Text):
        return None, None
    return message.template, {name: str(value) for name, value in message.params.items()}


def filled(text: Text, /, **params: Any) -> Text:
    """``text``'s template (a constant written with ``N_``) with these parameters."""
    return Text(text.template, params)


_PARAM = re.compile(r"%\((\w+)\)[sd]")


def recognised(
    value: str, templates: Iterable[Text], within: Mapping[str, Iterable[Text]] | None = None
) -> str:
    """``value`` as the first of ``templates`` that reads it, with the parameters it holds (so
    a page shows it in its reader's language); ``value`` as it is when none does (typed by a
    person, or another's text). For a column that keeps only the English sentence.

    ``within``: parameters that hold a sentence spareflow wrote with one of these templates
    (an alert quoting a timeline line): a template matches only when each of them is read too.
    """
    if isinstance(value, Text):
        return value
    for text in templates:
        parts = _PARAM.split(text.template)  # literal, name, literal, name, ..., literal
        pattern = "".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>.*?)"
            for index, part in enumerate(parts)
        )
        found = re.fullmatch(pattern, value, re.DOTALL)
        if not found:
            continue
        params: dict[str, Any] = found.groupdict()
        for name, inner in (within or {}).items():
            if name in params:
                params[name] = recognised(params[name], inner)
        if all(isinstance(params[name], Text) for name in within or {} if name in params):
            return Text(text.template, params)
    return value


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any):
        super().__init__(str(message))
        self.text = message if isinstance(message, Text) else Text(message)
        if code:
            self.code = code
        self.details = details

    @property
    def message(self) -> str:
        """What went wrong, in the reader's language where the edge knows it."""
        return translated(self.text)


class NotFound(DomainError):
    """The thing addressed (by URL or by id) does not exist."""

    code = "not_found"


class InvalidInput(DomainError):
    """Well-formed input that breaks a rule: names the offending ``field``."""

    code = "invalid_input"

    def __init__(self, field: str, message: str, *, code: str | None = None, **details: Any):
        super().__init__(message, code=code, field=field, **details)
        self.field = field


class Conflict(DomainError):
    """The request is valid but clashes with the current state (stock, status, uniqueness)."""

    code = "conflict"
