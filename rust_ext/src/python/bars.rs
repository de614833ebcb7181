//! numpy bindings of `bars/`: the batch aggregations borrow the caller's arrays (never copied) and
//! return new arrays; the streaming `BarAggregator` returns closed bars as `BarRecord`s, a
//! NamedTuple `(ts, open, high, low, close, volume)` declared in `_native.pyi`, the record its Python
//! twin (`PyBarAggregator`) returns too.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;

use crate::bars::resample::{aggregate, BarSlices};
use crate::bars::ticks::{aggregate_ticks as ticks_to_bars, TickAggregator};
use crate::bars::zone::{Bucketer, Zone};
use crate::bars::{Bar, BarColumns};

type PyBarColumns<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
);

fn to_py(py: Python<'_>, out: BarColumns) -> PyBarColumns<'_> {
    (
        PyArray1::from_vec(py, out.ts),
        PyArray1::from_vec(py, out.open),
        PyArray1::from_vec(py, out.high),
        PyArray1::from_vec(py, out.low),
        PyArray1::from_vec(py, out.close),
        PyArray1::from_vec(py, out.volume),
    )
}

fn make_bucketer(
    period_ns: i64,
    offset_ns: i64,
    origin_ns: i64,
    tz_utc: Option<PyReadonlyArray1<'_, i64>>,
    tz_offset: Option<PyReadonlyArray1<'_, i64>>,
) -> PyResult<Bucketer> {
    let zone = match (tz_utc, tz_offset) {
        (Some(u), Some(o)) => Zone::new(u.as_slice()?.to_vec(), o.as_slice()?.to_vec()),
        (None, None) => Ok(Zone::fixed(offset_ns)),
        _ => Err("tz_utc and tz_offset go together".to_string()),
    }
    .map_err(PyValueError::new_err)?;
    Bucketer::new(period_ns, origin_ns, zone).map_err(PyValueError::new_err)
}

/// aggregate_bars(ts, open, high, low, close, volume, period_ns, offset_ns=0, *, origin_ns=0,
/// tz_utc=None, tz_offset=None) -> (ts, open, high, low, close, volume) as new numpy arrays.
#[pyfunction]
#[pyo3(signature = (ts, open, high, low, close, volume, period_ns, offset_ns = 0, *, origin_ns = 0, tz_utc = None, tz_offset = None))]
#[allow(clippy::too_many_arguments)]
fn aggregate_bars<'py>(
    py: Python<'py>,
    ts: PyReadonlyArray1<'py, i64>,
    open: PyReadonlyArray1<'py, f64>,
    high: PyReadonlyArray1<'py, f64>,
    low: PyReadonlyArray1<'py, f64>,
    close: PyReadonlyArray1<'py, f64>,
    volume: PyReadonlyArray1<'py, f64>,
    period_ns: i64,
    offset_ns: i64,
    origin_ns: i64,
    tz_utc: Option<PyReadonlyArray1<'py, i64>>,
    tz_offset: Option<PyReadonlyArray1<'py, i64>>,
) -> PyResult<PyBarColumns<'py>> {
    let bucketer = make_bucketer(period_ns, offset_ns, origin_ns, tz_utc, tz_offset)?;
    let input = BarSlices {
        ts: ts.as_slice()?,
        open: open.as_slice()?,
        high: high.as_slice()?,
        low: low.as_slice()?,
        close: close.as_slice()?,
        volume: volume.as_slice()?,
    };
    let out = aggregate(input, &bucketer).map_err(PyValueError::new_err)?;
    Ok(to_py(py, out))
}

/// aggregate_ticks(ts, price, size, period_ns, offset_ns=0, *, origin_ns=0, tz_utc=None,
/// tz_offset=None) -> bar columns. Any order of ticks; see the rule in `bars/ticks.rs`.
#[pyfunction]
#[pyo3(signature = (ts, price, size, period_ns, offset_ns = 0, *, origin_ns = 0, tz_utc = None, tz_offset = None))]
#[allow(clippy::too_many_arguments)]
fn aggregate_ticks<'py>(
    py: Python<'py>,
    ts: PyReadonlyArray1<'py, i64>,
    price: PyReadonlyArray1<'py, f64>,
    size: PyReadonlyArray1<'py, f64>,
    period_ns: i64,
    offset_ns: i64,
    origin_ns: i64,
    tz_utc: Option<PyReadonlyArray1<'py, i64>>,
    tz_offset: Option<PyReadonlyArray1<'py, i64>>,
) -> PyResult<PyBarColumns<'py>> {
    let bucketer = make_bucketer(period_ns, offset_ns, origin_ns, tz_utc, tz_offset)?;
    let (t, p, s) = (ts.as_slice()?, price.as_slice()?, size.as_slice()?);
    let out = if t.len() > 100_000 {
        py.detach(|| ticks_to_bars(t, p, s, bucketer))
    } else {
        ticks_to_bars(t, p, s, bucketer)
    }
    .map_err(PyValueError::new_err)?;
    Ok(to_py(py, out))
}

/// The record a streamed bar crosses into Python as: a NamedTuple made once, exported as
/// `_native.BarRecord` (named fields; a tuple to the twin's equal records).
static BAR_RECORD: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn bar_record(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    BAR_RECORD
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            let fields = ("ts", "open", "high", "low", "close", "volume");
            let cls = py
                .import("collections")?
                .getattr("namedtuple")?
                .call1(("BarRecord", fields))?;
            cls.setattr("__module__", "trading._native")?;
            Ok(cls.unbind())
        })
        .map(|cls| cls.bind(py))
}

fn record<'py>(cls: &Bound<'py, PyAny>, b: &Bar) -> PyResult<Bound<'py, PyAny>> {
    cls.call1((b.ts, b.open, b.high, b.low, b.close, b.volume))
}

fn bars_list<'py>(py: Python<'py>, out: &BarColumns) -> PyResult<Bound<'py, PyList>> {
    let cls = bar_record(py)?;
    let rows = out
        .iter()
        .map(|b| record(cls, &b))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, rows)
}

/// Streaming aggregator: feed ticks, drive with `advance(now_ns)`; closed bars come back as
/// lists of `BarRecord(ts, open, high, low, close, volume)`.
#[pyclass(module = "trading._native")]
struct BarAggregator {
    inner: TickAggregator,
}

#[pymethods]
impl BarAggregator {
    #[new]
    #[pyo3(signature = (period_ns, offset_ns = 0, *, origin_ns = 0, tz_utc = None, tz_offset = None))]
    fn new(
        period_ns: i64,
        offset_ns: i64,
        origin_ns: i64,
        tz_utc: Option<PyReadonlyArray1<'_, i64>>,
        tz_offset: Option<PyReadonlyArray1<'_, i64>>,
    ) -> PyResult<Self> {
        let bucketer = make_bucketer(period_ns, offset_ns, origin_ns, tz_utc, tz_offset)?;
        Ok(BarAggregator {
            inner: TickAggregator::new(bucketer),
        })
    }

    fn push<'py>(
        &mut self,
        py: Python<'py>,
        ts: i64,
        price: f64,
        size: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut out = BarColumns::default();
        self.inner.push(ts, price, size, &mut out);
        bars_list(py, &out)
    }

    fn push_batch<'py>(
        &mut self,
        py: Python<'py>,
        ts: PyReadonlyArray1<'py, i64>,
        price: PyReadonlyArray1<'py, f64>,
        size: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let (t, p, s) = (ts.as_slice()?, price.as_slice()?, size.as_slice()?);
        if p.len() != t.len() || s.len() != t.len() {
            return Err(PyValueError::new_err(
                "all input columns must have the same length",
            ));
        }
        let mut out = BarColumns::default();
        self.inner.feed(t, p, s, &mut out);
        bars_list(py, &out)
    }

    fn advance<'py>(&mut self, py: Python<'py>, now_ns: i64) -> PyResult<Bound<'py, PyList>> {
        let mut out = BarColumns::default();
        self.inner.advance(now_ns, &mut out);
        bars_list(py, &out)
    }

    fn flush<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut out = BarColumns::default();
        self.inner.flush(&mut out);
        bars_list(py, &out)
    }

    fn forming<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.inner.forming().as_ref() {
            Some(b) => Ok(Some(record(bar_record(py)?, b)?)),
            None => Ok(None),
        }
    }

    #[getter]
    fn late(&self) -> u64 {
        self.inner.late
    }

    #[getter]
    fn invalid(&self) -> u64 {
        self.inner.invalid
    }

    #[getter]
    fn period_ns(&self) -> i64 {
        self.inner.period()
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(aggregate_bars, m)?)?;
    m.add_function(wrap_pyfunction!(aggregate_ticks, m)?)?;
    m.add_class::<BarAggregator>()?;
    m.add("BarRecord", bar_record(m.py())?)?;
    Ok(())
}
