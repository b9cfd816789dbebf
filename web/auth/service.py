"""Accounts and tokens: creation, sign-in checks, token lookup."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import UnitOfWork
from core.errors import Conflict, InvalidInput, NotFound
from web.auth.models import DEFAULT_LANGUAGE, LANGUAGES, ApiToken, Role, User

TOKEN_PREFIX = "sf_"  # noqa: S105 (a marker that makes leaked tokens easy to scan for)
MIN_PASSWORD_LENGTH = 10
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
#: Token use is recorded at most this often, so reads do not each write a row.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock | None = None,
        hasher: PasswordHasher | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock or SystemClock()
        self.hasher = hasher or PasswordHasher()

    def create_user(
        self,
        email: str,
        role: Role | str,
        password: str,
        name: str = "",
        language: str | None = None,
    ) -> User:
        email = email.strip().lower()
        language = language or DEFAULT_LANGUAGE
        if language not in LANGUAGES:
            raise InvalidInput("language", f"Unknown language {language!r}.")
        if "@" not in email:
            raise InvalidInput("email", f"{email!r} is not an e-mail address.")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(
                "password", f"Passwords need at least {MIN_PASSWORD_LENGTH} characters."
            )
        try:
            role = Role(role)
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise InvalidInput("role", f"Unknown role {role!r}; choose one of {choices}.") from None
        with UnitOfWork(self.session_factory) as uow:
            if uow.session.scalar(select(User.id).where(User.email == email)) is not None:
                raise Conflict(f"User {email} already exists.", code="duplicate_user")
            user = User(
                email=email,
                role=role,
                name=name,
                language=language,
                active=True,
                failed_logins=0,
                password_hash=self.hasher.hash(password),
                created_at=self.clock.now(),
            )
            uow.session.add(user)
            uow.commit()
            return user

    def find_user(self, email: str) -> User | None:
        with UnitOfWork(self.session_factory) as uow:
            return uow.session.scalar(select(User).where(User.email == email.strip().lower()))

    def load_user(self, user_id: int) -> User | None:
        with UnitOfWork(self.session_factory) as uow:
            return uow.session.get(User, user_id)

    def check_password(self, email: str, password: str) -> User | None:
        """The active, unlocked user with these credentials, else None.

        After ``MAX_FAILED_SIGN_INS`` wrong passwords in a row the account is locked for
        ``LOCKOUT``; during the lock even the right password is refused, and the answer looks
        the same as for a wrong one, so guessing cannot tell locked from wrong.
        """
        with UnitOfWork(self.session_factory) as uow:
            user = uow.session.scalar(
                select(User).where(User.email == email.strip().lower()).with_for_update()
            )
            now = self.clock.now()
            if user is None or not user.active or (user.locked_until and user.locked_until > now):
                # Spend the same time as a real check so e-mail addresses cannot be probed.
                self.hasher.hash(password)
                return None
            try:
                self.hasher.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                user.failed_logins += 1
                if user.failed_logins >= MAX_FAILED_SIGN_INS:
                    user.locked_until, user.failed_logins = now + LOCKOUT, 0
                uow.commit()
                return None
            if user.failed_logins or user.locked_until:
                user.failed_logins, user.locked_until = 0, None
                uow.commit()
            return user

    def create_token(self, email: str, name: str = "") -> tuple[ApiToken, str]:
        """A new token for ``email``; the secret is returned once and never stored."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with UnitOfWork(self.session_factory) as uow:
            user = uow.session.scalar(select(User).where(User.email == email.strip().lower()))
            if user is None:
                raise NotFound(f"No user {email}.", code="user_not_found")
            token = ApiToken(
                user=user,
                user_id=user.id,
                name=name,
                prefix=secret[:10],
                token_hash=hash_token(secret),
                created_at=self.clock.now(),
            )
            uow.session.add(token)
            uow.commit()
            return token, secret

    def user_for_token(self, secret: str) -> User | None:
        with UnitOfWork(self.session_factory) as uow:
            token = uow.session.scalar(
                select(ApiToken).where(ApiToken.token_hash == hash_token(secret))
            )
            if token is None or token.revoked_at is not None or not token.user.active:
                return None
            now = self.clock.now()
            if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
                uow.session.execute(
                    update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
                )
                uow.commit()
            return token.user

    # --- administration ------------------------------------------------------------------

    def list_users(self) -> list[User]:
        with UnitOfWork(self.session_factory) as uow:
            return list(uow.session.scalars(select(User).order_by(User.email)))

    def list_tokens(self) -> list[ApiToken]:
        with UnitOfWork(self.session_factory) as uow:
            return list(uow.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))

    def update_user(
        self,
        user_id: int,
        *,
        role: Role | str | None = None,
        active: bool | None = None,
        language: str | None = None,
        acting_admin: int | None = None,
    ) -> User:
        """Change a user's role, language or access; an admin cannot lock themselves out."""
        if language is not None and language not in LANGUAGES:
            choices = ", ".join(LANGUAGES)
            raise InvalidInput(
                "language", f"Unknown language {language!r}; choose one of {choices}."
            )
        with UnitOfWork(self.session_factory) as uow:
            user = uow.session.get(User, user_id, with_for_update=True)
            if user is None:
                raise NotFound(f"No user {user_id}.", code="user_not_found")
            if user_id == acting_admin and (
                active is False or (role and Role(role) is not Role.ADMIN)
            ):
                raise Conflict(
                    "You cannot demote or deactivate yourself; ask another admin.",
                    code="cannot_lock_out_self",
                )
            if role is not None:
                try:
                    user.role = Role(role)
                except ValueError:
                    raise InvalidInput("role", f"Unknown role {role!r}.") from None
            if language is not None:
                user.language = language
            if active is not None:
                user.active = active
                user.locked_until, user.failed_logins = None, 0
            uow.commit()
            return user

    def set_language(self, user_id: int, language: str) -> User:
        """A user's own choice of language for the pages."""
        return self.update_user(user_id, language=language)

    def revoke_token(self, token_id: int) -> ApiToken:
        with UnitOfWork(self.session_factory) as uow:
            # A conditional UPDATE (no row lock over the joined user): revoking twice is harmless.
            uow.session.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
            )
            uow.commit()
            token = uow.session.get(ApiToken, token_id, populate_existing=True)
            if token is None:
                raise NotFound(f"No token {token_id}.", code="token_not_found")
            return token
