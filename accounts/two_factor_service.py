"""Two-factor sign-in (TOTP, RFC 6238) for :class:`accounts.service.AuthService`.

Set-up is two steps: a new secret is stored (not yet in force) and shown as a QR code; the
first right code switches two-factor sign-in on and returns ten one-time recovery codes,
shown once and kept only as hashes. Signing in is then password, then code; a wrong code
counts towards the same lock as a wrong password, and a code is never accepted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from accounts import two_factor
from accounts.models import RecoveryCode, Role, User
from core.audit import about_user as audit_user
from core.clock import Clock
from core.crypto import NO_KEY_FOR_TWO_FACTOR, SecretBox, SecretsError
from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput

if TYPE_CHECKING:
    from argon2 import PasswordHasher


class TwoFactorMixin:
    session_factory: Callable[[], Session]
    clock: Clock
    hasher: PasswordHasher
    require_2fa_for_admins: Callable[[], bool]
    #: Seals TOTP secrets at rest (SPAREFLOW_ENCRYPTION_KEYS); None: two-factor cannot be set up.
    box: SecretBox | None

    # Provided by AuthService.
    _count_failure: Callable[[Session, User, datetime, str, str], None]
    _succeeded: Callable[[Session, User, datetime, str, list[str]], None]
    _verify_current: Callable[[Session, User, str, str], None]
    _user_for_update: Callable[[Session, int], User]

    def _seal(self, secret: str) -> str:
        if self.box is None:
            raise Conflict(NO_KEY_FOR_TWO_FACTOR, code="no_encryption_key")
        return self.box.encrypt(secret)

    def _open(self, sealed: str) -> str:
        """The TOTP secret; an empty string when there is none (no code then matches)."""
        if not sealed:
            return ""
        if self.box is None:
            raise Conflict(NO_KEY_FOR_TWO_FACTOR, code="no_encryption_key")
        try:
            return self.box.decrypt(sealed)
        except SecretsError as error:  # a key removed too early: the operator must act
            raise Conflict(str(error), code="secret_unreadable") from None

    def rotate_two_factor_secrets(self) -> int:
        """Re-encrypt every stored TOTP secret under the newest key; returns how many."""
        if self.box is None:
            raise Conflict(NO_KEY_FOR_TWO_FACTOR, code="no_encryption_key")
        with UnitOfWork(self.session_factory) as uow:
            users = uow.session.scalars(
                select(User).where(User.totp_secret_encrypted.is_not(None)).with_for_update()
            ).all()
            for user in users:
                user.totp_secret_encrypted = self.box.rotate(user.totp_secret_encrypted or "")
            uow.commit()
            return len(users)

    def two_factor_required(self, user: User) -> bool:
        """The user must set up two-factor sign-in before doing anything else."""
        return (
            self.require_2fa_for_admins()
            and user.role is Role.ADMIN
            and not user.two_factor_enabled
        )

    def start_two_factor(self, user_id: int) -> str:
        """A new secret, stored but not in force until confirmed; returns it."""
        with UnitOfWork(self.session_factory) as uow:
            user = self._user_for_update(uow.session, user_id)
            if user.two_factor_enabled:
                raise Conflict(
                    N_("Two-factor sign-in is already on."), code="two_factor_already_enabled"
                )
            secret = two_factor.new_secret()
            user.totp_secret_encrypted = self._seal(secret)
            user.totp_last_step = None
            uow.commit()
            return secret

    def pending_two_factor_secret(self, user_id: int) -> str | None:
        with UnitOfWork(self.session_factory) as uow:
            user = uow.session.get(User, user_id)
            if user is None or user.two_factor_enabled or not user.totp_secret_encrypted:
                return None
            return self._open(user.totp_secret_encrypted)

    def confirm_two_factor(self, user_id: int, code: str, *, ip: str = "") -> tuple[int, list[str]]:
        """Switch two-factor sign-in on with a first right code.

        Returns the new session version (every other session of the user ends: it was
        opened with the password alone) and the recovery codes, shown once."""
        with UnitOfWork(self.session_factory) as uow:
            user = self._user_for_update(uow.session, user_id)
            if user.two_factor_enabled:
                raise Conflict(
                    N_("Two-factor sign-in is already on."), code="two_factor_already_enabled"
                )
            secret = self._open(user.totp_secret_encrypted or "")
            if not secret:
                raise Conflict(N_("Start the set-up first."), code="two_factor_not_started")
            now = self.clock.now()
            step = two_factor.accepted_step(secret, code.strip(), now, user.totp_last_step)
            if step is None:
                raise InvalidInput(
                    "code",
                    N_("That code is not right; check the phone's clock and try the next code."),
                    code="wrong_code",
                )
            user.totp_enabled_at = now
            user.totp_last_step = step
            user.session_version += 1
            codes = self._replace_recovery_codes(uow.session, user, now)
            audit_user(uow.session, user.email, "user.2fa_enabled", at=now, details={"ip": ip})
            uow.commit()
            return user.session_version, codes

    def _replace_recovery_codes(self, session: Session, user: User, now: datetime) -> list[str]:
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        codes = two_factor.new_recovery_codes()
        session.add_all(
            RecoveryCode(
                user_id=user.id,
                code_hash=two_factor.hash_recovery_code(user.id, code),
                created_at=now,
            )
            for code in codes
        )
        return codes

    def new_recovery_codes(self, user_id: int, password: str, *, ip: str = "") -> list[str]:
        """Ten fresh recovery codes (the old ones stop working); needs the password."""
        with UnitOfWork(self.session_factory) as uow:
            user = self._user_for_update(uow.session, user_id)
            self._verify_current(uow.session, user, password, ip)
            if not user.two_factor_enabled:
                raise Conflict(N_("Two-factor sign-in is off."), code="two_factor_not_enabled")
            now = self.clock.now()
            codes = self._replace_recovery_codes(uow.session, user, now)
            audit_user(
                uow.session,
                user.email,
                "user.2fa_recovery_codes_renewed",
                at=now,
                details={"ip": ip},
            )
            uow.commit()
            return codes

    def recovery_codes_left(self, user_id: int) -> int:
        with UnitOfWork(self.session_factory) as uow:
            left = uow.session.scalar(
                select(func.count(RecoveryCode.id)).where(
                    RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
                )
            )
            return left or 0

    def disable_two_factor(
        self, user_id: int, password: str | None, *, actor: str, ip: str = ""
    ) -> int:
        """Switch two-factor sign-in off: by the user (``password`` required) or, for someone
        who lost their phone and codes, by an admin or operator (``password=None``).

        Returns the user's new session version (every session ends; the user's own browser
        keeps its session by storing the new version)."""
        with UnitOfWork(self.session_factory) as uow:
            user = self._user_for_update(uow.session, user_id)
            if password is not None:
                self._verify_current(uow.session, user, password, ip)
                if self.require_2fa_for_admins() and user.role is Role.ADMIN:
                    raise Conflict(
                        N_(
                            "Admins must keep two-factor sign-in on "
                            "(SPAREFLOW_REQUIRE_2FA_FOR_ADMINS)."
                        ),
                        code="two_factor_required",
                    )
            was_on = user.two_factor_enabled
            user.totp_secret_encrypted = None
            user.totp_enabled_at = None
            user.totp_last_step = None
            user.session_version += 1
            uow.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
            if was_on:
                audit_user(
                    uow.session,
                    user.email,
                    "user.2fa_disabled",
                    at=self.clock.now(),
                    actor=actor,
                    details={"ip": ip, "by_admin": password is None},
                )
            uow.commit()
            return user.session_version

    def sign_in_code(
        self, user_id: int, session_version: int, code: str, *, ip: str = ""
    ) -> User | None:
        """The second step of signing in: a TOTP code, or an unused recovery code.

        ``session_version`` is the one seen at the password step: if the account changed in
        between (new password, switched off), the half-finished sign-in is void."""
        code = "".join(code.split())
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            user = session.get(User, user_id, with_for_update=True)
            now = self.clock.now()
            if (
                user is None
                or not user.two_factor_enabled
                or user.session_version != session_version
            ):
                return None  # the account changed since the password step: start again
            if not user.active or (user.locked_until and user.locked_until > now):
                why = "locked" if user.active else "inactive"
                audit_user(
                    session,
                    user.email,
                    "sign_in.failed",
                    at=now,
                    details={"ip": ip, "reason": why, "step": "code"},
                )
                uow.commit()
                return None
            secret = self._open(user.totp_secret_encrypted or "")
            factor = ""
            if two_factor.looks_like_totp(code):
                step = two_factor.accepted_step(secret, code, now, user.totp_last_step)
                if step is not None:
                    user.totp_last_step, factor = step, "totp"
            elif code:
                # An UPDATE's result is a CursorResult (with rowcount); execute() says Result.
                used = session.execute(  # type: ignore[attr-defined]
                    update(RecoveryCode)
                    .where(
                        RecoveryCode.user_id == user.id,
                        RecoveryCode.code_hash == two_factor.hash_recovery_code(user.id, code),
                        RecoveryCode.used_at.is_(None),
                    )
                    .values(used_at=now)
                ).rowcount
                if used:
                    factor = "recovery_code"
            if not factor:
                self._count_failure(session, user, now, ip, "wrong_code")
                uow.commit()
                return None
            self._succeeded(session, user, now, ip, ["password", factor])
            uow.commit()
            return user
