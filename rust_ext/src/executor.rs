//! `OrderExecutor`: the order path on one shared tokio runtime (pyo3-async-runtimes) with a
//! reqwest connection pool (rustls, keep-alive, TCP_NODELAY). Every method is awaitable from
//! Python and never holds the GIL while waiting; the result crosses back into asyncio without
//! the GIL on the tokio side (see `into_awaitable`).
//!
//! Retry policy (the same as the Python client, `trading/projectx/rest.py`):
//! * a mutation whose outcome is unknown (5xx, timeout, reset, unreadable answer) is re-sent only
//!   after a reconciliation shows it did not happen: place looks its customTag up; modify and
//!   cancel read the order; close reads the open positions; partial close cannot be reconciled
//!   (an unknown outcome is reported as such);
//! * waits follow `delays` (default 750 ms, 1.5 s, 3 s); a 429 waits at least Retry-After;
//! * a 401 asks Python for a fresh token (the `refresh` coroutine function) and re-sends once
//!   when nothing can have happened;
//! * a broker rejection (HTTP 200, success false) is final.
//!
//! Every call returns a `CallResult` with its outcome and its own duration in ns.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3_async_runtimes::TaskLocals;
use serde_json::Value;

use crate::http::{attempt, build_client, format_ts, Attempt, Envelope};
use crate::wire::*;

/// Outcome of one executor call. `outcome` is one of: ok, rejected, uncertain, transport,
/// rate_limited, auth, http_status, bad_answer.
#[pyclass(module = "trading._native", frozen, get_all)]
#[derive(Debug, Clone, Default)]
pub struct CallResult {
    pub outcome: String,
    pub order_id: Option<i64>,
    pub error_code: Option<i64>,
    pub message: Option<String>,
    pub retry_after: Option<f64>,
    pub status: Option<u16>,
    pub order_json: Option<String>,
    pub elapsed_ns: u64,
    pub attempts: u32,
}

#[pymethods]
impl CallResult {
    fn __repr__(&self) -> String {
        format!("{self:?}")
    }
}

/// How to find out whether a mutation with an unknown outcome happened.
enum Reconcile {
    Place {
        account_id: i64,
        tag: String,
        since_ns: i64,
    },
    Modify {
        account_id: i64,
        order_id: i64,
        size: Option<i64>,
        limit: Option<f64>,
        stop: Option<f64>,
        trail: bool,
    },
    Cancel {
        account_id: i64,
        order_id: i64,
    },
    Close {
        account_id: i64,
        contract_id: String,
    },
    Nothing,
}

enum Found {
    Done(Option<i64>),
    Rejected(i64, String, Option<i64>),
    Absent,
    Unknown(String),
    Uncertain(String),
}

fn status_name(s: i64) -> &'static str {
    match s {
        STATUS_FILLED => "filled",
        STATUS_CANCELLED => "cancelled",
        STATUS_EXPIRED => "expired",
        STATUS_REJECTED => "rejected",
        _ => "settled",
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn field_i64(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

pub struct Inner {
    client: reqwest::Client,
    base: String,
    token: RwLock<String>,
    delays: Vec<Duration>,
    refresh: Option<Py<PyAny>>,
    contracts: Mutex<HashMap<String, String>>,
}

impl Inner {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn token(&self) -> String {
        self.token.read().map(|t| t.clone()).unwrap_or_default()
    }

    async fn refresh_token(&self) -> Result<(), String> {
        let cb = self
            .refresh
            .as_ref()
            .ok_or("no token refresher configured")?;
        let fut = Python::attach(|py| -> PyResult<_> {
            let coro = cb.bind(py).call0()?;
            pyo3_async_runtimes::tokio::into_future(coro)
        })
        .map_err(|e| format!("token refresh failed: {e}"))?;
        let obj = fut
            .await
            .map_err(|e| format!("token refresh failed: {e}"))?;
        let tok: String = Python::attach(|py| obj.bind(py).extract())
            .map_err(|e| format!("token refresh: {e}"))?;
        if let Ok(mut t) = self.token.write() {
            *t = tok;
        }
        Ok(())
    }

    /// One read without retries (used by reconciliations).
    async fn read_once(&self, path: &str, body: &Value) -> Result<Envelope, String> {
        match attempt(&self.client, &self.url(path), &self.token(), body).await {
            Attempt::Answer(env) if env.success => Ok(env),
            Attempt::Answer(env) => Err(format!("error code {}", env.error_code)),
            other => Err(format!("{other:?}")),
        }
    }

    async fn reconcile(&self, rec: &Reconcile) -> Found {
        match rec {
            Reconcile::Place {
                account_id,
                tag,
                since_ns,
            } => {
                let body = body(&SearchOrdersBody {
                    account_id: *account_id,
                    start_timestamp: format_ts(*since_ns),
                });
                let env = match self.read_once(PATH_ORDER_SEARCH, &body).await {
                    Ok(e) => e,
                    Err(e) => return Found::Unknown(e),
                };
                let hit = env
                    .orders
                    .unwrap_or_default()
                    .into_iter()
                    .find(|o| o.get("customTag").and_then(Value::as_str) == Some(tag.as_str()));
                match hit {
                    None => Found::Absent,
                    Some(o) if field_i64(&o, "status") == Some(STATUS_REJECTED) => Found::Rejected(
                        PLACE_ORDER_REJECTED,
                        "rejected (found by its tag after the answer was lost)".into(),
                        field_i64(&o, "id"),
                    ),
                    Some(o) => Found::Done(field_i64(&o, "id")),
                }
            }
            Reconcile::Modify {
                account_id,
                order_id,
                size,
                limit,
                stop,
                trail,
            } => {
                let body = body(&OrderRefBody {
                    account_id: *account_id,
                    order_id: *order_id,
                });
                let order = match self.read_once(PATH_ORDER_SEARCH_BY_ID, &body).await {
                    Ok(Envelope { order: Some(o), .. }) => o,
                    Ok(_) => return Found::Unknown("no order in the answer".into()),
                    Err(e) => return Found::Unknown(e),
                };
                let same_f = |key: &str, want: &Option<f64>| {
                    want.is_none() || order.get(key).and_then(Value::as_f64) == *want
                };
                if (size.is_none() || field_i64(&order, "size") == *size)
                    && same_f("limitPrice", limit)
                    && same_f("stopPrice", stop)
                    && !trail
                {
                    return Found::Done(Some(*order_id));
                }
                match field_i64(&order, "status") {
                    Some(
                        s @ (STATUS_FILLED | STATUS_CANCELLED | STATUS_EXPIRED | STATUS_REJECTED),
                    ) => Found::Rejected(
                        MODIFY_REJECTED,
                        format!("the order is already {}", status_name(s)),
                        Some(*order_id),
                    ),
                    _ => Found::Absent,
                }
            }
            Reconcile::Cancel {
                account_id,
                order_id,
            } => {
                let body = body(&OrderRefBody {
                    account_id: *account_id,
                    order_id: *order_id,
                });
                let order = match self.read_once(PATH_ORDER_SEARCH_BY_ID, &body).await {
                    Ok(Envelope { order: Some(o), .. }) => o,
                    Ok(_) => return Found::Unknown("no order in the answer".into()),
                    Err(e) => return Found::Unknown(e),
                };
                match field_i64(&order, "status") {
                    Some(STATUS_CANCELLED | STATUS_PENDING_CANCELLATION) => {
                        Found::Done(Some(*order_id))
                    }
                    Some(s @ (STATUS_FILLED | STATUS_EXPIRED | STATUS_REJECTED)) => {
                        Found::Rejected(
                            CANCEL_REJECTED,
                            format!("the order is already {}", status_name(s)),
                            Some(*order_id),
                        )
                    }
                    _ => Found::Absent,
                }
            }
            Reconcile::Close {
                account_id,
                contract_id,
            } => {
                let body = body(&AccountBody {
                    account_id: *account_id,
                });
                match self.read_once(PATH_POSITION_SEARCH_OPEN, &body).await {
                    Err(e) => Found::Unknown(e),
                    Ok(env) => {
                        let open = env.positions.unwrap_or_default().iter().any(|p| {
                            p.get("contractId").and_then(Value::as_str)
                                == Some(contract_id.as_str())
                                && field_i64(p, "size").unwrap_or(0) != 0
                        });
                        if open {
                            Found::Uncertain(format!(
                                "{contract_id} is still open after a lost answer"
                            ))
                        } else {
                            Found::Done(None)
                        }
                    }
                }
            }
            Reconcile::Nothing => Found::Unknown("cannot be reconciled".into()),
        }
    }

    async fn mutate(&self, path: &str, body: Value, rec: Reconcile) -> CallResult {
        let start = Instant::now();
        let mut r = CallResult::default();
        let done = |mut r: CallResult, outcome: &str| {
            r.outcome = outcome.to_string();
            r.elapsed_ns = start.elapsed().as_nanos() as u64;
            r
        };
        let (mut step, mut maybe_sent, mut reauthed, mut throttled) = (0usize, false, false, false);
        let mut last: String;
        let url = self.url(path);
        loop {
            let mut wait = 0.0f64;
            r.attempts += 1;
            match attempt(&self.client, &url, &self.token(), &body).await {
                Attempt::Answer(env) => {
                    if env.success {
                        r.order_id = env.order_id;
                        return done(r, "ok");
                    }
                    if maybe_sent {
                        match self.reconcile(&rec).await {
                            Found::Done(id) => {
                                r.order_id = id;
                                return done(r, "ok");
                            }
                            Found::Rejected(code, msg, id) => {
                                (r.error_code, r.message, r.order_id) = (Some(code), Some(msg), id);
                                return done(r, "rejected");
                            }
                            _ => {}
                        }
                    }
                    (r.error_code, r.message, r.order_id) =
                        (Some(env.error_code), env.error_message, env.order_id);
                    return done(r, "rejected");
                }
                Attempt::Unauthorized => {
                    if reauthed {
                        r.message = Some(
                            "The broker refused our session even after logging in again".into(),
                        );
                        r.status = Some(401);
                        return done(r, "auth");
                    }
                    if let Err(e) = self.refresh_token().await {
                        r.message = Some(e);
                        r.status = Some(401);
                        return done(r, "auth");
                    }
                    reauthed = true;
                    last = "session expired".into();
                    if !maybe_sent {
                        continue;
                    }
                }
                Attempt::Throttled(ra) => {
                    last = "rate limited".into();
                    throttled = true;
                    wait = ra.unwrap_or(0.0);
                    r.retry_after = ra;
                }
                Attempt::Unsent(d) => {
                    last = d;
                    throttled = false;
                }
                Attempt::Lost(d) | Attempt::BadAnswer(d) => {
                    maybe_sent = true;
                    last = d;
                }
                Attempt::Status(code, text) => {
                    r.status = Some(code);
                    r.message = Some(text);
                    return done(r, "http_status");
                }
            }
            loop {
                if step >= self.delays.len() {
                    r.message = Some(last.clone());
                    if maybe_sent {
                        return done(r, "uncertain");
                    }
                    return done(
                        r,
                        if throttled {
                            "rate_limited"
                        } else {
                            "transport"
                        },
                    );
                }
                let secs = self.delays[step].as_secs_f64().max(wait);
                tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                step += 1;
                if !maybe_sent {
                    break;
                }
                match self.reconcile(&rec).await {
                    Found::Unknown(e) if !matches!(rec, Reconcile::Nothing) => {
                        last = format!("{last}; could not check the broker ({e})");
                    }
                    Found::Unknown(_) => {
                        r.message = Some(last.clone());
                        return done(r, "uncertain");
                    }
                    Found::Done(id) => {
                        r.order_id = id;
                        return done(r, "ok");
                    }
                    Found::Rejected(code, msg, id) => {
                        (r.error_code, r.message, r.order_id) = (Some(code), Some(msg), id);
                        return done(r, "rejected");
                    }
                    Found::Uncertain(msg) => {
                        r.message = Some(msg);
                        return done(r, "uncertain");
                    }
                    Found::Absent => break,
                }
            }
        }
    }

    async fn find_by_tag(&self, account_id: i64, tag: String, since_ns: i64) -> CallResult {
        let start = Instant::now();
        let body = body(&SearchOrdersBody {
            account_id,
            start_timestamp: format_ts(since_ns),
        });
        let mut r = CallResult::default();
        let (mut step, mut reauthed) = (0usize, false);
        loop {
            r.attempts += 1;
            let mut wait = 0.0;
            let failure = match attempt(
                &self.client,
                &self.url(PATH_ORDER_SEARCH),
                &self.token(),
                &body,
            )
            .await
            {
                Attempt::Answer(env) if env.success => {
                    let hit =
                        env.orders.unwrap_or_default().into_iter().find(|o| {
                            o.get("customTag").and_then(Value::as_str) == Some(tag.as_str())
                        });
                    r.order_id = hit.as_ref().and_then(|o| field_i64(o, "id"));
                    r.order_json = hit.map(|o| o.to_string());
                    r.outcome = "ok".into();
                    break;
                }
                Attempt::Answer(env) => {
                    (r.error_code, r.message) = (Some(env.error_code), env.error_message);
                    r.outcome = "rejected".into();
                    break;
                }
                Attempt::Unauthorized if !reauthed => {
                    reauthed = true;
                    match self.refresh_token().await {
                        Ok(()) => continue,
                        Err(e) => ("auth", e),
                    }
                }
                Attempt::Unauthorized => {
                    ("auth", "session refused after logging in again".to_string())
                }
                Attempt::Throttled(ra) => {
                    wait = ra.unwrap_or(0.0);
                    r.retry_after = ra;
                    ("rate_limited", "rate limited".to_string())
                }
                Attempt::Unsent(d) | Attempt::Lost(d) => ("transport", d),
                Attempt::BadAnswer(d) => ("bad_answer", d),
                Attempt::Status(code, text) => {
                    r.status = Some(code);
                    ("http_status", text)
                }
            };
            let retryable = matches!(failure.0, "transport" | "rate_limited");
            if !retryable || step >= self.delays.len() {
                r.outcome = failure.0.into();
                r.message = Some(failure.1);
                break;
            }
            tokio::time::sleep(Duration::from_secs_f64(
                self.delays[step].as_secs_f64().max(wait),
            ))
            .await;
            step += 1;
        }
        r.elapsed_ns = start.elapsed().as_nanos() as u64;
        r
    }
}

/// The order executor. `refresh` is an async Python callable returning a fresh token (after 401).
#[pyclass(module = "trading._native", frozen)]
pub struct OrderExecutor {
    inner: Arc<Inner>,
}

#[pymethods]
impl OrderExecutor {
    #[new]
    #[pyo3(signature = (base_url, token, refresh = None, delays_s = vec![0.75, 1.5, 3.0], timeout_s = 10.0, max_idle = 32))]
    fn new(
        base_url: &str,
        token: String,
        refresh: Option<Py<PyAny>>,
        delays_s: Vec<f64>,
        timeout_s: f64,
        max_idle: usize,
    ) -> PyResult<Self> {
        if !(timeout_s.is_finite() && timeout_s > 0.0)
            || delays_s.iter().any(|d| !d.is_finite() || *d < 0.0)
        {
            return Err(PyValueError::new_err(
                "timeout must be positive and delays non-negative",
            ));
        }
        // The shared runtime must exist before reqwest's pool is used from it.
        let _ = pyo3_async_runtimes::tokio::get_runtime();
        let client = build_client(Duration::from_secs_f64(timeout_s), max_idle)
            .map_err(|e| PyValueError::new_err(format!("cannot build the HTTP client: {e}")))?;
        Ok(OrderExecutor {
            inner: Arc::new(Inner {
                client,
                base: base_url.trim_end_matches('/').to_string(),
                token: RwLock::new(token),
                delays: delays_s.into_iter().map(Duration::from_secs_f64).collect(),
                refresh,
                contracts: Mutex::new(HashMap::new()),
            }),
        })
    }

    fn set_token(&self, token: String) {
        if let Ok(mut t) = self.inner.token.write() {
            *t = token;
        }
    }

    fn cache_contract(&self, symbol: String, contract_id: String) {
        if let Ok(mut c) = self.inner.contracts.lock() {
            c.insert(symbol, contract_id);
        }
    }

    fn cached_contract(&self, symbol: &str) -> Option<String> {
        self.inner.contracts.lock().ok()?.get(symbol).cloned()
    }

    /// place(account_id, contract_id, order_type, side, size, ...) -> CallResult (awaitable).
    /// `order_type`/`side` are wire ints; bracket ticks are magnitudes, signed here (§10.2).
    #[pyo3(signature = (account_id, contract_id, order_type, side, size, custom_tag, limit_price = None, stop_price = None, trail_price = None, stop_loss_ticks = None, take_profit_ticks = None))]
    #[allow(clippy::too_many_arguments)]
    fn place<'py>(
        &self,
        py: Python<'py>,
        account_id: i64,
        contract_id: String,
        order_type: i64,
        side: i64,
        size: i64,
        custom_tag: String,
        limit_price: Option<f64>,
        stop_price: Option<f64>,
        trail_price: Option<f64>,
        stop_loss_ticks: Option<i64>,
        take_profit_ticks: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let sign = if side == SIDE_BID { 1 } else { -1 };
        let m = body(&PlaceBody {
            account_id,
            contract_id,
            order_type,
            side,
            size,
            limit_price,
            stop_price,
            trail_price,
            custom_tag: custom_tag.clone(),
            stop_loss_bracket: stop_loss_ticks.map(|t| BracketBody {
                ticks: -t.abs() * sign,
                order_type: ORDER_TYPE_STOP,
            }),
            take_profit_bracket: take_profit_ticks.map(|t| BracketBody {
                ticks: t.abs() * sign,
                order_type: ORDER_TYPE_LIMIT,
            }),
        });
        let rec = Reconcile::Place {
            account_id,
            tag: custom_tag,
            since_ns: now_ns() - 60_000_000_000,
        };
        let inner = self.inner.clone();
        into_awaitable(
            py,
            async move { inner.mutate(PATH_ORDER_PLACE, m, rec).await },
        )
    }

    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (account_id, order_id, size = None, limit_price = None, stop_price = None, trail_price = None))]
    fn modify<'py>(
        &self,
        py: Python<'py>,
        account_id: i64,
        order_id: i64,
        size: Option<i64>,
        limit_price: Option<f64>,
        stop_price: Option<f64>,
        trail_price: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = body(&ModifyBody {
            account_id,
            order_id,
            size,
            limit_price,
            stop_price,
            trail_price,
        });
        let rec = Reconcile::Modify {
            account_id,
            order_id,
            size,
            limit: limit_price,
            stop: stop_price,
            trail: trail_price.is_some(),
        };
        let inner = self.inner.clone();
        into_awaitable(
            py,
            async move { inner.mutate(PATH_ORDER_MODIFY, m, rec).await },
        )
    }

    fn cancel<'py>(
        &self,
        py: Python<'py>,
        account_id: i64,
        order_id: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let body = body(&OrderRefBody {
            account_id,
            order_id,
        });
        let inner = self.inner.clone();
        into_awaitable(py, async move {
            inner
                .mutate(
                    PATH_ORDER_CANCEL,
                    body,
                    Reconcile::Cancel {
                        account_id,
                        order_id,
                    },
                )
                .await
        })
    }

    fn close_position<'py>(
        &self,
        py: Python<'py>,
        account_id: i64,
        contract_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let body = body(&ClosePositionBody {
            account_id,
            contract_id: contract_id.clone(),
            size: None,
        });
        let inner = self.inner.clone();
        into_awaitable(py, async move {
            inner
                .mutate(
                    PATH_POSITION_CLOSE,
                    body,
                    Reconcile::Close {
                        account_id,
                        contract_id,
                    },
                )
                .await
        })
    }

    fn partial_close<'py>(
        &self,
        py: Python<'py>,
        account_id: i64,
        contract_id: String,
        size: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let body = body(&ClosePositionBody {
            account_id,
            contract_id: contract_id.clone(),
            size: Some(size),
        });
        let inner = self.inner.clone();
        into_awaitable(py, async move {
            inner
                .mutate(PATH_POSITION_PARTIAL_CLOSE, body, Reconcile::Nothing)
                .await
        })
    }

    /// A call without I/O: what crossing into the runtime and back to asyncio costs (bench probe).
    fn noop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        into_awaitable(py, async {
            CallResult {
                outcome: "ok".into(),
                ..CallResult::default()
            }
        })
    }

    /// The order carrying `custom_tag` created since `since_ns` (order_json is None when absent).
    fn find_by_tag<'py>(
        &self,
        py: Python<'py>,
        account_id: i64,
        custom_tag: String,
        since_ns: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        into_awaitable(py, async move {
            inner.find_by_tag(account_id, custom_tag, since_ns).await
        })
    }
}

// ---------------------------------------------------------------- crossing back into asyncio
//
// pyo3-async-runtimes' `future_into_py` completes a call with a second spawn, a hop through the
// blocking pool and a GIL acquisition there. Here the worker never takes the GIL: it queues the
// finished `CallResult` in the event loop's inbox and writes one byte to a socketpair the loop
// watches (`loop.add_reader`); the loop thread drains the inbox and sets the futures. A loop
// without `add_reader` gets `call_soon_threadsafe` from the worker instead.

type Finished = (Py<PyAny>, Result<CallResult, String>);

/// The finished calls of one event loop, and the socketpair that wakes it.
struct Inbox {
    done: Mutex<Vec<Finished>>,
    /// A wake-up byte is in flight (at most one per drain).
    armed: AtomicBool,
    tx: UnixStream,
    rx: UnixStream,
}

impl Inbox {
    fn post(&self, item: Finished) {
        self.done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(item);
        if !self.armed.swap(true, Ordering::AcqRel) {
            // The pair is non-blocking and holds at most a few bytes: a failure cannot be full.
            let _ = (&self.tx).write(&[1]);
        }
    }
}

fn finish(py: Python<'_>, fut: &Bound<'_, PyAny>, r: Result<CallResult, String>) -> PyResult<()> {
    if fut.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Ok(()); // cancelled meanwhile
    }
    match r {
        Ok(r) => fut.call_method1(intern!(py, "set_result"), (Py::new(py, r)?,))?,
        Err(msg) => fut.call_method1(
            intern!(py, "set_exception"),
            (pyo3_async_runtimes::err::RustPanic::new_err(msg).into_value(py),),
        )?,
    };
    Ok(())
}

/// The loop's reader callback: drain the wake-up bytes, then complete every finished call.
#[pyclass(module = "trading._native", frozen)]
struct Drain(Arc<Inbox>);

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) {
        let mut buf = [0u8; 64];
        while matches!((&self.0.rx).read(&mut buf), Ok(n) if n == buf.len()) {}
        self.0.armed.store(false, Ordering::Release);
        let batch = std::mem::take(&mut *self.0.done.lock().unwrap_or_else(|e| e.into_inner()));
        for (fut, r) in batch {
            if let Err(e) = finish(py, fut.bind(py), r) {
                e.print(py);
            }
        }
    }
}

/// `call_soon_threadsafe` target for loops without `add_reader`.
#[pyclass(module = "trading._native", frozen)]
struct Finish;

#[pymethods]
impl Finish {
    fn __call__(&self, fut: &Bound<'_, PyAny>, r: Py<CallResult>) -> PyResult<()> {
        let py = fut.py();
        if fut.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(());
        }
        fut.call_method1(intern!(py, "set_result"), (r,))?;
        Ok(())
    }
}

/// One inbox per event loop (the loop is kept alive by the entry; closed loops are forgotten).
static INBOXES: Mutex<Vec<(Py<PyAny>, Arc<Inbox>)>> = Mutex::new(Vec::new());

fn inbox_for(event_loop: &Bound<'_, PyAny>) -> Option<Arc<Inbox>> {
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
    let (tx, rx) = UnixStream::pair().ok()?;
    tx.set_nonblocking(true).ok()?;
    rx.set_nonblocking(true).ok()?;
    let inbox = Arc::new(Inbox {
        done: Mutex::new(Vec::new()),
        armed: AtomicBool::new(false),
        tx,
        rx,
    });
    event_loop
        .call_method1(
            intern!(py, "add_reader"),
            (inbox.rx.as_raw_fd(), Drain(inbox.clone())),
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

/// Runs `fut` on the shared runtime and returns an asyncio future for its `CallResult`. The task
/// keeps the caller's event loop and contextvars (the 401 refresh awaits a Python coroutine), a
/// panic becomes `RustPanic` on the future, and cancelling the future aborts the task.
fn into_awaitable<F>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: std::future::Future<Output = CallResult> + Send + 'static,
{
    let locals = TaskLocals::with_running_loop(py)?.copy_context(py)?;
    let event_loop = locals.event_loop(py);
    let py_fut = event_loop.call_method0(intern!(py, "create_future"))?;
    let target: Py<PyAny> = py_fut.clone().unbind();
    let inbox = inbox_for(&event_loop);
    let loop_ref: Py<PyAny> = event_loop.unbind();
    let task = pyo3_async_runtimes::tokio::scope(locals, async move {
        let out = std::panic::AssertUnwindSafe(fut)
            .catch_unwind()
            .await
            .map_err(|p| panic_message(&*p));
        if let Some(inbox) = inbox {
            return inbox.post((target, out));
        }
        Python::attach(|py| {
            let sent = match out {
                Ok(r) => Py::new(py, r).and_then(|r| {
                    loop_ref.bind(py).call_method1(
                        intern!(py, "call_soon_threadsafe"),
                        (Finish, target.bind(py), r),
                    )
                }),
                Err(msg) => {
                    let err = pyo3_async_runtimes::err::RustPanic::new_err(msg).into_value(py);
                    target
                        .bind(py)
                        .getattr(intern!(py, "set_exception"))
                        .and_then(|f| {
                            loop_ref
                                .bind(py)
                                .call_method1(intern!(py, "call_soon_threadsafe"), (f, err))
                        })
                }
            };
            // The loop may be closed already: nobody is waiting then.
            if let Err(e) = sent {
                e.print(py);
            }
        });
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
fn init_runtime() {
    let threads = std::env::var("TRADEBOT_TOKIO_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(threads).enable_all();
    pyo3_async_runtimes::tokio::init(builder);
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    init_runtime();
    m.add_class::<OrderExecutor>()?;
    m.add_class::<CallResult>()?;
    Ok(())
}
