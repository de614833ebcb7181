//! The PyO3 bindings of every module: the only place pyo3 appears (with `lib.rs`'s
//! `#[pymodule]`). Records cross into Python as typed, frozen objects; awaitable results cross
//! through one bridge (`bridge.rs`).

use pyo3::prelude::*;

mod backtest;
mod bars;
mod bench;
pub mod bridge;
mod executor;
mod fast_path;
mod realtime;
pub(crate) mod risk;
pub(crate) mod strategy;

/// Add every class and function to the module `trading._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    bridge::init_runtime();
    backtest::register(m)?;
    bars::register(m)?;
    executor::register(m)?;
    realtime::register(m)?;
    bench::register(m)?;
    strategy::register(m)?;
    fast_path::register(m)?;
    risk::register(m)?;
    Ok(())
}
