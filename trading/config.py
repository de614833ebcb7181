"""One `Settings` tree: config/default.toml < a user TOML (TRADEBOT_CONFIG) < `.env` < environment.

Environment keys are `TRADEBOT_<SECTION>__<KEY>`, e.g. `TRADEBOT_DISCORD__TOKEN`,
`TRADEBOT_STRATEGIES__OVERNIGHT_RANGE__OFFSET`. Secrets are `SecretStr` and never printed.
An invalid value fails at start with one line per problem: where it came from, the key, what was expected.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from trading import rule_profiles
from trading.rule_profiles import AUTO, CUSTOM

ENV_PREFIX = "TRADEBOT_"
ROOT = Path(os.environ.get("TRADEBOT_HOME", Path(__file__).resolve().parents[1]))
DEFAULT_TOML = ROOT / "config" / "default.toml"


log = logging.getLogger(__name__)


class ConfigError(Exception):
    """The configuration is invalid; `problems` holds one readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppSettings(Section):
    mode: Literal["paper", "live"] = "paper"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    data_dir: Path = Path("~/.local/share/tradebot")
    # `tradebot run` also logs to <log_dir>/tradebot.log, rotated at 10 MB, 5 kept; "" writes no file.
    log_dir: Path | None = Path("~/.local/share/tradebot/logs")
    # `tradebot run`'s process on one CPU (trading/affinity.py): "off", "auto" (the last CPU allowed) or a number.
    cpu: int | Literal["auto", "off"] = "off"

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError('a CPU number is 0 or more (or "auto", "off")')
        return value

    @field_validator("log_dir", mode="before")
    @classmethod
    def _no_file(cls, value: Any) -> Any:
        return None if value in ("", None) else value


class DatabaseSettings(Section):
    url: SecretStr | None = None
    embedded_dir: Path = Path("/var/lib/tradebot/pg")
    pool_min: int = Field(1, ge=1)
    pool_max: int = Field(10, ge=1)
    command_timeout_s: float = Field(30.0, gt=0)


class ProjectXSettings(Section):
    base_url: str = "https://api.topstepx.com"
    user_hub_url: str = "https://rtc.topstepx.com/hubs/user"
    market_hub_url: str = "https://rtc.topstepx.com/hubs/market"
    username: str = ""
    api_key: SecretStr = SecretStr("")
    account_id: int | None = None
    account_name: str = ""
    live_data: bool = False
    request_timeout_s: float = Field(10.0, gt=0)
    # The Rust order path against a plain-http gateway by IP address or localhost (the simulator, a LAN one):
    # how long an order call may hold the event loop for its answer, which then needs no hand-off
    # between threads (rust_ext/src/executor/direct.rs); 0 turns it off. https gateways never use it.
    answer_within_us: int = Field(2000, ge=0, le=50_000)
    rate_limit_requests: int = Field(200, ge=1)
    rate_limit_window_s: float = Field(60.0, gt=0)
    history_rate_limit_requests: int = Field(50, ge=1)
    history_rate_limit_window_s: float = Field(30.0, gt=0)
    retry_delays_s: tuple[float, ...] = (0.75, 1.5, 3.0)
    token_refresh_margin_s: float = Field(300.0, ge=0)
    auth_retry_first_s: float = Field(1.0, gt=0)
    auth_retry_max_s: float = Field(60.0, gt=0)
    auth_alert_after: int = Field(3, ge=1)
    stale_feed_s: float = Field(30.0, gt=0)
    user_stale_s: float = Field(30.0, gt=0)  # no user-hub frame (pings included) for this long: stale


FIRST_SIM_ACCOUNT = "PRAC-V2-SIM-1"  # the simulator's practice account, always there


class SimSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8900, ge=0, le=65535)
    username: str = "sim-trader"
    api_key: SecretStr = SecretStr("sim-api-key")
    seed: int = 7
    speed: float = Field(1.0, gt=0)
    auto_oco_brackets: bool = True
    starting_balance: Decimal = Decimal("50000")
    fees_per_contract: Decimal = Decimal("0.37")
    # More accounts of the one simulated login, after the first (PRAC-V2-SIM-1): names, in id order.
    extra_accounts: tuple[str, ...] = ()

    @field_validator("extra_accounts")
    @classmethod
    def _distinct_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        seen = {FIRST_SIM_ACCOUNT.lower()}
        for name in names:
            if not name.strip():
                raise ValueError("an extra simulated account needs a name")
            if name.lower() in seen:
                raise ValueError(f"simulated account name {name!r} is used twice")
            seen.add(name.lower())
        return names


class DiscordChannels(Section):
    fills: int | None = None
    orders: int | None = None
    alerts: int | None = None
    strategy: int | None = None
    summary: int | None = None
    latency: int | None = None


# The notification kinds (trading.domain.NotificationKind values; config sits beside domain, not above it).
NotificationKindName = Literal["entry_fill", "exit_fill", "order", "risk", "alert", "strategy", "summary", "latency"]


class DiscordSettings(Section):
    token: SecretStr | None = None
    guild_ids: tuple[int, ...] = ()
    channels: DiscordChannels = DiscordChannels()
    # Risk alerts reach a person: these users also get, by direct message, the kinds in `dm_kinds` and the
    # alerts marked urgent (with `dm_urgent`).
    owners: tuple[Annotated[int, Field(gt=0)], ...] = ()
    dm_kinds: tuple[NotificationKindName, ...] = ("risk",)
    dm_urgent: bool = True


class PermissionSettings(Section):
    read_users: tuple[int, ...] = ()
    read_roles: tuple[int, ...] = ()
    read_everyone: bool = True
    trade_users: tuple[int, ...] = ()
    trade_roles: tuple[int, ...] = ()
    admin_users: tuple[int, ...] = ()
    admin_roles: tuple[int, ...] = ()
    allowed_guilds: tuple[int, ...] = ()
    allowed_channels: tuple[int, ...] = ()
    confirm_above_size: int = Field(2, ge=1)
    confirm_timeout_s: float = Field(60.0, gt=0)


class RiskSettings(Section):
    max_order_size: int = Field(5, ge=1)
    max_position_per_symbol: int = Field(5, ge=1)
    max_position_total: int = Field(10, ge=1)
    daily_loss_limit: Decimal = Field(Decimal("1000"), gt=0)
    max_loss_trailing: Decimal = Field(Decimal("2000"), gt=0)
    trading_start: time = time(9, 30)
    trading_end: time = time(15, 55)
    price_band_ticks: int = Field(2000, ge=0)  # 0 disables
    price_band_atr: Decimal = Field(Decimal(0), ge=0)  # multiple of the 1-minute ATR; 0 disables
    # Account rule profile (trading/rule_profiles.py, config/rule_profiles.toml): "custom" (the numbers
    # above), a profile id, or "auto" (by the account's name, else custom).
    profile: str = "custom"
    profiles_file: Path = Path("config/rule_profiles.toml")  # relative to the install (TRADEBOT_HOME)
    overrides: dict[str, Any] = Field(default_factory=dict)  # any number of the chosen profile
    daily_profit_cap: Decimal | None = Field(None, gt=0)  # reached: reduce-only until the next trading day
    alert_levels: tuple[Decimal, ...] = (Decimal("0.5"), Decimal("0.75"), Decimal("0.9"))
    # Which implementation checks each order (trading/risk/native.py): the same answers either way.
    impl: Literal["python", "rust"] = "python"

    @property
    def profiles_path(self) -> Path:
        return self.profiles_file if self.profiles_file.is_absolute() else ROOT / self.profiles_file

    def custom_numbers(self) -> dict[str, Any]:
        """What the custom profile takes from these settings."""
        return {
            "daily_loss_limit": self.daily_loss_limit,
            "max_loss": self.max_loss_trailing,
            "max_contracts": self.max_position_total,
            "daily_profit_cap": self.daily_profit_cap,
        }

    @model_validator(mode="after")
    def _profile_resolves(self) -> RiskSettings:
        # An unknown profile, a bad profiles file or a bad override fails at start (and in `config check`).
        rule_profiles.resolve(
            self.profiles_path, CUSTOM if self.profile == AUTO else self.profile, self.overrides, self.custom_numbers()
        )
        if any(not 0 < level < 1 for level in self.alert_levels):
            raise ValueError("alert_levels are fractions between 0 and 1, e.g. [0.5, 0.75, 0.9]")
        return self


class OvernightRangeSettings(Section):
    enabled: bool = True
    impl: Literal["python", "rust"] = "python"  # the strategy's implementation (trading/strategies/native.py)
    # With the Rust implementation, the Rust market stream and the Rust executor: a quote that reaches the
    # breakeven moves the stop without a Python step (trading/engine/fast_path.py). False: the Python path.
    fast_path: bool = True
    symbols: tuple[str, ...] = ("MNQ", "MES")
    quantity: int = Field(1, ge=1)
    window_start: time = time(18, 0)
    window_end: time = time(9, 30)
    pre_open: time = time(9, 25)
    open: time = time(9, 30)
    flatten: time = time(15, 55)
    flatten_minutes_before_close: int = Field(5, ge=0)
    summary: time = time(16, 15)
    last_entry_time: time = time(11, 0)
    open_grace_minutes: int = Field(5, ge=0)
    offset: Decimal = Decimal("0.25")
    atr_period: int = Field(14, ge=1)
    stop_atr_mult: Decimal = Decimal("1.25")
    target_atrd_mult: Decimal = Decimal("2.0")
    min_stop_ticks: int = Field(4, ge=1)
    cancel_opposite_on_fill: bool = True
    breakeven_enabled: bool = True
    breakeven_points: Decimal = Decimal("15")
    range_filter: bool = False
    range_min: Decimal = Decimal("50")
    range_max: Decimal = Decimal("500")
    gap_filter: bool = False
    gap_max: Decimal = Decimal("200")
    volatility_filter: bool = False
    atr5_min: Decimal = Decimal("20")
    atr5_max: Decimal = Decimal("200")
    daily_loss_filter: bool = False
    daily_loss_used_max: Decimal = Decimal("0.75")
    data_quality_filter: bool = True
    data_quality_min: Decimal = Decimal("0.90")
    # Plausibility (on by default, beside data quality): an overnight range wider than this share of the
    # price is bad data, not a market (CME's overnight price limit for equity-index futures is 7 % from
    # the prior settlement). 0 disables.
    plausible_range_max: Decimal = Field(Decimal("0.07"), ge=0, le=1)


class EmaCrossSettings(Section):
    """A small trend follower (trading/strategies/ema_cross.py): EMA cross on 5-minute closes."""

    enabled: bool = False
    symbols: tuple[str, ...] = ("MES",)
    quantity: int = Field(1, ge=1)
    timeframe_minutes: int = Field(5, ge=1, le=60)
    fast: int = Field(9, ge=1)
    slow: int = Field(21, ge=2)
    stop_ticks: int = Field(40, ge=1)
    target_ticks: int = Field(80, ge=1)
    first_entry_time: time = time(9, 45)
    last_entry_time: time = time(15, 0)
    max_trades_per_day: int = Field(3, ge=1)


class StrategiesSettings(Section):
    overnight_range: OvernightRangeSettings = OvernightRangeSettings()
    ema_cross: EmaCrossSettings = EmaCrossSettings()


class SchedulerSettings(Section):
    misfire_grace_s: int = Field(300, ge=1)
    backfill_time: time = time(17, 30)
    backfill_days: int = Field(3, ge=1)
    token_refresh_hours: float = Field(12.0, gt=0)
    health_interval_s: int = Field(60, ge=5)
    latency_report_time: time = time(16, 20)


class NotificationSettings(Section):
    console: bool = True
    coalesce_window_s: float = Field(600.0, ge=0)
    retry_base_s: float = Field(1.0, gt=0)
    retry_max_s: float = Field(60.0, gt=0)
    alert_after_s: float = Field(120.0, ge=0)
    poll_interval_s: float = Field(1.0, gt=0)


class EngineSettings(Section):
    """The engine's self-healing loop (trading/engine/healing.py)."""

    heal_interval_s: float = Field(0.5, gt=0)
    reconcile_interval_s: float = Field(5.0, gt=0)
    flat_check_interval_s: float = Field(60.0, gt=0)
    intent_settle_after_s: float = Field(1.0, ge=0)
    intent_deadline_s: float = Field(120.0, gt=0)
    retry_max_s: float = Field(30.0, gt=0)
    ready_wait_s: float = Field(30.0, ge=0)
    # A new order's intent: "beside" its send (committed before the placement ends) or "first" (committed
    # before the send: one WAL flush more between a tick and its order). trading/engine/core.py `_place_new`.
    intent: Literal["beside", "first"] = "beside"


class ProtectionSettings(Section):
    """Every open position has a protective stop at the broker (trading/engine/protection.py)."""

    enabled: bool = True
    check_interval_s: float = Field(1.0, gt=0, le=60)
    grace_s: float = Field(3.0, ge=0, le=300)
    stop_ticks: int = Field(40, ge=1, le=1000)
    action: Literal["stop", "flatten"] = "stop"
    # Dead-man switch (trading/engine/deadman.py): a position open while the market feed or the broker
    # connection has been down this long is flattened through whatever still works; 0 turns it off.
    deadman_after_s: float = Field(60.0, ge=0, le=3600)

    @field_validator("deadman_after_s")
    @classmethod
    def _deadman_not_a_blink(cls, v: float) -> float:
        if 0 < v < 2:  # a token refresh rebuilds the hubs in about a second: that is not an outage
            raise ValueError("must be 0 (off) or at least 2 seconds")
        return v


class BlackoutSettings(Section):
    """Scheduled-news blackout (trading/news.py, trading/engine/blackout.py): event windows from a file."""

    file: Path | None = None  # the trader's news file (TOML, times in New York); None: no blackout
    minutes_before: int = Field(5, ge=0, le=720)  # a window opens this long before an event's release
    minutes_after: int = Field(5, ge=0, le=720)  # and closes this long after it
    cancel_entries: bool = False  # cancel working entry orders when a window opens
    flatten: bool = False  # close positions (and cancel every working order) before the release
    flatten_minutes_before: int = Field(1, ge=0, le=720)  # how long before the release (within the window)
    refuse_manual: bool = False  # also refuse a trader's own opening orders in a window
    check_interval_s: float = Field(1.0, gt=0, le=60)

    @field_validator("file", mode="before")
    @classmethod
    def _unset_when_empty(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v


Route = Literal["rust", "python", "shadow"]


class BreakerSettings(Section):
    """The circuit breaker of every Rust component (trading/breaker.py): past these bounds over the last
    `window` Rust calls or events, the component moves to Python and an alert says why."""

    window: int = Field(50, ge=1, le=10_000)  # the last N outcomes judged
    min_calls: int = Field(10, ge=1)  # fewer outcomes than this in the window: never judged
    max_error_rate: float = Field(0.2, gt=0, le=1)  # share of failed Rust calls that trips it
    max_p95_ms: float = Field(0.0, ge=0)  # p95 latency of the window that trips it; 0 turns the bound off
    probation_s: float = Field(0.0, ge=0)  # back to the configured route after this long; 0: only an admin


class RoutingSettings(Section):
    """Which implementation each component uses (trading/native.py): rust, python or shadow (Python
    serves, Rust computed beside it and compared; never the executor). An admin's change at run time
    (`/stats route`, `tradebot route set`) is stored and wins over these defaults. TRADEBOT_RUST=0 or
    `rust = false` forces Python everywhere."""

    executor: Literal["rust", "python"] = "rust"
    executor_rust_share: int = Field(100, ge=0, le=100)  # % of orders (by customTag hash) sent the Rust way
    market_stream: Route = "rust"
    user_stream: Route = "rust"
    bars: Route = "rust"
    # The route of every strategy that has a Rust implementation; None (unset): each strategy's own
    # `impl` (trading/native.py strategy_route).
    strategy: Route | None = None
    breaker: BreakerSettings = BreakerSettings()


class BacktestSettings(Section):
    fees_per_contract_side: Decimal = Decimal("0")
    slippage_ticks: int = Field(0, ge=0)


class MetricsSettings(Section):
    """The Prometheus endpoint of `tradebot run` (trading/engine/exporter.py)."""

    prometheus_port: int = Field(0, ge=0, le=65535)  # 0: no endpoint
    prometheus_host: str = "127.0.0.1"  # the interface it listens on ("0.0.0.0": every one, e.g. in a container)


class AccountSettings(Section):
    """One account of the gateway login traded by this process (`[[accounts]]`): several tables, one
    engine each, each with its own risk, lease, reconciliation and store rows."""

    name: str  # the broker's account name (case-insensitive), as Account/search lists it
    # The strategies this account runs (None: the ones [strategies] enables).
    strategies: tuple[str, ...] | None = None
    # Size rule of the strategies' opening orders: a multiplier of what the strategy asks (rounded down,
    # at least 1), or a fixed number of contracts (then the multiplier is not used).
    multiplier: Decimal = Field(Decimal(1), gt=0)
    contracts: int | None = Field(None, ge=1)
    # The account's rule profile ("" = [risk].profile).
    profile: str = ""
    # Copy mode: the name of another [[accounts]] account whose fills and stops this one mirrors.
    follow: str = ""

    @model_validator(mode="after")
    def _one_size_rule(self) -> AccountSettings:
        if not self.name.strip():
            raise ValueError("an [[accounts]] table needs the account's name")
        if self.contracts is not None and self.multiplier != 1:
            raise ValueError(f"account {self.name!r}: give multiplier or contracts, not both")
        return self

    def sized(self, asked: int) -> int:
        if self.contracts is not None:
            return self.contracts
        return max(1, int(asked * self.multiplier))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    rust: bool = True
    app: AppSettings = AppSettings()
    database: DatabaseSettings = DatabaseSettings()
    projectx: ProjectXSettings = ProjectXSettings()
    sim: SimSettings = SimSettings()
    discord: DiscordSettings = DiscordSettings()
    permissions: PermissionSettings = PermissionSettings()
    risk: RiskSettings = RiskSettings()
    strategies: StrategiesSettings = StrategiesSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    notifications: NotificationSettings = NotificationSettings()
    engine: EngineSettings = EngineSettings()
    protection: ProtectionSettings = ProtectionSettings()
    blackout: BlackoutSettings = BlackoutSettings()
    backtest: BacktestSettings = BacktestSettings()
    metrics: MetricsSettings = MetricsSettings()
    routing: RoutingSettings = RoutingSettings()
    accounts: tuple[AccountSettings, ...] = ()  # [[accounts]]: several accounts in one process
    _notes: tuple[str, ...] = PrivateAttr(default=())  # what loading ignored (retired settings), for `config check`

    @property
    def notes(self) -> tuple[str, ...]:
        return self._notes

    @model_validator(mode="after")
    def _accounts_are_distinct(self) -> Settings:
        seen: set[str] = set()
        for account in self.accounts:
            key = account.name.strip().lower()
            if key in seen:
                raise ValueError(f"account {account.name!r} is listed twice in [[accounts]]")
            seen.add(key)
            if account.follow and account.follow.strip().lower() == key:
                raise ValueError(f"account {account.name!r} cannot follow itself")
            if account.profile and account.profile != AUTO:
                risk = self.risk
                rule_profiles.resolve(risk.profiles_path, account.profile, risk.overrides, risk.custom_numbers())
        by_name = {a.name.strip().lower(): a for a in self.accounts}
        for account in self.accounts:
            if not account.follow:
                continue
            leader = by_name.get(account.follow.strip().lower())
            if leader is None:
                raise ValueError(f"account {account.name!r} follows {account.follow!r}, which is not in [[accounts]]")
            if leader.follow:
                raise ValueError(f"account {account.name!r} follows {leader.name!r}, which follows another: no chains")
        return self

    def for_account(self, account: AccountSettings) -> Settings:
        """These settings as one account's engine sees them (its rule profile)."""
        if not account.profile:
            return self
        return self.model_copy(update={"risk": self.risk.model_copy(update={"profile": account.profile})})

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: explicit values (the TOML files, merged by `load_settings`), then
        # the environment, then .env. TOML comes in through init so that env still wins over it.
        return (env_settings, dotenv_settings, init_settings)


# Settings that were removed because nothing read them. A file that still sets one loads, with a note
# (`config check` prints it), unless its value asks for something tradebot does not do: then it is an error.
RETIRED: dict[tuple[str, str], tuple[Any, str]] = {
    ("app", "timezone"): (
        "America/New_York",
        "every time a trader reads is New York time (ET); there is no time zone setting",
    ),
    ("notifications", "max_attempts"): (None, "a notification is retried until delivered, never given up"),
}


def _retire(data: dict[str, Any], where: str) -> tuple[list[str], list[str]]:
    """Take the retired settings out of `data`: (notes to show, problems when a value cannot be honoured)."""
    notes, problems = [], []
    for (section, key), (only, why) in RETIRED.items():
        table = data.get(section)
        if not isinstance(table, dict) or key not in table:
            continue
        value = table.pop(key)
        if only is not None and value != only:
            problems.append(f"{where}: {section}.{key} = {value!r} is not supported: {why}; remove it")
        else:
            notes.append(f"{where}: {section}.{key} is no longer a setting ({why}); it was ignored, remove it")
    return notes, problems


def missing_credentials(settings: Settings) -> list[str]:
    """The gateway credentials live trading needs and the settings lack (names, not values)."""
    px = settings.projectx
    return [name for name, v in (("projectx.username", px.username), ("projectx.api_key", px.api_key)) if not _given(v)]


def _given(value: str | SecretStr) -> bool:
    return bool(value.get_secret_value() if isinstance(value, SecretStr) else value)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError([f"{path}: file not found"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc


def _env_name(loc: tuple[str | int, ...]) -> str:
    return ENV_PREFIX + "__".join(str(p).upper() for p in loc)


def _origin(loc: tuple[str | int, ...], files: list[Path], env_file: Path) -> str:
    name = _env_name(loc)
    if name in os.environ:
        return f"environment {name}"
    if env_file.is_file() and any(line.split("=", 1)[0].strip() == name for line in env_file.read_text().splitlines()):
        return f"{env_file} {name}"
    for path in reversed(files):
        node: Any = _read_toml(path)
        for part in loc:
            if not isinstance(node, dict) or part not in node:
                node = None
                break
            node = node[part]
        if node is not None:
            return str(path)
    return "settings"


def _unparsable_env(env_file: Path) -> list[str]:
    """One line per TRADEBOT_* variable (environment or .env) that targets a list or table but is not JSON."""
    values = dict(os.environ)
    if env_file.is_file():
        for line in env_file.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip().startswith(ENV_PREFIX):
                values.setdefault(name.strip(), value.strip().strip("'\""))
    problems = []
    for name, value in sorted(values.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        model: Any = Settings
        annotation: Any = None
        for part in name[len(ENV_PREFIX) :].lower().split("__"):
            fields = getattr(model, "model_fields", {})
            if part not in fields:
                annotation = None
                break
            annotation = fields[part].annotation
            model = annotation
        section = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if not section and "tuple" not in str(annotation):
            continue
        try:
            json.loads(value)
        except ValueError:
            where = f"{env_file} {name}" if name not in os.environ else f"environment {name}"
            key = ".".join(name[len(ENV_PREFIX) :].lower().split("__"))
            # A whole section may hold secrets: its value is not repeated.
            shown = "" if section else f" (got {value!r})"
            problems.append(f"{where}: {key}: expected JSON, e.g. [1, 2] for a list{shown}")
    return problems


def load_settings(config_file: Path | str | None = None, env_file: Path | str = ".env") -> Settings:
    """Load and validate every setting, or raise `ConfigError` with one line per problem."""
    files = [DEFAULT_TOML] if DEFAULT_TOML.is_file() else []
    user = config_file or os.environ.get("TRADEBOT_CONFIG")
    if user:
        files.append(Path(user))
    data: dict[str, Any] = {}
    for path in files:
        data = _merge(data, _read_toml(path))
    known = set(Settings.model_fields)
    unknown = [f"{files[-1] if files else 'config'}: unknown setting [{k}]" for k in data if k not in known]
    notes, retired = _retire(data, str(files[-1]) if files else "config")
    if unknown or retired:
        raise ConfigError(unknown + retired)
    env_path = Path(env_file)
    try:
        settings = Settings(_env_file=env_path if env_path.is_file() else None, **data)
        for note in notes:
            log.warning("%s", note)
        settings._notes = tuple(notes)
        return settings
    except SettingsError as exc:
        # A list or table setting given in the environment must be JSON; pydantic-settings names only the section.
        raise ConfigError(_unparsable_env(env_path) or [f"environment: {exc}"]) from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p != "__root__")
            key = ".".join(str(p) for p in loc)
            got = err.get("input")
            shown = "" if "url" in key or "token" in key or "key" in key else f" (got {got!r})"
            if err["type"] == "extra_forbidden":
                problems.append(f"{_origin(loc, files, env_path)}: {key}: unknown setting")
            else:
                problems.append(f"{_origin(loc, files, env_path)}: {key}: {err['msg']}{shown}")
        raise ConfigError(problems) from None


def _mask(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    if isinstance(value, BaseModel):
        return {k: _mask(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, tuple | list):
        return [_mask(v) for v in value]
    if isinstance(value, Path | Decimal | time):
        return str(value)
    return value


def masked(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, every secret replaced by ********."""
    out: dict[str, Any] = _mask(settings)
    return out
