//! The backtest's fast-forward: which 1-minute bars of a day can change nothing, so the backtest
//! (`trading/backtest/runner.py`) need not replay them one by one. No pyo3 here: the binding is
//! `python/backtest.rs`.
//!
//! The Python loop stays the one authority on fills, the ledger, risk and the strategy; this module
//! only answers "from here, up to which bar is every bar a no-op?", and answers it conservatively:
//! a bar is skipped only when, with float arithmetic and a margin wider than any rounding, no working
//! order can fill in it, the strategy does not watch its symbol, and its mark-to-market cannot trip
//! the kill switch. Any bar it is unsure of is left to the Python loop, which decides exactly; so the
//! result is the Python backtest's, byte for byte, by construction.

pub mod skip;
