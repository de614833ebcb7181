//! The whole backtest loop for a strategy with a Rust core, step for step `Backtest.run` of
//! `trading/backtest/runner.py`: per trading day the session events at their times, then every
//! regular-hours bar of every symbol through the book (`book.rs`), the mark to market, the kill
//! switch and the strategy's `on_bar`; the day's leftovers cancelled at its end. The strategy is
//! driven here directly, through [`World`], its `Context`.
//!
//! Risk: `crate::risk`'s check and mark (`risk.rs`, the engine's rules for every profile) when the
//! run is given one, else the host's (`Host`, Python in `trading/backtest/native.py`: the
//! `RiskManager` itself). The host also answers the exchange calendar's questions the day tables do
//! not hold. Every proposal is checked and every fill marked; a bar's mark is made only when it could
//! trip the kill switch or roll risk's day (`skip::Guard`, the same guard the Python loop's
//! fast-forward uses).
//!
//! Re-entrancy as in `trading/strategies/native.py`: an order update caused by the running handler
//! is delivered when the handler returns.

use std::sync::Arc;

use crate::backtest::book::{trigger, BarPx, Book, Child, FillRules, Order, Status};
use crate::backtest::ledger::{Ledger, Money};
use crate::backtest::risk::Risk;
use crate::backtest::skip::Guard;
use crate::common::time::isoformat;
use crate::strategy::dec::{Dec, Rounding};
use crate::strategy::{
    Account, Bars, Columns, Context, Decision, Notice, OrderKind, OrderView, PlaceRequest,
    SessionEvent, Side, Strategy, TradingDay,
};

const MINUTE: i64 = 60_000_000_000;

/// One symbol of the run: its contract and its 1-minute bars.
#[derive(Debug, Clone)]
pub struct Lane {
    pub symbol: String,
    pub contract_id: String,
    pub money: Money,
    pub bars: Arc<Columns>,
}

/// One trading day: the strategy's day, the session events in the order they fire, and the
/// calendar's expected minutes for the (start, end) windows the strategy will ask about.
#[derive(Debug, Clone)]
pub struct Day {
    pub trading: TradingDay,
    pub events: Vec<(i64, SessionEvent)>,
    pub minutes: Vec<(i64, i64, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub starting_balance: Dec,
    pub fees_per_side: Dec,
    pub rules: FillRules,
    /// The account's daily loss limit as the strategy reads it (`AccountInfo.daily_loss_limit`).
    pub daily_loss_limit: Dec,
}

/// What risk reads: the account as the ledger sees it (`trading.risk.Exposure`).
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    /// (contract id, signed position) of every symbol ever traded.
    pub positions: Vec<(String, i64)>,
    /// (contract id, side, size) of the working orders that can open or add (not bracket children).
    pub working: Vec<(String, Side, i64)>,
    pub realized_today: Dec,
    pub unrealized: Dec,
    pub balance: Dec,
}

/// An order as risk checks it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub contract_id: String,
    pub side: Side,
    pub kind: OrderKind,
    pub size: i64,
    pub limit: Option<Dec>,
    pub stop: Option<Dec>,
}

/// Risk's numbers a mark is compared with, as of risk's last answer.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RiskGuard {
    /// Risk's trading date: a mark on another day rolls risk's day, so it is always made.
    pub trading_date: Option<(i64, i64, i64)>,
    pub daily_loss_limit: Option<f64>,
    pub floor: Option<f64>,
    pub profit_cap: Option<f64>,
    /// The balance at which the profit target trips (while it can still trip).
    pub target_at: Option<f64>,
    pub halted: bool,
}

/// The host's part (see the module notes).
pub trait Host {
    /// (approved, reason) of risk's check, and risk's guard after it.
    fn check(
        &mut self,
        request: &Request,
        exposure: &Exposure,
        now: i64,
    ) -> (bool, String, RiskGuard);
    /// The kill-switch trips of a mark (their reasons), and risk's guard after it.
    fn mark(&mut self, exposure: &Exposure, now: i64) -> (Vec<String>, RiskGuard);
    /// The calendar's expected 1-minute bars in [start, end) (a window the day table lacks).
    fn open_minutes(&mut self, start: i64, end: i64) -> i64;
    /// True when the host failed: the run stops.
    fn failed(&self) -> bool;
}

/// Extra fields of an order record.
#[derive(Debug, Clone, PartialEq)]
pub enum Extra {
    None,
    Bracket(Option<i64>, Option<i64>),
    FillPrice(Dec),
}

/// A row of `BacktestResult.orders`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub time: i64,
    pub action: &'static str,
    pub order_id: Option<i64>,
    pub lane: usize,
    pub side: Side,
    pub kind: OrderKind,
    pub price: Option<Dec>,
    pub qty: i64,
    pub tag: String,
    pub reason: String,
    pub extra: Extra,
}

/// A row of `BacktestResult.fills`.
#[derive(Debug, Clone, PartialEq)]
pub struct FillRecord {
    pub time: i64,
    pub order_id: i64,
    pub lane: usize,
    pub side: Side,
    pub kind: OrderKind,
    pub price: Dec,
    pub qty: i64,
    pub tag: String,
    pub reason: String,
}

/// A row of `BacktestResult.trades`.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeRecord {
    pub lane: usize,
    pub side: Side,
    pub qty: i64,
    pub entry_time: i64,
    pub entry_price: Dec,
    pub exit_time: i64,
    pub exit_price: Dec,
    pub ticks: i64,
    pub pnl: Dec,
    pub fees: Dec,
    pub tag: String,
    pub exit_reason: String,
}

/// A notification, as the host formats it (`trading/notifications.py`).
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// The strategy's: at `time`, during the session event of `date`; a fill notice's fill time `at`.
    Strategy {
        time: i64,
        date: String,
        at: i64,
        notice: Notice,
    },
    /// Risk refused an order.
    Refused {
        time: i64,
        tag: String,
        reason: String,
    },
}

#[derive(Debug, Default)]
pub struct Output {
    pub orders: Vec<OrderRecord>,
    pub fills: Vec<FillRecord>,
    pub trades: Vec<TradeRecord>,
    pub equity: Vec<(i64, Dec)>,
    pub notes: Vec<Note>,
}

/// A finished session of a lane: (lane, open, close), and its (high, low, close).
type SessionKey = (usize, i64, i64);
type Hlc = (f64, f64, f64);

/// An open trade of a symbol: (side, price, time, quantity, tag).
type EntryOf = (Side, Dec, i64, i64, String);

/// Everything but the strategy: the book, the ledger, the records, the host; the strategy's context.
pub struct World<'a> {
    pub lanes: Vec<Lane>,
    pub settings: Settings,
    host: &'a mut dyn Host,
    /// Risk in Rust (`risk.rs`), or None: the host's.
    pub risk: Option<Risk>,
    /// Set when the Rust risk could not decide exactly (the run stops; the binding raises it).
    pub undecided: Option<String>,
    pub clock: i64,
    day: usize,
    days: &'a [Day],
    pub book: Book,
    pub ledger: Ledger,
    /// The bar index whose close is the lane's mark.
    marks: Vec<Option<usize>>,
    entry_of: Vec<Option<EntryOf>>,
    guard: RiskGuard,
    pub out: Output,
    /// Order updates for the strategy, delivered when the running handler returns.
    pending: Vec<OrderView>,
    date: String,
    fill_at: i64,
    /// Finished sessions' (high, low, close) per (lane, open, close), the latest few.
    sessions: Vec<(SessionKey, Option<Hlc>)>,
}

fn view(o: &Order) -> OrderView {
    OrderView {
        id: Some(o.id),
        custom_tag: Some(o.tag.clone()),
        parent_id: o.parent,
        kind: o.kind,
        status: o.status.value().into(),
        working: o.status == Status::Open,
        stop_price: o.stop,
        filled_price: o.filled_price,
    }
}

fn opposite(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

impl World<'_> {
    fn lane_of(&self, symbol: &str) -> Option<usize> {
        self.lanes.iter().position(|l| l.symbol == symbol)
    }

    fn mark_price(&self, lane: usize) -> Option<Dec> {
        self.marks[lane].map(|i| Dec::from_f64(self.lanes[lane].bars.close[i]))
    }

    fn unrealized(&self) -> Dec {
        (0..self.lanes.len()).fold(Dec::ZERO, |acc, k| match self.mark_price(k) {
            Some(m) => acc.plus(self.ledger.unrealized(k, m, self.lanes[k].money)),
            None => acc,
        })
    }

    fn day_pnl(&self) -> Dec {
        self.ledger
            .balance()
            .minus(self.ledger.day_start_balance)
            .plus(self.unrealized())
    }

    fn exposure(&self) -> Exposure {
        let balance = self.ledger.balance();
        Exposure {
            positions: self
                .ledger
                .touched()
                .iter()
                .map(|&k| (self.lanes[k].contract_id.clone(), self.ledger.position(k)))
                .collect(),
            working: self
                .book
                .working(None)
                .into_iter()
                .filter_map(|id| self.book.get(id))
                .filter(|o| o.child.is_none())
                .map(|o| (self.lanes[o.lane].contract_id.clone(), o.side, o.size))
                .collect(),
            realized_today: balance.minus(self.ledger.day_start_balance),
            unrealized: self.unrealized(),
            balance,
        }
    }

    /// A mark with a position open could trip the kill switch or roll risk's day.
    fn must_mark(&self) -> bool {
        let g = &self.guard;
        let (y, m, d) = self.days[self.day].trading.date;
        let balance = self.ledger.balance().approx_f64();
        let target = g.target_at.is_some_and(|at| balance >= at - 1.0);
        let (mut unreal, mut slack) = (0.0, 0.0);
        for (k, lane) in self.lanes.iter().enumerate() {
            if let Some(i) = self.marks[k] {
                let (u, s) = self.ledger.unrealized_f(
                    k,
                    lane.bars.close[i],
                    lane.money.tick.approx_f64(),
                    lane.money.tick_value.approx_f64(),
                );
                unreal += u;
                slack += s;
            }
        }
        let guard = Guard {
            realized_today: balance - self.ledger.day_start_balance.approx_f64(),
            balance,
            daily_loss_limit: g.daily_loss_limit,
            floor: g.floor,
            profit_cap: g.profit_cap,
            always: g.trading_date != Some((y, m, d)) || target,
            halted: g.halted,
        };
        guard.near(unreal, slack)
    }

    fn record(&mut self, action: &'static str, o: &Order, reason: &str, extra: Extra) {
        let nonzero = |p: Option<Dec>| p.filter(|x| !x.is_zero());
        self.out.orders.push(OrderRecord {
            time: self.clock,
            action,
            order_id: (o.id != 0).then_some(o.id),
            lane: o.lane,
            side: o.side,
            kind: o.kind,
            price: nonzero(o.stop).or(nonzero(o.limit)),
            qty: o.size,
            tag: o.tag.clone(),
            reason: reason.into(),
            extra,
        });
    }

    /// `Backtest.propose`: risk decides; an approved order joins the book.
    #[allow(clippy::too_many_arguments)]
    fn propose(
        &mut self,
        lane: usize,
        side: Side,
        kind: OrderKind,
        size: i64,
        tag: String,
        stop: Option<Dec>,
        bracket: Option<(Option<i64>, Option<i64>)>,
        reason: String,
    ) -> Decision {
        let request = Request {
            contract_id: self.lanes[lane].contract_id.clone(),
            side,
            kind,
            size,
            limit: None,
            stop,
        };
        let exposure = self.exposure();
        let (approved, why) = match self.risk.as_mut() {
            Some(risk) => {
                let got = risk.check(&request, &exposure, self.clock);
                self.guard = risk.guard();
                got.unwrap_or_else(|| {
                    let why = format!(
                        "the Rust risk check cannot decide {request:?} on {exposure:?} exactly"
                    );
                    self.undecided = Some(why.clone());
                    (false, why)
                })
            }
            None => {
                let (ok, why, guard) = self.host.check(&request, &exposure, self.clock);
                self.guard = guard;
                (ok, why)
            }
        };
        let mut order = Order::new(lane, side, kind, size, tag, None, stop, self.clock, reason);
        order.bracket = bracket;
        if !approved {
            self.record("refused", &order, &why, Extra::None);
            self.out.notes.push(Note::Refused {
                time: self.clock,
                tag: order.tag.clone(),
                reason: why.clone(),
            });
            return Decision {
                approved: false,
                reason: why,
                order_id: None,
            };
        }
        let id = self.book.add(order);
        let o = self.book.get(id).expect("added").clone();
        let extra = match bracket {
            Some((sl, tp)) => Extra::Bracket(sl, tp),
            None => Extra::None,
        };
        let reason = o.reason.clone();
        self.record("placed", &o, &reason, extra);
        Decision {
            approved: true,
            reason: why,
            order_id: Some(id),
        }
    }

    /// `Backtest.cancel`: the strategy hears of it when its running handler returns (or at once).
    fn cancel_order(&mut self, id: i64, reason: &str) {
        if self.book.get(id).is_none_or(|o| o.status != Status::Open) {
            return;
        }
        self.book.finish(id, Status::Cancelled);
        let o = self.book.get(id).expect("order").clone();
        self.record("cancelled", &o, reason, Extra::None);
        self.pending.push(view(&o));
    }

    fn add_children(&mut self, parent: &Order, price: Dec, at: i64) {
        let Some((sl, tp)) = parent.bracket else {
            return;
        };
        let tick = self.lanes[parent.lane].money.tick;
        for (kind, ticks, child) in [("sl", sl, Child::StopLoss), ("tp", tp, Child::TakeProfit)] {
            let Some(ticks) = ticks else { continue };
            let level = price.plus(tick.mul_int(ticks));
            let (okind, limit, stop, reason) = match child {
                Child::StopLoss => (OrderKind::Stop, None, Some(level), "stop loss"),
                Child::TakeProfit => (OrderKind::Limit, Some(level), None, "take profit"),
            };
            let mut o = Order::new(
                parent.lane,
                opposite(parent.side),
                okind,
                parent.size,
                format!("{}:{kind}", parent.tag),
                limit,
                stop,
                at + MINUTE,
                reason.into(),
            );
            o.parent = Some(parent.id);
            o.child = Some(child);
            let id = self.book.add(o);
            let o = self.book.get(id).expect("added").clone();
            self.record("placed", &o, reason, Extra::None);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn trade_bookkeeping(
        &mut self,
        o: &Order,
        price: Dec,
        at: i64,
        before: i64,
        after: i64,
        pnl: Dec,
        ticks: i64,
    ) {
        let lane = o.lane;
        if before == 0 && after != 0 {
            self.entry_of[lane] = Some((o.side, price, at, after.abs(), o.tag.clone()));
        }
        if before != 0 && (after == 0 || (after > 0) != (before > 0)) {
            let (side, entry, entered, qty, tag) = self.entry_of[lane].take().expect("open trade");
            let fees = self.ledger.fees_per_side.mul_int(qty).mul_int(2);
            self.out.trades.push(TradeRecord {
                lane,
                side,
                qty,
                entry_time: entered,
                entry_price: entry,
                exit_time: at,
                exit_price: price,
                ticks,
                pnl,
                fees,
                tag,
                exit_reason: o.reason.clone(),
            });
            self.out.equity.push((at, self.ledger.balance()));
            if after != 0 {
                self.entry_of[lane] = Some((o.side, price, at, after.abs(), o.tag.clone()));
            }
        }
    }
}

impl Context for World<'_> {
    fn now(&mut self) -> i64 {
        self.clock
    }

    fn tick_size(&mut self, symbol: &str) -> Dec {
        self.lane_of(symbol)
            .map_or(Dec::ZERO, |k| self.lanes[k].money.tick)
    }

    fn bars(&mut self, symbol: &str, start: i64, end: i64) -> Bars {
        let Some(k) = self.lane_of(symbol) else {
            return Bars::default();
        };
        let cols = &self.lanes[k].bars;
        // Only closed bars: open time <= now - 1 minute.
        let hi_ns = end.min(self.clock - MINUTE + 1);
        let lo = cols.ts.partition_point(|&t| t < start);
        let hi = cols.ts.partition_point(|&t| t < hi_ns).max(lo);
        Bars::rows(cols.clone(), lo, hi)
    }

    fn last_price(&mut self, symbol: &str) -> Option<Dec> {
        let k = self.lane_of(symbol)?;
        let cols = &self.lanes[k].bars;
        let i = cols.ts.partition_point(|&t| t < self.clock);
        if i < cols.ts.len() && cols.ts[i] == self.clock {
            return Some(Dec::from_f64(cols.open[i]));
        }
        (i > 0).then(|| Dec::from_f64(cols.close[i - 1]))
    }

    fn orders(&mut self) -> Vec<OrderView> {
        self.book
            .today()
            .iter()
            .filter_map(|&id| self.book.get(id))
            .map(view)
            .collect()
    }

    fn position(&mut self, symbol: &str) -> Option<(bool, i64)> {
        let qty = self.ledger.position(self.lane_of(symbol)?);
        (qty != 0).then_some((qty > 0, qty.abs()))
    }

    fn account(&mut self) -> Account {
        Account {
            daily_pnl: self.day_pnl(),
            daily_loss_limit: self.settings.daily_loss_limit,
        }
    }

    fn open_minutes(&mut self, start: i64, end: i64) -> i64 {
        let known = self.days[self.day]
            .minutes
            .iter()
            .find(|&&(s, e, _)| s == start && e == end);
        match known {
            Some(&(_, _, n)) => n,
            None => self.host.open_minutes(start, end),
        }
    }

    fn session_hlc(
        &mut self,
        symbol: &str,
        history: &Bars,
        open: i64,
        close: i64,
    ) -> Option<(f64, f64, f64)> {
        // A backtest's bars never change: a finished session's figures are worked out once per run.
        let closed = close <= self.clock - MINUTE + 1;
        let Some(k) = self.lane_of(symbol).filter(|_| closed) else {
            return history.slice(open, close).hlc();
        };
        if let Some(&(_, got)) = self
            .sessions
            .iter()
            .find(|(key, _)| *key == (k, open, close))
        {
            return got;
        }
        let cols = &self.lanes[k].bars;
        let lo = cols.ts.partition_point(|&t| t < open);
        let hi = cols.ts.partition_point(|&t| t < close).max(lo);
        let got = Bars::rows(cols.clone(), lo, hi).hlc();
        self.sessions.push(((k, open, close), got));
        if self.sessions.len() > 64 {
            self.sessions.remove(0);
        }
        got
    }

    fn propose(&mut self, r: PlaceRequest) -> Decision {
        let Some(lane) = self.lane_of(&r.symbol) else {
            return Decision {
                approved: false,
                reason: format!("no contract for {}", r.symbol),
                order_id: None,
            };
        };
        let bracket = r.bracket.map(|(sl, tp)| (Some(sl), Some(tp)));
        self.propose(
            lane,
            r.side,
            r.kind,
            r.size,
            r.custom_tag,
            r.stop_price,
            bracket,
            r.reason,
        )
    }

    fn cancel(&mut self, order_id: i64) {
        if self.book.is_today(order_id) {
            self.cancel_order(order_id, "cancelled by the strategy");
        }
    }

    fn modify_stop(&mut self, order_id: i64, price: Dec) {
        if !self.book.is_today(order_id) {
            return;
        }
        let Some(o) = self.book.get_mut(order_id) else {
            return;
        };
        if o.status != Status::Open {
            return;
        }
        o.set_stop(price);
        let o = o.clone();
        self.record(
            "modified",
            &o,
            "breakeven: stop moved to the entry price",
            Extra::None,
        );
    }

    fn notify(&mut self, notice: Notice) {
        self.out.notes.push(Note::Strategy {
            time: self.clock,
            date: self.date.clone(),
            at: self.fill_at,
            notice,
        });
    }
}

/// A strategy's `bar_triggers` answer.
type Triggers = Option<Vec<(bool, f64)>>;

/// The run: the strategy and its world.
pub struct Run<'a, S: Strategy> {
    pub strategy: S,
    pub world: World<'a>,
    symbols: Vec<String>,
    /// Per lane, the strategy's `bar_triggers` since its last handler (None: not asked yet).
    triggers: Vec<Option<Triggers>>,
}

impl<'a, S: Strategy> Run<'a, S> {
    pub fn new(
        strategy: S,
        lanes: Vec<Lane>,
        days: &'a [Day],
        settings: Settings,
        host: &'a mut dyn Host,
        risk: Option<Risk>,
    ) -> Run<'a, S> {
        let n = lanes.len();
        Run {
            strategy,
            symbols: lanes.iter().map(|l| l.symbol.clone()).collect(),
            triggers: vec![None; n],
            world: World {
                lanes,
                settings,
                host,
                risk,
                undecided: None,
                clock: 0,
                day: 0,
                days,
                book: Book::default(),
                ledger: Ledger::new(n, settings.starting_balance, settings.fees_per_side),
                marks: vec![None; n],
                entry_of: vec![None; n],
                guard: RiskGuard::default(),
                out: Output::default(),
                pending: vec![],
                date: String::new(),
                fill_at: 0,
                sessions: vec![],
            },
        }
    }

    /// Deliver the order updates the last step caused (each may cause more). Every handler call
    /// ends here: what the strategy's bars act on is asked again.
    fn drain(&mut self) {
        while !self.world.pending.is_empty() {
            let o = self.world.pending.remove(0);
            self.strategy.on_order_update(&mut self.world, &o);
        }
        self.triggers.iter_mut().for_each(|t| *t = None);
    }

    fn cancel(&mut self, id: i64, reason: &str) {
        self.world.cancel_order(id, reason);
        self.drain();
    }

    /// `Backtest._halt`: cancel every working order, flatten at the next bar's open.
    fn halt(&mut self, reason: &str) {
        for id in self.world.book.working(None) {
            self.cancel(id, &format!("kill switch: {reason}"));
        }
        for k in self.world.ledger.touched().to_vec() {
            let qty = self.world.ledger.position(k);
            if qty != 0 {
                let side = if qty > 0 { Side::Sell } else { Side::Buy };
                let tag = format!("risk:flatten:{}", isoformat(self.world.clock));
                let why = format!("kill switch: {reason}");
                self.world
                    .propose(k, side, OrderKind::Market, qty.abs(), tag, None, None, why);
            }
        }
    }

    fn mark(&mut self, at: i64) {
        let w = &mut self.world;
        let exposure = w.exposure();
        let trips = match w.risk.as_mut() {
            Some(risk) => {
                let trips = risk.mark(&exposure, at);
                w.guard = risk.guard();
                trips.unwrap_or_else(|| {
                    w.undecided = Some(format!(
                        "the Rust risk mark cannot decide {exposure:?} exactly"
                    ));
                    vec![]
                })
            }
            None => {
                let (trips, guard) = w.host.mark(&exposure, at);
                w.guard = guard;
                trips
            }
        };
        for reason in trips {
            self.halt(&reason);
        }
    }

    /// `Backtest._on_fill`.
    fn on_fill(&mut self, id: i64, price: Dec, at: i64) {
        let w = &mut self.world;
        let lane = w.book.get(id).expect("order").lane;
        let money = w.lanes[lane].money;
        let price = price.snap(money.tick, Rounding::Nearest);
        w.book.finish(id, Status::Filled);
        let o = {
            let o = w.book.get_mut(id).expect("order");
            o.filled_price = Some(price);
            o.clone()
        };
        let before = w.ledger.position(lane);
        let (pnl, ticks) = w.ledger.apply(lane, o.side, o.size, price, money);
        let after = w.ledger.position(lane);
        w.out.fills.push(FillRecord {
            time: at,
            order_id: id,
            lane,
            side: o.side,
            kind: o.kind,
            price,
            qty: o.size,
            tag: o.tag.clone(),
            reason: o.reason.clone(),
        });
        let reason = o.reason.clone();
        w.record("filled", &o, &reason, Extra::FillPrice(price));
        w.trade_bookkeeping(&o, price, at, before, after, pnl, ticks);
        if o.bracket.is_some() && after != 0 && (after > 0) == (o.side == Side::Buy) {
            w.add_children(&o, price, at);
        }
        if after == 0 {
            for child in w.book.working(Some(lane)) {
                if self
                    .world
                    .book
                    .get(child)
                    .is_some_and(|c| c.child.is_some())
                {
                    self.cancel(child, "position flat: bracket cancelled");
                }
            }
        }
        self.world.fill_at = at;
        let filled = view(&o);
        self.strategy
            .on_fill(&mut self.world, &filled, price, o.size);
        self.drain();
        self.mark(at);
    }

    /// `OrderBook.process`: match the lane's working orders against bar `i`.
    fn process(&mut self, lane: usize, i: usize) {
        let bar = {
            let c = &self.world.lanes[lane].bars;
            BarPx {
                start: c.ts[i],
                open: c.open[i],
                high: c.high[i],
                low: c.low[i],
            }
        };
        let book = &self.world.book;
        // The hot path: no working order within reach of the bar, nothing to match.
        let reach = |&id: &i64| book.get(id).is_some_and(|o| o.may_fill(&bar));
        if !book.working_ids(lane).iter().any(reach) {
            return;
        }
        let (tick, rules) = (self.world.lanes[lane].money.tick, self.world.settings.rules);
        let live: Vec<i64> = book
            .working(Some(lane))
            .into_iter()
            .filter(|&id| book.get(id).is_some_and(|o| o.active_from <= bar.start))
            .collect();
        if live.is_empty() {
            return;
        }
        let mut hits: Vec<(i64, Dec, bool)> = live
            .iter()
            .filter_map(|&id| {
                let o = book.get(id)?;
                let child = o.child?;
                let p = trigger(o, &bar, tick, &rules)?;
                Some((id, p, child == Child::StopLoss))
            })
            .collect();
        // One bar reaching both the stop loss and the take profit: the stop loss fills.
        hits.sort_by_key(|h| !h.2);
        let mut done: Vec<i64> = vec![];
        for (id, price, _) in hits {
            let o = self.world.book.get(id).expect("order");
            let parent = o.parent.unwrap_or(0);
            if o.status == Status::Open && !done.contains(&parent) {
                self.on_fill(id, price, bar.start);
                done.push(parent);
            }
        }
        let open = Dec::from_f64(bar.open);
        let book = &self.world.book;
        let mut parents: Vec<(i64, Dec, bool)> = live
            .iter()
            .filter_map(|&id| {
                let o = book.get(id)?;
                if o.child.is_some() {
                    return None;
                }
                let distance = o.level().unwrap_or(open).minus(open).abs();
                Some((id, distance, o.side != Side::Buy))
            })
            .collect();
        parents.sort_by_key(|a| (a.1, a.2));
        for (id, _, _) in parents {
            let o = self.world.book.get(id).expect("order");
            if o.status != Status::Open {
                continue; // cancelled by an earlier fill in this bar (entry OCO)
            }
            if let Some(p) = trigger(o, &bar, tick, &rules) {
                self.on_fill(id, p, bar.start);
            }
        }
    }

    /// True when the strategy's `on_bar` may act on a bar of lane `k` reaching `high` / `low`: it
    /// says at which levels its bars act (`Strategy::bar_triggers`), checked with half a tick of
    /// margin; a bar that reaches none is a no-op for it (the Python loop's skip.py relies on the same).
    fn acts(&mut self, k: usize, high: f64, low: f64) -> bool {
        if self.triggers[k].is_none() {
            self.triggers[k] = Some(self.strategy.bar_triggers(&self.symbols[k]));
        }
        let m = self.world.lanes[k].money.tick.approx_f64() / 2.0;
        match &self.triggers[k] {
            Some(Some(levels)) => levels
                .iter()
                .any(|&(buy, l)| if buy { high >= l - m } else { low <= l + m }),
            _ => true,
        }
    }

    fn event(&mut self, at: i64, event: SessionEvent) {
        let day = self.world.days[self.world.day].trading.clone();
        self.world.clock = at;
        self.world.date = day.iso();
        self.strategy.on_session_event(&mut self.world, event, &day);
        self.drain();
    }

    /// Replay every day; stops early when the host failed or the Rust risk could not decide.
    pub fn run(&mut self) {
        let n_lanes = self.world.lanes.len();
        for d in 0..self.world.days.len() {
            if self.world.host.failed() || self.world.undecided.is_some() {
                return;
            }
            self.world.day = d;
            let day = &self.world.days[d];
            let (open, close) = (day.trading.rth_open, day.trading.rth_close);
            let n_events = day.events.len();
            self.world.ledger.day_start_balance = self.world.ledger.balance();
            let mut ptr = Vec::with_capacity(n_lanes);
            let mut end = Vec::with_capacity(n_lanes);
            for lane in &self.world.lanes {
                let ts = &lane.bars.ts;
                ptr.push(ts.partition_point(|&t| t < open));
                end.push(ts.partition_point(|&t| t < close));
            }
            let mut ev = 0;
            loop {
                let lanes = &self.world.lanes;
                let next = (0..n_lanes)
                    .filter(|&k| ptr[k] < end[k])
                    .map(|k| lanes[k].bars.ts[ptr[k]])
                    .min();
                let Some(t) = next else { break };
                while ev < n_events && self.world.days[d].events[ev].0 <= t {
                    let (at, e) = self.world.days[d].events[ev];
                    self.event(at, e);
                    ev += 1;
                }
                self.world.clock = t;
                for k in 0..n_lanes {
                    let i = ptr[k];
                    if i >= end[k] || self.world.lanes[k].bars.ts[i] != t {
                        continue;
                    }
                    ptr[k] = i + 1;
                    self.process(k, i);
                    self.world.clock = t + MINUTE;
                    if self.world.ledger.position(k) != 0 {
                        self.world.marks[k] = Some(i);
                        if self.world.must_mark() {
                            self.mark(self.world.clock);
                        }
                    }
                    let (high, low) = {
                        let c = &self.world.lanes[k].bars;
                        (c.high[i], c.low[i])
                    };
                    if self.acts(k, high, low) {
                        self.strategy
                            .on_bar(&mut self.world, &self.symbols[k], high, low);
                        self.drain();
                    }
                    self.world.clock = t;
                }
            }
            while ev < n_events {
                let (at, e) = self.world.days[d].events[ev];
                self.event(at, e);
                ev += 1;
            }
            // Nothing survives the day: a market order left after the last bar is dropped.
            for id in self.world.book.working(None) {
                self.cancel(id, "end of day");
            }
            self.world.book.end_of_day();
            self.world.marks.iter_mut().for_each(|m| *m = None);
        }
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
