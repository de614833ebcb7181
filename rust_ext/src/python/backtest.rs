//! Binding of `backtest/`: `backtest_advance`, the fast-forward over bars that change nothing
//! (used by `trading/backtest/runner.py`). Bar columns cross as numpy arrays (no copy).

use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::backtest::skip::{advance, Guard, Kind, Lane, Resting};

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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(backtest_advance, m)?)?;
    Ok(())
}
