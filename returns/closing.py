"""The closing stage, and talking to the customer along the way: close, the follow-up, an
agent's reply, and a bounce reported after sending."""

from __future__ import annotations

from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput
from returns.commands import RecordFollowup
from returns.context import ReturnsContext, load_rma
from returns.conversation import reply_text
from returns.followups import answered_online, schedule
from returns.messages import Messages
from returns.models import OutgoingEmail
from returns.queries import rma_detail
from returns.status import RmaStatus
from returns.views import RmaDetail

#: The longest reply the desk may send (an e-mail, not a letter).
MAX_REPLY = 5000


class Closing:
    def __init__(self, ctx: ReturnsContext):
        self.ctx = ctx

    def close(self, actor: str, number: str, reason: str = "") -> RmaDetail:
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number, lock=True)
            now = self.ctx.clock.now()
            after = self.ctx.followups.due_after(rma.kind, rma.priority)
            rma.close(actor, reason, now, self.ctx.policy, after)
            schedule(uow.session, rma, now + after, now)
            if self.ctx.messages and rma.is_return:  # a case's follow-up is a call
                self.ctx.messages.to_customer(uow.session, rma, "closed")
            uow.commit()
            return rma_detail(uow.session, number, self.ctx.clock.now().date())

    def record_followup(self, actor: str, number: str, command: RecordFollowup) -> RmaDetail:
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number, lock=True)
            rma.record_followup(
                actor,
                command.satisfaction,
                command.comment,
                command.confirmed_fixed,
                self.ctx.clock.now(),
            )
            answered_online(uow.session, rma, command.satisfaction, command.comment)
            uow.commit()
            return rma_detail(uow.session, number, self.ctx.clock.now().date())

    def reply(self, actor: str, number: str, message: str) -> RmaDetail:
        """An agent writes to the customer (by e-mail); the first reply is the first response."""
        text = message.strip()
        if not text:
            raise InvalidInput("message", N_("Write the reply."))
        if len(text) > MAX_REPLY:
            raise InvalidInput("message", N_("Keep the reply under 5,000 characters."))
        messages = self._messages(
            N_("E-mail is not set up (SPAREFLOW_SMTP_HOST), so a reply cannot be sent.")
        )
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number, lock=True)
            messages.to_customer(uow.session, rma, "reply", message=text)
            now = self.ctx.clock.now()
            rma.note("reply", actor, reply_text(text), now)
            if not rma.is_return and rma.status is RmaStatus.OPEN:
                rma.move_to(RmaStatus.ANSWERED, actor, N_("Answered the customer"), now)
            uow.commit()
            return rma_detail(uow.session, number, self.ctx.clock.now().date())

    def record_bounce(self, message_id: str, reason: str) -> OutgoingEmail:
        """A bounce reported after sending (a delivery status notification, a provider hook)."""
        messages = self._messages(N_("E-mail is not set up (SPAREFLOW_SMTP_HOST)."))
        if not reason.strip():
            raise InvalidInput("reason", N_("Give the reason the mail system reported."))
        with UnitOfWork(self.ctx.session_factory) as uow:
            email = messages.record_bounce(uow.session, message_id.strip(), reason.strip())
            uow.commit()
            return email

    def _messages(self, refusal: str) -> Messages:
        if self.ctx.messages is None:
            raise Conflict(refusal, code="email_not_configured")
        return self.ctx.messages
