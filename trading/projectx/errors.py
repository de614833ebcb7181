"""Errors of the ProjectX client, worded for a trader reading them in Discord.

Every failure the broker client raises is a `ProjectXError`; `str(err)` is a sentence a trader can act
on. Structured fields (endpoint, code, order id, retry delay) are attributes for code.
"""

from __future__ import annotations

import enum


class ProjectXError(Exception):
    """Base of every broker-client failure."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _code_name(code: int) -> str:
    if isinstance(code, enum.IntEnum):
        return f"{code.name} ({int(code)})"
    return str(int(code))


class ApiError(ProjectXError):
    """The gateway answered `success: false`. `code` is the endpoint's own error-code enum member
    (error-code integers are not comparable across endpoints) or a bare int when the code is unknown."""

    def __init__(self, endpoint: str, code: int, message: str | None) -> None:
        self.endpoint = endpoint
        self.code = code
        self.broker_message = message or ""
        detail = f": {message}" if message else ""
        super().__init__(f"The broker refused {endpoint} with {_code_name(code)}{detail}")


class OrderRejected(ApiError):
    """A place was rejected. The gateway may still create the rejected order and return its id:
    `order_id` carries it (a rejection even with an order id)."""

    def __init__(self, endpoint: str, code: int, message: str | None, order_id: int | None) -> None:
        super().__init__(endpoint, code, message)
        self.order_id = order_id
        ref = f" (broker order #{order_id}, status rejected)" if order_id is not None else ""
        reason = message or _code_name(code)
        self.message = f"Order rejected by the broker{ref}: {reason}"
        self.args = (self.message,)


class AuthError(ProjectXError):
    """Login or token refresh failed: the bot cannot talk to the broker until credentials are fixed."""

    def __init__(self, message: str, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)


class RateLimited(ProjectXError):
    """The gateway answered HTTP 429 and retries are exhausted (or the call may not be retried)."""

    def __init__(self, endpoint: str, retry_after: float | None) -> None:
        self.endpoint = endpoint
        self.retry_after = retry_after
        wait = f"; retry in {retry_after:.0f} s" if retry_after is not None else ""
        super().__init__(f"The broker is rate-limiting requests ({endpoint}){wait}")


class TransportError(ProjectXError):
    """The gateway could not be reached or did not answer (connection refused/reset, timeout, HTTP 5xx)
    on a call whose outcome does not matter (a read, or a mutation known not to have happened)."""

    def __init__(self, endpoint: str, detail: str, status: int | None = None) -> None:
        self.endpoint = endpoint
        self.status = status
        self.detail = detail
        super().__init__(f"The broker did not answer {endpoint}: {detail}")


class UncertainOutcome(ProjectXError):
    """A mutation (place, modify, cancel, close) may or may not have reached the broker, and
    reconciliation could not tell. Check the platform before acting again."""

    def __init__(self, operation: str, detail: str, custom_tag: str | None = None, order_id: int | None = None) -> None:
        self.operation = operation
        self.custom_tag = custom_tag
        self.order_id = order_id
        self.detail = detail
        ref = f" (tag {custom_tag})" if custom_tag else f" (order #{order_id})" if order_id is not None else ""
        super().__init__(
            f"Unknown outcome of {operation}{ref}: {detail}. Check open orders and positions on the platform "
            "before trying again"
        )


class WireFormatError(ProjectXError):
    """The gateway sent something we cannot read (bad JSON, missing field, wrong type)."""

    def __init__(self, endpoint: str, detail: str) -> None:
        self.endpoint = endpoint
        self.detail = detail
        super().__init__(f"Unreadable answer from the broker ({endpoint}): {detail}")


class HttpStatusError(ProjectXError):
    """An HTTP status the API does not use for business errors (e.g. 400 validation, 404)."""

    def __init__(self, endpoint: str, status: int, body: str) -> None:
        self.endpoint = endpoint
        self.status = status
        self.body = body
        short = body[:200] + ("…" if len(body) > 200 else "")
        super().__init__(f"The broker answered HTTP {status} to {endpoint}: {short}")


class ContractNotFound(ProjectXError):
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        super().__init__(f"No active contract found for {symbol}")


class AmbiguousContract(ProjectXError):
    def __init__(self, symbol: str, candidates: list[str]) -> None:
        self.symbol = symbol
        self.candidates = candidates
        super().__init__(f"{symbol} matches several active contracts ({', '.join(candidates)}); name one by its id")


class StreamError(ProjectXError):
    """A realtime hub could not be connected."""
