"""Postal addresses as people type them: the rules every edge (API, desk form) and intake share.

``COUNTRIES`` is ISO 3166-1 alpha-2 as officially assigned: a checked table rather than a new
dependency (tests/unit/test_addresses.py checks it against the CLDR territory list that Babel
already ships, minus CLDR's own codes such as EU, XK, ZZ). Postcodes are checked against the
pattern of the countries we ship to most and a generic shape elsewhere; phone numbers by
their characters and digit count (E.164 allows at most 15 digits).

Chinese addresses: the province goes in ``state``, the city and district in ``city`` (joined
by a space, "深圳市 南山区", so a provider that wants them apart can split them), the rest in
``street`` (carriers/labels.py Address says the same).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_ALPHA_2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """
#: ISO 3166-1 alpha-2: the 249 officially assigned codes.
COUNTRIES = frozenset(_ALPHA_2.split())

#: Countries whose addresses have no postcode (a label goes without one).
NO_POSTCODE = frozenset({"AE", "AG", "AO", "BS", "BZ", "FJ", "GH", "HK", "MO", "QA", "YE", "ZW"})

#: Postcode shapes of the countries we ship to most (upper case, after trimming).
POSTCODE_PATTERNS = {
    "AU": r"\d{4}",
    "CA": r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
    "CN": r"\d{6}",
    "DE": r"\d{5}",
    "ES": r"\d{5}",
    "FR": r"\d{5}",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
    "IT": r"\d{5}",
    "JP": r"\d{3}-?\d{4}",
    "NL": r"\d{4} ?[A-Z]{2}",
    "SG": r"\d{6}",
    "TW": r"\d{3}(\d{2,3})?",
    "US": r"\d{5}(-\d{4})?",
}
#: Anywhere else: letters, digits, spaces and hyphens, 2 to 10 of them.
POSTCODE_SHAPE = r"[A-Z\d][A-Z\d -]{0,8}[A-Z\d]"
PHONE_CHARACTERS = re.compile(r"\+?[\d\s().-]+")

#: The longest each field may be (the ``rmas.address_*`` columns).
ADDRESS_LENGTHS = {
    "name": 200,
    "company": 200,
    "street": 200,
    "street2": 200,
    "city": 100,
    "state": 100,
    "postcode": 20,
    "country": 2,
    "phone": 50,
}
#: What a complete address has (the postcode too, unless the country has none).
REQUIRED = ("name", "street", "city", "country")

#: Why a field is refused, by code (the edges show these, or their own translations).
MESSAGES = {
    "required": "Required.",
    "too_long": "Too long.",
    "unknown_country": "Not an ISO 3166-1 alpha-2 country code (e.g. CN, US, GB).",
    "postcode_required": "Required for this country.",
    "bad_postcode": "Not a postcode of this country.",
    "bad_phone": "Not a phone number: digits, spaces, + ( ) - and 6 to 15 digits.",
}


def normalise_postcode(value: str) -> str:
    return " ".join(value.upper().split())


def address_problems(values: Mapping[str, str | None]) -> dict[str, str]:
    """The fields of an address that break a rule, each with the code of the rule (empty:
    the address is complete). ``values`` holds the fields as typed (trimmed or not)."""
    text = {name: (values.get(name) or "").strip() for name in ADDRESS_LENGTHS}
    problems: dict[str, str] = {}
    for name, longest in ADDRESS_LENGTHS.items():
        if len(text[name]) > longest:
            problems[name] = "too_long"
    for name in REQUIRED:
        if not text[name]:
            problems[name] = "required"
    country = text["country"].upper()
    if country and country not in COUNTRIES:
        problems["country"] = "unknown_country"
    postcode = normalise_postcode(text["postcode"])
    if "postcode" not in problems and country in COUNTRIES:
        if not postcode:
            if country not in NO_POSTCODE:
                problems["postcode"] = "postcode_required"
        elif not re.fullmatch(POSTCODE_PATTERNS.get(country, POSTCODE_SHAPE), postcode):
            problems["postcode"] = "bad_postcode"
    phone = text["phone"]
    if phone and "phone" not in problems:
        digits = sum(ch.isdigit() for ch in phone)
        if not PHONE_CHARACTERS.fullmatch(phone) or not 6 <= digits <= 15:
            problems["phone"] = "bad_phone"
    return problems


@dataclass(frozen=True)
class PostalAddress:
    """A postal address: a prepaid label collects from here, a replacement goes here.

    ``country`` is ISO 3166-1 alpha-2; Chinese addresses put the province in ``state`` and
    the city and district in ``city`` ("深圳市 南山区"). The rules: ``address_problems``.
    """

    name: str
    street: str
    city: str
    country: str
    postcode: str = ""
    company: str = ""
    street2: str = ""
    state: str = ""
    phone: str = ""

    def as_mapping(self) -> dict[str, str]:
        """The fields by name (``carriers.labels.Address.from_mapping`` takes this)."""
        return {name: getattr(self, name) for name in ADDRESS_LENGTHS}
