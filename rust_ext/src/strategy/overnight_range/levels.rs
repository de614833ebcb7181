//! Levels (ONH, ONL, ATR5, ATRD, data coverage) and the filter verdicts, as
//! `OvernightRange.levels` / `_filters` and `trading/marketdata/levels.py` compute them: ATRs are
//! exact fractions of tick-grid prices, verdict values and sentences are written as `Decimal`
//! writes them.

use crate::strategy::dec::{Dec, Frac, Rounding};
use crate::strategy::json::OrderedMap;
use crate::strategy::{Account, Bars};

use super::config::Config;
use super::state::Verdict;

const FIVE_MINUTES_NS: i64 = 300_000_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Levels {
    pub onh: Option<Dec>,
    pub onl: Option<Dec>,
    pub atr5: Option<Frac>,
    pub atrd: Option<Frac>,
    pub present: i64,
    pub expected: i64,
    pub missing_sessions: i64,
}

/// The columns an ATR needs.
struct Hlc {
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
}

/// Simple mean of the true range of the last `period` bars; needs `period + 1` bars.
fn atr(b: &Hlc, period: i64) -> Option<Frac> {
    let n = b.high.len();
    let p = usize::try_from(period).ok()?;
    if n < p + 1 {
        return None;
    }
    let mut sum = Dec::ZERO;
    for i in n - p..n {
        let (h, lo, pc) = (
            Dec::from_f64(b.high[i]),
            Dec::from_f64(b.low[i]),
            Dec::from_f64(b.close[i - 1]),
        );
        sum = sum.plus(h.minus(lo).max(h.minus(pc).abs()).max(lo.minus(pc).abs()));
    }
    Some(sum.frac().over(Frac::new(period as i128, 1)))
}

/// 5-minute bars aligned to :00, :05, ... (New York's offset is whole hours: UTC alignment is New
/// York alignment).
fn five_minute(b: &Bars) -> Hlc {
    let mut out = Hlc {
        high: vec![],
        low: vec![],
        close: vec![],
    };
    let mut bucket = None;
    let (ts, high, low, close) = (b.ts(), b.high(), b.low(), b.close());
    for i in 0..b.len() {
        let k = ts[i].div_euclid(FIVE_MINUTES_NS);
        if bucket == Some(k) {
            let j = out.high.len() - 1;
            out.high[j] = out.high[j].max(high[i]);
            out.low[j] = out.low[j].min(low[i]);
            out.close[j] = close[i];
        } else {
            bucket = Some(k);
            out.high.push(high[i]);
            out.low.push(low[i]);
            out.close.push(close[i]);
        }
    }
    out
}

/// One bar per CME session from each session's (high, low, close); sessions without any bar are
/// left out and counted as missing.
fn session_bars(daily: &[Option<(f64, f64, f64)>]) -> (Hlc, i64) {
    let mut out = Hlc {
        high: vec![],
        low: vec![],
        close: vec![],
    };
    let mut missing = 0;
    for hlc in daily {
        match hlc {
            None => missing += 1,
            Some((h, l, c)) => {
                out.high.push(*h);
                out.low.push(*l);
                out.close.push(*c);
            }
        }
    }
    (out, missing)
}

pub struct LevelInputs<'a> {
    pub history: &'a Bars,
    pub window: (i64, i64),
    pub atr5_from: i64,
    pub until: i64,
    /// Per CME session before the day, oldest first: (high, low, close) of its 1-minute bars, None
    /// when it has none.
    pub daily: &'a [Option<(f64, f64, f64)>],
    pub expected: i64,
}

pub fn levels(c: &Config, x: &LevelInputs<'_>) -> Levels {
    let period = c.atr_period;
    let window = x.history.slice(x.window.0, x.window.1);
    let (onh, onl) = if window.is_empty() {
        (None, None)
    } else {
        let hi = window.high().iter().copied().fold(f64::MIN, f64::max);
        let lo = window.low().iter().copied().fold(f64::MAX, f64::min);
        (Some(Dec::from_f64(hi)), Some(Dec::from_f64(lo)))
    };
    let five = five_minute(&x.history.slice(x.atr5_from, x.until));
    let (daily, mut missing) = session_bars(x.daily);
    missing += period + 1 - x.daily.len() as i64;
    Levels {
        onh,
        onl,
        atr5: if five.high.len() as i64 > period {
            atr(&five, period)
        } else {
            None
        },
        atrd: if missing == 0 {
            atr(&daily, period)
        } else {
            None
        },
        present: window.len() as i64,
        expected: x.expected,
        missing_sessions: missing,
    }
}

impl Levels {
    /// `Levels.as_json`: prices on the tick grid, ATRs with 6 places.
    pub fn as_json(&self, tick: Dec) -> OrderedMap<Option<String>> {
        let price = |p: Option<Dec>| p.map(|v| v.snap(tick, Rounding::Nearest).to_string());
        let range = match (self.onh, self.onl) {
            (Some(h), Some(l)) => price(Some(h.minus(l))),
            _ => None,
        };
        OrderedMap(vec![
            ("onh".into(), price(self.onh)),
            ("onl".into(), price(self.onl)),
            ("range".into(), range),
            ("atr5".into(), self.atr5.map(|a| a.to_dec(6).to_string())),
            ("atrd".into(), self.atrd.map(|a| a.to_dec(6).to_string())),
            ("bars_present".into(), Some(self.present.to_string())),
            ("bars_expected".into(), Some(self.expected.to_string())),
            (
                "missing_sessions".into(),
                Some(self.missing_sessions.to_string()),
            ),
        ])
    }
}

fn show<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "None".to_string(), |x| x.to_string())
}

/// Every filter's verdict and the first blocking reason (`OvernightRange._filters`).
pub fn filters(
    c: &Config,
    lv: &Levels,
    open_price: Option<Dec>,
    prev_close: Option<Dec>,
    account: &Account,
) -> (OrderedMap<Verdict>, Option<String>) {
    let mut out = OrderedMap::default();
    let mut reasons: Vec<String> = vec![];
    let mut verdict =
        |name: &str, enabled: bool, value: Option<String>, blocks: bool, why: String| {
            out.insert(
                name,
                Verdict {
                    enabled,
                    value,
                    blocks: enabled && blocks,
                },
            );
            if enabled && blocks {
                reasons.push(why);
            }
        };
    let ratio = if lv.expected != 0 {
        Frac::new(lv.present as i128, lv.expected as i128)
    } else {
        Frac::new(0, 1)
    };
    let quality = Frac::new(lv.present as i128, lv.expected.max(1) as i128);
    verdict(
        "data_quality",
        c.data_quality_filter,
        Some(ratio.to_dec(4).to_string()),
        quality < c.data_quality_min.frac(),
        format!(
            "data quality: {} of {} expected overnight minutes have bars ({} < {}); the range is not trustworthy",
            lv.present,
            lv.expected,
            ratio.percent(1),
            c.data_quality_min.frac().percent(0)
        ),
    );
    let rng = match (lv.onh, lv.onl) {
        (Some(h), Some(l)) => Some(h.minus(l)),
        _ => None,
    };
    let share = match (rng, lv.onl) {
        (Some(r), Some(l)) if l > Dec::ZERO => Some(r.frac().over(l.frac())),
        _ => None,
    };
    let negative = rng.is_some_and(|r| r.is_negative());
    let how = match share {
        Some(s) if !negative => format!("{} of the price", s.percent(1)),
        _ => "not a range".into(),
    };
    verdict(
        "plausibility",
        c.plausible_range_max > Dec::ZERO,
        share.map(|s| s.to_dec(4).to_string()),
        rng.is_some() && (share.is_none() || negative || share.is_some_and(|s| s > c.plausible_range_max.frac())),
        format!(
            "implausible levels: the overnight range {} points is {how} (more than {}, wider than the exchange lets \
             the market move overnight); check the bar data",
            show(rng),
            c.plausible_range_max.frac().percent(0)
        ),
    );
    verdict(
        "range",
        c.range_filter,
        rng.map(|r| r.to_string()),
        rng.is_none_or(|r| !(c.range_min <= r && r <= c.range_max)),
        format!(
            "range {} points outside [{}, {}]",
            show(rng),
            c.range_min,
            c.range_max
        ),
    );
    let gap = match (open_price, prev_close) {
        (Some(o), Some(p)) => Some(o.minus(p).abs()),
        _ => None,
    };
    verdict(
        "gap",
        c.gap_filter,
        gap.map(|g| g.to_string()),
        gap.is_none_or(|g| g > c.gap_max),
        match gap {
            Some(g) => format!("gap {g} points > {}", c.gap_max),
            None => "gap unknown (no previous close or open)".into(),
        },
    );
    let a5 = lv.atr5.map(|a| a.to_dec(4));
    verdict(
        "volatility",
        c.volatility_filter,
        a5.map(|a| a.to_string()),
        lv.atr5
            .is_none_or(|a| !(c.atr5_min.frac() <= a && a <= c.atr5_max.frac())),
        format!("ATR5 {} outside [{}, {}]", show(a5), c.atr5_min, c.atr5_max),
    );
    let used = account.daily_loss_used();
    verdict(
        "daily_loss",
        c.daily_loss_filter,
        Some(used.to_dec(4).to_string()),
        used >= c.daily_loss_used_max.frac(),
        format!(
            "today's loss has used {} of the daily loss limit (max {})",
            used.percent(0),
            c.daily_loss_used_max.frac().percent(0)
        ),
    );
    let first = reasons.into_iter().next();
    (out, first)
}

/// The buy stop above the range (rounded up) and the sell stop below it (rounded down).
pub fn entry_levels(
    tick: Dec,
    onh: Dec,
    onl: Dec,
    offset: Dec,
) -> [(crate::strategy::Side, Dec); 2] {
    use crate::strategy::Side;
    [
        (Side::Buy, onh.plus(offset).snap(tick, Rounding::Up)),
        (Side::Sell, onl.minus(offset).snap(tick, Rounding::Down)),
    ]
}

/// Bracket distances in ticks: (stop loss, take profit), unsigned.
pub fn bracket_ticks(
    c: &Config,
    tick: Dec,
    atr5: Option<Frac>,
    atrd: Option<Frac>,
) -> (Option<i64>, Option<i64>) {
    let t = tick.frac();
    let stop = atr5.map(|a| {
        (c.min_stop_ticks).max(c.stop_atr_mult.frac().times(a).over(t).round_half_away() as i64)
    });
    let target = atrd.map(|a| c.target_atrd_mult.frac().times(a).over(t).round_half_away() as i64);
    (stop, target)
}
