//! Bindings of `strategy/`: `OvernightRangeCore`, the Rust overnight range behind the Python
//! `Strategy` face (`trading/strategies/native.py`). Each handler takes the host, a Python object
//! that answers the strategy's `Context` (bars, orders, account, ...) and carries out its actions
//! (propose, cancel, modify stop, notify) through the engine's or backtest's own context. Money
//! crosses as `Decimal` text, times as UTC ns. A Python error in the host stops the handler's
//! remaining calls and is raised when the handler returns.

use std::sync::{Arc, Mutex, MutexGuard};

use numpy::{PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::bars::zone::Zone;
use crate::strategy::dec::Dec;
use crate::strategy::overnight_range::config::Config;
use crate::strategy::overnight_range::OvernightRange;
use crate::strategy::{
    Account, Bars, Columns, Context, Decision, Notice, OrderKind, OrderView, PlaceRequest,
    SessionEvent, Strategy, TradingDay,
};

struct Host<'py> {
    obj: Bound<'py, PyAny>,
    error: Option<PyErr>,
}

type PyBarColumns<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
);

pub(crate) type OrderTuple = (
    Option<i64>,
    Option<String>,
    Option<i64>,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
);

fn dec_opt(text: Option<String>) -> Option<Dec> {
    text.and_then(|t| Dec::parse(&t).ok())
}

pub(crate) fn order_view(t: OrderTuple) -> OrderView {
    let (id, custom_tag, parent_id, kind, status, working, stop, filled) = t;
    OrderView {
        id,
        custom_tag,
        parent_id,
        kind: match kind.as_str() {
            "stop" => OrderKind::Stop,
            "limit" => OrderKind::Limit,
            _ => OrderKind::Market,
        },
        status,
        working,
        stop_price: dec_opt(stop),
        filled_price: dec_opt(filled),
    }
}

impl<'py> Host<'py> {
    /// Call `name(*args)` on the host and extract `T`; on error remember it and give `T::default()`.
    fn call<A, T>(&mut self, name: &str, args: A) -> T
    where
        A: pyo3::call::PyCallArgs<'py>,
        T: pyo3::conversion::FromPyObjectOwned<'py> + Default,
    {
        if self.error.is_some() {
            return T::default();
        }
        match self
            .obj
            .call_method1(name, args)
            .and_then(|r| r.extract::<T>().map_err(Into::into))
        {
            Ok(v) => v,
            Err(e) => {
                self.error = Some(e);
                T::default()
            }
        }
    }

    /// Call `name(*args)` for its effect; on error remember it.
    fn act<A: pyo3::call::PyCallArgs<'py>>(&mut self, name: &str, args: A) {
        if self.error.is_none() {
            if let Err(e) = self.obj.call_method1(name, args) {
                self.error = Some(e);
            }
        }
    }

    fn finish(self) -> PyResult<()> {
        self.error.map_or(Ok(()), Err)
    }
}

impl Context for Host<'_> {
    fn now(&mut self) -> i64 {
        self.call("now", ())
    }

    fn tick_size(&mut self, symbol: &str) -> Dec {
        let t: String = self.call("tick_size", (symbol,));
        Dec::parse(&t).unwrap_or(Dec::ZERO)
    }

    fn bars(&mut self, symbol: &str, start: i64, end: i64) -> Bars {
        if self.error.is_some() {
            return Bars::default();
        }
        let got = self
            .obj
            .call_method1("bars", (symbol, start, end))
            .and_then(|r| {
                let (ts, o, h, l, c): PyBarColumns<'_> = r.extract()?;
                Ok(Bars::of(Columns {
                    ts: ts.to_vec()?,
                    open: o.to_vec()?,
                    high: h.to_vec()?,
                    low: l.to_vec()?,
                    close: c.to_vec()?,
                }))
            });
        got.unwrap_or_else(|e| {
            self.error = Some(e);
            Bars::default()
        })
    }

    fn last_price(&mut self, symbol: &str) -> Option<Dec> {
        dec_opt(self.call("last_price", (symbol,)))
    }

    fn orders(&mut self) -> Vec<OrderView> {
        let rows: Vec<OrderTuple> = self.call("orders", ());
        rows.into_iter().map(order_view).collect()
    }

    fn position(&mut self, symbol: &str) -> Option<(bool, i64)> {
        self.call("position", (symbol,))
    }

    fn account(&mut self) -> Account {
        let (pnl, limit): (String, String) = self.call("account", ());
        Account {
            daily_pnl: Dec::parse(&pnl).unwrap_or(Dec::ZERO),
            daily_loss_limit: Dec::parse(&limit).unwrap_or(Dec::int(1)),
        }
    }

    fn open_minutes(&mut self, start: i64, end: i64) -> i64 {
        self.call("open_minutes", (start, end))
    }

    fn propose(&mut self, r: PlaceRequest) -> Decision {
        let kind = match r.kind {
            OrderKind::Stop => "stop",
            OrderKind::Limit => "limit",
            OrderKind::Market => "market",
        };
        let (sl, tp) = r.bracket.map_or((None, None), |(a, b)| (Some(a), Some(b)));
        let args = (
            r.symbol,
            r.side.value(),
            kind,
            r.size,
            r.custom_tag,
            r.stop_price.map(|p| p.to_string()),
            sl,
            tp,
            r.reason,
        );
        let (approved, reason, order_id): (bool, String, Option<i64>) = self.call("propose", args);
        Decision {
            approved,
            reason,
            order_id,
        }
    }

    fn cancel(&mut self, order_id: i64) {
        self.act("cancel", (order_id,))
    }

    fn modify_stop(&mut self, order_id: i64, price: Dec) {
        self.act("modify_stop", (order_id, price.to_string()))
    }

    fn notify(&mut self, notice: Notice) {
        match notice {
            Notice::RangeCard {
                symbol,
                card,
                levels,
                filters,
                blocked,
                sides,
                warmup,
            } => self.act(
                "range_card",
                (symbol, card, levels, filters, blocked, sides, warmup),
            ),
            Notice::Fill {
                symbol,
                exit,
                side,
                price,
                size,
                tag,
                entry_price,
            } => self.act(
                "strategy_fill",
                (
                    symbol,
                    exit,
                    side.value(),
                    price.to_string(),
                    size,
                    tag,
                    entry_price.map(|p| p.to_string()),
                ),
            ),
            Notice::Summary {
                date,
                trades,
                notes,
                symbols,
            } => {
                let rows: Vec<_> = trades
                    .into_iter()
                    .map(|t| (t.symbol, t.tag, t.side, t.size, t.status, t.entry, t.exit))
                    .collect();
                self.act("summary", (date, rows, notes, symbols))
            }
        }
    }
}

pub(crate) type DayTuple = (
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Vec<(i64, i64)>,
    Option<(i64, i64)>,
);

pub(crate) fn trading_day(t: DayTuple) -> TradingDay {
    let (
        y,
        m,
        d,
        window_start,
        window_end,
        rth_open,
        rth_close,
        flatten,
        sessions_before,
        previous_rth,
    ) = t;
    TradingDay {
        date: (y, m, d),
        window_start,
        window_end,
        rth_open,
        rth_close,
        flatten,
        sessions_before,
        previous_rth,
    }
}

/// OvernightRangeCore(config_json, tz_utc, tz_offset): the Rust overnight range; see `native.py`.
/// The core sits behind one lock shared with the armed table (`python/fast_path.rs`): a quote the
/// stream handles without Python and the Python handlers take turns on the same state. The Python
/// thread may wait on it holding the GIL: the table's side never takes the GIL while holding it.
#[pyclass(name = "OvernightRangeCore", module = "trading._native", frozen)]
pub struct PyOvernightRange {
    pub(crate) inner: Arc<Mutex<OvernightRange>>,
}

impl PyOvernightRange {
    fn core(&self) -> MutexGuard<'_, OvernightRange> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PyOvernightRange {
    #[new]
    fn new(
        config_json: &str,
        tz_utc: PyReadonlyArray1<'_, i64>,
        tz_offset: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<Self> {
        let config = Config::from_json(config_json).map_err(PyValueError::new_err)?;
        let zone = Zone::new(tz_utc.as_slice()?.to_vec(), tz_offset.as_slice()?.to_vec())
            .map_err(PyValueError::new_err)?;
        Ok(PyOvernightRange {
            inner: Arc::new(Mutex::new(OvernightRange::new(config, zone))),
        })
    }

    fn on_session_event(&self, host: Bound<'_, PyAny>, event: &str, day: DayTuple) -> PyResult<()> {
        let event = SessionEvent::parse(event).map_err(PyValueError::new_err)?;
        let mut h = Host {
            obj: host,
            error: None,
        };
        self.core()
            .on_session_event(&mut h, event, &trading_day(day));
        h.finish()
    }

    /// True when a bar of `symbol` can act (a filled entry awaits its breakeven).
    fn watching(&self, symbol: &str) -> bool {
        self.core().watching(symbol)
    }

    /// (buy, level) per entry awaiting its breakeven: a bar acts only when it reaches one.
    fn bar_triggers(&self, symbol: &str) -> Vec<(bool, f64)> {
        self.core().bar_triggers(symbol)
    }

    fn on_bar(&self, host: Bound<'_, PyAny>, symbol: &str, high: f64, low: f64) -> PyResult<()> {
        let mut h = Host {
            obj: host,
            error: None,
        };
        self.core().on_bar(&mut h, symbol, high, low);
        h.finish()
    }

    #[pyo3(signature = (host, symbol, last))]
    fn on_quote(&self, host: Bound<'_, PyAny>, symbol: &str, last: Option<String>) -> PyResult<()> {
        let mut h = Host {
            obj: host,
            error: None,
        };
        self.core().on_quote(&mut h, symbol, dec_opt(last));
        h.finish()
    }

    fn on_order_update(&self, host: Bound<'_, PyAny>, order: OrderTuple) -> PyResult<()> {
        let mut h = Host {
            obj: host,
            error: None,
        };
        self.core().on_order_update(&mut h, &order_view(order));
        h.finish()
    }

    fn on_fill(
        &self,
        host: Bound<'_, PyAny>,
        order: OrderTuple,
        price: &str,
        size: i64,
    ) -> PyResult<()> {
        let price = Dec::parse(price).map_err(PyValueError::new_err)?;
        let mut h = Host {
            obj: host,
            error: None,
        };
        self.core().on_fill(&mut h, &order_view(order), price, size);
        h.finish()
    }

    fn on_save(&self) -> String {
        self.core().on_save()
    }

    fn on_load(&self, state: &str) -> PyResult<()> {
        self.core().on_load(state).map_err(PyValueError::new_err)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyOvernightRange>()?;
    Ok(())
}
