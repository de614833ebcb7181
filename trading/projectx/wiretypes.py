"""The field types of the ProjectX wire format: timestamps, prices, the tolerant base model and the
typed parse error. Re-exported by `trading.projectx.schema` (import them from there)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, ValidationError

# ---------------------------------------------------------------------------------------------- errors


class WireFormatError(ValueError):
    """A payload did not have the shape the API documents (missing field, wrong type, bad JSON...)."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        self.detail = detail
        super().__init__(f"malformed {what}: {detail}")


# ------------------------------------------------------------------------------------ field types

_FRACTION = re.compile(r"(\.\d{6})\d+")
_SENTINEL_YEAR = 1


def parse_timestamp(value: object) -> datetime | None:
    """ISO-8601 with `Z`, `+00:00`, any fraction length (7-digit .NET ticks truncated to µs), or a
    datetime. `None` and the `0001-01-01` "N/A" sentinel give None. Naive times are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = _FRACTION.sub(r"\1", value.strip())
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not an ISO-8601 timestamp: {value!r}") from exc
    else:
        raise ValueError(f"timestamp must be a string, got {type(value).__name__}")
    if dt.year == _SENTINEL_YEAR:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def format_timestamp(dt: datetime) -> str:
    """UTC with `+00:00`: `2025-07-18T21:00:01.268009+00:00`, or `2024-12-20T14:00:00+00:00` on a whole second."""
    return dt.astimezone(UTC).isoformat()


def _decimal(value: object) -> object:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, bool):
        raise ValueError("price must be a number, got a boolean")
    return value


def _price_out(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def none_as_empty(value: object) -> object:
    return [] if value is None else value


WireTime = Annotated[
    datetime | None,
    BeforeValidator(parse_timestamp),
    PlainSerializer(lambda d: None if d is None else format_timestamp(d), when_used="always"),
]
WirePrice = Annotated[Decimal, BeforeValidator(_decimal), PlainSerializer(_price_out, when_used="json")]


class WireModel(BaseModel):
    """Field names are the wire's (camelCase) so a model reads like the docs; unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: object) -> M:
    """Validate `data` (a decoded JSON value) as `model` or raise `WireFormatError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise WireFormatError(model.__name__, f"{where}: {first['msg']} ({exc.error_count()} problem(s))") from None


def parse_json(model: type[M], raw: str | bytes) -> M:
    """Like `parse` from raw JSON text; truncated or invalid JSON is a `WireFormatError` too."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise WireFormatError(model.__name__, f"{where}: {first['msg']}") from None


__all__ = [
    "M",
    "WireFormatError",
    "WireModel",
    "WirePrice",
    "WireTime",
    "format_timestamp",
    "none_as_empty",
    "parse",
    "parse_json",
    "parse_timestamp",
]
