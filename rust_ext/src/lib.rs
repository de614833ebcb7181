//! `trading._native`: the Rust hot paths of tradebot. This file only registers the pieces.

use pyo3::prelude::*;

pub mod bars;
pub mod executor;
pub mod http;
pub mod signalr;
pub mod stream;
pub mod ticks;
pub mod wire;
pub mod zone;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    bars::register(m)?;
    executor::register(m)?;
    stream::register(m)?;
    signalr::register(m)?;
    Ok(())
}
