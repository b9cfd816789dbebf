"""The postal-address fields of the desk's forms (intake, and changing an RMA's address): the
countries offered, and how the address rules' refusals read (core/addresses.py)."""

from __future__ import annotations

from babel import Locale
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from core.addresses import COUNTRIES

#: The address fields of the intake form, as ``CustomerAddress`` names them.
ADDRESS_FORM_FIELDS = ("country", "state", "city", "street", "street2", "postcode", "company")
#: Why an address field is refused (core/addresses.py codes), as the desk reads it.
ADDRESS_MESSAGES = {
    "required": _l("Required for the address."),
    "too_long": _l("Too long."),
    "unknown_country": _l("Not a country."),
    "postcode_required": _l("This country needs a postcode."),
    "bad_postcode": _l("Not a postcode of this country."),
    "bad_phone": _l("Not a phone number: digits, spaces, + ( ) - and 6 to 15 digits."),
}


#: Address fields as the desk reads them (in messages naming what is missing).
ADDRESS_FIELD_NAMES = {
    "name": _l("Customer name"),
    "company": _l("Company"),
    "street": _l("Street address"),
    "street2": _l("Address line 2 (building, floor, room)"),
    "city": _l("City"),
    "state": _l("State / province"),
    "postcode": _l("Postcode"),
    "country": _l("Country"),
    "phone": _l("Phone"),
}


def country_choices() -> list[SelectChoice]:
    """ "No address", then every country by its name in the page's language."""
    locale = get_locale() or Locale.parse("en")
    names = locale.territories
    countries = sorted(
        (SelectChoice(code, names.get(code, code)) for code in COUNTRIES),
        key=lambda choice: str(choice.label),
    )
    return [SelectChoice("", _("— no address —")), *countries]
