"""The operator services' file helpers: the log's tail, and the commit of a checkout."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.services import BadInput
from trading.services.operator import git_commit, log_tail

LINES = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=120),
    min_size=0,
    max_size=80,
)


@given(lines=LINES, n=st.integers(1, 200))
def test_log_tail_is_the_last_n_lines(lines: list[str], n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tradebot.log"
        path.write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")
        assert log_tail(path, n) == lines[-n:]


def test_log_tail_refuses_bad_counts_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="between 1 and 200"):
        log_tail(tmp_path / "x.log", 0)
    with pytest.raises(BadInput, match="cannot be read"):
        log_tail(tmp_path / "missing.log", 5)


def test_git_commit_outside_a_checkout_is_none(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
