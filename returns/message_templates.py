"""The admin's side of the customer and staff e-mail templates: which are in use, edits
checked by rendering them with sample values, previews, and a reset to the shipped text.
Rendering itself is :class:`returns.messages.Templates`, shared with the messages sent."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.clock import Clock
from core.db import UnitOfWork
from core.errors import N_, InvalidInput
from returns.messages import KINDS, LANGUAGES, Rendered, Templates, sample_context
from returns.models import MessageTemplate


class MessageTemplates:
    """The admin's side of the templates: what is in use, edit with a check, preview, reset."""

    def __init__(self, session_factory: Callable[[], Session], clock: Clock):
        self.session_factory = session_factory
        self.clock = clock
        self.templates = Templates()

    def overview(self) -> list[dict[str, Any]]:
        with UnitOfWork(self.session_factory) as uow:
            edited = {(t.kind, t.language): t for t in uow.session.scalars(select(MessageTemplate))}
            return [
                {
                    "kind": kind,
                    "when": when,
                    "language": language,
                    "edited": edited.get((kind, language)),
                }
                for kind, when in KINDS.items()
                for language in LANGUAGES
            ]

    def source(self, kind: str, language: str) -> dict[str, str]:
        self._known(kind, language)
        with UnitOfWork(self.session_factory) as uow:
            return self.templates.source(uow.session, kind, language)

    def preview(self, kind: str, language: str, source: Mapping[str, str]) -> Rendered:
        self._known(kind, language)
        self.templates.check(source, kind, language)
        return self.templates.render(source, language, sample_context(kind, language))

    def save(self, actor: str, kind: str, language: str, source: Mapping[str, str]) -> None:
        self._known(kind, language)
        self.templates.check(source, kind, language)
        with UnitOfWork(self.session_factory) as uow:
            edited = uow.session.scalars(
                select(MessageTemplate).where(
                    MessageTemplate.kind == kind, MessageTemplate.language == language
                )
            ).first()
            old_subject = edited.subject if edited is not None else None
            if edited is None:
                edited = MessageTemplate(kind=kind, language=language)
                uow.session.add(edited)
            edited.subject, edited.text_body, edited.html_body = (
                source["subject"],
                source["text"],
                source["html"],
            )
            edited.updated_by, edited.updated_at = actor, self.clock.now()
            self._audit_change(
                uow.session, kind, language, actor, "edited", old_subject, source["subject"]
            )
            uow.commit()

    def reset(self, kind: str, language: str, actor: str = audit.SYSTEM_ACTOR) -> None:
        """Back to the shipped text (an edited template is removed; audited as ``actor``)."""
        self._known(kind, language)
        with UnitOfWork(self.session_factory) as uow:
            removed = []
            for edited in uow.session.scalars(
                select(MessageTemplate).where(
                    MessageTemplate.kind == kind, MessageTemplate.language == language
                )
            ):
                removed.append(edited.subject)
                uow.session.delete(edited)
            if removed:
                self._audit_change(uow.session, kind, language, actor, "reset", removed[0], None)
            uow.commit()

    def _audit_change(
        self,
        session: Session,
        kind: str,
        language: str,
        actor: str,
        change: str,
        old_subject: str | None,
        new_subject: str | None,
    ) -> None:
        audit.record(
            session,
            at=self.clock.now(),
            actor=actor,
            action="template.changed",
            target_type="message_template",
            target=f"{kind}/{language}",
            details={"change": change, "old_subject": old_subject, "new_subject": new_subject},
        )

    @staticmethod
    def _known(kind: str, language: str) -> None:
        if kind not in KINDS:
            raise InvalidInput("kind", N_("No message %(kind)s.", kind=repr(kind)))
        if language not in LANGUAGES:
            raise InvalidInput("language", N_("No language %(language)s.", language=repr(language)))
