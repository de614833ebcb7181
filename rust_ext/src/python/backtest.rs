//! Bindings of `backtest/`: `backtest_run`, the whole loop for the Rust overnight range
//! (`trading/backtest/native.py` prepares its inputs and reads its output), and `backtest_advance`,
//! the Python loop's fast-forward over bars that change nothing. Bar columns cross as numpy arrays,
//! once per run.

use std::sync::Arc;

use numpy::{PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::backtest::book::FillRules;
use crate::backtest::ledger::Money;
use crate::backtest::risk::Risk;
use crate::backtest::run::{
    Day, Exposure, Extra, Host, Lane as RunLane, Note, Request, RiskGuard, Run, Settings,
};
use crate::backtest::skip::{advance, Guard, Kind, Lane, Resting};
use crate::bars::zone::Zone;
use crate::common::time::isoformat;
use crate::python::risk::{account_in, account_out, AccountIn, PyRiskCore};
use crate::python::strategy::{trading_day, DayTuple};
use crate::strategy::dec::Dec;
use crate::strategy::overnight_range::config::Config;
use crate::strategy::overnight_range::OvernightRange;
use crate::strategy::{Columns, Notice, OrderKind, SessionEvent, Strategy};

type OrderTuple = (String, bool, f64, i64);
type LaneTuple<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    usize,
    usize,
    Vec<OrderTuple>,
    bool,
    Vec<(f64, i64)>,
    (f64, f64, Option<f64>),
);
type GuardTuple = (f64, f64, Option<f64>, Option<f64>, Option<f64>, bool, bool);

fn resting(t: OrderTuple) -> PyResult<Resting> {
    let kind = match t.0.as_str() {
        "market" => Kind::Market,
        "limit" => Kind::Limit,
        "stop" => Kind::Stop,
        other => {
            return Err(PyValueError::new_err(format!(
                "cannot fill {other:?} orders"
            )))
        }
    };
    Ok(Resting {
        kind,
        buy: t.1,
        level: t.2,
        active_from: t.3,
    })
}

/// Skip the bars before `until` that can change nothing: (the open time of the first bar to
/// replay or None, [(next bar index, index of the last bar that marked the position or None)]
/// per lane).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn backtest_advance(
    lanes: Vec<LaneTuple<'_>>,
    guard: GuardTuple,
    until: i64,
) -> PyResult<(Option<i64>, Vec<(usize, Option<usize>)>)> {
    let mut built = Vec::with_capacity(lanes.len());
    for (ts, high, low, close, next, end, orders, watching, lots, money) in &lanes {
        let (ts, high, low, close) = (
            ts.as_slice()?,
            high.as_slice()?,
            low.as_slice()?,
            close.as_slice()?,
        );
        let n = ts.len();
        if high.len() != n || low.len() != n || close.len() != n || *end > n || *next > *end {
            return Err(PyValueError::new_err(
                "bar columns of different lengths or a range outside them",
            ));
        }
        built.push(Lane {
            ts,
            high,
            low,
            close,
            next: *next,
            end: *end,
            orders: orders
                .iter()
                .cloned()
                .map(resting)
                .collect::<PyResult<_>>()?,
            watching: *watching,
            lots: lots.clone(),
            tick_size: money.0,
            tick_value: money.1,
            mark: money.2,
            marked: None,
        });
    }
    let (realized_today, balance, daily_loss_limit, floor, profit_cap, always, halted) = guard;
    let g = Guard {
        realized_today,
        balance,
        daily_loss_limit,
        floor,
        profit_cap,
        always,
        halted,
    };
    let stop = advance(&mut built, &g, until);
    Ok((stop, built.iter().map(|l| (l.next, l.marked)).collect()))
}

// ------------------------------------------------------------------------------ backtest_run

/// (trading date, daily loss limit, floor, live profit cap, balance that trips the target, halted).
type GuardIn = (
    Option<(i64, i64, i64)>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    bool,
);
type ExposureOut = (
    Vec<(String, i64)>,
    Vec<(String, &'static str, i64)>,
    String,
    String,
    String,
);
type LaneIn<'py> = (
    String,
    String,
    String,
    String,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
);
type DayIn = (DayTuple, Vec<(i64, String)>, Vec<(i64, i64, i64)>);
/// (starting balance, fees per contract per side, slippage ticks, limit touch, daily loss limit).
type SettingsIn = (String, String, i64, bool, String);

fn guard_of(g: GuardIn) -> RiskGuard {
    RiskGuard {
        trading_date: g.0,
        daily_loss_limit: g.1,
        floor: g.2,
        profit_cap: g.3,
        target_at: g.4,
        halted: g.5,
    }
}

fn exposure_out(e: &Exposure) -> ExposureOut {
    (
        e.positions.clone(),
        e.working
            .iter()
            .map(|(c, s, n)| (c.clone(), s.value(), *n))
            .collect(),
        e.realized_today.to_string(),
        e.unrealized.to_string(),
        e.balance.to_string(),
    )
}

fn kind_value(k: OrderKind) -> &'static str {
    match k {
        OrderKind::Market => "market",
        OrderKind::Limit => "limit",
        OrderKind::Stop => "stop",
    }
}

fn text(d: Option<Dec>) -> Option<String> {
    d.map(|x| x.to_string())
}

/// The host's risk and calendar, a Python object (`trading/backtest/native.py`'s `_Host`). A Python
/// error is kept, the run stops, and it is raised when `backtest_run` returns.
struct PyHost<'py> {
    obj: Bound<'py, PyAny>,
    error: Option<PyErr>,
}

impl<'py> PyHost<'py> {
    fn call<A, T>(&mut self, name: &str, args: A) -> Option<T>
    where
        A: pyo3::call::PyCallArgs<'py>,
        T: pyo3::conversion::FromPyObjectOwned<'py>,
    {
        if self.error.is_some() {
            return None;
        }
        match self
            .obj
            .call_method1(name, args)
            .and_then(|r| r.extract::<T>().map_err(Into::into))
        {
            Ok(v) => Some(v),
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

impl Host for PyHost<'_> {
    fn check(&mut self, r: &Request, e: &Exposure, now: i64) -> (bool, String, RiskGuard) {
        let args = (
            r.contract_id.clone(),
            r.side.value(),
            kind_value(r.kind),
            r.size,
            text(r.limit),
            text(r.stop),
            exposure_out(e),
            now,
        );
        match self.call::<_, (bool, String, GuardIn)>("check", args) {
            Some((ok, why, g)) => (ok, why, guard_of(g)),
            None => (false, "risk check failed".into(), RiskGuard::default()),
        }
    }

    fn mark(&mut self, e: &Exposure, now: i64) -> (Vec<String>, RiskGuard) {
        match self.call::<_, (Vec<String>, GuardIn)>("mark", (exposure_out(e), now)) {
            Some((trips, g)) => (trips, guard_of(g)),
            None => (vec![], RiskGuard::default()),
        }
    }

    fn open_minutes(&mut self, start: i64, end: i64) -> i64 {
        self.call("open_minutes", (start, end)).unwrap_or(0)
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }
}

fn dec(text: &str) -> PyResult<Dec> {
    Dec::parse(text).map_err(PyValueError::new_err)
}

fn note<'py>(py: Python<'py>, n: &Note) -> PyResult<Bound<'py, PyAny>> {
    Ok(match n {
        Note::Refused { time, tag, reason } => ("refused", *time, tag, reason)
            .into_pyobject(py)?
            .into_any(),
        Note::Strategy {
            time,
            date,
            at,
            notice,
        } => match notice {
            Notice::RangeCard {
                symbol,
                card,
                levels,
                filters,
                blocked,
                sides,
                warmup,
            } => (
                "card", *time, date, symbol, *card, levels, filters, blocked, sides, warmup,
            )
                .into_pyobject(py)?
                .into_any(),
            Notice::Fill {
                symbol,
                exit,
                side,
                price,
                size,
                tag,
                entry_price,
            } => (
                "fill",
                *time,
                *at,
                symbol,
                *exit,
                side.value(),
                price.to_string(),
                *size,
                tag,
                text(*entry_price),
            )
                .into_pyobject(py)?
                .into_any(),
            Notice::Summary {
                date: day,
                trades,
                notes,
                symbols,
            } => {
                let rows: Vec<_> = trades
                    .iter()
                    .map(|t| {
                        (
                            t.symbol.clone(),
                            t.tag.clone(),
                            t.side.clone(),
                            t.size,
                            t.status.clone(),
                            t.entry.clone(),
                            t.exit.clone(),
                        )
                    })
                    .collect();
                ("summary", *time, date, day, rows, notes.clone(), symbols)
                    .into_pyobject(py)?
                    .into_any()
            }
        },
    })
}

/// The run's records as the rows of `BacktestResult` (dicts with its keys, in its order).
fn output<'py, S: Strategy>(py: Python<'py>, run: &Run<'_, S>) -> PyResult<Bound<'py, PyDict>> {
    let w = &run.world;
    let sym = |k: usize| w.lanes[k].symbol.as_str();
    let orders = PyList::empty(py);
    for r in &w.out.orders {
        let d = PyDict::new(py);
        d.set_item("time", isoformat(r.time))?;
        d.set_item("action", r.action)?;
        d.set_item("order_id", r.order_id)?;
        d.set_item("symbol", sym(r.lane))?;
        d.set_item("side", r.side.value())?;
        d.set_item("type", kind_value(r.kind))?;
        d.set_item("price", text(r.price))?;
        d.set_item("qty", r.qty)?;
        d.set_item("customTag", &r.tag)?;
        d.set_item("reason", &r.reason)?;
        match &r.extra {
            Extra::None => {}
            Extra::Bracket(sl, tp) => {
                d.set_item("sl_ticks", sl)?;
                d.set_item("tp_ticks", tp)?;
            }
            Extra::FillPrice(p) => d.set_item("fill_price", p.to_string())?,
        }
        orders.append(d)?;
    }
    let fills = PyList::empty(py);
    for f in &w.out.fills {
        let d = PyDict::new(py);
        d.set_item("time", isoformat(f.time))?;
        d.set_item("order_id", f.order_id)?;
        d.set_item("symbol", sym(f.lane))?;
        d.set_item("side", f.side.value())?;
        d.set_item("type", kind_value(f.kind))?;
        d.set_item("price", f.price.to_string())?;
        d.set_item("qty", f.qty)?;
        d.set_item("customTag", &f.tag)?;
        d.set_item("reason", &f.reason)?;
        fills.append(d)?;
    }
    let trades = PyList::empty(py);
    for t in &w.out.trades {
        let d = PyDict::new(py);
        d.set_item("symbol", sym(t.lane))?;
        d.set_item("side", t.side.value())?;
        d.set_item("qty", t.qty)?;
        d.set_item("entry_time", isoformat(t.entry_time))?;
        d.set_item("entry_price", t.entry_price.to_string())?;
        d.set_item("exit_time", isoformat(t.exit_time))?;
        d.set_item("exit_price", t.exit_price.to_string())?;
        d.set_item("ticks", t.ticks)?;
        d.set_item("pnl", t.pnl.to_string())?;
        d.set_item("fees", t.fees.to_string())?;
        d.set_item("customTag", &t.tag)?;
        d.set_item("exit_reason", &t.exit_reason)?;
        trades.append(d)?;
    }
    let equity: Vec<(i64, String)> = w
        .out
        .equity
        .iter()
        .map(|(t, e)| (*t, e.to_string()))
        .collect();
    let notes = PyList::empty(py);
    for n in &w.out.notes {
        notes.append(note(py, n)?)?;
    }
    let l = &w.ledger;
    let lots: Vec<(String, Vec<(String, i64)>)> = l
        .touched()
        .iter()
        .map(|&k| {
            let lots = l
                .lots(k)
                .iter()
                .map(|x| (x.price.to_string(), x.qty))
                .collect();
            (w.lanes[k].contract_id.clone(), lots)
        })
        .collect();
    let out = PyDict::new(py);
    out.set_item("orders", orders)?;
    out.set_item("fills", fills)?;
    out.set_item("trades", trades)?;
    out.set_item("equity", equity)?;
    out.set_item("notes", notes)?;
    out.set_item("state", run.strategy.on_save())?;
    out.set_item("risk", w.risk.as_ref().map(|r| account_out(&r.account)))?;
    out.set_item(
        "ledger",
        (
            l.realized.to_string(),
            l.fees.to_string(),
            l.day_start_balance.to_string(),
            lots,
        ),
    )?;
    Ok(out)
}

/// Backtest the overnight range (`config_json`, as `OvernightRangeCore` takes it) over `days` of the
/// `lanes`' bars; risk in Rust when `risk` is given (a `RiskCore`: the rules and the calendar's
/// years, and the state as `RiskCore.account` reads it), else asked of `host`, as are calendar
/// questions the day tables lack. Returns the records (see `output`); raises when the Rust risk
/// could not decide exactly.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn backtest_run<'py>(
    py: Python<'py>,
    config_json: &str,
    tz_utc: PyReadonlyArray1<'_, i64>,
    tz_offset: PyReadonlyArray1<'_, i64>,
    state: &str,
    lanes: Vec<LaneIn<'py>>,
    days: Vec<DayIn>,
    settings: SettingsIn,
    host: Bound<'py, PyAny>,
    risk: Option<(PyRef<'py, PyRiskCore>, AccountIn)>,
) -> PyResult<Bound<'py, PyDict>> {
    let risk = risk
        .map(|(core, state)| {
            let (rules, calendar) = core.parts();
            account_in(state).map(|account| Risk {
                rules,
                calendar,
                account,
            })
        })
        .transpose()?;
    let config = Config::from_json(config_json).map_err(PyValueError::new_err)?;
    let zone = Zone::new(tz_utc.as_slice()?.to_vec(), tz_offset.as_slice()?.to_vec())
        .map_err(PyValueError::new_err)?;
    let mut strategy = OvernightRange::new(config, zone);
    strategy.on_load(state).map_err(PyValueError::new_err)?;
    let mut run_lanes = Vec::with_capacity(lanes.len());
    for (symbol, contract_id, tick, tick_value, ts, o, h, l, c) in lanes {
        let cols = Columns {
            ts: ts.to_vec()?,
            open: o.to_vec()?,
            high: h.to_vec()?,
            low: l.to_vec()?,
            close: c.to_vec()?,
        };
        let n = cols.ts.len();
        if [
            cols.open.len(),
            cols.high.len(),
            cols.low.len(),
            cols.close.len(),
        ] != [n; 4]
        {
            return Err(PyValueError::new_err(format!(
                "{symbol}: bar columns of different lengths"
            )));
        }
        run_lanes.push(RunLane {
            symbol,
            contract_id,
            money: Money {
                tick: dec(&tick)?,
                tick_value: dec(&tick_value)?,
            },
            bars: Arc::new(cols),
        });
    }
    let mut run_days = Vec::with_capacity(days.len());
    for (day, events, minutes) in days {
        let events = events
            .iter()
            .map(|(t, e)| SessionEvent::parse(e).map(|e| (*t, e)))
            .collect::<Result<_, _>>()
            .map_err(PyValueError::new_err)?;
        run_days.push(Day {
            trading: trading_day(day),
            events,
            minutes,
        });
    }
    let (balance, fees, slippage_ticks, limit_touch, loss_limit) = settings;
    let settings = Settings {
        starting_balance: dec(&balance)?,
        fees_per_side: dec(&fees)?,
        rules: FillRules {
            slippage_ticks,
            limit_touch,
        },
        daily_loss_limit: dec(&loss_limit)?,
    };
    let mut h = PyHost {
        obj: host,
        error: None,
    };
    let mut run = Run::new(strategy, run_lanes, &run_days, settings, &mut h, risk);
    run.run();
    if let Some(why) = run.world.undecided.take() {
        return Err(PyValueError::new_err(why));
    }
    let out = output(py, &run)?;
    drop(run);
    match h.error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(backtest_run, m)?)?;
    m.add_function(wrap_pyfunction!(backtest_advance, m)?)?;
    Ok(())
}
