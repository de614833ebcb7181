//! `HubClient`, the Python face of `realtime::client::Client`. Python takes the client's queue in
//! one crossing per batch (`next_batch`); each record crosses as a typed, frozen object
//! (`records.rs`) built on the event loop's thread (`bridge`).

mod on_loop;
mod records;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pyo3::exceptions::{PyConnectionError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::PyList;
use pyo3::IntoPyObjectExt;

use super::bridge::{self, failed, into_awaitable, ready};
use crate::realtime::client::{Client, Config, TokenFn};
use crate::realtime::messages::Record;
use on_loop::OnLoop;
use records::{batch_to_py, Names, Prices, QuoteObjects};

/// What the records of a batch are built with, on the loop's thread.
#[derive(Default)]
struct Builders {
    names: Names,
    prices: Prices,
    quotes: Option<QuoteObjects>,
}

/// A batch as the Python list `next_batch` resolves to, built on the loop's thread.
fn build_batch(
    py: Python<'_>,
    builders: &Mutex<Builders>,
    batch: Vec<Record>,
    seen: i64,
) -> PyResult<Py<PyAny>> {
    let mut guard = builders
        .lock_py_attached(py)
        .unwrap_or_else(|e| e.into_inner());
    let b = &mut *guard;
    let items = batch_to_py(
        py,
        batch,
        seen,
        &mut b.names,
        &mut b.prices,
        b.quotes.as_ref(),
    )?;
    PyList::new(py, items)?.into_py_any(py)
}

/// A supervised hub client. `HubClient(url, hub, token, ...)`, then `await start()`.
#[pyclass(module = "trading._native", frozen)]
struct HubClient {
    inner: Arc<Client>,
    builders: Arc<Mutex<Builders>>,
    /// `batch_seen_ns` of the batch `next_batch` handed over last.
    seen_ns: Arc<AtomicI64>,
    /// Set by `read_on_loop`: the hub is read on the event loop's thread.
    on_loop: OnceLock<Arc<OnLoop>>,
}

impl Drop for HubClient {
    /// Forgotten without `stop()` (the Python object collected): end the tasks and the connection.
    fn drop(&mut self) {
        if !self.inner.is_stopping() {
            self.inner.stop();
        }
    }
}

fn args(json: &str) -> PyResult<serde_json::Value> {
    serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("bad arguments: {e}")))
}

#[pymethods]
impl HubClient {
    /// HubClient(url, hub, token, timeout_s=10, keep_alive_s=10, reconnect_delays_s=(0.5, 1, 2, 5,
    /// 10, 30), stale_after_s=None, keepalive_stale_s=None, coalesce_quotes=False).
    /// `url` is the hub's http(s) URL; `hub` names it in status messages ("Market", "User");
    /// `token()` returns the current access token (called at every connect, from a worker thread);
    /// `coalesce_quotes`: a batch carries each contract's last quote only (the earlier ones are
    /// dropped before they cross, counted in `coalesced`).
    #[new]
    #[pyo3(signature = (url, hub, token, timeout_s = 10.0, keep_alive_s = 10.0, reconnect_delays_s = vec![0.5, 1.0, 2.0, 5.0, 10.0, 30.0], stale_after_s = None, keepalive_stale_s = None, coalesce_quotes = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: String,
        hub: String,
        token: Py<PyAny>,
        timeout_s: f64,
        keep_alive_s: f64,
        reconnect_delays_s: Vec<f64>,
        stale_after_s: Option<f64>,
        keepalive_stale_s: Option<f64>,
        coalesce_quotes: bool,
    ) -> PyResult<Self> {
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !(positive(timeout_s) && positive(keep_alive_s)) {
            return Err(PyValueError::new_err("timeouts must be positive"));
        }
        if reconnect_delays_s
            .iter()
            .any(|d| !(d.is_finite() && *d >= 0.0))
        {
            return Err(PyValueError::new_err("reconnect delays must be >= 0"));
        }
        if stale_after_s.is_some_and(|s| !positive(s)) {
            return Err(PyValueError::new_err("stale_after_s must be positive"));
        }
        if keepalive_stale_s.is_some_and(|s| !positive(s)) {
            return Err(PyValueError::new_err("keepalive_stale_s must be positive"));
        }
        let mut delays: Vec<Duration> = reconnect_delays_s
            .into_iter()
            .map(Duration::from_secs_f64)
            .collect();
        if delays.is_empty() {
            delays.push(Duration::from_secs(1));
        }
        let cfg = Config {
            url,
            hub,
            timeout: Duration::from_secs_f64(timeout_s),
            keep_alive: Duration::from_secs_f64(keep_alive_s),
            delays,
            stale_after_s,
            keepalive_stale_s,
        };
        let token: TokenFn = Box::new(move || {
            Python::attach(|py| {
                token
                    .call0(py)
                    .and_then(|t| t.bind(py).extract::<String>())
                    .map_err(|e| e.to_string())
            })
        });
        let inner = Arc::new(Client::new(cfg, token, bridge::runtime()));
        inner.shared().set_coalesce(coalesce_quotes);
        Ok(HubClient {
            inner,
            builders: Arc::default(),
            seen_ns: Arc::default(),
            on_loop: OnceLock::new(),
        })
    }

    /// From now on a quote crosses as `event_type` holding a `quote_type` built in place (see
    /// `trading.projectx.lazy_quote.LazyQuote`), not as a `QuoteRecord`: `price(x)` makes a price
    /// object from a float (cached by value), `clock(seen_ns)` the batch's `ts_init` from the wall-clock
    /// ns its oldest frame came off the socket (0: unknown).
    fn build_quotes(
        &self,
        py: Python<'_>,
        event_type: Py<PyAny>,
        quote_type: Py<PyAny>,
        price: Py<PyAny>,
        clock: Py<PyAny>,
    ) -> PyResult<()> {
        let objects = QuoteObjects::new(py, event_type, quote_type, price, clock)?;
        self.builders
            .lock_py_attached(py)
            .unwrap_or_else(|e| e.into_inner())
            .quotes = Some(objects);
        Ok(())
    }

    /// Connect (handshake done, subscriptions sent) and start the watchdog; raises
    /// ConnectionError when the first connection fails (no retry: the caller decides).
    fn start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let me = self.inner.clone();
        into_awaitable(py, async move {
            match me.start().await {
                Ok(()) => ready(()),
                Err(e) => failed(move || PyConnectionError::new_err(e)),
            }
        })
    }

    /// Stop for good: tasks ended, connection closed; `next_batch` ends with an `EndRecord`.
    fn stop(&self) {
        self.inner.stop();
    }

    /// Drop the connection and build a new one (token read again, every subscription re-sent),
    /// with backoff; reports `reconnected`.
    fn reconnect<'py>(&self, py: Python<'py>, reason: String) -> PyResult<Bound<'py, PyAny>> {
        let me = self.inner.clone();
        into_awaitable(py, async move {
            me.reconnect(&reason).await;
            ready(())
        })
    }

    /// A new token was issued: rebuild in the background; reports `token_refreshed` after.
    fn token_changed(&self) {
        self.inner.token_changed();
    }

    /// Remember a subscription (re-sent after every reconnect) and, when connected, invoke it:
    /// resolves to None, the hub's error (the subscription is then forgotten) or "lost".
    fn subscribe<'py>(
        &self,
        py: Python<'py>,
        method: String,
        key: String,
        args_json: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = args(&args_json)?;
        self.inner.remember(&method, &key, &args);
        let me = self.inner.clone();
        into_awaitable(
            py,
            async move { ready(me.subscribe(method, key, args).await) },
        )
    }

    /// Forget a subscription and, when it was remembered and we are connected, invoke `unmethod`.
    fn unsubscribe<'py>(
        &self,
        py: Python<'py>,
        method: String,
        unmethod: String,
        key: String,
        args_json: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = self
            .inner
            .unsubscribe(&method, unmethod, &key, args(&args_json)?);
        into_awaitable(py, async move { ready(call.await) })
    }

    /// The answer to a `MarketHoursRecord`: is the market open now?
    fn market_hours(&self, open: bool) {
        self.inner.market_hours(open);
    }

    /// Everything queued since the last call (waits until something is there), as records.
    fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(on_loop) = self.on_loop.get() {
            return on_loop.next_batch(py);
        }
        let (me, builders, seen_ns) = (
            self.inner.clone(),
            self.builders.clone(),
            self.seen_ns.clone(),
        );
        into_awaitable(py, async move {
            let (batch, seen) = me.shared().next_batch_seen().await;
            seen_ns.store(seen, Ordering::Release);
            Box::new(move |py: Python<'_>| build_batch(py, &builders, batch, seen))
                as bridge::Outcome
        })
    }

    /// Before `start()`, on the running loop: read a plain ws:// hub's socket on this loop's own
    /// thread (`loop.add_reader`) instead of a tokio reader that hands each batch over between
    /// threads. False when the loop cannot watch descriptors (the tokio reader serves then);
    /// https hubs are always read by the tokio reader. `close_loop()` after `stop()` undoes it.
    fn read_on_loop(&self, py: Python<'_>) -> PyResult<bool> {
        if self.on_loop.get().is_some() {
            return Ok(true);
        }
        let started = OnLoop::start(
            py,
            self.inner.clone(),
            self.builders.clone(),
            self.seen_ns.clone(),
        )?;
        Ok(started.is_some_and(|on_loop| self.on_loop.set(on_loop).is_ok()))
    }

    /// After `stop()` and the last batch: the loop stops watching this client's descriptors.
    fn close_loop(&self, py: Python<'_>) {
        if let Some(on_loop) = self.on_loop.get() {
            on_loop.close(py);
        }
    }

    /// Tell `fast` (a `FastPath`) of every quote with a last price as it is decoded, before it is
    /// queued: an armed strategy trigger acts without Python (`python/fast_path.rs`). None unhooks.
    #[pyo3(signature = (fast = None))]
    fn set_quote_hook(&self, fast: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.inner
            .shared()
            .set_hook(super::fast_path::hook_of(fast)?);
        Ok(())
    }

    /// Connections read on the event loop's thread so far (0 without `read_on_loop`, or on https).
    #[getter]
    fn loop_connections(&self) -> u64 {
        self.on_loop.get().map_or(0, |on_loop| on_loop.taken())
    }

    /// The descriptors the event loop watches for this client (`read_on_loop`): the wake-up
    /// socketpair's, then the hub socket's while one is read; empty after `close_loop()`.
    #[getter]
    fn loop_fds(&self, py: Python<'_>) -> Vec<i32> {
        match self.on_loop.get() {
            Some(on_loop) if !on_loop.closed() => on_loop.fds(py),
            _ => Vec::new(),
        }
    }

    /// Quotes dropped by `coalesce_quotes` so far.
    #[getter]
    fn coalesced(&self) -> u64 {
        self.inner.shared().coalesced()
    }

    #[getter]
    fn connected(&self) -> bool {
        self.inner.connected()
    }

    /// Successful connections so far (the first one included).
    #[getter]
    fn connects(&self) -> u64 {
        self.inner.connects()
    }

    /// Stale alerts raised by the watchdog.
    #[getter]
    fn stale(&self) -> u64 {
        self.inner.stale_alerts()
    }

    /// Seconds since the last event (or connect).
    #[getter]
    fn silent_s(&self) -> f64 {
        self.inner.shared().silent_s()
    }

    /// Seconds since the last frame of any kind, keep-alive pings included (or connect).
    #[getter]
    fn frame_silent_s(&self) -> f64 {
        self.inner.shared().frame_silent_s()
    }

    /// Frames of any kind received so far (pings included).
    #[getter]
    fn frames(&self) -> u64 {
        self.inner.shared().frames()
    }

    /// Wall-clock ns since the epoch at which the oldest hub frame of the batch `next_batch` returned
    /// last was taken off the socket (0 when that batch held no hub data: status records only).
    #[getter]
    fn batch_seen_ns(&self) -> i64 {
        self.seen_ns.load(Ordering::Acquire)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HubClient>()?;
    records::register(m)
}
