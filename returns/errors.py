"""Returns' domain errors."""

from __future__ import annotations

from core.errors import N_, Conflict, NotFound


class RmaNotFound(NotFound):
    code = "rma_not_found"

    def __init__(self, number: str):
        super().__init__(N_("No return authorisation %(number)s.", number=repr(number)), rma=number)


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, number: str, current: str, wanted: str):
        super().__init__(
            N_(
                "%(number)s is %(status)s; it cannot become %(wanted)s.",
                number=number,
                status=current,
                wanted=wanted,
            ),
            rma=number,
            status=current,
            wanted=wanted,
        )


class ReplacementNotFound(NotFound):
    code = "replacement_not_found"

    def __init__(self, replacement_id: int):
        super().__init__(
            N_("No replacement %(id)s.", id=replacement_id), replacement_id=replacement_id
        )


class CustomerAddressRequired(Conflict):
    """A prepaid label from a real provider would be refused: the customer's address is
    missing or incomplete. ``problems``: each field and the rule it breaks."""

    code = "customer_address_required"

    def __init__(self, number: str, provider: str, problems: dict[str, str]):
        fields = ", ".join(problems)
        super().__init__(
            N_(
                "A prepaid %(provider)s label needs the customer's complete address (%(number)s: "
                "missing or wrong: %(fields)s). Complete the customer's address on the RMA page, "
                "or authorise with the customer's own carrier and tracking number.",
                provider=provider,
                number=number,
                fields=fields,
            ),
            rma=number,
            provider=provider,
            missing=list(problems),
            problems=problems,
        )


class NotAReturn(Conflict):
    """A return's step (authorise, a label, a refund, the warehouse) asked of an enquiry or a
    complaint, which have no return lines, labels, refunds or warehouse steps."""

    code = "not_a_return"

    def __init__(self, number: str, kind: str, step: str):
        message = (
            N_(
                "%(number)s is an enquiry, not a return: it has no return lines, labels, "
                "refunds or warehouse steps (%(step)s). Open a return for it instead.",
                number=number,
                step=step,
            )
            if kind == "enquiry"
            else N_(
                "%(number)s is a %(kind)s, not a return: it has no return lines, labels, "
                "refunds or warehouse steps (%(step)s). Turn the complaint into a return first.",
                number=number,
                kind=kind,
                step=step,
            )
        )
        super().__init__(
            message,
            rma=number,
            kind=kind,
            step=step,
        )


class NotACase(Conflict):
    """An enquiry's or a complaint's step asked of a return (which has its own states)."""

    code = "not_a_case"

    def __init__(self, number: str, step: str):
        super().__init__(
            N_(
                "%(number)s is a return: %(step)s is for enquiries and complaints.",
                number=number,
                step=step,
            ),
            rma=number,
            step=step,
        )
