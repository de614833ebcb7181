"""Which database URLs get plain connections: every host on this machine, no sslmode chosen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.store.tls import on_this_machine, plain_on_loopback


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "postgresql://u:secret@localhost/db",
        "postgresql://u@[::1]:5432/db",
        "postgresql://u@127.0.0.2/db",
        "postgresql:///db",
        "postgresql://u@/db?host=/run/postgresql",
        "postgresql://u@127.0.0.1:5432,localhost:5433/db",
    ],
)
def test_this_machine_is_plain(url: str) -> None:
    assert plain_on_loopback(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@db.example.com:5432/db",
        "postgresql://u@10.0.0.5/db",
        "postgresql://u@[2001:db8::1]:5432/db",
        "postgresql://u@127.0.0.1:5432,db.example.com:5432/db",  # one host elsewhere: the default for all
        "postgresql://u@127.0.0.1/db?sslmode=require",  # the URL's own choice is followed
        "postgresql://u@localhost/db?sslmode=verify-full",
        "postgresql://u@/db?host=db.example.com",
    ],
)
def test_elsewhere_or_chosen_keeps_the_default(url: str) -> None:
    assert not plain_on_loopback(url)


@given(st.ip_addresses())
def test_an_address_is_local_exactly_when_it_is_loopback(address: object) -> None:
    assert on_this_machine(str(address)) == address.is_loopback  # type: ignore[attr-defined]
