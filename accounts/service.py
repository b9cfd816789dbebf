"""Accounts and tokens: creation, sign-in checks, passwords, token lookup.

Every change to an account, and every sign-in and failure, writes an audit entry
(:func:`core.audit.record`) in the transaction of the change. Two-factor sign-in is in
:mod:`accounts.two_factor_service`.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accounts.models import DEFAULT_LANGUAGE, LANGUAGES, ApiToken, Role, User
from accounts.passwords import MIN_PASSWORD_LENGTH, check_new_password
from accounts.two_factor_service import TwoFactorMixin
from core.audit import about_user as audit_user
from core.clock import Clock, SystemClock
from core.crypto import SecretBox
from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput, NotFound

__all__ = ["MIN_PASSWORD_LENGTH", "AuthService", "SignIn", "SignInStep"]

TOKEN_PREFIX = "sf_"  # noqa: S105 (a marker that makes leaked tokens easy to scan for)
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
#: Token use is recorded at most this often, so reads do not each write a row.
LAST_USED_RESOLUTION = timedelta(minutes=5)
#: A new API token expires after this many days unless "never" is chosen explicitly.
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
#: The actor of what `spareflow ...` commands do (operators at the server's shell).
CLI_ACTOR = "cli"


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


class SignInStep(enum.Enum):
    FAILED = "failed"
    SIGNED_IN = "signed_in"
    #: The password was right; the account has two-factor sign-in, so a code comes next.
    NEEDS_CODE = "needs_code"


@dataclass(frozen=True)
class SignIn:
    step: SignInStep
    user: User | None = None


class AuthService(TwoFactorMixin):
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock | None = None,
        hasher: PasswordHasher | None = None,
        *,
        require_2fa_for_admins: Callable[[], bool] = lambda: False,
        box: SecretBox | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock or SystemClock()
        self.hasher = hasher or PasswordHasher()
        self.require_2fa_for_admins = require_2fa_for_admins
        self.box = box

    # --- accounts --------------------------------------------------------------------------

    def create_user(
        self,
        email: str,
        role: Role | str,
        password: str,
        name: str = "",
        language: str | None = None,
        *,
        actor: str = CLI_ACTOR,
        temporary_password: bool = False,
    ) -> User:
        """A new account. ``temporary_password``: an admin chose it, so it must be changed
        at the first sign-in (`spareflow users create` sets a password the user keeps)."""
        email = email.strip().lower()
        language = language or DEFAULT_LANGUAGE
        if language not in LANGUAGES:
            raise InvalidInput(
                "language", N_("Unknown language %(language)s.", language=repr(language))
            )
        if "@" not in email:
            raise InvalidInput(
                "email", N_("%(email)s is not an e-mail address.", email=repr(email))
            )
        check_new_password(password, email=email)
        try:
            role = Role(role)
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise InvalidInput(
                "role",
                N_(
                    "Unknown role %(role)s; choose one of %(choices)s.",
                    role=repr(role),
                    choices=choices,
                ),
            ) from None
        with UnitOfWork(self.session_factory) as uow:
            if uow.session.scalar(select(User.id).where(User.email == email)) is not None:
                raise Conflict(
                    N_("User %(email)s already exists.", email=email), code="duplicate_user"
                )
            now = self.clock.now()
            user = User(
                email=email,
                role=role,
                name=name,
                language=language,
                active=True,
                failed_logins=0,
                password_hash=self.hasher.hash(password),
                created_at=now,
                session_version=0,
                must_change_password=temporary_password,
            )
            uow.session.add(user)
            audit_user(
                uow.session,
                email,
                "user.created",
                at=now,
                actor=actor,
                details={"role": role.value, "temporary_password": temporary_password},
            )
            uow.commit()
            return user

    def find_user(self, email: str) -> User | None:
        with UnitOfWork(self.session_factory) as uow:
            return uow.session.scalar(select(User).where(User.email == email.strip().lower()))

    def load_user(self, user_id: int) -> User | None:
        with UnitOfWork(self.session_factory) as uow:
            return uow.session.get(User, user_id)

    # --- signing in and out ----------------------------------------------------------------

    def sign_in(self, email: str, password: str, *, ip: str = "") -> SignIn:
        """The password step of signing in.

        After ``MAX_FAILED_SIGN_INS`` failures in a row (wrong passwords or wrong codes) the
        account is locked for ``LOCKOUT``; during the lock even the right password is refused,
        and the answer looks the same as for a wrong one, so guessing cannot tell locked from
        wrong. With two-factor sign-in the failure count is cleared only once the code is
        right too, so a known password does not buy unlimited code guesses.
        """
        email = email.strip().lower()
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            user = session.scalar(select(User).where(User.email == email).with_for_update())
            now = self.clock.now()
            why = None
            if user is None:
                why = "unknown_user"
            elif not user.active:
                why = "inactive"
            elif user.locked_until and user.locked_until > now:
                why = "locked"
            if why is not None:
                # Spend the same time as a real check so e-mail addresses cannot be probed.
                self.hasher.hash(password)
                self._failed(session, email, now, ip, why)
                uow.commit()
                return SignIn(SignInStep.FAILED)
            assert user is not None
            try:
                self.hasher.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                self._count_failure(session, user, now, ip, "wrong_password")
                uow.commit()
                return SignIn(SignInStep.FAILED)
            if user.two_factor_enabled:
                return SignIn(SignInStep.NEEDS_CODE, user)
            self._succeeded(session, user, now, ip, factors=["password"])
            uow.commit()
            return SignIn(SignInStep.SIGNED_IN, user)

    def _failed(self, session: Session, email: str, now: datetime, ip: str, why: str) -> None:
        audit_user(
            session,
            email,
            "sign_in.failed",
            at=now,
            actor=email[:254],
            details={"ip": ip, "reason": why},
        )

    def _count_failure(
        self, session: Session, user: User, now: datetime, ip: str, why: str
    ) -> None:
        user.failed_logins += 1
        self._failed(session, user.email, now, ip, why)
        if user.failed_logins >= MAX_FAILED_SIGN_INS:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
            audit_user(
                session,
                user.email,
                "sign_in.locked",
                at=now,
                details={"ip": ip, "until": user.locked_until, "failures": MAX_FAILED_SIGN_INS},
            )

    def _succeeded(
        self, session: Session, user: User, now: datetime, ip: str, factors: list[str]
    ) -> None:
        user.failed_logins, user.locked_until = 0, None
        audit_user(
            session, user.email, "sign_in.succeeded", at=now, details={"ip": ip, "factors": factors}
        )

    def sign_out(self, user_id: int, *, ip: str = "") -> None:
        """End every session of the user (this browser's and any copy of its cookie)."""
        with UnitOfWork(self.session_factory) as uow:
            user = uow.session.get(User, user_id, with_for_update=True)
            if user is None:
                return
            user.session_version += 1
            audit_user(uow.session, user.email, "sign_out", at=self.clock.now(), details={"ip": ip})
            uow.commit()

    # --- passwords -------------------------------------------------------------------------

    def _verify_current(self, session: Session, user: User, password: str, ip: str) -> None:
        """The user's own password, to confirm a change; wrong ones count towards the lock."""
        try:
            self.hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            self._count_failure(session, user, self.clock.now(), ip, "wrong_current_password")
            session.commit()
            raise InvalidInput(
                "current_password",
                N_("The current password is not right."),
                code="wrong_current_password",
            ) from None

    def change_password(
        self, user_id: int, current_password: str, new_password: str, *, ip: str = ""
    ) -> int:
        """The user's own change; ends every other session. Returns the new session version
        (the browser that made the change stays signed in with it)."""
        with UnitOfWork(self.session_factory) as uow:
            user = self._user_for_update(uow.session, user_id)
            self._verify_current(uow.session, user, current_password, ip)
            check_new_password(new_password, email=user.email)
            if current_password == new_password:
                raise InvalidInput(
                    "password",
                    N_("The new password must differ from the current one."),
                    code="password_unchanged",
                )
            user.password_hash = self.hasher.hash(new_password)
            user.must_change_password = False
            user.session_version += 1
            audit_user(
                uow.session,
                user.email,
                "user.password_changed",
                at=self.clock.now(),
                details={"ip": ip},
            )
            uow.commit()
            return user.session_version

    def reset_password(self, user_id: int, temporary_password: str, *, actor: str) -> User:
        """An admin sets a temporary password: it must be changed at the next sign-in, and
        every session of the user ends now."""
        with UnitOfWork(self.session_factory) as uow:
            user = self._user_for_update(uow.session, user_id)
            check_new_password(temporary_password, email=user.email)
            user.password_hash = self.hasher.hash(temporary_password)
            user.must_change_password = True
            user.session_version += 1
            user.locked_until, user.failed_logins = None, 0
            audit_user(
                uow.session,
                user.email,
                "user.password_reset_by_admin",
                at=self.clock.now(),
                actor=actor,
            )
            uow.commit()
            return user

    @staticmethod
    def _user_for_update(session: Session, user_id: int) -> User:
        user = session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound(N_("No user %(user_id)s.", user_id=user_id), code="user_not_found")
        return user

    # --- administration ------------------------------------------------------------------

    def list_users(self) -> list[User]:
        with UnitOfWork(self.session_factory) as uow:
            return list(uow.session.scalars(select(User).order_by(User.email)))

    def update_user(
        self,
        user_id: int,
        *,
        role: Role | str | None = None,
        active: bool | None = None,
        language: str | None = None,
        acting_admin: int | None = None,
        actor: str = CLI_ACTOR,
    ) -> User:
        """Change a user's role, language or access; an admin cannot lock themselves out.

        A new role or a switched-off account ends every session of the user at once."""
        if language is not None and language not in LANGUAGES:
            choices = ", ".join(LANGUAGES)
            raise InvalidInput(
                "language",
                N_(
                    "Unknown language %(language)s; choose one of %(choices)s.",
                    language=repr(language),
                    choices=choices,
                ),
            )
        if role is not None:
            try:
                role = Role(role)
            except ValueError:
                raise InvalidInput("role", N_("Unknown role %(role)s.", role=repr(role))) from None
        with UnitOfWork(self.session_factory) as uow:
            user = self._user_for_update(uow.session, user_id)
            if user_id == acting_admin and (
                active is False or (role is not None and role is not Role.ADMIN)
            ):
                raise Conflict(
                    N_("You cannot demote or deactivate yourself; ask another admin."),
                    code="cannot_lock_out_self",
                )
            now = self.clock.now()
            entries: list[tuple[str, dict[str, Any]]] = []
            if role is not None and role is not user.role:
                entries.append(("user.role_changed", {"from": user.role.value, "to": role.value}))
                user.role = role
                user.session_version += 1
            if language is not None:
                user.language = language
            if active is not None:
                if active != user.active:
                    entries.append(("user.reactivated" if active else "user.deactivated", {}))
                    if not active:
                        user.session_version += 1
                user.active = active
                user.locked_until, user.failed_logins = None, 0  # saving also lifts a lock
            for action, details in entries:
                audit_user(uow.session, user.email, action, at=now, actor=actor, details=details)
            uow.commit()
            return user

    def set_language(self, user_id: int, language: str) -> User:
        """A user's own choice of language for the pages."""
        return self.update_user(user_id, language=language)

    # --- API tokens --------------------------------------------------------------------------

    def create_token(
        self,
        email: str,
        name: str = "",
        *,
        actor: str = CLI_ACTOR,
        expires_days: int | None = DEFAULT_TOKEN_DAYS,
    ) -> tuple[ApiToken, str]:
        """A new token for ``email``; the secret is returned once and never stored.

        ``expires_days=None`` makes a token that never expires: callers pass it only when a
        person chose "never" explicitly."""
        if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
            raise InvalidInput(
                "expires_days",
                N_(
                    "A token expires after 1 to %(MAX_TOKEN_DAYS)s days (or never, if chosen).",
                    MAX_TOKEN_DAYS=MAX_TOKEN_DAYS,
                ),
            )
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with UnitOfWork(self.session_factory) as uow:
            user = uow.session.scalar(select(User).where(User.email == email.strip().lower()))
            if user is None:
                raise NotFound(N_("No user %(email)s.", email=email), code="user_not_found")
            now = self.clock.now()
            token = ApiToken(
                user=user,
                user_id=user.id,
                name=name,
                prefix=secret[:10],
                token_hash=hash_token(secret),
                created_at=now,
                created_by=actor,
                expires_at=now + timedelta(days=expires_days) if expires_days else None,
            )
            uow.session.add(token)
            audit_user(
                uow.session,
                user.email,
                "token.created",
                at=now,
                actor=actor,
                details={"token": token.prefix, "name": name, "expires_at": token.expires_at},
            )
            uow.commit()
            return token, secret

    def user_for_token(self, secret: str) -> User | None:
        with UnitOfWork(self.session_factory) as uow:
            token = uow.session.scalar(
                select(ApiToken).where(ApiToken.token_hash == hash_token(secret))
            )
            now = self.clock.now()
            if token is None or token.revoked_at is not None or not token.user.active:
                return None
            if token.expires_at is not None and token.expires_at <= now:
                return None
            if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
                uow.session.execute(
                    update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
                )
                uow.commit()
            return token.user

    def list_tokens(self) -> list[ApiToken]:
        with UnitOfWork(self.session_factory) as uow:
            return list(uow.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))

    def revoke_token(self, token_id: int, *, actor: str = CLI_ACTOR) -> ApiToken:
        with UnitOfWork(self.session_factory) as uow:
            now = self.clock.now()
            # A conditional UPDATE (no row lock over the joined user): revoking twice is harmless.
            # An UPDATE's result is a CursorResult (with rowcount); execute() says Result.
            revoked = uow.session.execute(  # type: ignore[attr-defined]
                update(ApiToken)
                .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount
            token = uow.session.get(ApiToken, token_id, populate_existing=True)
            if token is None:
                raise NotFound(
                    N_("No token %(token_id)s.", token_id=token_id), code="token_not_found"
                )
            if revoked:
                audit_user(
                    uow.session,
                    token.user.email,
                    "token.revoked",
                    at=now,
                    actor=actor,
                    details={"token": token.prefix, "name": token.name},
                )
            uow.commit()
            return token
