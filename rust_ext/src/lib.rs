//! `trading._native`: the Rust hot paths of tradebot, in the adapter shape (NautilusTrader's
//! `crates/adapters/*/src/`): core modules without pyo3, tested with `cargo test`, and their
//! bindings in `python/`.

pub mod backtest;
pub mod bars;
pub mod common;
pub mod executor;
pub mod python;
pub mod realtime;
pub mod risk;
pub mod signalr;
pub mod strategy;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    python::register(m)
}
