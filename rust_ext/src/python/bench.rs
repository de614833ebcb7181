//! Bindings used by `bench/` only.

use pyo3::prelude::*;

/// decode_burst(data) -> (frames, events, skipped): frame and decode a recorded byte stream and
/// merge its quotes per contract, all in Rust (the decode cost alone, for the benchmark).
#[pyfunction]
fn decode_burst(py: Python<'_>, data: Vec<u8>) -> (u64, u64, u64) {
    py.detach(move || crate::realtime::parse::decode_burst(&data))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_burst, m)?)?;
    Ok(())
}
