"""The login/refresh retry spacing: capped exponential backoff with jitter, never before Retry-After."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trading.projectx.auth import backoff_delay


def test_the_step_doubles_up_to_the_cap() -> None:
    full = [backoff_delay(n, 1.0, 60.0, rand=lambda: 1.0) for n in range(1, 10)]
    assert full == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert backoff_delay(3, 1.0, 60.0, rand=lambda: 0.0) == 2.0  # jitter shaves at most half
    assert backoff_delay(10**6, 1.0, 60.0, rand=lambda: 1.0) == 60.0  # no overflow after a long outage


@given(
    st.integers(1, 10_000),
    st.floats(0.01, 10.0),
    st.floats(10.0, 600.0),
    st.none() | st.floats(0.0, 3600.0),
    st.floats(0.0, 1.0),
)
def test_the_delay_is_jittered_capped_and_never_before_retry_after(
    failures: int, first: float, cap: float, retry_after: float | None, r: float
) -> None:
    wait = backoff_delay(failures, first, cap, retry_after, rand=lambda: r)
    step = min(cap, first * 2.0 ** (failures - 1)) if failures < 64 else cap
    assert wait >= (retry_after or 0.0)
    assert wait >= step / 2 - 1e-9
    assert wait <= max(step, retry_after or 0.0) + 1e-9
