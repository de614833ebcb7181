"""The HTTP plumbing of the simulated gateway: auth, rate limits, faults and JSON around each
`/api/...` handler (projectx-api.md §2, §7). Handlers get a validated request model and return the
response model (built with `reply`); status codes, auth, rate limits and faults are applied here."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from trading.projectx import schema as s
from trading.sim.auth import Session, SlidingWindow, TokenAuthority, bearer
from trading.sim.fault_kind import FaultKind
from trading.sim.faults import FaultInjector
from trading.sim.options import SimOptions

JSON = "application/json"


E = TypeVar("E", bound=s.Envelope)


def reply(model: type[E], code: int = 0, message: str | None = None, **payload: Any) -> E:
    """A response model with its envelope: success iff `code` is 0 (the endpoint's own enum)."""
    return model(success=code == 0, errorCode=int(code), errorMessage=message, **payload)


@dataclass(slots=True)
class Call:
    path: str
    session: Session | None
    token: str | None
    body: Any


Handler = Callable[[Call], Awaitable[s.Envelope]]


def json_response(data: Any, status: int = 200, content_type: str = JSON) -> web.Response:
    return web.Response(body=json.dumps(data, separators=(",", ":")).encode(), status=status, content_type=content_type)


def problem(errors: dict[str, list[str]]) -> web.Response:
    """ASP.NET-style RFC 7807 validation failure (HTTP 400), as the live API answers a bad body."""
    body = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": errors,
    }
    return json_response(body, 400, "application/problem+json")


def validation_errors(model: type[BaseModel], exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    missing = [str(e["loc"][0]) for e in exc.errors() if e["type"] == "missing" and len(e["loc"]) == 1]
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        errors["$"] = [
            f"JSON deserialization for type '{model.__name__}' was missing required properties including: {names}."
        ]
    for e in exc.errors():
        if e["type"] != "missing" or len(e["loc"]) != 1:
            errors.setdefault("$." + ".".join(str(p) for p in e["loc"]), []).append(e["msg"])
    return errors


class Api:
    """Wraps handlers with the gateway's cross-cutting behaviour."""

    def __init__(self, auth: TokenAuthority, faults: FaultInjector, options: SimOptions) -> None:
        self.auth = auth
        self.faults = faults
        self.general = SlidingWindow(options.rate_limit_requests, options.rate_limit_window_s)
        self.history = SlidingWindow(options.history_rate_limit_requests, options.history_rate_limit_window_s)
        self.requests = 0
        self.handler_cpu_s = 0.0  # CPU spent inside the handlers (auth, faults, JSON, models, matching)

    def route(
        self, path: str, handler: Handler, *, public: bool = False
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        bucket = self.history if path == s.RETRIEVE_BARS else self.general

        async def endpoint(request: web.Request) -> web.StreamResponse:
            self.requests += 1
            cpu0 = time.thread_time()
            try:
                return await guarded(request)
            finally:
                self.handler_cpu_s += time.thread_time() - cpu0

        async def guarded(request: web.Request) -> web.StreamResponse:
            token = bearer(request.headers.get("Authorization"))
            session = self.auth.check(token)
            if not public and session is None:
                return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
            allowed, wait = bucket.allow(token or f"ip:{request.remote}")
            if not allowed:
                return _too_many(wait)
            faulty = bool(self.faults.active) and self.faults.has(path)
            if faulty:
                if self.faults.take(FaultKind.DOWN, path):
                    return web.Response(status=503, text="Service Unavailable (sim fault: the gateway is down)")
                if self.faults.take(FaultKind.RATE_LIMIT, path):
                    return _too_many(1.0)
                if self.faults.take(FaultKind.RESET, path):
                    return _reset(request)
                if self.faults.take(FaultKind.HTTP_500_BEFORE, path):
                    return web.Response(status=500, text="Internal Server Error (sim fault before processing)")
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError as exc:
                return problem({"$": [f"Invalid JSON: {exc}"]})
            try:
                answer = await handler(Call(path, session, token, body))
            except ValidationError as exc:
                return problem(validation_errors(_model_of(exc), exc))
            response = json_response(answer.to_wire())
            if faulty:
                if self.faults.take(FaultKind.HTTP_500_AFTER, path):
                    return web.Response(status=500, text="Internal Server Error (sim fault after processing)")
                if self.faults.take(FaultKind.RESET_AFTER, path):
                    return _reset(request)
                delay = self.faults.take(FaultKind.DELAY_AFTER, path)
                if delay is not None:
                    await asyncio.sleep(delay.seconds)
            return response

        return endpoint


def _model_of(exc: ValidationError) -> type[BaseModel]:
    name = exc.title
    found = getattr(s, name, None)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else BaseModel


def _too_many(wait: float) -> web.Response:
    return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": str(max(1, math.ceil(wait)))})


def _reset(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=500)
