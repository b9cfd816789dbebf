"""Returns' domain errors."""

from __future__ import annotations

from core.errors import Conflict, NotFound


class RmaNotFound(NotFound):
    code = "rma_not_found"

    def __init__(self, number: str):
        super().__init__(f"No return authorisation {number!r}.", rma=number)


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, number: str, current: str, wanted: str):
        super().__init__(
            f"{number} is {current}; it cannot become {wanted}.",
            rma=number,
            status=current,
            wanted=wanted,
        )


class ReplacementNotFound(NotFound):
    code = "replacement_not_found"

    def __init__(self, replacement_id: int):
        super().__init__(f"No replacement {replacement_id}.", replacement_id=replacement_id)


class CustomerAddressRequired(Conflict):
    """A prepaid label from a real provider would be refused: the customer's address is
    missing or incomplete. ``problems``: each field and the rule it breaks."""

    code = "customer_address_required"

    def __init__(self, number: str, provider: str, problems: dict[str, str]):
        fields = ", ".join(problems)
        super().__init__(
            f"A prepaid {provider} label needs the customer's complete address ({number}: "
            f"missing or wrong: {fields}). Complete the customer's address on the RMA page, "
            "or authorise with the customer's own carrier and tracking number.",
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
        article, then = (
            ("an", "Open a return for it instead.")
            if kind == "enquiry"
            else ("a", "Turn the complaint into a return first.")
        )
        super().__init__(
            f"{number} is {article} {kind}, not a return: it has no return lines, labels, "
            f"refunds or warehouse steps ({step}). {then}",
            rma=number,
            kind=kind,
            step=step,
        )


class NotACase(Conflict):
    """An enquiry's or a complaint's step asked of a return (which has its own states)."""

    code = "not_a_case"

    def __init__(self, number: str, step: str):
        super().__init__(
            f"{number} is a return: {step} is for enquiries and complaints.",
            rma=number,
            step=step,
        )
