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
