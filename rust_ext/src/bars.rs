//! Bar aggregation over contiguous buffers: bars -> larger bars, bucketed by start time.
//!
//! Times are integer nanoseconds since the Unix epoch (UTC). A bucket is
//! `floor((t + offset_ns) / period_ns)`; `offset_ns` is the UTC offset of the
//! session's time zone for the bars, so that buckets align to local wall-clock
//! boundaries (:00, :05, ... in New York). For periods that divide an hour the
//! offset changes nothing, since New York's offsets are whole hours.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Output columns of an aggregation, one entry per output bar.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BarColumns {
    pub ts: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
}

fn bucket_start(t: i64, period_ns: i64, offset_ns: i64) -> i64 {
    (t + offset_ns).div_euclid(period_ns) * period_ns - offset_ns
}

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

/// Aggregate bars sorted by start time into buckets of `period_ns`.
///
/// Input must be sorted ascending by `ts` (equal times allowed: they fold into
/// the same bucket). The output bar is labelled by its bucket's start time.
pub fn aggregate(
    input: BarSlices<'_>,
    period_ns: i64,
    offset_ns: i64,
) -> Result<BarColumns, String> {
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
    if period_ns <= 0 {
        return Err(format!("period must be positive, got {period_ns} ns"));
    }
    if let Some(i) = ts.windows(2).position(|w| w[1] < w[0]) {
        return Err(format!(
            "input times must be sorted ascending (index {})",
            i + 1
        ));
    }
    let mut out = BarColumns::default();
    let mut current: Option<i64> = None;
    for i in 0..n {
        let b = bucket_start(ts[i], period_ns, offset_ns);
        if current == Some(b) {
            let last = out.ts.len() - 1;
            out.high[last] = out.high[last].max(high[i]);
            out.low[last] = out.low[last].min(low[i]);
            out.close[last] = close[i];
            out.volume[last] += volume[i];
        } else {
            current = Some(b);
            out.ts.push(b);
            out.open.push(open[i]);
            out.high.push(high[i]);
            out.low.push(low[i]);
            out.close.push(close[i]);
            out.volume.push(volume[i]);
        }
    }
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

/// aggregate_bars(ts, open, high, low, close, volume, period_ns, offset_ns=0)
/// -> (ts, open, high, low, close, volume) as new numpy arrays.
#[pyfunction]
#[pyo3(signature = (ts, open, high, low, close, volume, period_ns, offset_ns = 0))]
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
) -> PyResult<PyBarColumns<'py>> {
    let input = BarSlices {
        ts: ts.as_slice()?,
        open: open.as_slice()?,
        high: high.as_slice()?,
        low: low.as_slice()?,
        close: close.as_slice()?,
        volume: volume.as_slice()?,
    };
    let out = aggregate(input, period_ns, offset_ns).map_err(PyValueError::new_err)?;
    Ok((
        PyArray1::from_vec(py, out.ts),
        PyArray1::from_vec(py, out.open),
        PyArray1::from_vec(py, out.high),
        PyArray1::from_vec(py, out.low),
        PyArray1::from_vec(py, out.close),
        PyArray1::from_vec(py, out.volume),
    ))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(aggregate_bars, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let out = aggregate(cols(&ts, &o, &h, &l, &c, &v), 5 * MIN, 0).unwrap();
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
        let out = aggregate(cols(&ts, &x, &x, &x, &x, &x), 60 * MIN, -300 * MIN).unwrap();
        assert_eq!(out.ts, vec![0, 60 * MIN, 180 * MIN]);
    }

    #[test]
    fn rejects_unsorted_and_bad_period() {
        let x = vec![1.0; 2];
        assert!(aggregate(cols(&[5, 1], &x, &x, &x, &x, &x), 10, 0).is_err());
        assert!(aggregate(cols(&[1, 5], &x, &x, &x, &x, &x), 0, 0).is_err());
        assert!(aggregate(cols(&[1], &x, &x, &x, &x, &x), 10, 0).is_err());
    }

    #[test]
    fn empty_input_gives_empty_output() {
        let out = aggregate(cols(&[], &[], &[], &[], &[], &[]), 10, 0).unwrap();
        assert!(out.ts.is_empty());
    }
}
