//! Bar aggregation over contiguous numpy buffers (borrowed, never copied):
//! ticks -> bars (see `ticks.rs` for the ordering rule), bars -> larger bars, and the streaming
//! `BarAggregator`. Bucketing (session alignment, DST) is in `zone.rs`.
//!
//! Bars -> bars: input sorted ascending by bar start (equal starts fold into one bucket); an
//! output bar is labelled by its bucket's start.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::ticks::{aggregate_ticks as ticks_to_bars, Bar, BarColumns, TickAggregator};
use crate::zone::{Bucketer, Zone};

/// Borrowed input columns of an aggregation.
#[derive(Debug, Clone, Copy)]
pub struct BarSlices<'a> {
    pub ts: &'a [i64],
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub volume: &'a [f64],
}

/// Aggregate bars sorted by start time into the buckets of `bucketer`.
pub fn aggregate(input: BarSlices<'_>, bucketer: &Bucketer) -> Result<BarColumns, String> {
    let BarSlices {
        ts,
        open,
        high,
        low,
        close,
        volume,
    } = input;
    let n = ts.len();
    if [open.len(), high.len(), low.len(), close.len(), volume.len()]
        .iter()
        .any(|&l| l != n)
    {
        return Err("all input columns must have the same length".into());
    }
    if let Some(i) = ts.windows(2).position(|w| w[1] < w[0]) {
        return Err(format!(
            "input times must be sorted ascending (index {})",
            i + 1
        ));
    }
    let mut out = BarColumns::with_capacity(n / 2 + 1);
    if n == 0 {
        return Ok(out);
    }
    let (mut start, mut end) = bucketer.bucket(ts[0]);
    let mut cur = Bar {
        ts: start,
        open: open[0],
        high: high[0],
        low: low[0],
        close: close[0],
        volume: volume[0],
    };
    for i in 1..n {
        let t = ts[i];
        if t >= start && t < end {
            cur.high = if high[i] > cur.high {
                high[i]
            } else {
                cur.high
            };
            cur.low = if low[i] < cur.low { low[i] } else { cur.low };
            cur.close = close[i];
            cur.volume += volume[i];
        } else {
            out.push(&cur);
            (start, end) = bucketer.bucket(t);
            cur = Bar {
                ts: start,
                open: open[i],
                high: high[i],
                low: low[i],
                close: close[i],
                volume: volume[i],
            };
        }
    }
    out.push(&cur);
    Ok(out)
}

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
/// tz_offset=None) -> bar columns. Any order of ticks; see the rule in `ticks.rs`.
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

pub type BarTuple = (i64, f64, f64, f64, f64, f64);

fn tuple(b: &Bar) -> BarTuple {
    (b.ts, b.open, b.high, b.low, b.close, b.volume)
}

fn bars_list<'py>(py: Python<'py>, out: &BarColumns) -> PyResult<Bound<'py, PyList>> {
    PyList::new(
        py,
        (0..out.len()).map(|i| {
            (
                out.ts[i],
                out.open[i],
                out.high[i],
                out.low[i],
                out.close[i],
                out.volume[i],
            )
        }),
    )
}

/// Streaming aggregator: feed ticks, drive with `advance(now_ns)`; closed bars come back as
/// lists of (ts, open, high, low, close, volume) tuples.
#[pyclass(module = "trading._native")]
pub struct BarAggregator {
    pub inner: TickAggregator,
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

    fn forming(&self) -> Option<BarTuple> {
        self.inner.forming().as_ref().map(tuple)
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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(aggregate_bars, m)?)?;
    m.add_function(wrap_pyfunction!(aggregate_ticks, m)?)?;
    m.add_class::<BarAggregator>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(period: i64, offset: i64) -> Bucketer {
        Bucketer::new(period, 0, Zone::fixed(offset)).unwrap()
    }

    const MIN: i64 = 60_000_000_000;

    fn cols<'a>(
        ts: &'a [i64],
        o: &'a [f64],
        h: &'a [f64],
        l: &'a [f64],
        c: &'a [f64],
        v: &'a [f64],
    ) -> BarSlices<'a> {
        BarSlices {
            ts,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }

    #[test]
    fn five_minute_buckets_fold_ohlcv() {
        let ts: Vec<i64> = (0..7).map(|i| i * MIN).collect();
        let o = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let h = vec![1.5, 2.5, 9.0, 4.5, 5.5, 6.5, 7.5];
        let l = vec![0.5, 1.5, 2.5, 0.25, 4.5, 5.5, 6.5];
        let c = vec![1.2, 2.2, 3.2, 4.2, 5.2, 6.2, 7.2];
        let v = vec![1.0; 7];
        let out = aggregate(cols(&ts, &o, &h, &l, &c, &v), &fixed(5 * MIN, 0)).unwrap();
        assert_eq!(out.ts, vec![0, 5 * MIN]);
        assert_eq!(out.open, vec![1.0, 6.0]);
        assert_eq!(out.high, vec![9.0, 7.5]);
        assert_eq!(out.low, vec![0.25, 5.5]);
        assert_eq!(out.close, vec![5.2, 7.2]);
        assert_eq!(out.volume, vec![5.0, 2.0]);
    }

    #[test]
    fn gaps_and_offsets_align_to_local_boundaries() {
        // One hour period, offset -5h (New York in winter): buckets still start on the hour.
        let ts = vec![3 * MIN, 70 * MIN, 200 * MIN];
        let x = vec![1.0; 3];
        let out = aggregate(cols(&ts, &x, &x, &x, &x, &x), &fixed(60 * MIN, -300 * MIN)).unwrap();
        assert_eq!(out.ts, vec![0, 60 * MIN, 180 * MIN]);
    }

    #[test]
    fn rejects_unsorted_and_bad_period() {
        let x = vec![1.0; 2];
        assert!(aggregate(cols(&[5, 1], &x, &x, &x, &x, &x), &fixed(10, 0)).is_err());
        assert!(Bucketer::new(0, 0, Zone::fixed(0)).is_err());
        assert!(aggregate(cols(&[1], &x, &x, &x, &x, &x), &fixed(10, 0)).is_err());
    }

    #[test]
    fn empty_input_gives_empty_output() {
        let out = aggregate(cols(&[], &[], &[], &[], &[], &[]), &fixed(10, 0)).unwrap();
        assert!(out.ts.is_empty());
    }
}
