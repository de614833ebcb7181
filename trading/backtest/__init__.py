"""Backtests: bars replayed through the same strategies and risk as live, with the spec's fill
conventions (fills.py)."""
