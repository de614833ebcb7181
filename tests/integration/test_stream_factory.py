"""The stream factories follow the Rust switch (`native.enabled()`)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from trading import native
from trading.projectx.realtime import MarketHub, UserHub
from trading.projectx.stream_rust import RustMarketStream, RustUserStream, new_market_stream, new_user_stream
from trading.streaming import StreamEvent


async def _handler(batch: Sequence[StreamEvent]) -> None:
    return None


def test_python_path_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_RUST", "0")
    m = new_market_stream("http://x/hubs/market", _handler, lambda: "t")
    u = new_user_stream("http://x/hubs/user", _handler, lambda: "t")
    assert type(m) is MarketHub and type(u) is UserHub


@pytest.mark.skipif(not native.enabled(), reason="Rust path not active")
def test_rust_path_when_enabled() -> None:
    assert isinstance(new_market_stream("http://x/hubs/market", _handler, lambda: "t"), RustMarketStream)
    assert isinstance(new_user_stream("http://x/hubs/user", _handler, lambda: "t"), RustUserStream)
