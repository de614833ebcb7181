//! The pure risk rules that need no store: `RiskManager.check` of `trading/risk/manager.py`
//! (`check.rs`), its `mark` and day roll (`mark.rs`), over exact `Decimal` arithmetic (`decimal.rs`)
//! and the exchange calendar's tables (`calendar.rs`). No pyo3 here: the bindings are
//! `python/risk.rs` (the engine's check, Python face `trading/risk/native.py`) and
//! `python/backtest.rs` (the Rust backtest loop's check and mark, through `backtest/risk.rs`).

pub mod calendar;
pub mod check;
pub mod decimal;
pub mod mark;
