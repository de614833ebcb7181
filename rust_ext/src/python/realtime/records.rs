//! The records `HubClient.next_batch` hands over: one typed, frozen class per kind, built on the
//! event loop's thread. The quote record is the hot one (one per quote): its fields hold Python
//! objects made once, read as plain struct members (no getter call), and its contract id is one
//! shared `str` per contract.

use std::collections::HashMap;

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

pub(super) fn to_py(py: Python<'_>, r: Record, names: &mut Names) -> PyResult<Py<PyAny>> {
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
