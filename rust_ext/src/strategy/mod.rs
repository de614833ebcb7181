//! The strategy core: the `Strategy` trait of `trading/strategies/base.py` (session events, bar,
//! quote, order update, fill, state save/load) and the `Context` through which a strategy reads
//! the world and acts (place, cancel, modify stop, notify). No pyo3 here: the bindings live in
//! `python/strategy.rs`, where `Context` is the Python engine's or backtest's context.
//!
//! Money is exact ([`dec::Dec`], the text `Decimal` writes); times are UTC nanoseconds; New York
//! wall-clock times are converted with the crate's zone tables (`bars::zone`).

pub mod armed;
pub mod dec;
pub mod json;
pub mod overnight_range;

use std::sync::Arc;

use dec::Dec;

/// Scheduled points of a trading day (`SessionEvent`), in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    PreOpen,
    Open,
    LastEntry,
    Flatten,
    Summary,
}

impl SessionEvent {
    pub fn parse(text: &str) -> Result<SessionEvent, String> {
        Ok(match text {
            "pre_open" => SessionEvent::PreOpen,
            "open" => SessionEvent::Open,
            "last_entry" => SessionEvent::LastEntry,
            "flatten" => SessionEvent::Flatten,
            "summary" => SessionEvent::Summary,
            other => return Err(format!("unknown session event {other:?}")),
        })
    }
}

/// One trading day as `trading.calendar` gives it (UTC ns), with the calendar facts a strategy
/// needs from the exchange calendar package (which stays in Python).
#[derive(Debug, Clone, PartialEq)]
pub struct TradingDay {
    pub date: (i64, i64, i64),
    pub window_start: i64,
    pub window_end: i64,
    pub rth_open: i64,
    pub rth_close: i64,
    pub flatten: i64,
    /// The complete CME sessions (open, close) before the day's session, oldest first.
    pub sessions_before: Vec<(i64, i64)>,
    /// The previous trading day's NYSE open and close.
    pub previous_rth: Option<(i64, i64)>,
}

impl TradingDay {
    pub fn iso(&self) -> String {
        let (y, m, d) = self.date;
        format!("{y:04}-{m:02}-{d:02}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Buy, Side::Sell];

    pub fn value(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }

    pub fn parse(text: &str) -> Result<Side, String> {
        match text {
            "buy" => Ok(Side::Buy),
            "sell" => Ok(Side::Sell),
            other => Err(format!("unknown side {other:?}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    Market,
    Limit,
    Stop,
}

/// One of the strategy's orders as the context reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderView {
    pub id: Option<i64>,
    pub custom_tag: Option<String>,
    pub parent_id: Option<i64>,
    pub kind: OrderKind,
    /// `OrderStatus` value: open, pending, filled, cancelled, expired, rejected, ...
    pub status: String,
    pub working: bool,
    pub stop_price: Option<Dec>,
    pub filled_price: Option<Dec>,
}

/// An order the strategy proposes (risk approves or refuses it).
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceRequest {
    pub symbol: String,
    pub side: Side,
    pub kind: OrderKind,
    pub size: i64,
    pub custom_tag: String,
    pub stop_price: Option<Dec>,
    /// Signed bracket offsets in ticks: (stop loss, take profit).
    pub bracket: Option<(i64, i64)>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub approved: bool,
    pub reason: String,
    pub order_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Account {
    pub daily_pnl: Dec,
    pub daily_loss_limit: Dec,
}

impl Account {
    /// Fraction of the daily loss limit already lost today (0 when in profit).
    pub fn daily_loss_used(&self) -> dec::Frac {
        let lost = if self.daily_pnl.is_negative() {
            self.daily_pnl.negated()
        } else {
            Dec::ZERO
        };
        lost.frac().over(self.daily_loss_limit.frac())
    }
}

/// 1-minute bar columns, by time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    pub ts: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
}

impl Columns {
    pub fn push(&mut self, t: i64, o: f64, h: f64, l: f64, c: f64) {
        self.ts.push(t);
        self.open.push(o);
        self.high.push(h);
        self.low.push(l);
        self.close.push(c);
    }
}

/// Closed 1-minute bars: rows `lo..hi` of shared columns, so a slice (and a backtest handing the
/// strategy its bars) copies no row.
#[derive(Debug, Clone, Default)]
pub struct Bars {
    cols: Arc<Columns>,
    lo: usize,
    hi: usize,
}

impl PartialEq for Bars {
    fn eq(&self, o: &Bars) -> bool {
        self.ts() == o.ts()
            && self.open() == o.open()
            && self.high() == o.high()
            && self.low() == o.low()
            && self.close() == o.close()
    }
}

impl Bars {
    pub fn of(cols: Columns) -> Bars {
        Bars::rows(Arc::new(cols), 0, usize::MAX)
    }

    /// Rows `lo..hi` of `cols` (clamped to them).
    pub fn rows(cols: Arc<Columns>, lo: usize, hi: usize) -> Bars {
        let hi = hi.min(cols.ts.len());
        Bars {
            lo: lo.min(hi),
            hi,
            cols,
        }
    }

    pub fn ts(&self) -> &[i64] {
        &self.cols.ts[self.lo..self.hi]
    }

    pub fn open(&self) -> &[f64] {
        &self.cols.open[self.lo..self.hi]
    }

    pub fn high(&self) -> &[f64] {
        &self.cols.high[self.lo..self.hi]
    }

    pub fn low(&self) -> &[f64] {
        &self.cols.low[self.lo..self.hi]
    }

    pub fn close(&self) -> &[f64] {
        &self.cols.close[self.lo..self.hi]
    }

    pub fn len(&self) -> usize {
        self.hi - self.lo
    }

    pub fn is_empty(&self) -> bool {
        self.hi == self.lo
    }

    /// (highest high, lowest low, last close), None when there is no row.
    pub fn hlc(&self) -> Option<(f64, f64, f64)> {
        let close = *self.close().last()?;
        let high = self.high().iter().copied().fold(f64::MIN, f64::max);
        let low = self.low().iter().copied().fold(f64::MAX, f64::min);
        Some((high, low, close))
    }

    /// Rows with open time in [start, end).
    pub fn slice(&self, start: i64, end: i64) -> Bars {
        let ts = self.ts();
        let lo = ts.partition_point(|&t| t < start);
        let hi = ts.partition_point(|&t| t < end).max(lo);
        Bars::rows(self.cols.clone(), self.lo + lo, self.lo + hi)
    }
}

/// What a strategy says to the trader; the host formats it (`trading/notifications.py`).
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A range card: `card` is "range" (09:25, provisional) or "open"; the parts are JSON text
    /// with the keys in the order the Python strategy writes them.
    RangeCard {
        symbol: String,
        card: &'static str,
        levels: String,
        filters: String,
        blocked: Option<String>,
        sides: String,
        warmup: Option<String>,
    },
    /// An entry or exit fill of one of the strategy's entries.
    Fill {
        symbol: String,
        exit: bool,
        side: Side,
        price: Dec,
        size: i64,
        tag: Option<String>,
        entry_price: Option<Dec>,
    },
    /// The day's summary: trade rows (symbol, tag, side, size, status, entry, exit), notes per
    /// symbol and the raw day state of every symbol (JSON text).
    Summary {
        date: String,
        trades: Vec<TradeRow>,
        notes: Vec<(String, String)>,
        symbols: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TradeRow {
    pub symbol: String,
    pub tag: String,
    pub side: String,
    pub size: i64,
    pub status: String,
    pub entry: Option<String>,
    pub exit: Option<String>,
}

/// Everything a strategy may read or do (`StrategyContext`).
pub trait Context {
    fn now(&mut self) -> i64;
    fn tick_size(&mut self, symbol: &str) -> Dec;
    /// Closed 1-minute bars with open time in [start, end).
    fn bars(&mut self, symbol: &str, start: i64, end: i64) -> Bars;
    fn last_price(&mut self, symbol: &str) -> Option<Dec>;
    /// This strategy's orders today (working and done), bracket children included.
    fn orders(&mut self) -> Vec<OrderView>;
    /// (long, size) of the open position, None when flat.
    fn position(&mut self, symbol: &str) -> Option<(bool, i64)>;
    fn account(&mut self) -> Account;
    /// How many 1-minute bars the calendar expects with open time in [start, end).
    fn open_minutes(&mut self, start: i64, end: i64) -> i64;
    /// (high, low, close) of the rows of `history` (closed bars of `symbol`) with open time in
    /// [open, close) of a finished session; a context whose bars never change may remember it.
    fn session_hlc(
        &mut self,
        _symbol: &str,
        history: &Bars,
        open: i64,
        close: i64,
    ) -> Option<(f64, f64, f64)> {
        history.slice(open, close).hlc()
    }
    fn propose(&mut self, request: PlaceRequest) -> Decision;
    fn cancel(&mut self, order_id: i64);
    fn modify_stop(&mut self, order_id: i64, price: Dec);
    fn notify(&mut self, notice: Notice);
}

/// The strategy's events (`Strategy` of base.py); every handler acts only through `ctx`.
pub trait Strategy {
    fn name(&self) -> &str;
    fn on_session_event(&mut self, ctx: &mut dyn Context, event: SessionEvent, day: &TradingDay);
    fn on_bar(&mut self, ctx: &mut dyn Context, symbol: &str, high: f64, low: f64);
    /// Until its next handler call, `on_bar(symbol, ...)` acts only on a bar that reaches one of
    /// these (buy, level): a buy's high at or above its level, a sell's low at or below it; None when
    /// any bar may act (the default).
    fn bar_triggers(&self, _symbol: &str) -> Option<Vec<(bool, f64)>> {
        None
    }
    fn on_quote(&mut self, ctx: &mut dyn Context, symbol: &str, last: Option<Dec>);
    fn on_order_update(&mut self, ctx: &mut dyn Context, order: &OrderView);
    fn on_fill(&mut self, ctx: &mut dyn Context, order: &OrderView, price: Dec, size: i64);
    /// State for the current trading day as JSON text ("{}" when there is none).
    fn on_save(&self) -> String;
    fn on_load(&mut self, state: &str) -> Result<(), String>;
}
