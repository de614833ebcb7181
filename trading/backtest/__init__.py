"""Backtests: bars replayed through the same strategies and risk as live (runner.py), with the spec's
fill conventions (fills.py), the ledger and result (ledger.py) and the bar CSV (bars_csv.py)."""
