//! `FastPath`: a quote that reaches an armed Rust strategy trigger goes quote -> strategy -> executor
//! on the stream's decoding task, without Python in between (the table and the crossing rule:
//! `strategy/armed/`; the Python side that arms it and takes the results: `trading/engine/fast_path.py`).
//!
//! The market `HubClient` tells it of every quote before queueing it (`set_quote_hook`); a quote that
//! fires runs the core's own `on_quote` under the core's lock, and each stop move it made is sent by
//! the shared `OrderExecutor` in a task of its own on the same runtime (the decoding task goes on at
//! once). Each send's result (the executor's `CallResult`, the frame's arrival and the request's send
//! stamps) is queued for Python, which does what the Python path does after the broker call.
//!
//! Why no risk check runs here: the Python path applies none to a stop move (`Engine._modify_stop`
//! sends it; `RiskManager` screens placements only, and a protective move must pass even when
//! halted). What it does check is whether the move goes this way at all, which the host folds into
//! the gate and the arming: the strategy running (not stopped by an operator), served by its Rust
//! implementation, the account's lease held, the executor routed to Rust for the stop's id.
//!
//! Crash safety: a stop move is idempotent (the same order to the same price), the breakeven is
//! re-derived after a restart from the strategy's saved state (`breakeven_done` saved after the
//! result is handled; a crash before that leaves it false and the next crossing quote sends the
//! same move again), and reconcile reads the stop's price from the broker. A crash after the send and
//! before Python recorded it loses nothing: the "modified" notice's key is the order and price, so a
//! repeat is stored once.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use pyo3::prelude::*;
use pyo3::types::PyList;
use pyo3::IntoPyObjectExt;
use tokio::sync::Notify;

use super::bridge::{self, into_awaitable};
use super::executor::{CallResult, OrderExecutor};
use super::strategy::{order_view, OrderTuple, PyOvernightRange};
use crate::executor::direct::Direct;
use crate::executor::here::{first_here, Tried};
use crate::executor::models;
use crate::executor::policy::{Executor, Mutation};
use crate::realtime::handler::{After, QuoteHook};
use crate::strategy::armed::{Armed, ArmedTable};

/// One stop move sent without Python, as Python takes it.
#[pyclass(module = "trading._native", frozen, get_all)]
struct FastMove {
    contract_id: String,
    order_id: i64,
    /// The new stop price, `Decimal` text.
    price: String,
    /// Wall-clock ns: the quote's frame off the socket.
    seen_ns: i64,
    /// The executor's answer; None when the call panicked (`panic` says why).
    result: Option<Py<CallResult>>,
    panic: Option<String>,
}

struct Sent {
    contract_id: String,
    order_id: i64,
    price: String,
    seen_ns: i64,
    result: Result<models::CallResult, String>,
}

#[derive(Default)]
struct Results {
    items: Mutex<Vec<Sent>>,
    notify: Notify,
}

/// What sends a stop move for the account.
#[derive(Clone)]
struct Sender {
    executor: Arc<Executor>,
    /// The executor's direct transport (a plain-HTTP gateway with `answer_within_us`).
    direct: Option<Arc<Direct>>,
    account_id: i64,
}

struct Hook {
    table: Arc<ArmedTable>,
    sender: Sender,
    results: Arc<Results>,
}

impl Sender {
    /// The stop move's call: with the direct transport, its first attempt made now on this thread
    /// (the event loop's, which read the quote: blocking no runtime worker), the GIL released
    /// around it; otherwise the whole call on the runtime.
    fn call(&self, order_id: i64, stop: f64) -> BoxFuture<'static, models::CallResult> {
        let (executor, account_id) = (self.executor.clone(), self.account_id);
        let here = self
            .direct
            .as_ref()
            .filter(|d| d.wanted() && tokio::runtime::Handle::try_current().is_err());
        let Some(direct) = here else {
            return async move {
                executor
                    .modify(account_id, order_id, None, None, Some(stop), None)
                    .await
            }
            .boxed();
        };
        let m = Mutation::modify(account_id, order_id, None, None, Some(stop), None);
        match Python::attach(|py| py.detach(|| first_here(&executor, direct, m))) {
            Tried::Answered(r) => futures_util::future::ready(r).boxed(),
            Tried::Rest(rest) => rest,
        }
    }
}

impl QuoteHook for Hook {
    fn on_quote(&self, contract_id: &str, last: f64, seen_ns: i64, after: &mut Vec<After>) {
        for (order_id, price) in self.table.fire(contract_id, last) {
            let (contract_id, price) = (contract_id.to_string(), price.to_string());
            let stop: f64 = price.parse().unwrap_or(f64::NAN);
            let (me, results) = (self.sender.clone(), self.results.clone());
            // Once the frame's records are queued and the consumer woken: on a tokio reader the
            // send is spawned then (the worker runs the latest first, tokio's LIFO slot); on the
            // loop's thread its first attempt is made right then.
            after.push(Box::new(move || {
                let call = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    me.call(order_id, stop)
                }));
                let send = async move {
                    let result = match call {
                        Ok(call) => std::panic::AssertUnwindSafe(call)
                            .catch_unwind()
                            .await
                            .map_err(|_| "the executor panicked".to_string()),
                        Err(_) => Err("the executor panicked".to_string()),
                    };
                    let mut items = results.items.lock().unwrap_or_else(|e| e.into_inner());
                    items.push(Sent {
                        contract_id,
                        order_id,
                        price,
                        seen_ns,
                        result,
                    });
                    drop(items);
                    results.notify.notify_one();
                };
                bridge::runtime().spawn(send);
            }));
        }
    }
}

/// FastPath(executor, account_id): the armed table over `executor` for `account_id`.
#[pyclass(module = "trading._native", frozen)]
struct FastPath {
    hook: Arc<Hook>,
}

#[pymethods]
impl FastPath {
    #[new]
    fn new(executor: PyRef<'_, OrderExecutor>, account_id: i64) -> Self {
        FastPath {
            hook: Arc::new(Hook {
                table: Arc::default(),
                sender: Sender {
                    executor: executor.inner.clone(),
                    direct: executor.direct.clone(),
                    account_id,
                },
                results: Arc::default(),
            }),
        }
    }

    /// Arm `contract_id` with the core's triggers for `symbol` now and the orders its context gives
    /// (`OrderTuple` rows); no trigger disarms it. Returns the triggers armed.
    fn arm(
        &self,
        py: Python<'_>,
        contract_id: &str,
        core: PyRef<'_, PyOvernightRange>,
        symbol: String,
        orders: Vec<OrderTuple>,
    ) -> Vec<(bool, f64)> {
        let core = core.inner.clone();
        py.detach(|| {
            let triggers = core
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .bar_triggers(&symbol);
            self.hook.table.arm(
                contract_id,
                Armed {
                    symbol,
                    triggers: triggers.clone(),
                    orders: orders.into_iter().map(order_view).collect(),
                    core,
                },
            );
            triggers
        })
    }

    fn disarm(&self, contract_id: &str) {
        self.hook.table.disarm(contract_id);
    }

    /// (buy, level) armed for `contract_id`.
    fn triggers(&self, contract_id: &str) -> Vec<(bool, f64)> {
        self.hook.table.triggers(contract_id)
    }

    /// Open: armed quotes act; closed: none does (the Python path's conditions do not hold).
    fn set_open(&self, open: bool) {
        self.hook.table.set_open(open);
    }

    #[getter]
    fn is_open(&self) -> bool {
        self.hook.table.is_open()
    }

    /// Quotes that reached an armed level and ran the core so far.
    #[getter]
    fn fired(&self) -> u64 {
        self.hook
            .table
            .fired
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stop moves made without Python whose results Python has not yet recorded (`recorded`): while
    /// above 0 the host does not save the strategy's state (it may say "moved" before the move's
    /// notice is stored; a crash then would lose the notice for good).
    #[getter]
    fn unrecorded(&self) -> u64 {
        self.hook.table.unrecorded()
    }

    /// Python recorded `n` of the moves' results.
    fn recorded(&self, n: u64) {
        self.hook.table.recorded(n);
    }

    /// The stop moves sent since the last call (waits until there is one), as `FastMove`s.
    fn next_moves<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let results = self.hook.results.clone();
        into_awaitable(py, async move {
            let sent = loop {
                let notified = results.notify.notified();
                let got =
                    std::mem::take(&mut *results.items.lock().unwrap_or_else(|e| e.into_inner()));
                if !got.is_empty() {
                    break got;
                }
                notified.await;
            };
            Box::new(move |py: Python<'_>| {
                let mut out = Vec::with_capacity(sent.len());
                for s in sent {
                    let (result, panic) = match s.result {
                        Ok(r) => (Some(Py::new(py, CallResult::from(r))?), None),
                        Err(p) => (None, Some(p)),
                    };
                    out.push(FastMove {
                        contract_id: s.contract_id,
                        order_id: s.order_id,
                        price: s.price,
                        seen_ns: s.seen_ns,
                        result,
                        panic,
                    });
                }
                PyList::new(py, out)?.into_py_any(py)
            }) as bridge::Outcome
        })
    }
}

impl FastPath {
    pub(crate) fn hook(&self) -> Arc<dyn QuoteHook> {
        self.hook.clone()
    }
}

/// For `HubClient.set_quote_hook`: the hook of a `FastPath` (None unhooks).
pub(crate) fn hook_of(fast: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Arc<dyn QuoteHook>>> {
    let Some(fast) = fast else { return Ok(None) };
    Ok(Some(fast.cast::<FastPath>()?.get().hook()))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FastPath>()?;
    m.add_class::<FastMove>()?;
    Ok(())
}
