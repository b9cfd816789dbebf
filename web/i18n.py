"""Languages of the pages: English and Simplified Chinese, chosen per user (Flask-Babel).

The locale is the signed-in user's ``language``, else the best match for the browser's
``Accept-Language`` among the supported ones, else English. Translations live in
``web/translations/<locale>/LC_MESSAGES/messages.po`` (compiled ``.mo`` committed beside it);
``make translations`` extracts, updates and compiles them.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import get_locale
from flask_login import current_user

from accounts.models import DEFAULT_LANGUAGE, LANGUAGES
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


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def languages() -> dict[str, object]:
        language = current_language()
        return {
            "current_language": language,
            "html_lang": HTML_LANG[language],
            "language_names": LANGUAGE_NAMES,
            "address_lines": address_lines,
        }
