"""`SimGateway`: the simulated ProjectX gateway on one aiohttp port (REST on `/api/...`, SignalR hubs
on `/hubs/user` and `/hubs/market`, control endpoints on `/sim/...`).

    async with SimGateway(settings.sim) as sim:
        client = ProjectXClient(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
        await sim.market.trade(contract_id, "21000.25", 1)

aiohttp is the server stack: it serves HTTP and WebSockets on one port with one event loop, and
discord.py already depends on it.
"""

from __future__ import annotations

import contextlib
import socket
import time
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from trading.config import FIRST_SIM_ACCOUNT, SimSettings
from trading.projectx import schema as s
from trading.sim.api import RestApi
from trading.sim.auth import TokenAuthority
from trading.sim.contracts import ContractBook
from trading.sim.endpoint import Api, json_response
from trading.sim.exchange import Exchange
from trading.sim.faults import FaultError, FaultInjector
from trading.sim.hubs import HubServer
from trading.sim.market import Market, load_bars_csv
from trading.sim.options import SimOptions
from trading.sim.state import SimAccount
from trading.sim.timebase import ClockLike, ScaledClock, cme_equity_open


class SimGateway:
    def __init__(
        self, settings: SimSettings | None = None, clock: ClockLike | None = None, options: SimOptions | None = None
    ) -> None:
        self.settings = settings or SimSettings()
        self.options = options or SimOptions()
        self.clock: ClockLike = clock or ScaledClock(self.settings.speed)
        self.username = self.settings.username
        self.api_key = self.settings.api_key.get_secret_value()
        today = (self.options.contracts_as_of or self.clock.now()).date()
        self.contracts = ContractBook(today)
        self.exchange = Exchange(
            self.contracts, self.clock.now, self.settings.fees_per_contract, self.options.market_pending_status
        )
        self.auth = TokenAuthority(self.clock.now, self.options.token_lifetime_s)
        self.hubs = HubServer(self.auth, self.options)
        self.market = Market(self.exchange, self.clock, self.settings.seed, self.options.start_prices)
        self.faults = FaultInjector(self.auth, self.hubs, self.exchange)
        self.hubs.quote_snapshot = self.market.snapshot
        self.exchange.sinks.append(self.hubs)
        self.market.sinks.append(self.hubs)
        if self.options.enforce_sessions:
            self.exchange.session_open = lambda _cid: cme_equity_open(self.clock.now())
        self.account_id = self.add_account(FIRST_SIM_ACCOUNT).id
        for name in self.settings.extra_accounts:  # several accounts on one login, each its own books
            self.add_account(name)
        self.api = Api(self.auth, self.faults, self.options)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ setup

    def add_account(
        self,
        name: str,
        balance: Decimal | None = None,
        auto_oco_brackets: bool | None = None,
        can_trade: bool = True,
        simulated: bool = True,
    ) -> SimAccount:
        """Another account (the first, a practice account, is created at start: `account_id`).
        `simulated=False` makes a funded/live-like account: cancel and partial close answer
        AccountRejected "Live accounts not supported" (§4.8, §4.15)."""
        oco = self.settings.auto_oco_brackets if auto_oco_brackets is None else auto_oco_brackets
        return self.exchange.add_account(name, balance or self.settings.starting_balance, oco, can_trade, simulated)

    def contract(self, symbol: str) -> str:
        """The active contract id for a root (MNQ, MES, NQ, ES, ...)."""
        c = self.contracts.by_root(symbol)
        if c is None:
            raise KeyError(f"no simulated contract for {symbol!r}")
        return c.id

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 20)
        rest = RestApi(
            self.exchange,
            self.auth,
            self.market,
            self.faults,
            self.options,
            self.clock,
            username=self.username,
            api_key=self.api_key,
        )
        rest.routes(self.api, app)
        for hub, path in (("user", s.USER_HUB_PATH), ("market", s.MARKET_HUB_PATH)):
            app.router.add_get(path, _hub_handler(self.hubs, hub))
            app.router.add_post(path + "/negotiate", self.hubs.negotiate)
        app.router.add_post("/sim/faults", self._control_faults)
        app.router.add_get("/sim/faults", self._list_faults)
        app.router.add_get("/sim/stats", self._stats)
        app.router.add_get("/sim/accounts", self._list_accounts)
        app.router.add_post("/sim/accounts", self._control_add_account)
        app.router.add_post("/sim/market/trade", self._control_trade)
        app.router.add_post("/sim/market/quote", self._control_quote)
        return app

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        host = host or self.settings.host
        port = self.settings.port if port is None else port
        self._runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False, shutdown_timeout=0.25)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.host, self.port = sock.getsockname()[:2]
        await web.SockSite(self._runner, sock).start()
        if self.options.market_mode == "random":
            self.market.start_random(self.options.random_step_s, self.options.warmup_days)
        elif self.options.market_mode == "replay":
            cid = self.options.replay_contract or self.contract("MNQ")
            if self.contracts.get(cid) is None:
                await self.stop()
                raise ValueError(f"replay contract {cid!r} is not one of the simulator's contracts")
            bars = list(self.options.replay_bars)
            if self.options.replay_csv:
                bars += load_bars_csv(self.options.replay_csv, cid)
            self.market.start_replay(cid, bars)

    async def stop(self) -> None:
        await self.market.stop()
        await self.hubs.close_all()
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def user_hub_url(self) -> str:
        return self.base_url + s.USER_HUB_PATH

    @property
    def market_hub_url(self) -> str:
        return self.base_url + s.MARKET_HUB_PATH

    # ------------------------------------------------------------------ control endpoints (no auth: local tool)

    async def _control_faults(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            return json_response(self.faults.apply(body if isinstance(body, dict) else {}))
        except (FaultError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)

    async def _stats(self, _: web.Request) -> web.Response:
        """Requests served and the simulator process's CPU time (the bench divides one by the other)."""
        return json_response(
            {
                "requests": self.api.requests,
                "cpu_s": time.process_time(),
                "handler_cpu_s": self.api.handler_cpu_s,
                "hub_events": self.hubs.events_sent,
            }
        )

    async def _list_faults(self, _: web.Request) -> web.Response:
        return json_response({"faults": self.faults.describe(), "fired": [list(f) for f in self.faults.fired]})

    async def _list_accounts(self, _: web.Request) -> web.Response:
        return json_response({"accounts": [a.model().to_wire() for a in self.exchange.accounts.values()]})

    async def _control_add_account(self, request: web.Request) -> web.Response:
        """Another account on the login: `{"name": ..., "balance"?: "50000", "simulated"?: true}`."""
        try:
            body = await request.json()
            name = str(body["name"]).strip()
            if not name:
                raise ValueError("an account needs a name")
            if any(a.name.lower() == name.lower() for a in self.exchange.accounts.values()):
                raise ValueError(f"account {name!r} exists")
            balance = Decimal(str(body["balance"])) if body.get("balance") is not None else None
            acc = self.add_account(name, balance, simulated=bool(body.get("simulated", True)))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            return json_response({"error": f"bad account: {exc}"}, 400)
        return json_response({"account": acc.model().to_wire()})

    async def _control_trade(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            await self.market.trade(body["contractId"], str(body["price"]), int(body.get("size", 1)))
        except (KeyError, ValueError, ArithmeticError) as exc:
            return json_response({"error": f"bad trade: {exc!r}"}, 400)
        return json_response({"ok": True})

    async def _control_quote(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            await self.market.quote(body["contractId"], body.get("bid"), body.get("ask"))
        except (KeyError, ValueError, ArithmeticError) as exc:
            return json_response({"error": f"bad quote: {exc!r}"}, 400)
        return json_response({"ok": True})


def _hub_handler(hubs: HubServer, hub: str) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await hubs.handle(request, "user" if hub == "user" else "market")

    return handler
