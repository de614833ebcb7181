"""`ProjectXClient`: the httpx client for every ProjectX Gateway REST endpoint (api doc §3-§4).

- One `httpx.AsyncClient` with a keep-alive pool; use the client as an async context manager.
- Auth: loginKey; the JWT's `exp` is read and the token refreshed through Auth/validate before it
  expires (margin `projectx.token_refresh_margin_s`), falling back to loginKey. On HTTP 401 the client
  re-authenticates once. Token changes reach listeners registered with `on_token` (the hubs).
  A patient login (start-up) and `refresh_token` retry 429, 5xx, timeouts and dropped connections
  until they succeed, backing off (`projectx.auth_retry_*`), and tell `on_auth_trouble` once when they
  keep failing; refused credentials raise `AuthError` at once.
- `success: false` (HTTP 200) raises `ApiError` with the endpoint's own error-code enum; a rejected
  place raises `OrderRejected`, carrying the order id the gateway may still return.
- Rate limits: client-side sliding windows (200/60 s; History 50/30 s); a 429 waits for Retry-After
  (else the retry schedule) and pauses the limiter.
- Reads retry on 5xx, timeouts, dropped connections and 429 with `projectx.retry_delays_s`.
  Mutations never retry blindly: after a failure whose outcome is unknown the client first asks the
  broker (place: by customTag; cancel/modify: the order's status; close: the open positions) and
  re-sends only when the broker shows the mutation did not happen. Otherwise `UncertainOutcome`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import enum
import inspect
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import httpx

from trading import domain
from trading.config import ProjectXSettings
from trading.projectx import convert
from trading.projectx import schema as s
from trading.projectx.auth import AuthTrouble, TokenKeeper, TokenListener, backoff_delay
from trading.projectx.errors import (
    AmbiguousContract,
    ApiError,
    AuthError,
    ContractNotFound,
    HttpStatusError,
    OrderRejected,
    ProjectXError,
    RateLimited,
    TransportError,
    UncertainOutcome,
    WireFormatError,
)
from trading.projectx.ratelimit import SlidingWindowLimiter

log = logging.getLogger(__name__)

M = TypeVar("M", bound=s.Envelope)
R = TypeVar("R")

PLACE_LOOKBACK = timedelta(minutes=10)  # window of Order/search when looking an order up by its tag
_MONTH_CODE = re.compile(r"[FGHJKMNQUVXZ]\d{1,2}$")


class Unit(enum.Enum):
    """Bar timeframes we ask History for: suffix, wire unit, seconds per unit (month ≈ 31 days)."""

    SECOND = ("s", s.AggregateBarUnit.SECOND, 1)
    MINUTE = ("m", s.AggregateBarUnit.MINUTE, 60)
    HOUR = ("h", s.AggregateBarUnit.HOUR, 3600)
    DAY = ("d", s.AggregateBarUnit.DAY, 86400)
    WEEK = ("w", s.AggregateBarUnit.WEEK, 7 * 86400)
    MONTH = ("mo", s.AggregateBarUnit.MONTH, 31 * 86400)


_TIMEFRAME = re.compile(r"^(\d+)(s|m|h|d|w|mo)$")


def parse_timeframe(timeframe: str) -> tuple[Unit, int]:
    """ "5m" -> (MINUTE, 5). Accepted suffixes: s m h d w mo."""
    m = _TIMEFRAME.match(timeframe.strip())
    if not m or int(m.group(1)) < 1:
        raise ValueError(f"unknown timeframe {timeframe!r}: use a number and s, m, h, d, w or mo (e.g. 5m)")
    unit = next(u for u in Unit if u.value[0] == m.group(2))
    return unit, int(m.group(1))


BarsProgress = Callable[[int, int, int], None]
"""progress(requests_done, requests_total, bars_so_far) during a long backfill."""


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


def new_custom_tag(prefix: str = "tb") -> str:
    """A customTag unique across the account (the gateway rejects duplicates forever)."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


class ProjectXClient:
    """Async client for the ProjectX Gateway REST API. Use `async with ProjectXClient(...) as px:`."""

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
        )
        self._refresher: asyncio.Task[None] | None = None
        counters = ("requests", "retries", "reauth", "refresh", "login", "429", "auth_retries")
        self.stats: dict[str, int] = dict.fromkeys(counters, 0)

    # ------------------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> ProjectXClient:
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
            raise _Unsent(f"could not connect ({type(exc).__name__})") from exc
        except httpx.TimeoutException as exc:
            raise _Lost(f"no answer within {self.settings.request_timeout_s:g} s") from exc
        except httpx.TransportError as exc:
            raise _Lost(f"connection dropped ({type(exc).__name__})") from exc
        status = resp.status_code
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

    # ------------------------------------------------------------------------- accounts, contracts

    async def accounts(self, only_active: bool = True) -> list[domain.Account]:
        env = await self._read(
            s.ACCOUNT_SEARCH, s.AccountSearchRequest(onlyActiveAccounts=only_active).to_wire(), s.AccountSearchResponse
        )
        return self._convert(s.ACCOUNT_SEARCH, env.accounts, convert.account_from_wire)

    async def resolve_account(self) -> domain.Account:
        """The account to trade: `projectx.account_id`, else `projectx.account_name`, else the only
        active account. Anything else is refused with the list of candidates."""
        accounts = await self.accounts(only_active=True)
        want_id, want_name = self.settings.account_id, self.settings.account_name.strip()
        if want_id is not None:
            picked = [a for a in accounts if a.id == want_id]
        elif want_name:
            picked = [a for a in accounts if a.name.lower() == want_name.lower()]
        else:
            picked = accounts
        if len(picked) == 1:
            return picked[0]
        names = ", ".join(f"{a.name} (#{a.id})" for a in accounts) or "none"
        if not picked:
            wanted = f"#{want_id}" if want_id is not None else repr(want_name)
            raise ProjectXError(f"No active account {wanted} on this login; active accounts: {names}")
        raise ProjectXError(f"Several active accounts ({names}): set projectx.account_id or projectx.account_name")

    async def search_contracts(self, text: str, live: bool | None = None) -> list[domain.Contract]:
        live = self.settings.live_data if live is None else live
        env = await self._read(
            s.CONTRACT_SEARCH, s.ContractSearchRequest(searchText=text, live=live).to_wire(), s.ContractSearchResponse
        )
        return self._convert(s.CONTRACT_SEARCH, env.contracts, convert.contract_from_wire)

    async def contract_by_id(self, contract_id: str) -> domain.Contract:
        env = await self._read(
            s.CONTRACT_SEARCH_BY_ID,
            s.ContractSearchByIdRequest(contractId=contract_id).to_wire(),
            s.ContractByIdResponse,
        )
        m = env.the_contract()
        if m is None:
            raise WireFormatError(_name(s.CONTRACT_SEARCH_BY_ID), "no contract in a successful answer")
        return self._convert(s.CONTRACT_SEARCH_BY_ID, [m], convert.contract_from_wire)[0]

    async def available_contracts(self, live: bool | None = None) -> list[domain.Contract]:
        live = self.settings.live_data if live is None else live
        env = await self._read(
            s.CONTRACT_AVAILABLE, s.ContractAvailableRequest(live=live).to_wire(), s.ContractSearchResponse
        )
        return self._convert(s.CONTRACT_AVAILABLE, env.contracts, convert.contract_from_wire)

    async def front_month(self, symbol: str, live: bool | None = None) -> domain.Contract:
        """The active contract of a root ("MNQ", "ES") or symbolId ("F.US.EP"). Contract/search is fuzzy
        and capped, so results are filtered on the exact symbol and `activeContract`; several matches
        are refused rather than guessed."""
        want = symbol.strip().upper()
        found = await self.search_contracts(want, live)
        matches = [c for c in found if c.active and _is_symbol(c, want)]
        if not matches:
            raise ContractNotFound(symbol)
        if len({c.id for c in matches}) > 1:
            raise AmbiguousContract(symbol, sorted({c.id for c in matches}))
        return matches[0]

    # ------------------------------------------------------------------------- bars

    async def retrieve_bars(
        self,
        contract_id: str,
        start: datetime,
        end: datetime,
        timeframe: str = "1m",
        *,
        include_partial: bool = False,
        live: bool | None = None,
        progress: BarsProgress | None = None,
    ) -> list[domain.Bar]:
        """Bars in [start, end] ascending by start time. Ranges longer than 20,000 bars are split into
        several requests (each under the History rate limit)."""
        if end <= start:
            return []
        unit, number = parse_timeframe(timeframe)
        bar_s = unit.value[2] * number
        span = timedelta(seconds=bar_s * (s.MAX_BARS_PER_REQUEST - 1))
        windows: list[tuple[datetime, datetime]] = []
        cursor = start
        while cursor < end:
            stop = min(cursor + span, end)
            windows.append((cursor, stop))
            cursor = stop
        live = self.settings.live_data if live is None else live
        by_start: dict[datetime, domain.Bar] = {}
        for i, (a, b) in enumerate(windows):
            body = s.RetrieveBarsRequest(
                contractId=contract_id,
                live=live,
                startTime=a,
                endTime=b,
                unit=unit.value[1],
                unitNumber=number,
                limit=s.MAX_BARS_PER_REQUEST,
                includePartialBar=include_partial,
            ).to_wire()
            env = await self._read(s.RETRIEVE_BARS, body, s.RetrieveBarsResponse, limiter=self.history_limiter)
            for bar in self._convert(
                s.RETRIEVE_BARS, env.bars, lambda m: convert.bar_from_wire(contract_id, timeframe, m)
            ):
                by_start[bar.start] = bar
            if progress is not None:
                progress(i + 1, len(windows), len(by_start))
        return [by_start[k] for k in sorted(by_start)]

    # ------------------------------------------------------------------------- orders: reads

    async def search_orders(
        self, account_id: int, start: datetime, end: datetime | None = None, *, retries: bool = True
    ) -> list[domain.Order]:
        body = convert.req_dump(s.OrderSearchRequest(accountId=account_id, startTimestamp=start, endTimestamp=end))
        env = await self._read(s.ORDER_SEARCH, body, s.OrderSearchResponse, retries=retries)
        return self._convert(s.ORDER_SEARCH, env.orders, convert.order_from_wire)

    async def search_open_orders(self, account_id: int) -> list[domain.Order]:
        env = await self._read(
            s.ORDER_SEARCH_OPEN, s.AccountIdRequest(accountId=account_id).to_wire(), s.OrderSearchResponse
        )
        return self._convert(s.ORDER_SEARCH_OPEN, env.orders, convert.order_from_wire)

    async def order_by_id(self, account_id: int, order_id: int, *, retries: bool = True) -> domain.Order:
        env = await self._read(
            s.ORDER_SEARCH_BY_ID,
            s.OrderSearchByIdRequest(accountId=account_id, orderId=order_id).to_wire(),
            s.OrderByIdResponse,
            retries=retries,
        )
        if env.order is None:
            raise WireFormatError(_name(s.ORDER_SEARCH_BY_ID), "no order in a successful answer")
        return self._convert(s.ORDER_SEARCH_BY_ID, [env.order], convert.order_from_wire)[0]

    async def query_orders(
        self,
        account_id: int,
        *,
        statuses: Sequence[domain.OrderStatus] | None = None,
        contract_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        newest_first: bool = False,
        max_rows: int | None = None,
    ) -> list[domain.Order]:
        """Order/v2/query, every page (the gateway caps each page at 100 rows; `pageOffset` is a row
        offset) or the first `max_rows`. The contract filter is also applied here (it did not filter
        live)."""
        wire_statuses = None if statuses is None else [int(convert.STATUS_TO_WIRE[st]) for st in statuses]
        out: list[domain.Order] = []
        offset = 0
        while True:
            req = s.OrderQueryRequest(
                filter=s.OrderQueryFilter(
                    accountId=account_id,
                    statuses=wire_statuses,
                    contractId=contract_id,
                    createdAfter=created_after,
                    createdBefore=created_before,
                ),
                pageSize=s.MAX_ORDER_QUERY_ROWS,
                pageOffset=offset,
                sortBy=s.OrderSortField.ID,
                sortDirection=s.SortDirection.DESC if newest_first else s.SortDirection.ASC,
                includeTotalCount=True,
            )
            page, total = await self._query_page(req)
            out.extend(page)
            offset += len(page)
            if not page or (total is not None and offset >= total):
                break
            if total is None and len(page) < s.MAX_ORDER_QUERY_ROWS:
                break
            if max_rows is not None and len(out) >= max_rows:
                out = out[:max_rows]
                break
        if contract_id is not None:
            out = [o for o in out if o.contract_id == contract_id]
        return out

    async def _query_page(
        self, req: s.OrderQueryRequest, retries: bool = True
    ) -> tuple[list[domain.Order], int | None]:
        env = await self._read(s.ORDER_QUERY_V2, convert.req_dump(req), s.OrderQueryResponse, retries=retries)
        return self._convert(s.ORDER_QUERY_V2, env.orders, convert.order_from_wire), env.totalCount

    async def find_order_by_tag(
        self, account_id: int, custom_tag: str, since: datetime | None = None, *, retries: bool = True
    ) -> domain.Order | None:
        """The order carrying `custom_tag`: Order/search from `since` (default: 10 minutes ago by our
        clock), then the newest 100 orders of Order/v2/query, which does not depend on the gateway's
        clock agreeing with ours (a skewed host, or the simulator on a replayed clock)."""
        start = since or datetime.now(UTC) - PLACE_LOOKBACK
        for order in await self.search_orders(account_id, start, retries=retries):
            if order.custom_tag == custom_tag:
                return order
        newest = s.OrderQueryRequest(
            filter=s.OrderQueryFilter(accountId=account_id),
            pageSize=s.MAX_ORDER_QUERY_ROWS,
            pageOffset=0,
            sortBy=s.OrderSortField.ID,
            sortDirection=s.SortDirection.DESC,
        )
        try:
            page, _total = await self._query_page(newest, retries=retries)
        except HttpStatusError as exc:  # v2/query is swagger-only: a gateway without it answers 404
            log.info("Order/v2/query unavailable for the tag lookup (%s)", exc)
            return None
        return next((o for o in page if o.custom_tag == custom_tag), None)

    # ------------------------------------------------------------------------- orders: mutations

    async def place_order(self, request: domain.OrderRequest) -> int:
        """Order/place; returns the broker order id. Raises `OrderRejected` on a rejection (with the
        rejected order's id when the gateway created one) and `UncertainOutcome` when neither the
        answer nor a lookup by customTag could settle whether the order exists."""
        if not request.custom_tag:
            request = dataclasses.replace(request, custom_tag=new_custom_tag())
        tag = request.custom_tag
        since = datetime.now(UTC) - PLACE_LOOKBACK
        body = convert.place_body(request)

        def result(env: s.PlaceOrderResponse) -> int:
            if not env.success:
                code = _error_code(s.ORDER_PLACE, env.errorCode)
                raise OrderRejected(_name(s.ORDER_PLACE), code, env.errorMessage, env.orderId)
            if env.orderId is None:
                raise WireFormatError(_name(s.ORDER_PLACE), "no orderId in a successful answer")
            return env.orderId

        async def reconcile() -> _Found[int] | None:
            order = await self.find_order_by_tag(request.account_id, tag, since, retries=False)
            if order is None or order.id is None:
                return None
            if order.status is domain.OrderStatus.REJECTED:
                raise OrderRejected(
                    _name(s.ORDER_PLACE),
                    s.PlaceOrderErrorCode.ORDER_REJECTED,
                    "rejected (found by its tag after the answer was lost)",
                    order.id,
                )
            return _Found(order.id)

        return await self._mutate(
            "place order",
            s.ORDER_PLACE,
            body,
            s.PlaceOrderResponse,
            reconcile=reconcile,
            result=result,
            custom_tag=tag,
        )

    async def modify_order(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: domain.Price | None = None,
        stop_price: domain.Price | None = None,
        trail_price: domain.Price | None = None,
    ) -> None:
        """Order/modify (absolute values: a re-send after a lost answer sets the same values)."""
        body = convert.req_dump(
            s.ModifyOrderRequest(
                accountId=account_id,
                orderId=order_id,
                size=size,
                limitPrice=limit_price,
                stopPrice=stop_price,
                trailPrice=trail_price,
            )
        )

        async def reconcile() -> _Found[None] | None:
            order = await self.order_by_id(account_id, order_id, retries=False)
            if (
                (size is None or order.size == size)
                and (limit_price is None or order.limit_price == limit_price)
                and (stop_price is None or order.stop_price == stop_price)
                and trail_price is None
            ):
                return _Found(None)
            if order.status.is_terminal:
                raise ApiError(
                    _name(s.ORDER_MODIFY), s.ModifyOrderErrorCode.REJECTED, f"the order is already {order.status}"
                )
            return None

        await self._mutate(
            "modify order",
            s.ORDER_MODIFY,
            body,
            s.Envelope,
            reconcile=reconcile,
            result=_ok(s.ORDER_MODIFY),
            order_id=order_id,
        )

    async def cancel_order(self, account_id: int, order_id: int) -> None:
        """Order/cancel; after a lost answer the order's status decides (cancelled = done)."""
        body = s.CancelOrderRequest(accountId=account_id, orderId=order_id).to_wire()

        async def reconcile() -> _Found[None] | None:
            order = await self.order_by_id(account_id, order_id, retries=False)
            if order.status in (domain.OrderStatus.CANCELLED, domain.OrderStatus.PENDING_CANCEL):
                return _Found(None)
            if order.status.is_terminal:
                raise ApiError(
                    _name(s.ORDER_CANCEL), s.CancelOrderErrorCode.REJECTED, f"the order is already {order.status}"
                )
            return None

        await self._mutate(
            "cancel order",
            s.ORDER_CANCEL,
            body,
            s.Envelope,
            reconcile=reconcile,
            result=_ok(s.ORDER_CANCEL),
            order_id=order_id,
        )

    # ------------------------------------------------------------------------- positions, trades

    async def open_positions(self, account_id: int) -> list[domain.Position]:
        env = await self._read(
            s.POSITION_SEARCH_OPEN, s.AccountIdRequest(accountId=account_id).to_wire(), s.PositionSearchResponse
        )
        positions = self._convert(s.POSITION_SEARCH_OPEN, env.positions, convert.position_from_wire)
        return [p for p in positions if p is not None]

    async def close_position(self, account_id: int, contract_id: str) -> None:
        """Position/closeContract (at market; working orders on the contract are left alone). After a
        lost answer: done if the position is gone, else `UncertainOutcome` (never closed twice)."""
        body = s.CloseContractRequest(accountId=account_id, contractId=contract_id).to_wire()

        async def reconcile() -> _Found[None] | None:
            positions = await self.open_positions(account_id)
            if not any(p.contract_id == contract_id for p in positions):
                return _Found(None)
            raise UncertainOutcome("close position", f"{contract_id} is still open after a lost answer")

        await self._mutate(
            "close position",
            s.POSITION_CLOSE,
            body,
            s.Envelope,
            reconcile=reconcile,
            result=_ok(s.POSITION_CLOSE),
        )

    async def partial_close_position(self, account_id: int, contract_id: str, size: int) -> None:
        """Position/partialCloseContract. A lost answer is an `UncertainOutcome` (cannot be reconciled)."""
        body = s.PartialCloseContractRequest(accountId=account_id, contractId=contract_id, size=size).to_wire()
        await self._mutate(
            "partial close",
            s.POSITION_PARTIAL_CLOSE,
            body,
            s.Envelope,
            reconcile=None,
            result=_ok(s.POSITION_PARTIAL_CLOSE),
        )

    async def search_trades(self, account_id: int, start: datetime, end: datetime | None = None) -> list[domain.Fill]:
        req = s.TradeSearchRequest(accountId=account_id, startTimestamp=start, endTimestamp=end)
        env = await self._read(s.TRADE_SEARCH, convert.req_dump(req), s.TradeSearchResponse)
        return self._convert(s.TRADE_SEARCH, env.trades, convert.fill_from_wire)


_UNSETTLED = (TransportError, RateLimited, WireFormatError, AuthError, HttpStatusError)
"""Errors of a reconciliation read that leave the outcome unknown (as opposed to a definite answer)."""


def _ok(path: str) -> Callable[[s.Envelope], None]:
    """The result of a mutation whose answer is the bare envelope."""

    def check(env: s.Envelope) -> None:
        if not env.success:
            raise ApiError(_name(path), _error_code(path, env.errorCode), env.errorMessage)

    return check


def _is_symbol(c: domain.Contract, want: str) -> bool:
    if c.symbol_id.upper() == want or c.symbol.upper() == want:
        return True
    # The exchange short code without its month and year (ESU5 -> ES): ES's symbolId root is EP.
    return _MONTH_CODE.sub("", c.name.upper()) == want
