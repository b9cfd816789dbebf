"""Field types shared by the API schemas: strict about what they accept."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields
from marshmallow.validate import Length, Range

#: Quantities fit comfortably in 64-bit level columns, whatever a client sends.
MAX_QTY = 1_000_000_000


class Text(fields.String):
    """A trimmed string with a maximum length (the column's) and no NUL characters."""

    def __init__(
        self, max_length: int, *, min_length: int = 0, validate: Any = None, **kwargs: Any
    ):
        validators: list[Any] = [Length(min=min_length, max=max_length)]
        if validate is not None:
            validators.append(validate)
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if "\x00" in text:
            raise ValidationError("Must not contain NUL characters.")
        return text


class Quantity(fields.Integer):
    """A whole number of units: JSON integers only (no strings, floats or booleans)."""

    def __init__(self, *, minimum: int = 1, **kwargs: Any):
        super().__init__(strict=True, validate=Range(min=minimum, max=MAX_QTY), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


#: The largest id a database column holds (a 64-bit primary key); see web/__init__.py.
MAX_ID = 2**63 - 1


class DatabaseId(fields.Integer):
    """The id of a row, sent in a body: a JSON integer from 1 to what its column holds.

    A larger number names no row; without the bound the database driver overflowed (a 500).
    """

    def __init__(self, *, maximum: int = MAX_ID, **kwargs: Any):
        super().__init__(strict=True, validate=Range(min=1, max=maximum), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)
