"""A test's settings come from its own files only: the developer's TRADEBOT_* variables and .env stay out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

KEPT = ("TRADEBOT_TEST_DATABASE_URL", "TRADEBOT_HOME")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every TRADEBOT_* variable but the test database and the install removed; the working folder a
    fresh one (no .env)."""
    for name in list(os.environ):
        if name.startswith("TRADEBOT_") and name not in KEPT:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
