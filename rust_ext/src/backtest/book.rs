//! The backtest's order book and fill rules, rule for rule `trading/backtest/fills.py` (its module
//! notes state the conventions): stops trigger on `>=` and fill at the worse of the stop and the
//! open, limits fill when the bar trades through them (or at a better open), markets at the open;
//! slippage worsens stop and market fills; bracket children are matched before entries, the stop
//! loss first, one child per bracket; entries nearer the open first, buys before sells on a tie.

use crate::strategy::dec::Dec;
use crate::strategy::{OrderKind, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Filled,
    Cancelled,
}

impl Status {
    pub fn value(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Filled => "filled",
            Status::Cancelled => "cancelled",
        }
    }
}

/// A bracket child: its stop loss or its take profit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    StopLoss,
    TakeProfit,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: i64,
    /// The symbol's index in the run (`run::Lane`).
    pub lane: usize,
    pub side: Side,
    pub kind: OrderKind,
    pub size: i64,
    pub status: Status,
    pub tag: String,
    pub limit: Option<Dec>,
    pub stop: Option<Dec>,
    pub parent: Option<i64>,
    pub filled_price: Option<Dec>,
    /// Signed bracket offsets in ticks (stop loss, take profit), each optional.
    pub bracket: Option<(Option<i64>, Option<i64>)>,
    /// The first bar start (UTC ns) at which it may fill.
    pub active_from: i64,
    pub child: Option<Child>,
    pub reason: String,
    /// The stop (stop order) or limit price as a float, for the cheap rejection of `trigger`.
    level_f: Option<f64>,
}

impl Order {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        lane: usize,
        side: Side,
        kind: OrderKind,
        size: i64,
        tag: String,
        limit: Option<Dec>,
        stop: Option<Dec>,
        active_from: i64,
        reason: String,
    ) -> Order {
        let mut o = Order {
            id: 0,
            lane,
            side,
            kind,
            size,
            status: Status::Open,
            tag,
            limit,
            stop,
            parent: None,
            filled_price: None,
            bracket: None,
            active_from,
            child: None,
            reason,
            level_f: None,
        };
        o.relevel();
        o
    }

    /// The price that triggers it: the stop of a stop order, else the limit (None for a market).
    pub fn level(&self) -> Option<Dec> {
        if self.kind == OrderKind::Stop {
            self.stop
        } else {
            self.limit
        }
    }

    /// False when `trigger` surely gives None in `bar` (the float rejection alone, no decimal work).
    pub fn may_fill(&self, bar: &BarPx) -> bool {
        if self.active_from > bar.start {
            return false;
        }
        match self.level_f {
            None => true,
            Some(level) if (self.kind == OrderKind::Stop) == (self.side == Side::Buy) => {
                bar.high >= level - 1.0
            }
            Some(level) => bar.low <= level + 1.0,
        }
    }

    pub fn set_stop(&mut self, price: Dec) {
        self.stop = Some(price);
        self.relevel();
    }

    fn relevel(&mut self) {
        self.level_f = self.level().map(|d| d.to_f64());
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FillRules {
    pub slippage_ticks: i64,
    pub limit_touch: bool,
}

/// One bar as the fill rules read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarPx {
    pub start: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
}

/// The fill price of `o` in `bar`, or None when it does not fill (`OrderBook._trigger`).
pub fn trigger(o: &Order, bar: &BarPx, tick: Dec, rules: &FillRules) -> Option<Dec> {
    if let Some(level) = o.level_f {
        // Cheap float rejection (a point of margin) before exact decimal work.
        let above = (o.kind == OrderKind::Stop) == (o.side == Side::Buy);
        if (above && bar.high < level - 1.0) || (!above && bar.low > level + 1.0) {
            return None;
        }
    }
    let (op, hi, lo) = (
        Dec::from_f64(bar.open),
        Dec::from_f64(bar.high),
        Dec::from_f64(bar.low),
    );
    let slip = tick.mul_int(rules.slippage_ticks * o.side.sign());
    match o.kind {
        OrderKind::Market => Some(op.plus(slip)),
        OrderKind::Stop => {
            let sp = o.stop?;
            if o.side == Side::Buy {
                (hi >= sp).then(|| sp.max(op).plus(slip))
            } else {
                (lo <= sp).then(|| sp.min(op).plus(slip))
            }
        }
        OrderKind::Limit => {
            let lp = o.limit?;
            if o.side == Side::Sell {
                if op > lp {
                    return Some(op);
                }
                let through = if rules.limit_touch { hi >= lp } else { hi > lp };
                through.then_some(lp)
            } else {
                if op < lp {
                    return Some(op);
                }
                let through = if rules.limit_touch { lo <= lp } else { lo < lp };
                through.then_some(lp)
            }
        }
    }
}

/// The working orders of a run and today's finished ones (`OrderBook`).
#[derive(Debug, Default)]
pub struct Book {
    /// Every order of the run, by id - 1.
    orders: Vec<Order>,
    /// Today's orders, any state, in id order (a strategy's `orders()`).
    today: Vec<i64>,
    /// Working orders per lane, lanes in the order they first got one (the Python dict's order).
    open: Vec<(usize, Vec<i64>)>,
}

impl Book {
    /// Add `o` with the next id; returns the id.
    pub fn add(&mut self, mut o: Order) -> i64 {
        let id = self.orders.len() as i64 + 1;
        o.id = id;
        if o.status == Status::Open {
            let lane = o.lane;
            match self.open.iter_mut().find(|(l, _)| *l == lane) {
                Some((_, ids)) => ids.push(id),
                None => self.open.push((lane, vec![id])),
            }
        }
        self.orders.push(o);
        self.today.push(id);
        id
    }

    pub fn get(&self, id: i64) -> Option<&Order> {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| self.orders.get(i))
    }

    pub fn get_mut(&mut self, id: i64) -> Option<&mut Order> {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| self.orders.get_mut(i))
    }

    /// True when `id` is one of today's orders.
    pub fn is_today(&self, id: i64) -> bool {
        self.today.binary_search(&id).is_ok()
    }

    pub fn today(&self) -> &[i64] {
        &self.today
    }

    /// Working order ids of `lane`, or of every lane (lanes in first-use order).
    pub fn working(&self, lane: Option<usize>) -> Vec<i64> {
        self.open
            .iter()
            .filter(|(l, _)| lane.is_none_or(|x| x == *l))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect()
    }

    /// Working order ids of `lane`, in the order they were placed.
    pub fn working_ids(&self, lane: usize) -> &[i64] {
        self.open
            .iter()
            .find(|(l, _)| *l == lane)
            .map_or(&[], |(_, ids)| ids.as_slice())
    }

    /// Set a terminal status: the order leaves the working set.
    pub fn finish(&mut self, id: i64, status: Status) {
        let Some(o) = self.get_mut(id) else { return };
        o.status = status;
        let lane = o.lane;
        if status != Status::Open {
            if let Some((_, ids)) = self.open.iter_mut().find(|(l, _)| *l == lane) {
                ids.retain(|&x| x != id);
            }
        }
    }

    /// Forget finished orders: a strategy's `orders()` is today's.
    pub fn end_of_day(&mut self) {
        let orders = &self.orders;
        self.today
            .retain(|&id| orders[(id - 1) as usize].status == Status::Open);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    fn bar(o: f64, h: f64, l: f64) -> BarPx {
        BarPx {
            start: 0,
            open: o,
            high: h,
            low: l,
        }
    }

    fn order(side: Side, kind: OrderKind, price: &str) -> Order {
        let p = Some(d(price));
        let (limit, stop) = match kind {
            OrderKind::Limit => (p, None),
            OrderKind::Stop => (None, p),
            OrderKind::Market => (None, None),
        };
        Order::new(0, side, kind, 1, "t".into(), limit, stop, 0, String::new())
    }

    #[test]
    fn stops_fill_at_the_worse_of_the_stop_and_the_open() {
        let r = FillRules::default();
        let tick = d("0.25");
        let buy = order(Side::Buy, OrderKind::Stop, "100.25");
        assert_eq!(
            trigger(&buy, &bar(100.0, 100.25, 99.0), tick, &r),
            Some(d("100.25"))
        );
        assert_eq!(
            trigger(&buy, &bar(101.0, 102.0, 100.5), tick, &r),
            Some(d("101.00"))
        );
        assert_eq!(trigger(&buy, &bar(100.0, 100.0, 99.0), tick, &r), None);
        let sell = order(Side::Sell, OrderKind::Stop, "99.75");
        let slip = FillRules {
            slippage_ticks: 2,
            limit_touch: false,
        };
        assert_eq!(
            trigger(&sell, &bar(100.0, 100.0, 99.0), tick, &slip),
            Some(d("99.25"))
        );
    }

    #[test]
    fn limits_need_a_trade_through_unless_touch_is_enough() {
        let tick = d("0.25");
        let tp = order(Side::Sell, OrderKind::Limit, "110");
        let r = FillRules::default();
        assert_eq!(trigger(&tp, &bar(105.0, 110.0, 104.0), tick, &r), None);
        assert_eq!(
            trigger(&tp, &bar(105.0, 110.25, 104.0), tick, &r),
            Some(d("110"))
        );
        assert_eq!(
            trigger(&tp, &bar(111.0, 112.0, 110.5), tick, &r).map(|p| p.to_string()),
            Some("111.0".into())
        );
        let touch = FillRules {
            slippage_ticks: 0,
            limit_touch: true,
        };
        assert_eq!(
            trigger(&tp, &bar(105.0, 110.0, 104.0), tick, &touch),
            Some(d("110"))
        );
    }

    #[test]
    fn the_book_keeps_working_orders_by_lane_and_today() {
        let mut b = Book::default();
        let a = b.add(order(Side::Buy, OrderKind::Stop, "1"));
        let mut o = order(Side::Sell, OrderKind::Stop, "1");
        o.lane = 1;
        let c = b.add(o);
        assert_eq!(b.working(None), vec![a, c]);
        b.finish(a, Status::Filled);
        assert_eq!(b.working(Some(0)), Vec::<i64>::new());
        b.end_of_day();
        assert_eq!(b.today(), &[c]);
        assert!(b.is_today(c) && !b.is_today(a));
    }
}
