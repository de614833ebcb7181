//! Bar aggregation over contiguous buffers: ticks -> bars (`ticks`, streaming and batch, one
//! ordering rule), bars -> larger bars (`resample`), both bucketed by `zone` (session-aligned, New
//! York zone tables handed over from Python, DST-correct). No pyo3 here: the numpy bindings are in
//! `python/bars.rs`.

pub mod resample;
pub mod ticks;
pub mod zone;

/// One bar; `ts` is the bucket start (UTC ns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub ts: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

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

impl BarColumns {
    pub fn with_capacity(n: usize) -> Self {
        BarColumns {
            ts: Vec::with_capacity(n),
            open: Vec::with_capacity(n),
            high: Vec::with_capacity(n),
            low: Vec::with_capacity(n),
            close: Vec::with_capacity(n),
            volume: Vec::with_capacity(n),
        }
    }

    pub fn push(&mut self, b: &Bar) {
        self.ts.push(b.ts);
        self.open.push(b.open);
        self.high.push(b.high);
        self.low.push(b.low);
        self.close.push(b.close);
        self.volume.push(b.volume);
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The bars, in order.
    pub fn iter(&self) -> impl Iterator<Item = Bar> + '_ {
        (0..self.len()).map(|i| Bar {
            ts: self.ts[i],
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_hold_bars_in_order() {
        let mut cols = BarColumns::with_capacity(2);
        assert!(cols.is_empty());
        let a = Bar {
            ts: 1,
            open: 2.0,
            high: 3.0,
            low: 1.0,
            close: 2.5,
            volume: 7.0,
        };
        let b = Bar { ts: 2, ..a };
        cols.push(&a);
        cols.push(&b);
        assert_eq!(cols.len(), 2);
        assert_eq!(cols.iter().collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(cols.volume, vec![7.0, 7.0]);
    }
}
