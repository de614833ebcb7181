//! Ticks -> bars, streaming and batch, with one ordering rule for both.
//!
//! The rule (identical in the Python twin, `PyBarAggregator`):
//! * A bar is *forming* from its first tick until a tick of a later bucket arrives or the clock
//!   (`advance(now)`) reaches its end; then it is *closed* and emitted once.
//! * A tick whose time is before the forming bar's start (or, with no bar forming, before the end
//!   of the last closed bar) is *late*: it is dropped and counted. A tick with a non-finite price
//!   is *invalid*: dropped and counted.
//! * Within a bar, ticks count in arrival order: open is the first tick to arrive, close the last;
//!   high, low and volume do not depend on order. Equal timestamps (duplicates) are ordinary ticks.
//! * Empty intervals produce no bar: nothing is emitted while no tick arrives (market closed).
//!
//! Batch aggregation is the streaming aggregator run over the arrays, with the forming bar
//! appended at the end.

use super::zone::Bucketer;
use super::{Bar, BarColumns};

/// Streaming tick aggregator. The forming bar lives in plain fields (no `Option`) so that the
/// batch loop keeps it in registers.
#[derive(Debug, Clone)]
pub struct TickAggregator {
    bucketer: Bucketer,
    has: bool,
    cur: Bar,
    end: i64,
    watermark: i64,
    pub late: u64,
    pub invalid: u64,
}

impl TickAggregator {
    pub fn new(bucketer: Bucketer) -> Self {
        TickAggregator {
            bucketer,
            has: false,
            cur: Bar {
                ts: 0,
                open: 0.0,
                high: 0.0,
                low: 0.0,
                close: 0.0,
                volume: 0.0,
            },
            end: 0,
            watermark: i64::MIN,
            late: 0,
            invalid: 0,
        }
    }

    /// Feed one tick; a bar closed by it is pushed to `out`.
    #[inline(always)]
    pub fn push(&mut self, t: i64, price: f64, size: f64, out: &mut BarColumns) {
        if !price.is_finite() {
            self.invalid += 1;
            return;
        }
        if self.has && t >= self.cur.ts && t < self.end {
            let bar = &mut self.cur;
            bar.high = if price > bar.high { price } else { bar.high };
            bar.low = if price < bar.low { price } else { bar.low };
            bar.close = price;
            bar.volume += size;
            return;
        }
        self.push_slow(t, price, size, out);
    }

    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, t: i64, price: f64, size: f64, out: &mut BarColumns) {
        if self.has {
            if t < self.cur.ts {
                self.late += 1;
                return;
            }
            out.push(&self.cur);
            self.watermark = self.end;
            self.has = false;
        } else if t < self.watermark {
            self.late += 1;
            return;
        }
        let (s, e) = self.bucketer.bucket(t);
        self.cur = Bar {
            ts: s,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: size,
        };
        self.end = e;
        self.has = true;
    }

    /// Feed slices of ticks (equal lengths, checked by the caller). Same result as `push` on
    /// each tick; the run of ticks inside the forming bar is folded with the bar in registers.
    pub fn feed(&mut self, ts: &[i64], price: &[f64], size: &[f64], out: &mut BarColumns) {
        let n = ts.len().min(price.len()).min(size.len());
        let mut i = 0;
        while i < n {
            if self.has {
                let (s, e) = (self.cur.ts, self.end);
                let mut bar = self.cur;
                while i < n {
                    let (t, p) = (ts[i], price[i]);
                    if !(t >= s && t < e && p.is_finite()) {
                        break;
                    }
                    bar.high = if p > bar.high { p } else { bar.high };
                    bar.low = if p < bar.low { p } else { bar.low };
                    bar.close = p;
                    bar.volume += size[i];
                    i += 1;
                }
                self.cur = bar;
                if i >= n {
                    break;
                }
            }
            self.push(ts[i], price[i], size[i], out);
            i += 1;
        }
    }

    /// The clock says `now`: close the forming bar if its bucket has ended.
    pub fn advance(&mut self, now: i64, out: &mut BarColumns) {
        if self.has && now >= self.end {
            out.push(&self.cur);
            self.watermark = self.end;
            self.has = false;
        }
    }

    pub fn forming(&self) -> Option<Bar> {
        self.has.then_some(self.cur)
    }

    /// Close the forming bar whatever the time (end of a batch or of the session).
    pub fn flush(&mut self, out: &mut BarColumns) {
        if self.has {
            out.push(&self.cur);
            self.watermark = self.end;
            self.has = false;
        }
    }

    pub fn period(&self) -> i64 {
        self.bucketer.period()
    }
}

/// Batch: every bar of the ticks, the last (possibly incomplete) one included.
pub fn aggregate_ticks(
    ts: &[i64],
    price: &[f64],
    size: &[f64],
    bucketer: Bucketer,
) -> Result<BarColumns, String> {
    if price.len() != ts.len() || size.len() != ts.len() {
        return Err("all input columns must have the same length".into());
    }
    let guess = match (ts.first(), ts.last()) {
        (Some(a), Some(b)) => {
            ((b.saturating_sub(*a)) / bucketer.period()).clamp(0, 1 << 20) as usize + 2
        }
        _ => 0,
    };
    let mut out = BarColumns::with_capacity(guess);
    let mut agg = TickAggregator::new(bucketer);
    agg.feed(ts, price, size, &mut out);
    agg.flush(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bars::zone::Zone;

    const MIN: i64 = 60_000_000_000;

    fn minute() -> Bucketer {
        Bucketer::new(MIN, 0, Zone::fixed(-4 * 60 * MIN)).unwrap()
    }

    #[test]
    fn batch_folds_ticks_into_minutes() {
        let ts = [0, 10, MIN - 1, MIN, 3 * MIN + 5];
        let p = [10.0, 12.0, 9.0, 11.0, 13.0];
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        let out = aggregate_ticks(&ts, &p, &v, minute()).unwrap();
        assert_eq!(out.ts, vec![0, MIN, 3 * MIN]); // no phantom bar for minute 2
        assert_eq!(out.open, vec![10.0, 11.0, 13.0]);
        assert_eq!(out.high, vec![12.0, 11.0, 13.0]);
        assert_eq!(out.low, vec![9.0, 11.0, 13.0]);
        assert_eq!(out.close, vec![9.0, 11.0, 13.0]);
        assert_eq!(out.volume, vec![6.0, 4.0, 5.0]);
    }

    #[test]
    fn out_of_order_within_bar_counts_late_before_bar_dropped() {
        let ts = [MIN + 30, MIN + 10, MIN - 5, 2 * MIN, MIN + 50, 2 * MIN];
        let p = [5.0, 4.0, 100.0, 6.0, 100.0, 7.0];
        let v = [1.0; 6];
        let mut out = BarColumns::default();
        let mut agg = TickAggregator::new(minute());
        for i in 0..ts.len() {
            agg.push(ts[i], p[i], v[i], &mut out);
        }
        assert_eq!(agg.late, 2);
        assert_eq!(out.ts, vec![MIN]);
        assert_eq!(
            (out.open[0], out.close[0], out.low[0], out.volume[0]),
            (5.0, 4.0, 4.0, 2.0)
        );
        let f = agg.forming().unwrap();
        assert_eq!((f.ts, f.open, f.close, f.volume), (2 * MIN, 6.0, 7.0, 2.0));
    }

    #[test]
    fn clock_closes_bars_without_ticks_and_never_invents_bars() {
        let mut out = BarColumns::default();
        let mut agg = TickAggregator::new(minute());
        agg.push(5, 1.0, 1.0, &mut out);
        agg.advance(MIN - 1, &mut out);
        assert!(out.is_empty());
        agg.advance(MIN, &mut out);
        assert_eq!(out.ts, vec![0]);
        agg.advance(100 * MIN, &mut out);
        assert_eq!(out.len(), 1);
        assert!(agg.forming().is_none());
        agg.push(30, 1.0, 1.0, &mut out); // before the closed bar's end: late
        assert_eq!(agg.late, 1);
    }

    #[test]
    fn invalid_prices_and_length_mismatch() {
        let out = aggregate_ticks(&[1, 2], &[f64::NAN, 2.0], &[1.0, 1.0], minute()).unwrap();
        assert_eq!(out.open, vec![2.0]);
        assert!(aggregate_ticks(&[1, 2], &[1.0], &[1.0, 1.0], minute()).is_err());
        assert!(aggregate_ticks(&[], &[], &[], minute()).unwrap().is_empty());
    }
}
