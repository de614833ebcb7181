//! What every module shares: the ProjectX wire names, time maths (once), and the pyo3-free half of
//! the asyncio bridge (the inbox that wakes an event loop; its Python half is `python/bridge.rs`).

pub mod time;
pub mod wake;
pub mod wire;
