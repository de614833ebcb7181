"""The live rules for native brackets on Order/place (projectx-api.md §4.6, §10.2)."""

from __future__ import annotations

from trading.projectx import schema as s

STOP_TYPES = (s.OrderType.STOP, s.OrderType.TRAILING_STOP)


def bracket_error(long: bool, sl: s.BracketModel | None, tp: s.BracketModel | None) -> str | None:
    """The errorMessage a live account in Auto OCO mode answers (code 2), or None when accepted.
    Ticks are signed offsets from the fill: long → SL < 0 and TP > 0; short → SL > 0 and TP < 0."""
    if sl is not None:
        if (long and sl.ticks >= 0) or (not long and sl.ticks <= 0):
            return s.msg_bracket_sign("stop loss", sl.ticks, long, below_zero=long)
        if sl.type not in STOP_TYPES:
            return s.MSG_SL_TYPE.format(type_name=s.order_type_name(sl.type))
        if abs(sl.ticks) < s.MIN_STOP_LOSS_TICKS:
            return s.msg_sl_too_close(sl.ticks)
    if tp is not None:
        if (long and tp.ticks <= 0) or (not long and tp.ticks >= 0):
            return s.msg_bracket_sign("take profit", tp.ticks, long, below_zero=not long)
        if tp.type != s.OrderType.LIMIT:
            # Only the limit take-profit is documented; the sim refuses other types.
            return s.MSG_TP_TYPE.format(type_name=s.order_type_name(tp.type))
    return None
