"""Two-factor secrets are sealed like the carriers' secrets, and rotate with them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from accounts.models import User
from accounts.service import AuthService
from core.crypto import SecretBox
from core.db import UnitOfWork
from core.errors import Conflict


def test_a_totp_secret_is_stored_sealed_and_rotates_to_the_newest_key(
    session_factory: Any, clock: Any
) -> None:
    old, new = SecretBox.generate_key(), SecretBox.generate_key()
    auth = AuthService(session_factory, clock, box=SecretBox([old]))
    user = auth.create_user("ann@example.com", "admin", "a long enough pass phrase")
    secret = auth.start_two_factor(user.id)
    with UnitOfWork(session_factory) as uow:
        stored = uow.session.scalar(select(User.totp_secret_encrypted))
    assert stored.startswith("fernet:") and secret not in stored
    auth.confirm_two_factor(user.id, pyotp.TOTP(secret).at(clock.now()))

    rotated = AuthService(session_factory, clock, box=SecretBox([new, old]))
    assert rotated.rotate_two_factor_secrets() == 1
    # Only the new key now: the secret still opens and a code still signs in.
    only_new = AuthService(session_factory, clock, box=SecretBox([new]))
    clock.advance(timedelta(seconds=60))
    code = pyotp.TOTP(secret).at(clock.now())
    version = only_new.load_user(user.id).session_version  # turning 2FA on raised it
    assert only_new.sign_in_code(user.id, version, code) is not None


def test_without_a_key_two_factor_cannot_be_set_up_and_says_why(
    session_factory: Any, clock: Any
) -> None:
    auth = AuthService(session_factory, clock, box=None)
    user = auth.create_user("bo@example.com", "buyer", "a long enough pass phrase")
    with pytest.raises(Conflict) as refused:
        auth.start_two_factor(user.id)
    assert refused.value.code == "no_encryption_key"
    assert "SPAREFLOW_ENCRYPTION_KEYS" in refused.value.message
