//! The backtester's Rust side. No pyo3 here: the bindings are `python/backtest.rs`.
//!
//! - `run.rs`: the whole backtest loop for a strategy with a Rust core (the overnight range), step for
//!   step `trading/backtest/runner.py`, with the book (`book.rs`, the fill conventions of
//!   `trading/backtest/fills.py`), the ledger (`ledger.rs`) and, for the profiles it covers, risk
//!   (`risk.rs`) in Rust; other profiles' risk stays the host's (Python's `RiskManager`).
//! - `skip.rs`: for the Python loop, which bars of a day can change nothing, so the loop need not
//!   replay them one by one. It answers conservatively: a bar is skipped only when, with float
//!   arithmetic and a margin wider than any rounding, no working order can fill in it, the strategy
//!   does not watch its symbol, and its mark-to-market cannot trip the kill switch. Any bar it is
//!   unsure of is left to the Python loop, which decides exactly; so the result is the Python
//!   backtest's, byte for byte, by construction. `run.rs` uses the same guard to decide which marks
//!   must be shown to risk.

pub mod book;
pub mod ledger;
pub mod risk;
pub mod run;
pub mod skip;
