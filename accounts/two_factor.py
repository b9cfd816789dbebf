"""TOTP (RFC 6238) codes, their QR code for set-up, and one-time recovery codes.

Flask-free helpers for :class:`accounts.service.AuthService`: the service keeps the state
(the secret, the last accepted time step, the hashed recovery codes) in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno

#: RFC 6238 defaults, which every authenticator app understands.
STEP_SECONDS = 30
DIGITS = 6
#: Steps either side of now that are still accepted (clock drift of the phone).
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_LENGTH = 16  # about 79 bits: a fast hash is enough, as for API tokens


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, email: str, issuer: str = "spareflow") -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=email, issuer_name=issuer
    )


def qr_svg(uri: str) -> str:
    """The set-up QR code as inline SVG markup (no script, no style attribute)."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff")


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def looks_like_totp(code: str) -> bool:
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, if valid now and later than ``last_step``.

    A code is accepted once: after it, every code of the same or an earlier step is refused,
    so a code seen over a shoulder or in a proxy log cannot be replayed within its window.
    """
    if not looks_like_totp(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = time_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def hash_recovery_code(user_id: int, code: str) -> str:
    material = f"{user_id}:{normalise_recovery_code(code)}"
    return hashlib.sha256(material.encode()).hexdigest()
