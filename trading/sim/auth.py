"""Sessions of the simulated gateway: HS256 JWTs with `exp`, a sliding-window rate limiter per token."""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import jwt


@dataclass(slots=True)
class Session:
    token: str
    username: str
    expires_at: float  # epoch seconds (the `exp` claim)


class TokenAuthority:
    """Issues and checks tokens. Old tokens stay valid after a new login or a validate (§3.5).
    Time comes from `now` (the simulator's clock) so tests can expire tokens deterministically."""

    def __init__(self, now: Callable[[], datetime], lifetime_s: float) -> None:
        self._now = now
        self.lifetime_s = lifetime_s
        self._secret = secrets.token_bytes(32)
        self._sessions: dict[str, Session] = {}
        self._serial = 0

    def issue(self, username: str) -> str:
        now = self._now().timestamp()
        self._serial += 1
        exp = now + self.lifetime_s
        claims = {
            "sub": username,
            "name": username,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(exp),
            "jti": f"{self._serial}-{secrets.token_hex(4)}",
            "iss": "tradebot-sim",
            "aud": "tradebot-sim",
        }
        token = jwt.encode(claims, self._secret, algorithm="HS256")
        self._sessions[token] = Session(token, username, float(int(exp)))
        return token

    def check(self, token: str | None) -> Session | None:
        """The live session for `token`, or None when unknown or expired (→ HTTP 401)."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None or self._now().timestamp() >= session.expires_at:
            return None
        return session

    def revoke(self, token: str) -> None:
        self._sessions.pop(token, None)

    def expire_all(self) -> int:
        """Fault: every token issued so far is expired from now on (new logins work)."""
        now = self._now().timestamp()
        for s in self._sessions.values():
            s.expires_at = min(s.expires_at, now)
        return len(self._sessions)


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class SlidingWindow:
    """At most `limit` events in any `window_s` seconds per key (real monotonic time)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds until the next slot frees when refused)."""
        now = time.monotonic()
        q = self._events.get(key)
        if q is None:
            q = self._events[key] = deque()
        horizon = now - self.window_s
        while q and q[0] <= horizon:
            q.popleft()
        if len(q) >= self.limit:
            return False, max(0.0, q[0] + self.window_s - now)
        q.append(now)
        return True, 0.0
