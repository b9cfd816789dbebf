"""The desk corrects a customer's address on an RMA page (GET/POST
/returns/<number>/customer-address): the intake form's address fields, laid out for the country
(a Chinese address: province / city / district / street), checked by the same rules
(core/addresses.py) and changed by ``returns.customer_addresses`` (timeline, audit log)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core.addresses import address_problems
from core.errors import DomainError, InvalidInput
from returns.commands import CustomerAddress
from returns.views import RmaDetail
from web.extensions import services
from web.pages.access import roles_required
from web.pages.address_fields import ADDRESS_MESSAGES, country_choices
from web.pages.desk import DESK
from web.pages.desk import _actor as actor

bp = Blueprint("customer_address", __name__, url_prefix="/returns")
#: The form's fields that are ``CustomerAddress`` fields of the same name.
PLAIN_FIELDS = ("name", "phone", "company", "street", "street2", "state", "postcode", "country")


class CustomerAddressForm(FlaskForm):
    address_name = StringField(_l("Customer name"), validators=[DataRequired(), Length(max=200)])
    address_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    address_country = SelectField(_l("Country"), choices=[], validators=[DataRequired()])
    address_state = StringField(_l("State / province"), validators=[Optional(), Length(max=100)])
    address_city = StringField(_l("City"), validators=[Optional(), Length(max=60)])
    address_district = StringField(_l("District"), validators=[Optional(), Length(max=39)])
    address_street = StringField(_l("Street address"), validators=[Optional(), Length(max=200)])
    address_street2 = StringField(
        _l("Address line 2 (building, floor, room)"), validators=[Optional(), Length(max=200)]
    )
    address_postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=20)])
    address_company = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    reason = TextAreaField(_l("Why (on the timeline)"), validators=[Optional(), Length(max=500)])


def _fill(form: CustomerAddressForm, rma: RmaDetail) -> None:
    """The address as it is (a Chinese city "深圳市 南山区" back into city and district)."""
    address = rma.customer_address
    form.address_name.data = (address.name if address else "") or rma.customer_name
    form.address_phone.data = (address.phone if address else "") or rma.customer_phone or ""
    if address is None:
        return
    for name in PLAIN_FIELDS[2:]:
        getattr(form, f"address_{name}").data = getattr(address, name)
    city, _space, district = address.city.partition(" ")
    if address.country == "CN" and district:
        form.address_city.data, form.address_district.data = city, district
    else:
        form.address_city.data = address.city


def _address(form: CustomerAddressForm) -> CustomerAddress:
    city = " ".join(
        part.strip()
        for part in (form.address_city.data, form.address_district.data)
        if part and part.strip()
    )
    return CustomerAddress(
        city=city,
        **{name: (getattr(form, f"address_{name}").data or "").strip() for name in PLAIN_FIELDS},
    )


def _check(form: CustomerAddressForm, address: CustomerAddress) -> bool:
    """Each problem (the intake rules) shown at its field."""
    problems = address_problems(address.as_mapping())
    for name, code in problems.items():
        field = getattr(form, f"address_{name}")
        field.errors = [*field.errors, ADDRESS_MESSAGES[code]]
    return not problems


@bp.route("/<number>/customer-address", methods=["GET", "POST"])
@roles_required(*DESK)
def edit(number: str) -> ResponseReturnValue:
    rma = services().rma_queries.get(number)
    form = CustomerAddressForm()
    form.address_country.choices = country_choices()
    if not form.is_submitted():
        _fill(form, rma)
    elif form.validate() & _check(form, address := _address(form)):
        try:
            services().returns.customer_addresses.change(
                actor(), rma.number, address, form.reason.data or ""
            )
        except InvalidInput as error:
            field = getattr(form, "address_" + error.field.rsplit(".", 1)[-1], None)
            if field is None:
                flash(error.message, "error")
            else:
                field.errors = [*field.errors, error.message]
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(
                _("%(number)s: the customer's address was changed.", number=rma.number), "success"
            )
            return redirect(url_for("desk.detail", number=rma.number))
    status = 422 if form.is_submitted() else 200
    return render_template("desk_customer_address.html", rma=rma, form=form), status
