//! The records `HubClient.next_batch` hands over: one typed, frozen class per kind, built on the
//! event loop's thread. The quote record is the hot one (one per quote): its fields hold Python
//! objects made once, read as plain struct members (no getter call), and its contract id is one
//! shared `str` per contract. When Python asked for finished quotes (`HubClient.build_quotes`),
//! a quote crosses as the `QuoteEvent` itself, its quote a `LazyQuote` (`QuoteObjects`).

use std::collections::HashMap;

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use pyo3::IntoPyObjectExt;

use crate::realtime::messages::{
    AccountRec, DepthRec, FillRec, OrderRec, PositionRec, QuoteState, Record, TradeRec,
};

/// A contract's quote after merging an update (prices as floats, times in ns since the epoch).
#[pyclass(module = "trading._native", frozen, get_all)]
struct QuoteRecord {
    contract_id: Py<PyString>,
    last: Py<PyAny>,
    bid: Py<PyAny>,
    ask: Py<PyAny>,
    volume: Py<PyAny>,
    ts_ns: Py<PyAny>,
}

/// One trade print; `aggressor` is the wire's TradeLogType (0 buy, 1 sell).
#[pyclass(module = "trading._native", frozen, get_all)]
struct TradePrint {
    price: f64,
    ts_ns: i64,
    aggressor: i64,
    volume: i64,
}

/// The prints of one GatewayTrade event.
#[pyclass(module = "trading._native", frozen, get_all)]
struct TradesRecord {
    contract_id: Py<PyString>,
    prints: Py<PyList>,
}

/// One depth level; `dom_type` is the wire's DomType.
#[pyclass(module = "trading._native", frozen, get_all)]
struct DepthEntry {
    ts_ns: Option<i64>,
    dom_type: i64,
    price: f64,
    volume: i64,
    current_volume: Option<i64>,
}

/// The levels of one GatewayDepth event.
#[pyclass(module = "trading._native", frozen, get_all)]
struct DepthRecord {
    contract_id: Py<PyString>,
    levels: Py<PyList>,
}

/// A GatewayUserOrder item (validated as `OrderModel`), with its wrapper's action if any.
#[pyclass(module = "trading._native", frozen, get_all)]
struct OrderRecord {
    action: Option<i64>,
    id: i64,
    account_id: i64,
    contract_id: String,
    symbol_id: Option<String>,
    created_ns: Option<i64>,
    updated_ns: Option<i64>,
    status: i64,
    order_type: i64,
    side: i64,
    size: i64,
    limit_price: Option<f64>,
    stop_price: Option<f64>,
    trail_price: Option<f64>,
    fill_volume: i64,
    filled_price: Option<f64>,
    custom_tag: Option<String>,
    parent_order_id: Option<i64>,
    linked_order_id: Option<i64>,
}

/// A GatewayUserPosition item: `closed` when flat, `long` its side.
#[pyclass(module = "trading._native", frozen, get_all)]
struct PositionRecord {
    id: i64,
    account_id: i64,
    contract_id: String,
    opened_ns: Option<i64>,
    position_type: i64,
    size: i64,
    average_price: f64,
    closed: bool,
    long: bool,
}

/// A GatewayUserTrade item (a fill).
#[pyclass(module = "trading._native", frozen, get_all)]
struct FillRecord {
    id: i64,
    order_id: i64,
    account_id: i64,
    contract_id: String,
    ts_ns: i64,
    price: f64,
    profit_and_loss: Option<f64>,
    fees: f64,
    side: i64,
    size: i64,
    voided: bool,
}

/// A GatewayUserAccount item.
#[pyclass(module = "trading._native", frozen, get_all)]
struct AccountRecord {
    id: i64,
    name: String,
    balance: f64,
    can_trade: bool,
    is_visible: bool,
    simulated: bool,
}

/// A connection state change (a `trading.streaming.StreamState` value) and its message.
#[pyclass(module = "trading._native", frozen, get_all)]
struct StatusRecord {
    state: &'static str,
    message: String,
}

/// A log line for Python's logger (`level` as in `logging`).
#[pyclass(module = "trading._native", frozen, get_all)]
struct LogRecord {
    level: i64,
    message: String,
}

/// Bad frames and bad items skipped since the last count.
#[pyclass(module = "trading._native", frozen, get_all)]
struct MalformedRecord {
    count: u64,
}

/// The broker logged this session out.
#[pyclass(module = "trading._native", frozen)]
struct LogoutRecord;

/// The watchdog found the feed silent: answer with `HubClient.market_hours(open)`.
#[pyclass(module = "trading._native", frozen)]
struct MarketHoursRecord;

/// The client stopped: the last record.
#[pyclass(module = "trading._native", frozen)]
struct EndRecord;

/// One `str` per contract id, shared by every record of that contract (cheaper to make, and a
/// dict lookup on it is an identity check).
#[derive(Default)]
pub(super) struct Names(HashMap<String, Py<PyString>>);

impl Names {
    const MAX: usize = 4096;

    fn get(&mut self, py: Python<'_>, cid: &str) -> Py<PyString> {
        if let Some(s) = self.0.get(cid) {
            return s.clone_ref(py);
        }
        if self.0.len() >= Self::MAX {
            self.0.clear();
        }
        let s = PyString::new(py, cid).unbind();
        self.0.insert(cid.to_string(), s.clone_ref(py));
        s
    }
}

/// Price objects by the float's bits, made by Python's own rule (`price(x)`) on a miss: prices sit
/// on a tick grid, so a few hundred cover a session.
#[derive(Default)]
pub(super) struct Prices(HashMap<u64, Py<PyAny>>);

impl Prices {
    const MAX: usize = 65_536;

    fn get(
        &mut self,
        py: Python<'_>,
        price: &Bound<'_, PyAny>,
        x: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let Some(x) = x else {
            return Ok(py.None());
        };
        if let Some(d) = self.0.get(&x.to_bits()) {
            return Ok(d.clone_ref(py));
        }
        if self.0.len() >= Self::MAX {
            self.0.clear();
        }
        let d = price.call1((x,))?.unbind();
        self.0.insert(x.to_bits(), d.clone_ref(py));
        Ok(d)
    }
}

/// What `HubClient.build_quotes(event_type, quote_type, price, clock)` gave: quotes cross as
/// `event_type(quote_type(...))` (`trading.streaming.QuoteEvent` of a
/// `trading.projectx.lazy_quote.LazyQuote`), built here field by field, the event time left in ns.
///
/// Both objects are taken off the cycle collector's lists once built (`untrack`): they hold only
/// strings, numbers, Decimals, datetimes and each other, frozen, so they can never be part of a
/// cycle, and a batch of 70,000 tracked objects made the collector cost twice the building
/// (measured: 3.0 µs of Python-thread time per quote tracked, 1.1 µs with the collector off).
pub(super) struct QuoteObjects {
    new: Py<PyAny>,
    event: Py<PyAny>,
    quote: Py<PyAny>,
    price: Py<PyAny>,
    clock: Py<PyAny>,
    /// Instances of both types are collector-tracked objects (checked once on one of each).
    untrack: bool,
}

/// Take `obj` off the cycle collector's lists.
fn untrack(obj: &Bound<'_, PyAny>) {
    // SAFETY: `obj` is a live, GIL-bound instance of a type whose instances were found tracked by
    // `gc.is_tracked` (so it has the collector's header); untracking an untracked object is a no-op.
    unsafe { ffi::PyObject_GC_UnTrack(obj.as_ptr().cast()) }
}

/// Set `obj.name = value` as `object.__setattr__` does, past a frozen dataclass's `__setattr__`
/// (these objects are being built: nobody else holds them yet).
fn put(
    obj: &Bound<'_, PyAny>,
    name: &Bound<'_, PyString>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    // SAFETY: three live, GIL-bound object pointers; the call borrows them and returns 0 or -1
    // with an exception set.
    let rc = unsafe { ffi::PyObject_GenericSetAttr(obj.as_ptr(), name.as_ptr(), value.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(PyErr::fetch(obj.py()))
    }
}

impl QuoteObjects {
    pub(super) fn new(
        py: Python<'_>,
        event: Py<PyAny>,
        quote: Py<PyAny>,
        price: Py<PyAny>,
        clock: Py<PyAny>,
    ) -> PyResult<Self> {
        let new = py
            .import(intern!(py, "builtins"))?
            .getattr(intern!(py, "object"))?
            .getattr(intern!(py, "__new__"))?;
        let is_tracked = py
            .import(intern!(py, "gc"))?
            .getattr(intern!(py, "is_tracked"))?;
        let tracked = |t: &Py<PyAny>| -> PyResult<bool> {
            is_tracked
                .call1((new.call1((t.clone_ref(py),))?,))?
                .is_truthy()
        };
        let untrack = tracked(&event)? && tracked(&quote)?;
        Ok(QuoteObjects {
            new: new.unbind(),
            event,
            quote,
            price,
            clock,
            untrack,
        })
    }

    /// A batch's `ts_init` (of its quotes): `clock(seen_ns)`, the batch's oldest frame off the
    /// socket in wall-clock ns (0 when unknown: the clock says now).
    pub(super) fn now(&self, py: Python<'_>, seen_ns: i64) -> PyResult<Py<PyAny>> {
        self.clock.call1(py, (seen_ns,))
    }

    fn build(
        &self,
        py: Python<'_>,
        cid: Py<PyString>,
        q: QuoteState,
        now: &Py<PyAny>,
        prices: &mut Prices,
    ) -> PyResult<Py<PyAny>> {
        let price = self.price.bind(py);
        let quote = self
            .new
            .call1(py, (self.quote.clone_ref(py),))?
            .into_bound(py);
        put(&quote, intern!(py, "contract_id"), cid.bind(py))?;
        put(
            &quote,
            intern!(py, "last"),
            prices.get(py, price, q.last)?.bind(py),
        )?;
        put(
            &quote,
            intern!(py, "bid"),
            prices.get(py, price, q.bid)?.bind(py),
        )?;
        put(
            &quote,
            intern!(py, "ask"),
            prices.get(py, price, q.ask)?.bind(py),
        )?;
        put(&quote, intern!(py, "volume"), &q.volume.into_pyobject(py)?)?;
        put(&quote, intern!(py, "ts_init"), now.bind(py))?;
        match q.ts {
            // No time ever came for this contract: the batch's, as the Python twin does.
            None => put(&quote, intern!(py, "_ts"), now.bind(py))?,
            Some(ns) => {
                put(&quote, intern!(py, "_ns"), ns.into_pyobject(py)?.as_any())?;
                put(&quote, intern!(py, "_ts"), &py.None().into_bound(py))?;
            }
        }
        let event = self
            .new
            .call1(py, (self.event.clone_ref(py),))?
            .into_bound(py);
        put(&event, intern!(py, "quote"), &quote)?;
        if self.untrack {
            untrack(&quote);
            untrack(&event);
        }
        Ok(event.unbind())
    }
}

fn quote(py: Python<'_>, cid: Py<PyString>, q: QuoteState) -> PyResult<Py<PyAny>> {
    QuoteRecord {
        contract_id: cid,
        last: q.last.into_py_any(py)?,
        bid: q.bid.into_py_any(py)?,
        ask: q.ask.into_py_any(py)?,
        volume: q.volume.into_py_any(py)?,
        ts_ns: q.ts.into_py_any(py)?,
    }
    .into_py_any(py)
}

impl From<TradeRec> for TradePrint {
    fn from(t: TradeRec) -> Self {
        TradePrint {
            price: t.price,
            ts_ns: t.ts,
            aggressor: t.kind,
            volume: t.volume,
        }
    }
}

impl From<DepthRec> for DepthEntry {
    fn from(d: DepthRec) -> Self {
        DepthEntry {
            ts_ns: d.ts,
            dom_type: d.kind,
            price: d.price,
            volume: d.volume,
            current_volume: d.current_volume,
        }
    }
}

fn order(action: Option<i64>, o: OrderRec) -> OrderRecord {
    OrderRecord {
        action,
        id: o.id,
        account_id: o.account_id,
        contract_id: o.contract_id,
        symbol_id: o.symbol_id,
        created_ns: o.creation_timestamp,
        updated_ns: o.update_timestamp,
        status: o.status,
        order_type: o.kind,
        side: o.side,
        size: o.size,
        limit_price: o.limit_price,
        stop_price: o.stop_price,
        trail_price: o.trail_price,
        fill_volume: o.fill_volume,
        filled_price: o.filled_price,
        custom_tag: o.custom_tag,
        parent_order_id: o.parent_order_id,
        linked_order_id: o.linked_order_id,
    }
}

fn position(p: PositionRec) -> PositionRecord {
    PositionRecord {
        id: p.id,
        account_id: p.account_id,
        contract_id: p.contract_id,
        opened_ns: p.creation_timestamp,
        position_type: p.kind,
        size: p.size,
        average_price: p.average_price,
        closed: p.closed,
        long: p.long,
    }
}

fn fill(f: FillRec) -> FillRecord {
    FillRecord {
        id: f.id,
        order_id: f.order_id,
        account_id: f.account_id,
        contract_id: f.contract_id,
        ts_ns: f.creation_timestamp,
        price: f.price,
        profit_and_loss: f.profit_and_loss,
        fees: f.fees,
        side: f.side,
        size: f.size,
        voided: f.voided,
    }
}

fn account(a: AccountRec) -> AccountRecord {
    AccountRecord {
        id: a.id,
        name: a.name,
        balance: a.balance,
        can_trade: a.can_trade,
        is_visible: a.is_visible,
        simulated: a.simulated,
    }
}

/// The Python objects of one batch: quotes as finished events when `objects` is given.
pub(super) fn batch_to_py(
    py: Python<'_>,
    batch: Vec<Record>,
    seen_ns: i64,
    names: &mut Names,
    prices: &mut Prices,
    objects: Option<&QuoteObjects>,
) -> PyResult<Vec<Py<PyAny>>> {
    let Some(objects) = objects else {
        return batch.into_iter().map(|r| to_py(py, r, names)).collect();
    };
    let now = objects.now(py, seen_ns)?;
    batch
        .into_iter()
        .map(|r| match r {
            Record::Quote(cid, q) => objects.build(py, names.get(py, &cid), q, &now, prices),
            other => to_py(py, other, names),
        })
        .collect()
}

fn to_py(py: Python<'_>, r: Record, names: &mut Names) -> PyResult<Py<PyAny>> {
    match r {
        Record::Quote(cid, q) => quote(py, names.get(py, &cid), q),
        Record::Trades(cid, rows) => TradesRecord {
            contract_id: names.get(py, &cid),
            prints: PyList::new(py, rows.into_iter().map(TradePrint::from))?.unbind(),
        }
        .into_py_any(py),
        Record::Depth(cid, rows) => DepthRecord {
            contract_id: names.get(py, &cid),
            levels: PyList::new(py, rows.into_iter().map(DepthEntry::from))?.unbind(),
        }
        .into_py_any(py),
        Record::Order(action, o) => order(action, *o).into_py_any(py),
        Record::Position(p) => position(p).into_py_any(py),
        Record::Fill(f) => fill(f).into_py_any(py),
        Record::Account(a) => account(a).into_py_any(py),
        Record::Logout => LogoutRecord.into_py_any(py),
        Record::Malformed(count) => MalformedRecord { count }.into_py_any(py),
        Record::Status(state, message) => StatusRecord {
            state: state.as_str(),
            message,
        }
        .into_py_any(py),
        Record::Log(level, message) => LogRecord { level, message }.into_py_any(py),
        Record::MarketHours => MarketHoursRecord.into_py_any(py),
        Record::End => EndRecord.into_py_any(py),
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<QuoteRecord>()?;
    m.add_class::<TradesRecord>()?;
    m.add_class::<TradePrint>()?;
    m.add_class::<DepthRecord>()?;
    m.add_class::<DepthEntry>()?;
    m.add_class::<OrderRecord>()?;
    m.add_class::<PositionRecord>()?;
    m.add_class::<FillRecord>()?;
    m.add_class::<AccountRecord>()?;
    m.add_class::<StatusRecord>()?;
    m.add_class::<LogRecord>()?;
    m.add_class::<MalformedRecord>()?;
    m.add_class::<LogoutRecord>()?;
    m.add_class::<MarketHoursRecord>()?;
    m.add_class::<EndRecord>()?;
    Ok(())
}
