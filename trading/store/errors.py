"""The store's typed errors, worded for the operator who reads them."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error raised by `trading.store`."""


class DatabaseUnavailable(StoreError):
    """The database could not be reached or started. The message never contains the URL (it may hold a password)."""


class MigrationError(StoreError):
    """The migrations cannot be applied safely (an applied file was edited, a file is misnamed, one failed)."""


class DuplicateOrderTag(StoreError):
    """An order intent with this custom tag already exists: a tag names exactly one order."""

    def __init__(self, custom_tag: str) -> None:
        self.custom_tag = custom_tag
        super().__init__(f"an order with tag {custom_tag!r} was already recorded; each order needs a new tag")


class UnknownOrder(StoreError):
    """No stored order matches the tag or broker id given."""


def store_unreachable(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached or went away mid-call (a restart, a
    network cut, a pool that lost its connections), as opposed to a bad query or a constraint: the
    caller keeps what it was writing and tries again later."""
    import asyncpg  # asyncpg is the store's driver; imported here so this module stays light

    unreachable = (
        OSError,  # ConnectionRefusedError, ConnectionResetError, ...
        TimeoutError,
        DatabaseUnavailable,
        asyncpg.PostgresConnectionError,  # class 08
        asyncpg.InterfaceError,  # connection closed / does not exist / pool closing
        asyncpg.CannotConnectNowError,
        asyncpg.OperatorInterventionError,  # class 57: admin shutdown, crash shutdown
    )
    return isinstance(exc, unreachable)
