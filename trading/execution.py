"""The order path: one `Executor` interface, a Rust implementation (`trading._native.OrderExecutor`,
reqwest + tokio) and a Python one (the httpx `ProjectXClient`), chosen by `native.enabled()`.

Both paths raise the same `trading.projectx.errors` exceptions (a broker rejection is `ApiError` /
`OrderRejected`, an unknown outcome `UncertainOutcome`, ...) and follow the same retry policy
(see `rest.py`: a place is re-sent after a 5xx/timeout/reset only when a lookup by its customTag
finds no order; delays from `projectx.retry_delays_s`; 401 refreshes the token once; 429 honours
Retry-After).

Every call returns a `Timed` value (the result, its duration in ns and the path that served it)
and records one latency sample `(operation, path)` in the metrics sink, failures included. Both paths
are timed from the same Python-side points (around the awaited call), so their samples compare.

Routing: `trading.engine.order_path.RoutedExecutor` asks `trading.native` which path serves each call
(the executor's route, its Rust share by customTag, its circuit breaker). Every Rust outcome is fed
to the executor's breaker: a failure that is not a broker answer counts against it, latency too.

Fallback: when the Rust path fails in a way that is not a broker answer (a panic, a binding or
type error: anything that is not a `ProjectXError`), that call is served by the Python path and
the failure is logged once per operation. A place that falls back first looks its customTag up, so
an order the Rust path may already have sent is never placed twice. A broker answer (rejection,
uncertain outcome, rate limit) is final and never re-sent through the other path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, Literal, Protocol, TypeVar

from trading import domain, native
from trading.projectx import convert
from trading.projectx import schema as s
from trading.projectx.errors import (
    ApiError,
    AuthError,
    HttpStatusError,
    OrderRejected,
    ProjectXError,
    RateLimited,
    TransportError,
    UncertainOutcome,
    WireFormatError,
)
from trading.projectx.rest import PLACE_LOOKBACK, ProjectXClient
from trading.projectx.session import sent_at

log = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")
Path = Literal["rust", "python"]


class LatencyRecorder(Protocol):
    """`trading.metrics.LatencyMetrics` satisfies it."""

    def record(
        self, operation: str, path: str, nanos: int, *, ok: bool = True, extra: dict[str, str] | None = None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Timed(Generic[T]):
    value: T
    nanos: int
    path: Path


_new = object.__new__
_set_value = Timed.__dict__["value"].__set__
_set_nanos = Timed.__dict__["nanos"].__set__
_set_path = Timed.__dict__["path"].__set__


def _timed_value(value: T, nanos: int, path: Path) -> Timed[T]:
    """`Timed(value, nanos, path)`, the same frozen object at half the cost (~0.4 us less per order): a
    frozen dataclass's `__init__` sets each field through `object.__setattr__`; this fills the same slots
    through their descriptors directly."""
    t: Timed[T] = _new(Timed)
    _set_value(t, value)
    _set_nanos(t, nanos)
    _set_path(t, path)
    return t


class Executor(Protocol):
    @property
    def path(self) -> Path: ...

    async def place(self, req: domain.OrderRequest) -> Timed[int]: ...

    async def modify(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        trail_price: Decimal | None = None,
    ) -> Timed[None]: ...

    async def cancel(self, account_id: int, order_id: int) -> Timed[None]: ...

    async def close(self, account_id: int, contract_id: str) -> Timed[None]: ...

    async def partial_close(self, account_id: int, contract_id: str, size: int) -> Timed[None]: ...

    async def find_by_tag(
        self, account_id: int, custom_tag: str, since: datetime | None = None
    ) -> Timed[domain.Order | None]: ...


class _NullRecorder:
    def record(
        self, operation: str, path: str, nanos: int, *, ok: bool = True, extra: dict[str, str] | None = None
    ) -> None:
        return None


def sent_ns() -> int:
    """Wall-clock ns since the epoch at which the last call this task awaited on an `Executor` handed its
    (first) request to the HTTP connection; 0 when it sent nothing. Either path marks the same point."""
    return sent_at.get()


async def _timed(metrics: LatencyRecorder, operation: str, path: Path, call: Callable[[], Awaitable[T]]) -> Timed[T]:
    sent_at.set(0)
    start = time.perf_counter_ns()
    ok = False
    try:
        value = await call()
        ok = True
    finally:
        metrics.record(operation, path, time.perf_counter_ns() - start, ok=ok)
    return Timed(value, time.perf_counter_ns() - start, path)


class PythonExecutor:
    """The httpx path: a thin timing layer over `ProjectXClient`."""

    def __init__(self, client: ProjectXClient, metrics: LatencyRecorder | None = None) -> None:
        self.client = client
        self.metrics: LatencyRecorder = metrics or _NullRecorder()

    @property
    def path(self) -> Path:
        return "python"

    async def place(self, req: domain.OrderRequest) -> Timed[int]:
        return await _timed(self.metrics, "place", "python", lambda: self.client.place_order(req))

    async def modify(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        trail_price: Decimal | None = None,
    ) -> Timed[None]:
        return await _timed(
            self.metrics,
            "modify",
            "python",
            lambda: self.client.modify_order(
                account_id, order_id, size=size, limit_price=limit_price, stop_price=stop_price, trail_price=trail_price
            ),
        )

    async def cancel(self, account_id: int, order_id: int) -> Timed[None]:
        return await _timed(self.metrics, "cancel", "python", lambda: self.client.cancel_order(account_id, order_id))

    async def close(self, account_id: int, contract_id: str) -> Timed[None]:
        return await _timed(
            self.metrics, "close", "python", lambda: self.client.close_position(account_id, contract_id)
        )

    async def partial_close(self, account_id: int, contract_id: str, size: int) -> Timed[None]:
        return await _timed(
            self.metrics,
            "partial_close",
            "python",
            lambda: self.client.partial_close_position(account_id, contract_id, size),
        )

    async def find_by_tag(
        self, account_id: int, custom_tag: str, since: datetime | None = None
    ) -> Timed[domain.Order | None]:
        return await _timed(
            self.metrics,
            "find_by_tag",
            "python",
            lambda: self.client.find_order_by_tag(account_id, custom_tag, since),
        )


_EXECUTOR = native.Component.EXECUTOR  # an enum member's lookup costs ~150 ns: once, not per order
# The wire ints the native place takes, as plain ints (looked up on every order).
_TYPE_WIRE = {k: int(v) for k, v in convert.TYPE_TO_WIRE.items()}
_SIDE_WIRE = {k: int(v) for k, v in convert.SIDE_TO_WIRE.items()}


def _to_none(_r: Any) -> None:
    return None


def _price(p: Decimal | None) -> float | None:
    return None if p is None else float(p)


def _order_id(r: Any) -> int:
    """A successful place's order id."""
    if r.order_id is None:
        raise WireFormatError(_name(s.ORDER_PLACE), "no orderId in a successful answer")
    return int(r.order_id)


_perf_ns = time.perf_counter_ns


def _name(path: str) -> str:
    return path.removeprefix(s.API_PREFIX).lstrip("/")


def _code(path: str, code: int) -> int:
    enum_cls = s.ERROR_CODES.get(path)
    if enum_cls is None:
        return code
    try:
        return enum_cls(code)
    except ValueError:
        return code


def _raise_for(r: Any, operation: str, path: str, custom_tag: str | None = None, order_id: int | None = None) -> None:
    """Map a Rust `CallResult` that is not ok to the Python client's exception."""
    outcome: str = r.outcome
    msg: str = r.message or ""
    if outcome == "rejected":
        code = _code(path, int(r.error_code or 0))
        if path == s.ORDER_PLACE:
            raise OrderRejected(_name(path), code, r.message, r.order_id)
        raise ApiError(_name(path), code, r.message)
    if outcome == "uncertain":
        raise UncertainOutcome(operation, msg, custom_tag, order_id if order_id is not None else r.order_id)
    if outcome == "rate_limited":
        raise RateLimited(_name(path), r.retry_after)
    if outcome == "auth":
        raise AuthError(msg or "The broker refused our session", 401)
    if outcome == "http_status":
        raise HttpStatusError(_name(path), int(r.status or 0), msg)
    if outcome == "bad_answer":
        raise WireFormatError(_name(path), msg)
    if outcome == "transport":
        raise TransportError(_name(path), f"{msg}; {operation} was not sent" if operation != "find_by_tag" else msg)
    raise RuntimeError(f"unknown outcome {outcome!r} from the Rust executor")


class RustExecutor:
    """The Rust path. Build with `await RustExecutor.create(client, metrics)`; the Python client
    stays the source of tokens (login, refresh) and the fallback for calls the Rust path cannot
    serve.

    Its calls are plain methods returning `_run`'s coroutine (awaited by the caller as an `async def`'s
    would be): one coroutine per order call instead of two."""

    def __init__(self, native_executor: Any, client: ProjectXClient, metrics: LatencyRecorder | None = None) -> None:
        self._rs = native_executor
        # A state-changing call answered on the loop's thread within `[projectx] answer_within_us`
        # returns its CallResult itself; any other call an awaitable for it.
        mod = native.module()
        self._answered: type = mod.CallResult if mod is not None else type(None)
        self.client = client
        self.metrics: LatencyRecorder = metrics or _NullRecorder()
        self.fallback = PythonExecutor(client, self.metrics)
        self._warned: set[str] = set()
        self.fallbacks = 0
        client.on_token(self._on_token)

    @classmethod
    async def create(cls, client: ProjectXClient, metrics: LatencyRecorder | None = None) -> RustExecutor:
        mod = native.module()
        if mod is None:
            raise RuntimeError(f"the Rust path is not active: {native.describe()}")
        token = client.token or await client.login()
        settings = client.settings
        rs = mod.OrderExecutor(
            client.base_url,
            token,
            refresh=client.login,
            delays_s=list(client.retry_delays),
            timeout_s=float(settings.request_timeout_s),
            answer_within_us=settings.answer_within_us,
        )
        return cls(rs, client, metrics)

    def _on_token(self, token: str) -> None:
        self._rs.set_token(token)

    @property
    def answer_counts(self) -> dict[str, int]:
        """Order calls tried on the loop's thread (`[projectx] answer_within_us`): answered within the
        budget, finished later off the loop's thread, not served (no connection in time)."""
        here, later, not_served = getattr(self._rs, "answer_counts", (0, 0, 0))
        return {"here": here, "later": later, "not_served": not_served}

    @property
    def path(self) -> Path:
        return "rust"

    async def _run(
        self,
        operation: str,
        path: str,
        call: Callable[[], Any],
        fallback: Callable[[], Awaitable[Timed[U]]],
        convert_ok: Callable[[Any], U],
        *,
        custom_tag: str | None = None,
        order_id: int | None = None,
    ) -> Timed[U]:
        # `sent_at` is set once per call, after it: the Rust call stamps its own send (`r.sent_ns`) and
        # sets nothing in this context, so clearing it beforehand is only needed on the ways out
        # without an answer (an exception, a cancellation: below).
        start = _perf_ns()
        try:
            r = call()
            if type(r) is not self._answered:
                r = await r
        except ProjectXError:
            sent_at.set(0)
            raise
        except Exception as exc:  # a panic, a binding or type error: not a broker answer
            sent_at.set(0)
            if operation not in self._warned:
                self._warned.add(operation)
                log.exception("Rust executor failed on %s (%s); serving it through the Python path", operation, exc)
            self.fallbacks += 1
            native.breaker(_EXECUTOR).record(False)
            return await fallback()
        except BaseException:  # cancelled: nothing this call sent is known
            sent_at.set(0)
            raise
        # Timed at the same Python-side points as the Python path (before the call, after its answer),
        # not Rust's internal elapsed_ns: the two paths' samples measure the same span.
        nanos = _perf_ns() - start
        sent_at.set(getattr(r, "sent_ns", 0))  # builds before the stamp have none
        ok = r.outcome == "ok"
        # A broker answer (even a rejection) is the Rust path working: only its own failures count.
        native.breaker(_EXECUTOR).record(True, nanos / 1e6)
        self.metrics.record(operation, "rust", nanos, ok=ok)
        if not ok:
            _raise_for(r, operation, path, custom_tag, order_id)
        return _timed_value(convert_ok(r), nanos, "rust")

    def place(self, req: domain.OrderRequest) -> Coroutine[Any, Any, Timed[int]]:
        tag = req.custom_tag
        sl = tp = None
        if (bracket := req.bracket) is not None:
            sl, tp = bracket.stop_loss_ticks, bracket.take_profit_ticks

        async def fallback() -> Timed[int]:
            found = await self.fallback.find_by_tag(req.account_id, tag, datetime.now(UTC) - timedelta(minutes=1))
            if found.value is not None and found.value.id is not None:
                if found.value.status is domain.OrderStatus.REJECTED:
                    raise OrderRejected(_name(s.ORDER_PLACE), 2, "rejected (found by its tag)", found.value.id)
                return Timed(found.value.id, found.nanos, "python")
            return await self.fallback.place(req)

        # Positional (the native signature's order): cheaper to take than keywords, on every order.
        return self._run(
            "place",
            s.ORDER_PLACE,
            lambda: self._rs.place(
                req.account_id,
                req.contract_id,
                _TYPE_WIRE[req.type],
                _SIDE_WIRE[req.side],
                req.size,
                tag,
                _price(req.limit_price),
                _price(req.stop_price),
                _price(req.trail_price),
                sl,
                tp,
            ),
            fallback,
            _order_id,
            custom_tag=tag,
        )

    def modify(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        trail_price: Decimal | None = None,
    ) -> Coroutine[Any, Any, Timed[None]]:
        return self._run(
            "modify",
            s.ORDER_MODIFY,
            lambda: self._rs.modify(
                account_id,
                order_id,
                size=size,
                limit_price=_price(limit_price),
                stop_price=_price(stop_price),
                trail_price=_price(trail_price),
            ),
            lambda: self.fallback.modify(
                account_id, order_id, size=size, limit_price=limit_price, stop_price=stop_price, trail_price=trail_price
            ),
            _to_none,
            order_id=order_id,
        )

    def cancel(self, account_id: int, order_id: int) -> Coroutine[Any, Any, Timed[None]]:
        return self._run(
            "cancel",
            s.ORDER_CANCEL,
            lambda: self._rs.cancel(account_id, order_id),
            lambda: self.fallback.cancel(account_id, order_id),
            _to_none,
            order_id=order_id,
        )

    def close(self, account_id: int, contract_id: str) -> Coroutine[Any, Any, Timed[None]]:
        return self._run(
            "close",
            s.POSITION_CLOSE,
            lambda: self._rs.close_position(account_id, contract_id),
            lambda: self.fallback.close(account_id, contract_id),
            _to_none,
        )

    def partial_close(self, account_id: int, contract_id: str, size: int) -> Coroutine[Any, Any, Timed[None]]:
        return self._run(
            "partial_close",
            s.POSITION_PARTIAL_CLOSE,
            lambda: self._rs.partial_close(account_id, contract_id, size),
            lambda: self.fallback.partial_close(account_id, contract_id, size),
            _to_none,
        )

    def find_by_tag(
        self, account_id: int, custom_tag: str, since: datetime | None = None
    ) -> Coroutine[Any, Any, Timed[domain.Order | None]]:
        start = since or datetime.now(UTC) - PLACE_LOOKBACK
        since_ns = int(start.timestamp()) * 1_000_000_000 + start.microsecond * 1000

        def order(r: Any) -> domain.Order | None:
            if r.order_json is None:
                return None
            try:
                return convert.order_from_wire(s.parse_json(s.OrderModel, r.order_json))
            except s.WireFormatError as exc:
                raise WireFormatError(_name(s.ORDER_SEARCH), str(exc)) from None

        return self._run(
            "find_by_tag",
            s.ORDER_SEARCH,
            lambda: self._rs.find_by_tag(account_id, custom_tag, since_ns),
            lambda: self.fallback.find_by_tag(account_id, custom_tag, since),
            order,
        )
