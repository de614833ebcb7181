//! The one way results reach asyncio. A Rust future runs on the shared tokio runtime; its result
//! is built into a Python object on the event loop's own thread, never on the tokio side:
//!
//! * the worker queues the finished future's `Outcome` (a closure that builds the result) in the
//!   loop's inbox and writes one byte to a socketpair the loop watches (`loop.add_reader`;
//!   `common/wake.rs`); the loop thread drains the inbox, builds each result and sets its future;
//! * a loop without `add_reader` gets `call_soon_threadsafe` from the worker instead (the worker
//!   takes the GIL to build the result then).
//!
//! pyo3-async-runtimes' `future_into_py` completes a call with a second spawn, a hop through the
//! blocking pool and a GIL acquisition there; this does neither. The task keeps the caller's event
//! loop and contextvars (a token refresh awaits a Python coroutine), a panic becomes `RustPanic`
//! on the future, and cancelling the future aborts the task.

use std::future::Future;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::IntoPyObjectExt;
use pyo3_async_runtimes::TaskLocals;

use crate::common::wake::Inbox;

/// How a finished future's result is made, on a thread holding the GIL.
pub type Outcome = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// The result `value`, converted when it reaches the loop.
pub fn ready<T>(value: T) -> Outcome
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    Box::new(move |py| value.into_py_any(py))
}

/// An exception for the awaiting coroutine.
pub fn failed(err: impl FnOnce() -> PyErr + Send + 'static) -> Outcome {
    Box::new(move |_py| Err(err()))
}

type Finished = (Py<PyAny>, Outcome);

/// Set `fut`'s result or exception, unless it was cancelled meanwhile.
fn finish(py: Python<'_>, fut: &Bound<'_, PyAny>, outcome: Outcome) -> PyResult<()> {
    if fut.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    match outcome(py) {
        Ok(value) => fut.call_method1(intern!(py, "set_result"), (value,))?,
        Err(err) => fut.call_method1(intern!(py, "set_exception"), (err.into_value(py),))?,
    };
    Ok(())
}

/// The loop's reader callback: complete every finished call.
#[pyclass(module = "trading._native", frozen)]
struct Drain(Arc<Inbox<Finished>>);

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) {
        for (fut, outcome) in self.0.drain() {
            if let Err(e) = finish(py, fut.bind(py), outcome) {
                e.print(py);
            }
        }
    }
}

/// `call_soon_threadsafe` target for loops without `add_reader`: the result is built already.
#[pyclass(module = "trading._native", frozen)]
struct Finish;

#[pymethods]
impl Finish {
    fn __call__(&self, fut: &Bound<'_, PyAny>, ok: bool, value: Py<PyAny>) -> PyResult<()> {
        let py = fut.py();
        if fut.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(());
        }
        let method = if ok {
            intern!(py, "set_result")
        } else {
            intern!(py, "set_exception")
        };
        fut.call_method1(method, (value,))?;
        Ok(())
    }
}

/// Event loops and their inboxes.
type Loops = Vec<(Py<PyAny>, Arc<Inbox<Finished>>)>;

/// One inbox per event loop (the loop is kept alive by the entry; closed loops are forgotten).
static INBOXES: Mutex<Loops> = Mutex::new(Vec::new());

fn inbox_for(event_loop: &Bound<'_, PyAny>) -> Option<Arc<Inbox<Finished>>> {
    let py = event_loop.py();
    let mut all = INBOXES
        .lock_py_attached(py)
        .unwrap_or_else(|e| e.into_inner());
    if let Some((_, inbox)) = all.iter().find(|(l, _)| l.bind(py).is(event_loop)) {
        return Some(inbox.clone());
    }
    all.retain(|(l, _)| {
        !l.bind(py)
            .call_method0(intern!(py, "is_closed"))
            .and_then(|c| c.is_truthy())
            .unwrap_or(true)
    });
    let inbox = Arc::new(Inbox::new().ok()?);
    event_loop
        .call_method1(
            intern!(py, "add_reader"),
            (inbox.fd(), Drain(inbox.clone())),
        )
        .ok()?;
    all.push((event_loop.clone().unbind(), inbox.clone()));
    Some(inbox)
}

/// Aborts the Rust task when its asyncio future is cancelled (as `future_into_py` does).
#[pyclass(module = "trading._native", frozen)]
struct AbortOnCancel(tokio::task::AbortHandle);

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut
            .call_method0(intern!(fut.py(), "cancelled"))?
            .is_truthy()?
        {
            self.0.abort();
        }
        Ok(())
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown error".into());
    format!("rust future panicked: {msg}")
}

/// Build the result on a worker holding the GIL and hand it to the loop thread.
fn post_threadsafe(
    py: Python<'_>,
    event_loop: &Bound<'_, PyAny>,
    fut: &Bound<'_, PyAny>,
    outcome: Outcome,
) {
    let (ok, value) = match outcome(py) {
        Ok(v) => (true, v),
        Err(e) => (false, e.into_value(py).into_any()),
    };
    let sent = event_loop.call_method1(
        intern!(py, "call_soon_threadsafe"),
        (Finish, fut, ok, value),
    );
    // The loop may be closed already: nobody is waiting then.
    if let Err(e) = sent {
        e.print(py);
    }
}

/// Runs `fut` on the shared runtime and returns an asyncio future for the result its `Outcome`
/// builds.
pub fn into_awaitable<F>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    let locals = TaskLocals::with_running_loop(py)?.copy_context(py)?;
    let event_loop = locals.event_loop(py);
    let py_fut = event_loop.call_method0(intern!(py, "create_future"))?;
    let target: Py<PyAny> = py_fut.clone().unbind();
    let inbox = inbox_for(&event_loop);
    let loop_ref: Py<PyAny> = event_loop.unbind();
    let task = pyo3_async_runtimes::tokio::scope(locals, async move {
        let outcome = std::panic::AssertUnwindSafe(fut)
            .catch_unwind()
            .await
            .unwrap_or_else(|p| {
                let msg = panic_message(&*p);
                failed(move || pyo3_async_runtimes::err::RustPanic::new_err(msg))
            });
        match inbox {
            Some(inbox) => inbox.post((target, outcome)),
            None => Python::attach(|py| {
                post_threadsafe(py, loop_ref.bind(py), target.bind(py), outcome)
            }),
        }
    });
    let handle = pyo3_async_runtimes::tokio::get_runtime().spawn(task);
    py_fut.call_method1(
        intern!(py, "add_done_callback"),
        (AbortOnCancel(handle.abort_handle()),),
    )?;
    Ok(py_fut)
}

/// The one shared tokio runtime (executor and streams): I/O only, so few workers; fewer threads
/// to schedule means fewer hops on a loaded box. `TRADEBOT_TOKIO_THREADS` overrides (default 1).
pub fn init_runtime() {
    let threads = std::env::var("TRADEBOT_TOKIO_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(threads).enable_all();
    pyo3_async_runtimes::tokio::init(builder);
}

/// A handle on the shared runtime (for tasks started outside it).
pub fn runtime() -> tokio::runtime::Handle {
    pyo3_async_runtimes::tokio::get_runtime().handle().clone()
}
