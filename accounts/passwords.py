"""What a new password must be: long enough, and not one of the most common passwords.

The list of common passwords is the 30,000 most frequent ones from real leaks that ships with
zxcvbn (Dropbox's password-strength estimator, PyPI ``zxcvbn``): read offline, no network.
"""

from __future__ import annotations

import functools

from core.errors import N_, InvalidInput

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


@functools.cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def check_new_password(password: str, *, email: str = "") -> None:
    """Raise :class:`InvalidInput` (field ``password``, a code saying why) if unfit."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "password",
            N_(
                "Passwords need at least %(MIN_PASSWORD_LENGTH)s characters.",
                MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH,
            ),
            code="password_too_short",
            minimum=MIN_PASSWORD_LENGTH,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            "password",
            N_(
                "Passwords have at most %(MAX_PASSWORD_LENGTH)s characters.",
                MAX_PASSWORD_LENGTH=MAX_PASSWORD_LENGTH,
            ),
            code="password_too_long",
        )
    if password.strip().lower() in common_passwords():
        raise InvalidInput(
            "password",
            N_(
                "That password is one of the most common passwords, which attackers try first; "
                "choose another."
            ),
            code="password_too_common",
        )
    if email and password.strip().lower() in {email.lower(), email.split("@")[0].lower()}:
        raise InvalidInput(
            "password",
            N_("A password may not be the e-mail address or its name part."),
            code="password_is_email",
        )
