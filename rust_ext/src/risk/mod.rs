//! The pure risk checks that need no store: `RiskManager.check` of `trading/risk/manager.py`
//! (`check.rs`), over exact `Decimal` arithmetic (`decimal.rs`) and the exchange calendar's tables
//! (`calendar.rs`). No pyo3 here: the binding is `python/risk.rs`, the Python face
//! `trading/risk/native.py`. The kill switch's trips (`mark`) and the day roll stay Python: they
//! change the state the store keeps.

pub mod calendar;
pub mod check;
pub mod decimal;
