"""``spareflow users`` and ``spareflow tokens``: the operator's accounts and API tokens."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from accounts.models import Role
from accounts.service import CLI_ACTOR, DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
from core.errors import DomainError
from web.extensions import services


def _fail(error: DomainError) -> None:
    raise click.ClickException(error.message)


@click.group()
def users() -> None:
    """User accounts."""


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default="", help="Display name.")
@with_appcontext
def users_create(email: str, role: str, name: str) -> None:
    """Create a user; the password is asked for (or read from standard input)."""
    try:
        # The operator chose this password for the person: no forced change at sign-in.
        user = services().auth.create_user(
            email, role, _read_password(), name=name, actor=CLI_ACTOR
        )
    except DomainError as error:
        _fail(error)
    click.echo(f"Created {user.email} ({user.role.value}).")


@click.group()
def tokens() -> None:
    """API tokens."""


class _ExpiryDays(click.ParamType):
    name = "DAYS|never"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int | None:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "never":
            return None
        try:
            days = int(text)
        except ValueError:
            self.fail(f"{value!r} is a number of days or 'never'", param, ctx)
        if not 1 <= days <= MAX_TOKEN_DAYS:
            self.fail(f"a token expires after 1 to {MAX_TOKEN_DAYS} days, or 'never'", param, ctx)
        return days


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, e.g. 'ERP sync'.")
@click.option(
    "--expires-days",
    type=_ExpiryDays(),
    default=str(DEFAULT_TOKEN_DAYS),
    show_default=True,
    help="Days until the token stops working, or 'never' (only when chosen explicitly).",
)
@with_appcontext
def tokens_create(email: str, name: str, expires_days: int | None) -> None:
    """Create an API token for EMAIL and print it (it is shown only this once).

    The token alone goes to standard output (for scripts); its expiry to standard error."""
    try:
        token, secret = services().auth.create_token(
            email, name, actor=CLI_ACTOR, expires_days=expires_days
        )
    except DomainError as error:
        _fail(error)
    click.echo(secret)
    if token.expires_at is None:
        click.echo("This token never expires (revoke it on the Admin page when done).", err=True)
    else:
        click.echo(
            f"Expires {token.expires_at:%Y-%m-%d %H:%M} UTC ({expires_days} days).", err=True
        )


@users.command("reset-2fa")
@click.argument("email")
@with_appcontext
def users_reset_2fa(email: str) -> None:
    """Turn two-factor sign-in off for EMAIL (a lost phone and lost recovery codes)."""
    auth = services().auth
    user = auth.find_user(email)
    if user is None:
        raise click.ClickException(f"No user {email}.")
    auth.disable_two_factor(user.id, None, actor=CLI_ACTOR)
    click.echo(f"Two-factor sign-in is off for {user.email}; every session of theirs ended.")


# --- stock -------------------------------------------------------------------------------
