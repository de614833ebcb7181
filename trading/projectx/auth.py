"""Session token handling: the JWT, its expiry, and who must hear about a new one.

The gateway's token is a JWT valid 24 h; we read its `exp` claim without verifying the signature
(we are not the audience that verifies it). When `exp` cannot be read we assume one hour, as
project-x-py does. Listeners registered with `on_token` (the hubs) are told about every new token so
they can rebuild their connections (the token travels in the hub URL).

Login and refresh outlive a gateway that throttles or fails: `backoff_delay` spaces their retries
(capped exponential with jitter, never sooner than the gateway's Retry-After), and whoever is told of
`AuthTrouble` (the engine: an alert in the outbox) hears once per outage that they keep failing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

log = logging.getLogger(__name__)

UNREADABLE_TOKEN_LIFETIME_S = 3600.0

TokenListener = Callable[[str], Awaitable[None] | None]
AuthTrouble = Callable[[str], Awaitable[None] | None]
"""on_auth_trouble(message): login or refresh has been failing (a sentence for the trader)."""
WallClock = Callable[[], float]


def backoff_delay(
    failures: int,
    first_s: float,
    max_s: float,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after `failures` failed attempts in a row: the step doubles from `first_s` up to
    `max_s`, a random half of it is shaved off (callers that failed together do not retry together),
    and it is never shorter than the gateway's Retry-After."""
    step = min(max_s, first_s * 2.0 ** min(max(failures - 1, 0), 32))
    return max(step * (0.5 + rand() / 2), retry_after or 0.0)


def token_expiry(token: str, now: float | None = None) -> float:
    """The token's expiry as a UNIX timestamp on *our* clock. With `iat` and `exp` both present the
    lifetime (exp - iat) is counted from now, so a gateway whose clock differs from ours (a skewed
    host, the simulator on a replayed clock) does not make fresh tokens look expired. Without `iat`,
    `exp` as is; when nothing can be read, now + 1 h."""
    now = time.time() if now is None else now
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
        exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
        if exp is not None and iat is not None and exp > iat:
            return now + (exp - iat)
        if exp is not None:
            return exp
    except jwt.PyJWTError as exc:
        log.warning("could not read the token's expiry (%s); assuming one hour", exc)
    return now + UNREADABLE_TOKEN_LIFETIME_S


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    expires_at: float  # UNIX seconds

    @property
    def expires_at_utc(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, UTC)

    def remaining(self, now: float) -> timedelta:
        return timedelta(seconds=self.expires_at - now)


class TokenKeeper:
    """Holds the current session and notifies listeners when it changes."""

    def __init__(self, refresh_margin_s: float, clock: WallClock = time.time) -> None:
        self.refresh_margin_s = refresh_margin_s
        self._clock = clock
        self._session: Session | None = None
        self._listeners: list[TokenListener] = []
        self.lock = asyncio.Lock()  # serialises login/refresh so concurrent callers share one
        self.generation = 0  # bumps on every new token

    @property
    def session(self) -> Session | None:
        return self._session

    @property
    def token(self) -> str | None:
        return self._session.token if self._session else None

    def current(self) -> str:
        """The current token (for hub URLs); raises if never logged in."""
        if self._session is None:
            raise RuntimeError("not logged in")
        return self._session.token

    def due(self) -> bool:
        """True when there is no token or it expires within the refresh margin."""
        s = self._session
        return s is None or s.expires_at - self._clock() <= self.refresh_margin_s

    def expired(self) -> bool:
        s = self._session
        return s is None or s.expires_at <= self._clock()

    def on_token(self, listener: TokenListener) -> Callable[[], None]:
        """Call `listener(new_token)` after every token change; returns a function that unregisters it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    async def set(self, token: str) -> Session:
        self._session = Session(token, token_expiry(token, self._clock()))
        self.generation += 1
        for listener in list(self._listeners):
            try:
                result = listener(token)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("a token listener failed")
        return self._session

    def clear(self) -> None:
        self._session = None
