"""Bad configuration is refused with one clear line per problem (where, which key, what was expected),
and a secret is never repeated back."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from trading.config import ConfigError, load_settings, masked

SECRET = "sekrit-do-not-print-7f3a"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The developer's own TRADEBOT_* variables and .env must not leak into these tests.
    for name in list(os.environ):
        if name.startswith("TRADEBOT_") and name not in ("TRADEBOT_TEST_DATABASE_URL", "TRADEBOT_HOME"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _toml(tmp_path: Path, text: str, name: str = "user.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _problems(config: Path | None = None, env_file: Path | str = ".env") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env_file=env_file)
    return caught.value.problems


def test_defaults_load_and_layers_override_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().risk.max_order_size == 5
    user = _toml(tmp_path, "[risk]\nmax_order_size = 3\ndaily_loss_limit = 750.5\n")
    assert load_settings(user).risk.max_order_size == 3
    monkeypatch.setenv("TRADEBOT_RISK__MAX_ORDER_SIZE", "2")
    settings = load_settings(user)
    assert settings.risk.max_order_size == 2
    assert settings.risk.daily_loss_limit == Decimal("750.5")


def test_a_bad_toml_value_names_the_file_the_key_and_the_expectation(tmp_path: Path) -> None:
    user = _toml(tmp_path, '[risk]\nmax_order_size = "lots"\n[database]\npool_min = 0\n')
    problems = _problems(user)
    assert problems == [
        f"{user}: database.pool_min: Input should be greater than or equal to 1 (got 0)",
        f"{user}: risk.max_order_size: Input should be a valid integer, unable to parse string as an integer "
        "(got 'lots')",
    ]


def test_a_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_RISK__MAX_POSITION_TOTAL", "many")
    [line] = _problems()
    assert line.startswith("environment TRADEBOT_RISK__MAX_POSITION_TOTAL: risk.max_position_total: ")
    assert "valid integer" in line and "'many'" in line


def test_a_bad_dotenv_value_names_the_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("TRADEBOT_APP__MODE=yolo\n")
    [line] = _problems(env_file=env)
    assert line.startswith(f"{env} TRADEBOT_APP__MODE: app.mode: ")
    assert "'paper' or 'live'" in line


def test_a_list_in_the_environment_must_be_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_DISCORD__GUILD_IDS", "123,456")
    assert _problems() == [
        "environment TRADEBOT_DISCORD__GUILD_IDS: discord.guild_ids: expected JSON, e.g. [1, 2] for a list "
        "(got '123,456')"
    ]
    monkeypatch.setenv("TRADEBOT_DISCORD__GUILD_IDS", "[123, 456]")
    assert load_settings().discord.guild_ids == (123, 456)


def test_a_secret_is_never_repeated_in_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = _toml(tmp_path, f'[projectx]\napi_key = ["{SECRET}"]\n[database]\nurl = ["postgresql://u:{SECRET}@h/db"]\n')
    monkeypatch.setenv("TRADEBOT_DISCORD__TOKEN", SECRET)
    problems = _problems(user)
    assert {p.split(": ")[1] for p in problems} == {"projectx.api_key", "database.url"}
    assert all(SECRET not in p for p in problems)
    assert all("(got" not in p for p in problems)


def test_unknown_settings_are_refused(tmp_path: Path) -> None:
    assert _problems(_toml(tmp_path, "[riks]\nmax_order_size = 1\n")) == [
        f"{tmp_path / 'user.toml'}: unknown setting [riks]"
    ]
    [line] = _problems(_toml(tmp_path, "[risk]\nmax_ordr_size = 1\n"))
    assert line == f"{tmp_path / 'user.toml'}: risk.max_ordr_size: unknown setting"


def test_unreadable_toml_is_one_clear_line(tmp_path: Path) -> None:
    [line] = _problems(_toml(tmp_path, "[risk\n"))
    assert line.startswith(f"{tmp_path / 'user.toml'}: not valid TOML")
    [missing] = _problems(tmp_path / "nope.toml")
    assert missing == f"{tmp_path / 'nope.toml'}: file not found"


def test_masked_configuration_hides_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_DISCORD__TOKEN", SECRET)
    monkeypatch.setenv("TRADEBOT_PROJECTX__API_KEY", SECRET)
    monkeypatch.setenv("TRADEBOT_DATABASE__URL", f"postgresql://u:{SECRET}@h/db")
    shown = masked(load_settings())
    assert SECRET not in repr(shown)
    assert shown["discord"]["token"] == shown["projectx"]["api_key"] == shown["database"]["url"] == "********"


def test_the_position_guard_is_on_by_default_and_its_settings_are_checked(tmp_path: Path) -> None:
    guard = load_settings().protection
    assert (guard.enabled, guard.action, guard.stop_ticks, guard.grace_s) == (True, "stop", 40, 3.0)
    user = _toml(tmp_path, '[protection]\naction = "close"\nstop_ticks = 0\ngrace_s = -1\n')
    problems = _problems(user)
    keys = {p.split(": ")[1]: p for p in problems}
    assert sorted(keys) == ["protection.action", "protection.grace_s", "protection.stop_ticks"]
    assert "'stop' or 'flatten'" in keys["protection.action"]


def test_the_order_calls_budget_on_the_loops_thread_is_bounded(tmp_path: Path) -> None:
    assert load_settings().projectx.answer_within_us == 2000
    assert load_settings(_toml(tmp_path, "[projectx]\nanswer_within_us = 0\n")).projectx.answer_within_us == 0
    # A budget of seconds would hold the event loop that long per order call: refused.
    user = _toml(tmp_path, "[projectx]\nanswer_within_us = 2000000\n", "too_long.toml")
    assert _problems(user) == [
        f"{user}: projectx.answer_within_us: Input should be less than or equal to 50000 (got 2000000)"
    ]
    user = _toml(tmp_path, "[projectx]\nanswer_within_us = -1\n", "negative.toml")
    assert _problems(user) == [
        f"{user}: projectx.answer_within_us: Input should be greater than or equal to 0 (got -1)"
    ]
