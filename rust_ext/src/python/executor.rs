//! `OrderExecutor`: the awaitable Python face of `executor::policy::Executor`. Every method
//! returns an asyncio future (`bridge::into_awaitable`) for a `CallResult` and never holds the GIL
//! while waiting; the token refresher is an async Python callable.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::bridge::{into_awaitable, ready};
use crate::executor::direct::Direct;
use crate::executor::here::{first_here, Tried};
use crate::executor::models::{self, PlaceOrder};
use crate::executor::policy::{Executor, Mutation, Refresh};
use crate::executor::timing::RetrySchedule;

/// Outcome of one executor call: `outcome` is one of ok, rejected, uncertain, transport,
/// rate_limited, auth, http_status, bad_answer; `elapsed_ns` is the call's own duration; `sent_ns` the
/// wall-clock time (ns since the epoch) its first request was handed to the connection, 0 if never.
#[pyclass(module = "trading._native", frozen, get_all)]
#[derive(Debug)]
pub(crate) struct CallResult {
    outcome: &'static str,
    order_id: Option<i64>,
    error_code: Option<i64>,
    message: Option<String>,
    retry_after: Option<f64>,
    status: Option<u16>,
    order_json: Option<String>,
    elapsed_ns: u64,
    attempts: u32,
    sent_ns: i64,
}

impl From<models::CallResult> for CallResult {
    fn from(r: models::CallResult) -> Self {
        CallResult {
            outcome: r.outcome.as_str(),
            order_id: r.order_id,
            error_code: r.error_code,
            message: r.message,
            retry_after: r.retry_after,
            status: r.status,
            order_json: r.order_json,
            elapsed_ns: r.elapsed_ns,
            attempts: r.attempts,
            sent_ns: r.sent_ns,
        }
    }
}

#[pymethods]
impl CallResult {
    fn __repr__(&self) -> String {
        format!("{self:?}")
    }
}

/// The token refresher: calls the async Python callable and awaits its coroutine on the caller's
/// event loop (the bridge keeps the task locals).
fn refresher(cb: Py<PyAny>) -> Refresh {
    let cb = Arc::new(cb);
    Arc::new(move || {
        let cb = cb.clone();
        Box::pin(async move {
            let fut = Python::attach(|py| {
                let coro = cb.bind(py).call0()?;
                pyo3_async_runtimes::tokio::into_future(coro)
            })
            .map_err(|e| format!("token refresh failed: {e}"))?;
            let obj = fut
                .await
                .map_err(|e| format!("token refresh failed: {e}"))?;
            Python::attach(|py| obj.bind(py).extract::<String>())
                .map_err(|e| format!("token refresh: {e}"))
        })
    })
}

/// The order executor. `refresh` is an async Python callable returning a fresh token (after 401).
#[pyclass(module = "trading._native", frozen)]
pub(crate) struct OrderExecutor {
    pub(crate) inner: Arc<Executor>,
    /// With `answer_within_us` and a plain-HTTP gateway: mutations try the caller's thread first.
    pub(crate) direct: Option<Arc<Direct>>,
}

impl OrderExecutor {
    /// Run `call` on the executor; the awaitable resolves to its `CallResult`.
    fn call<'py, F, Fut>(&self, py: Python<'py>, call: F) -> PyResult<Bound<'py, PyAny>>
    where
        F: FnOnce(Arc<Executor>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = models::CallResult> + Send + 'static,
    {
        let inner = self.inner.clone();
        into_awaitable(
            py,
            async move { ready(CallResult::from(call(inner).await)) },
        )
    }

    /// A state-changing call: with `direct`, its first attempt on this thread (the GIL released),
    /// answered here within the budget (the `CallResult` itself is returned) or finished off this
    /// thread (an awaitable, as on the default path); otherwise the default path.
    fn mutation<'py>(&self, py: Python<'py>, m: Mutation) -> PyResult<Bound<'py, PyAny>> {
        let Some(direct) = self.direct.as_ref().filter(|d| d.wanted()) else {
            return self.call(py, move |ex| async move { ex.mutate(m, None).await });
        };
        let ex = &self.inner;
        match py.detach(|| first_here(ex, direct, m)) {
            Tried::Answered(r) => Ok(Bound::new(py, CallResult::from(r))?.into_any()),
            Tried::Rest(rest) => self.call(py, move |_| rest),
        }
    }
}

#[pymethods]
impl OrderExecutor {
    #[new]
    /// `answer_within_us` > 0 with a plain `http://` gateway: a state-changing call may hold the
    /// caller's thread (the event loop) that long for its answer and then returns the `CallResult`
    /// itself instead of an awaitable (`executor/direct.rs`); 0 (the default), or an `https://`
    /// gateway: every call returns an awaitable.
    #[pyo3(signature = (base_url, token, refresh = None, delays_s = vec![0.75, 1.5, 3.0], timeout_s = 10.0, max_idle = 32, answer_within_us = 0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        base_url: &str,
        token: String,
        refresh: Option<Py<PyAny>>,
        delays_s: Vec<f64>,
        timeout_s: f64,
        max_idle: usize,
        answer_within_us: u64,
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
        let inner = Executor::new(
            base_url,
            token,
            refresh.map(refresher),
            RetrySchedule::from_secs(&delays_s),
            Duration::from_secs_f64(timeout_s),
            max_idle,
        )
        .map_err(PyValueError::new_err)?;
        let direct = Direct::for_base(
            base_url,
            Duration::from_micros(answer_within_us),
            Duration::from_secs_f64(timeout_s),
        );
        Ok(OrderExecutor {
            inner: Arc::new(inner),
            direct: direct.map(Arc::new),
        })
    }

    /// Caller's-thread attempts so far: (answered within the budget, finished off the thread, not
    /// served); zeros when the budget is off.
    #[getter]
    fn answer_counts(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.direct.as_ref().map_or((0, 0, 0), |d| {
            let [a, b, c] = &d.counts;
            (a.load(Relaxed), b.load(Relaxed), c.load(Relaxed))
        })
    }

    /// The caller's-thread budget in µs; 0 when every call is awaitable.
    #[getter]
    fn answer_within_us(&self) -> u64 {
        self.direct
            .as_ref()
            .map_or(0, |d| d.budget().as_micros() as u64)
    }

    fn set_token(&self, token: String) {
        self.inner.set_token(token);
    }

    fn cache_contract(&self, symbol: String, contract_id: String) {
        self.inner.cache_contract(symbol, contract_id);
    }

    fn cached_contract(&self, symbol: &str) -> Option<String> {
        self.inner.cached_contract(symbol)
    }

    /// place(account_id, contract_id, order_type, side, size, ...) -> CallResult (awaitable).
    /// `order_type`/`side` are wire ints; bracket ticks are magnitudes, signed by the side (§10.2).
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
        let order = PlaceOrder {
            account_id,
            contract_id,
            order_type,
            side,
            size,
            custom_tag,
            limit_price,
            stop_price,
            trail_price,
            stop_loss_ticks,
            take_profit_ticks,
        };
        self.mutation(py, Mutation::place(order))
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
        let m = Mutation::modify(
            account_id,
            order_id,
            size,
            limit_price,
            stop_price,
            trail_price,
        );
        self.mutation(py, m)
    }

    fn cancel<'py>(
        &self,
        py: Python<'py>,
        account_id: i64,
        order_id: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.mutation(py, Mutation::cancel(account_id, order_id))
    }

    fn close_position<'py>(
        &self,
        py: Python<'py>,
        account_id: i64,
        contract_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.mutation(py, Mutation::close(account_id, contract_id))
    }

    fn partial_close<'py>(
        &self,
        py: Python<'py>,
        account_id: i64,
        contract_id: String,
        size: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.mutation(py, Mutation::partial_close(account_id, contract_id, size))
    }

    /// The order carrying `custom_tag` created since `since_ns` (order_json is None when absent).
    fn find_by_tag<'py>(
        &self,
        py: Python<'py>,
        account_id: i64,
        custom_tag: String,
        since_ns: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call(py, move |ex| async move {
            ex.find_by_tag(account_id, custom_tag, since_ns).await
        })
    }

    /// A call without I/O: what crossing into the runtime and back to asyncio costs (bench probe).
    fn noop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.call(py, |_| async { models::CallResult::default() })
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<OrderExecutor>()?;
    m.add_class::<CallResult>()?;
    Ok(())
}
