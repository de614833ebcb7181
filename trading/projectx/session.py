"""The connection to the ProjectX Gateway under `ProjectXClient` (rest.py): the httpx pool, the token
(login, validate, refresh before expiry, re-auth on 401), the client-side rate limits and the call
policies every endpoint goes through (reads retried; mutations never retried blindly, reconciled
with the broker first). rest.py adds the endpoints; the module notes there describe the behaviour.
A little over 500 lines on purpose: the token and the call policies share one lock and one retry
schedule, and every endpoint goes through both.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import enum
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Generic, Self, TypeVar

import httpx

from trading.config import ProjectXSettings
from trading.projectx import schema as s
from trading.projectx.auth import AuthTrouble, TokenKeeper, TokenListener, backoff_delay
from trading.projectx.errors import (
    ApiError,
    AuthError,
    HttpStatusError,
    ProjectXError,
    RateLimited,
    TransportError,
    UncertainOutcome,
    WireFormatError,
)
from trading.projectx.ratelimit import SlidingWindowLimiter

log = logging.getLogger(__name__)

# Wall-clock ns since the epoch at which this task's request was handed to the HTTP transport, built and
# its body encoded (httpx's request hook; the Rust executor's `CallResult.sent_ns` marks the same
# point): the end of the bot's tick -> order span. Whoever times a call sets it to 0 first; the hook
# keeps the first request's time (a retry does not move it). One context per task, so no locking.
sent_at: ContextVar[int] = ContextVar("projectx_sent_at", default=0)


async def _mark_sent(_request: httpx.Request) -> None:
    if sent_at.get() == 0:
        sent_at.set(time.time_ns())


M = TypeVar("M", bound=s.Envelope)
R = TypeVar("R")

# --------------------------------------------------------------------------- attempt outcomes


class _Failure(Exception):
    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


class _Unsent(_Failure):
    """The request certainly did not reach the gateway (connect failed)."""


class _Lost(_Failure):
    """The request may have reached the gateway; its answer was lost (5xx, timeout, dropped)."""


class _Unauthorized(_Failure):
    """HTTP 401: the gateway refused the token."""


class _Throttled(_Failure):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__("rate limited (HTTP 429)", 429)
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True, slots=True)
class _Found(Generic[R]):
    value: R


def _retry_after(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_code(path: str, code: int) -> int:
    enum_cls = s.ERROR_CODES.get(path)
    if enum_cls is None:
        return code
    try:
        return enum_cls(code)
    except ValueError:
        return code


def _name(path: str) -> str:
    """ "/api/Order/place" -> "Order/place" for messages."""
    return path.removeprefix(s.API_PREFIX).lstrip("/")


_UNSETTLED = (TransportError, RateLimited, WireFormatError, AuthError, HttpStatusError)
"""Errors of a reconciliation read that leave the outcome unknown (as opposed to a definite answer)."""


class Session:
    """Transport, auth and call policies; `ProjectXClient` is the one subclass (the endpoints)."""

    def __init__(
        self,
        settings: ProjectXSettings | None = None,
        *,
        base_url: str | None = None,
        username: str | None = None,
        api_key: str | None = None,
        max_connections: int = 20,
        on_auth_trouble: AuthTrouble | None = None,
    ) -> None:
        settings = settings or ProjectXSettings()
        self.on_auth_trouble = on_auth_trouble
        self.settings = settings
        self.base_url = (base_url or settings.base_url).rstrip("/")
        self.username = username if username is not None else settings.username
        self._api_key = api_key if api_key is not None else settings.api_key.get_secret_value()
        self.retry_delays: tuple[float, ...] = tuple(settings.retry_delays_s)
        self.tokens = TokenKeeper(settings.token_refresh_margin_s)
        self.limiter = SlidingWindowLimiter(settings.rate_limit_requests, settings.rate_limit_window_s, name="all")
        self.history_limiter = SlidingWindowLimiter(
            settings.history_rate_limit_requests, settings.history_rate_limit_window_s, name="history"
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(settings.request_timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            event_hooks={"request": [_mark_sent]},
        )
        self._refresher: asyncio.Task[None] | None = None
        counters = ("requests", "retries", "reauth", "refresh", "login", "429", "auth_retries")
        self.stats: dict[str, int] = dict.fromkeys(counters, 0)
        # Monotonic time of the first request that got no answer (unreachable, dropped, timed out, 5xx)
        # since the last one that did; None while the gateway answers (the dead-man switch reads it).
        self.failing_since: float | None = None

    # ------------------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
            self._refresher = None
        await self._http.aclose()

    def on_token(self, listener: TokenListener) -> Callable[[], None]:
        """Call `listener(token)` after every login/refresh (hubs rebuild their connections)."""
        return self.tokens.on_token(listener)

    @property
    def token(self) -> str | None:
        return self.tokens.token

    def start_auto_refresh(self) -> None:
        """Refresh the token in the background `token_refresh_margin_s` before it expires, so the hubs
        get a fresh token even when no REST call is made."""
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.create_task(self._refresh_loop(), name="projectx-token-refresh")

    async def _refresh_loop(self) -> None:
        while True:
            session = self.tokens.session
            margin = self.settings.token_refresh_margin_s
            wait = 1.0 if session is None else session.expires_at - margin - time.time()
            if wait > 0:
                await asyncio.sleep(min(wait, 3600.0))
                continue
            try:
                await self.refresh_token()  # patient: only refused credentials end up here
            except ProjectXError as exc:
                log.warning("background token refresh failed: %s", exc)
                await asyncio.sleep(self.settings.auth_retry_max_s)

    # ------------------------------------------------------------------------- transport

    async def _once(
        self,
        path: str,
        body: dict[str, Any] | None,
        model: type[M],
        *,
        limiter: SlidingWindowLimiter | None = None,
        auth: bool = True,
        token: str | None = None,
    ) -> M:
        """One HTTP attempt. Raises a `_Failure` for transport-level outcomes, `WireFormatError`,
        `HttpStatusError`; returns the parsed envelope (not yet checked for success)."""
        await (limiter or self.limiter).acquire()
        headers: dict[str, str] = {}
        if auth:
            tok = token or self.tokens.token
            if tok:
                headers["Authorization"] = f"Bearer {tok}"
        self.stats["requests"] += 1
        try:
            resp = await self._http.post(path, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            self._unanswered()
            raise _Unsent(f"could not connect ({type(exc).__name__})") from exc
        except httpx.TimeoutException as exc:
            self._unanswered()
            raise _Lost(f"no answer within {self.settings.request_timeout_s:g} s") from exc
        except httpx.TransportError as exc:
            self._unanswered()
            raise _Lost(f"connection dropped ({type(exc).__name__})") from exc
        status = resp.status_code
        if status >= 500:
            self._unanswered()
        else:
            self.failing_since = None
        if status == 401:
            raise _Unauthorized("session expired or invalid (HTTP 401)", 401)
        if status == 429:
            self.stats["429"] += 1
            raise _Throttled(_retry_after(resp.headers.get("Retry-After")))
        if status >= 500:
            raise _Lost(f"server error (HTTP {status})", status)
        if status != 200:
            text = resp.text
            try:
                pd = s.parse_json(s.ProblemDetails, text)
                text = pd.detail or pd.title or text
                if pd.errors:
                    text += " " + "; ".join(f"{k}: {', '.join(v)}" for k, v in pd.errors.items())
            except s.WireFormatError:
                pass
            raise HttpStatusError(_name(path), status, text)
        try:
            return s.parse_json(model, resp.content)
        except s.WireFormatError as exc:
            raise WireFormatError(_name(path), exc.detail) from None

    def _unanswered(self) -> None:
        if self.failing_since is None:
            self.failing_since = time.monotonic()

    def _check(self, path: str, env: M) -> M:
        if not env.success:
            raise ApiError(_name(path), _error_code(path, env.errorCode), env.errorMessage)
        return env

    # ------------------------------------------------------------------------- auth

    async def login(self, *, patient: bool = False) -> str:
        """Auth/loginKey; stores the token (listeners are told) and returns it.

        Credentials the gateway refuses raise `AuthError` at once. A throttled or failing gateway (429,
        5xx, timeouts, dropped connections, its "unknown error") is retried with backoff: until it
        answers when `patient` (start-up, the refresh job: these never end the process), else
        `len(projectx.retry_delays_s)` times (a re-login inside a call must not hang its caller)."""
        if not self.username or not self._api_key:
            raise AuthError("ProjectX username or API key is not configured (projectx.username, projectx.api_key)")
        body = s.LoginKeyRequest(userName=self.username, apiKey=self._api_key).to_wire()
        failures = 0
        while True:
            retry_after: float | None = None
            try:
                env = await self._once(s.LOGIN_KEY, body, s.LoginResponse, auth=False)
            except HttpStatusError as exc:
                raise AuthError(f"Login to ProjectX failed: {exc.body}") from exc
            except _Unauthorized:
                raise AuthError("The broker refused Auth/loginKey (HTTP 401): check projectx.username", 401) from None
            except _Failure as exc:
                error: ProjectXError = TransportError(_name(s.LOGIN_KEY), exc.detail, exc.status)
                if isinstance(exc, _Throttled):
                    retry_after = exc.retry_after
                    error = RateLimited(_name(s.LOGIN_KEY), retry_after)
            except WireFormatError as exc:
                error = exc
            else:
                if env.success and env.token:
                    break
                code = _error_code(s.LOGIN_KEY, env.errorCode)
                why = env.errorMessage or (code.name if isinstance(code, enum.IntEnum) else f"error {code}")
                if env.success or code == s.LoginErrorCode.UNKNOWN_ERROR:  # the gateway's trouble, not ours
                    error = ApiError(_name(s.LOGIN_KEY), code, env.errorMessage or "no token in the answer")
                else:
                    raise AuthError(f"Login to ProjectX failed ({why}): check projectx.username and the API key", code)
            failures += 1
            if not patient and failures > len(self.retry_delays):
                raise error
            await self._auth_backoff("Login to ProjectX", failures, error, retry_after)
        if failures:
            log.info("login to ProjectX succeeded after %d failed attempts", failures)
        self.stats["login"] += 1
        await self.tokens.set(env.token)
        return env.token

    async def _auth_backoff(self, what: str, failures: int, error: ProjectXError, retry_after: float | None) -> None:
        """Wait before the next login attempt; tell `on_auth_trouble` once, when failures reach the
        alert threshold. A failing callback (the store down) never stops the retries."""
        px = self.settings
        wait = backoff_delay(failures, px.auth_retry_first_s, px.auth_retry_max_s, retry_after)
        log.warning("%s failed (attempt %d: %s); retrying in %.1f s", what, failures, error, wait)
        self.stats["auth_retries"] += 1
        if failures == px.auth_alert_after and self.on_auth_trouble is not None:
            message = (
                f"{what} has failed {failures} times in a row ({error}). Retrying every {px.auth_retry_max_s:g} s "
                "at most until it succeeds; orders cannot be placed without a session."
            )
            try:
                result = self.on_auth_trouble(message)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("could not raise the login alert")
        await asyncio.sleep(wait)

    async def validate(self) -> str:
        """Auth/validate: exchanges the current token for a new one (stored, listeners told)."""
        tok = self.tokens.token
        if tok is None:
            raise AuthError("cannot refresh the session: not logged in")
        try:
            env = await self._once(s.VALIDATE, None, s.ValidateResponse, token=tok)
        except _Unauthorized as exc:
            raise AuthError("the session has expired", 401) from exc
        except _Failure as exc:
            raise TransportError(_name(s.VALIDATE), exc.detail, exc.status) from exc
        self._check(s.VALIDATE, env)
        if not env.newToken:
            raise WireFormatError(_name(s.VALIDATE), "no newToken in a successful answer")
        self.stats["refresh"] += 1
        await self.tokens.set(env.newToken)
        return env.newToken

    async def refresh_token(self, *, patient: bool = True) -> str:
        """Refresh now: Auth/validate, falling back to loginKey (patient by default: see `login`)."""
        async with self.tokens.lock:
            return await self._refresh_locked(patient)

    async def _refresh_locked(self, patient: bool) -> str:
        if self.tokens.token is not None and not self.tokens.expired():
            try:
                return await self.validate()
            except ProjectXError as exc:
                log.info("token refresh through Auth/validate failed (%s); logging in again", exc)
        return await self.login(patient=patient)

    async def _ensure_token(self) -> None:
        if not self.tokens.due():
            return
        async with self.tokens.lock:
            if self.tokens.due():
                await self._refresh_locked(patient=False)

    async def _reauth(self, generation: int) -> None:
        """After a 401: log in again, unless another caller already got a new token meanwhile."""
        async with self.tokens.lock:
            if self.tokens.generation != generation and not self.tokens.expired():
                return
            self.stats["reauth"] += 1
            await self.login(patient=False)

    async def logout(self) -> None:
        """Auth/logout; forgets the token."""
        await self._read(s.LOGOUT, None, s.Envelope)
        self.tokens.clear()

    async def ping(self) -> bool:
        """GET Status/ping: True when the gateway answers 2xx."""
        headers = {"Authorization": f"Bearer {self.tokens.token}"} if self.tokens.token else {}
        await self.limiter.acquire()
        try:
            resp = await self._http.get(s.STATUS_PING, headers=headers)
        except httpx.HTTPError as exc:
            raise TransportError(_name(s.STATUS_PING), type(exc).__name__) from exc
        return resp.is_success

    # ------------------------------------------------------------------------- call policies

    async def _call_with_retries(
        self,
        path: str,
        body: dict[str, Any] | None,
        model: type[M],
        *,
        auth: bool = True,
        limiter: SlidingWindowLimiter | None = None,
        retries: bool = True,
    ) -> M:
        """A call that is safe to repeat: retried on 5xx, timeouts, drops and 429; 401 re-auths once."""
        delays = self.retry_delays if retries else ()
        attempt = 0
        reauthed = False
        while True:
            if auth:
                await self._ensure_token()
            generation = self.tokens.generation
            try:
                return await self._once(path, body, model, limiter=limiter, auth=auth)
            except _Unauthorized:
                if not auth:
                    raise AuthError(f"The broker refused {_name(path)} (HTTP 401)", 401) from None
                if reauthed:
                    raise AuthError("The broker refused our session even after logging in again", 401) from None
                await self._reauth(generation)
                reauthed = True
                continue
            except _Throttled as exc:
                if attempt >= len(delays):
                    raise RateLimited(_name(path), exc.retry_after) from None
                wait = exc.retry_after if exc.retry_after is not None else delays[attempt]
                (limiter or self.limiter).block_for(wait)
            except _Failure as exc:
                if attempt >= len(delays):
                    raise TransportError(_name(path), exc.detail, exc.status) from None
                wait = delays[attempt]
                await asyncio.sleep(wait)
            attempt += 1
            self.stats["retries"] += 1

    async def _read(
        self,
        path: str,
        body: dict[str, Any] | None,
        model: type[M],
        *,
        limiter: SlidingWindowLimiter | None = None,
        retries: bool = True,
    ) -> M:
        return self._check(path, await self._call_with_retries(path, body, model, limiter=limiter, retries=retries))

    async def _mutate(
        self,
        operation: str,
        path: str,
        body: dict[str, Any],
        model: type[M],
        *,
        reconcile: Callable[[], Awaitable[_Found[R] | None]] | None,
        result: Callable[[M], R],
        custom_tag: str | None = None,
        order_id: int | None = None,
    ) -> R:
        """A mutation: sent, and after an unknown outcome reconciled before any re-send.

        `reconcile()` reads the broker: `_Found(value)` when the mutation is already done (that value is
        returned), None when it certainly did not happen (a re-send is safe), or raises when it cannot
        tell. Without `reconcile` an unknown outcome raises `UncertainOutcome` at once."""
        delays = self.retry_delays
        step = 0
        maybe_sent = False
        reauthed = False
        last = ""
        while True:
            await self._ensure_token()
            generation = self.tokens.generation
            wait = 0.0
            try:
                env = await self._once(path, body, model)
                try:
                    return result(env)
                except ApiError:
                    if not maybe_sent or reconcile is None:
                        raise
                    # A re-send refused (e.g. duplicate customTag) after a lost answer: the first went through?
                    found = await self._try_reconcile(reconcile)
                    if found is not None:
                        return found.value
                    raise
            except _Unauthorized:
                if reauthed:
                    raise AuthError("The broker refused our session even after logging in again", 401) from None
                await self._reauth(generation)
                reauthed = True
                last = "session expired"
                if not maybe_sent:
                    # A 401 is refused before anything happens; still, ask the broker before re-sending.
                    found = await self._try_reconcile(reconcile) if reconcile is not None else None
                    if found is not None:
                        return found.value
                    continue
            except _Throttled as exc:
                last = exc.detail
                wait = exc.retry_after or 0.0
                self.limiter.block_for(wait)
            except _Unsent as exc:
                last = exc.detail
            except (_Lost, WireFormatError) as exc:
                maybe_sent = True
                last = exc.detail
            # Wait, then find out whether the mutation happened before sending it again.
            while True:
                if step >= len(delays):
                    if maybe_sent:
                        raise UncertainOutcome(operation, last, custom_tag, order_id)
                    if last.startswith("rate limited"):
                        raise RateLimited(_name(path), None)
                    raise TransportError(_name(path), f"{last}; {operation} was not sent")
                await asyncio.sleep(max(delays[step], wait))
                step += 1
                self.stats["retries"] += 1
                if not maybe_sent:
                    break
                if reconcile is None:
                    raise UncertainOutcome(operation, last, custom_tag, order_id)
                try:
                    found = await reconcile()
                except _UNSETTLED as exc:
                    last = f"{last}; could not check the broker ({exc})"
                    continue
                if found is not None:
                    return found.value
                log.info("%s: the broker has no trace of it after '%s'; sending again", operation, last)
                break

    async def _try_reconcile(self, reconcile: Callable[[], Awaitable[_Found[R] | None]]) -> _Found[R] | None:
        try:
            return await reconcile()
        except _UNSETTLED:
            return None

    # ------------------------------------------------------------------------- conversions

    @staticmethod
    def _convert(path: str, items: Iterable[Any], fn: Callable[[Any], R]) -> list[R]:
        try:
            return [fn(i) for i in items]
        except s.WireFormatError as exc:
            raise WireFormatError(_name(path), str(exc)) from None
