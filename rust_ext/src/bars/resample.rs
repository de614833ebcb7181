//! Bars -> larger bars over borrowed columns (never copied): input sorted ascending by bar start
//! (equal starts fold into one bucket); an output bar is labelled by its bucket's start.

use super::zone::Bucketer;
use super::{Bar, BarColumns};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bars::zone::Zone;

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
