"""Languages of the pages: English and Simplified Chinese, chosen per user (Flask-Babel).

The locale is the signed-in user's ``language``, else the best match for the browser's
``Accept-Language`` among the supported ones, else English. Translations live in
``web/translations/<locale>/LC_MESSAGES/messages.po`` (compiled ``.mo`` committed beside it);
``make translations`` extracts, updates and compiles them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_skeleton
from babel.units import format_unit
from flask import Flask, has_request_context, request
from flask_babel import get_locale, gettext, to_user_timezone
from flask_login import current_user

from accounts.models import DEFAULT_LANGUAGE, LANGUAGES
from core.errors import Text, english, set_translator, translated
from returns.alert_texts import alert_text
from returns.commands import CustomerAddress
from web.extensions import babel

#: Each language named in itself, as the switcher shows it (never translated).
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "中文"}
#: Babel locale id -> BCP 47 tag for ``<html lang>``.
HTML_LANG = {"en": "en", "zh_Hans": "zh-Hans"}
#: Traditional-script Chinese: not Simplified, so it does not select zh_Hans.
_TRADITIONAL = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")


def N_(message: str) -> str:
    """Marks a message for extraction only; it is translated later, where it is shown."""
    return message


def country_name(code: str) -> str:
    """The country ``code`` (ISO 3166-1 alpha-2) named in the page's language."""
    locale = get_locale()
    names = locale.territories if locale is not None else {}
    return str(names.get(code.upper(), code))


def address_lines(address: CustomerAddress | None) -> list[str]:
    """An address as it is written on an envelope: a Chinese one from the province down
    (省 市 区, street, then who), any other from who down to the country."""
    if address is None:
        return []
    if address.country == "CN":
        lines = [
            f"{country_name('CN')} {address.postcode}",
            f"{address.state} {address.city}",
            address.street,
            address.street2,
            address.company,
            f"{address.name} {address.phone}",
        ]
    else:
        lines = [
            address.name,
            address.company,
            address.street,
            address.street2,
            " ".join(p for p in (address.city, address.state, address.postcode) if p),
            country_name(address.country),
            address.phone,
        ]
    return [line.strip() for line in lines if line.strip()]


# --- dates, times and durations in the page's language (Babel's CLDR formats) ---------------


def _locale() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else DEFAULT_LANGUAGE


def _moment(value: datetime) -> datetime:
    """An aware or naive (UTC) moment in the display time zone (BABEL_DEFAULT_TIMEZONE, UTC)."""
    return to_user_timezone(value)


def format_day(value: date | datetime | None, *, year: bool = True) -> str:
    """ "Sep 6, 2026" / "2026年9月6日"; without the year "Sep 6" / "9月6日"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _moment(value)
    return format_skeleton("yMMMd" if year else "MMMd", value, locale=_locale())


def format_clock(value: datetime | None) -> str:
    """The time of day, 24-hour: "14:05"."""
    return format_skeleton("Hm", _moment(value), locale=_locale()) if value else ""


def format_moment(value: datetime | None) -> str:
    """A day and a time: "Sep 6, 2026 14:05" / "2026年9月6日 14:05"."""
    if value is None:
        return ""
    return f"{format_day(value)} {format_clock(value)}"


def format_duration(value: timedelta | None, *, absolute: bool = False) -> str:
    """Hours and minutes in the page's words: "2 hr 5 min" / "2小时5分钟"; "-15 min" overdue
    (unless ``absolute``)."""
    if value is None:
        return ""
    sign = "-" if value < timedelta(0) and not absolute else ""
    minutes = int(abs(value.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    locale = _locale()
    parts = [format_unit(hours, "duration-hour", length="short", locale=locale)] if hours else []
    if minutes or not hours:
        parts.append(format_unit(minutes, "duration-minute", length="short", locale=locale))
    return sign + ("" if locale.startswith("zh") else " ").join(parts)


def language_for_header(tags: list[str]) -> str | None:
    """The supported language for the first acceptable tag (``zh``, ``zh-CN``, ``zh-Hans``...)."""
    for tag in tags:
        tag = tag.strip().lower().replace("_", "-")
        if tag == "en" or tag.startswith("en-"):
            return "en"
        if (tag == "zh" or tag.startswith("zh-")) and not tag.startswith(_TRADITIONAL):
            return "zh_Hans"
    return None


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    # Werkzeug orders the header's entries by quality, best first; q=0 means "not this".
    tags = [tag for tag, quality in request.accept_languages if quality > 0]
    return language_for_header(tags) or DEFAULT_LANGUAGE


def current_language() -> str:
    locale = get_locale()
    if locale is None:
        return DEFAULT_LANGUAGE
    name = str(locale)
    return name if name in LANGUAGES else DEFAULT_LANGUAGE


#: Parameters of domain messages that hold a code, shown through ``|label``.
WORD_PARAMS = frozenset(
    {
        "status",
        "channel",
        "wanted",
        "step",
        "kind",
        "outcome",
        "disposition",
        "target",
        "return_reason",
    }
)
#: Parameters that hold a list of codes (", "-separated), each shown through ``|label``.
WORD_LIST_PARAMS = frozenset({"fields", "options"})
#: Parameters that hold one of a few phrases spareflow writes (marked ``N_`` where written),
#: or else typed text: translated when the catalogue has them, as they are otherwise.
PHRASE_PARAMS = frozenset({"why", "to"})


def translate_domain_text(template: str, params: Mapping[str, Any]) -> str:
    """Domain messages (core/errors.py) in the page's language during a page request; English
    for the API and webhooks (machine clients read the ``code``) and outside requests (workers,
    the command line)."""
    if not has_request_context() or request.path.startswith(("/api/", "/webhooks/")):
        return english(template, params)
    from web.labels import label  # web.labels imports this module

    words = {name: _word(name, value, label) for name, value in params.items()}
    for name, value in params.items():
        # A duration (``left``) with its minutes beside it (``left_minutes``): in the page's units.
        stem = name.removesuffix("_minutes")
        if stem != name and stem in words and str(value).lstrip("-").isdigit():
            words[stem] = format_duration(timedelta(minutes=int(value)))
    return gettext(template, **words)


def _word(name: str, value: Any, label: Callable[[object], str]) -> Any:
    """A parameter as the page shows it: a code (``in_transit``) by its label, a phrase
    spareflow wrote in the page's language, anything else as it is."""
    if isinstance(value, Text):  # a sentence of spareflow's inside another (recognised)
        return translated(value)
    name = re.sub(r"_\d+$", "", name)  # numbered ones (``disposition_2``) as their name
    if name in WORD_PARAMS:
        return label(value)
    if name in WORD_LIST_PARAMS:
        return ", ".join(label(code) for code in str(value).split(", "))
    if name in PHRASE_PARAMS and value:
        return gettext(str(value))
    return value


def init_app(app: Flask) -> None:
    set_translator(translate_domain_text)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel.init_app(app, locale_selector=select_locale)
    app.add_template_filter(format_day, "day")
    app.add_template_filter(format_clock, "clock")
    app.add_template_filter(format_moment, "moment")
    app.add_template_filter(format_duration, "duration")
    # Texts the domain writes in English (N_ in core/errors.py, messages' "sent when", carrier
    # secret names): ``{{ text|tr }}`` shows them in the page's language.
    app.add_template_filter(lambda text: translated(text) if text else "", "tr")
    # An alert keeps only its English sentence: recognised, it reads in the page's language.
    app.add_template_filter(lambda message: translated(alert_text(message)), "alert")

    @app.context_processor
    def languages() -> dict[str, object]:
        language = current_language()
        return {
            "current_language": language,
            "html_lang": HTML_LANG[language],
            "language_names": LANGUAGE_NAMES,
            "address_lines": address_lines,
        }
