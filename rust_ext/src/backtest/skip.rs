//! Finding the next bar the backtest must replay (see `mod.rs`).

/// One working order as the fill rules see it (`trading/backtest/fills.py`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resting {
    pub kind: Kind,
    pub buy: bool,
    /// The stop or limit price (unused for a market order).
    pub level: f64,
    /// First bar open time (UTC ns) at which the order may fill.
    pub active_from: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Market,
    Limit,
    Stop,
}

/// One symbol of the day: its whole bar columns, the next bar to replay and the day's end.
#[derive(Debug, Clone)]
pub struct Lane<'a> {
    pub ts: &'a [i64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub next: usize,
    pub end: usize,
    pub orders: Vec<Resting>,
    /// The strategy acts on this symbol's bars (a breakeven is pending).
    pub watching: bool,
    /// Open lots: (price, signed quantity).
    pub lots: Vec<(f64, i64)>,
    pub tick_size: f64,
    pub tick_value: f64,
    /// The last mark-to-market price, None when there is none.
    pub mark: Option<f64>,
    /// The bar index whose close is the new mark (set by `advance` when it marks).
    pub marked: Option<usize>,
}

impl Lane<'_> {
    fn position(&self) -> i64 {
        self.lots.iter().map(|l| l.1).sum()
    }

    fn unrealized(&self) -> f64 {
        match self.mark {
            None => 0.0,
            Some(m) => self
                .lots
                .iter()
                .map(|&(p, q)| (m - p) / self.tick_size * self.tick_value * q as f64)
                .sum(),
        }
    }

    /// The most the exact tick-rounded P&L can differ from `unrealized` (half a tick a lot), doubled.
    fn slack(&self) -> f64 {
        self.lots
            .iter()
            .map(|&(_, q)| q.unsigned_abs() as f64 * self.tick_value)
            .sum()
    }

    /// True when some working order may fill in bar `i` (with half a tick of margin).
    fn may_fill(&self, i: usize) -> bool {
        let (t, hi, lo) = (self.ts[i], self.high[i], self.low[i]);
        let m = self.tick_size / 2.0;
        self.orders.iter().any(|o| {
            o.active_from <= t
                && match (o.kind, o.buy) {
                    (Kind::Market, _) => true,
                    // Buy stops and sell limits wait above the market, the others below.
                    (Kind::Stop, true) | (Kind::Limit, false) => hi >= o.level - m,
                    (Kind::Stop, false) | (Kind::Limit, true) => lo <= o.level + m,
                }
        })
    }
}

/// The risk numbers a mark-to-market is compared with (`RiskManager.mark`); None: no such limit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Guard {
    pub realized_today: f64,
    pub balance: f64,
    pub daily_loss_limit: Option<f64>,
    pub floor: Option<f64>,
    /// The daily profit cap, only while it can still trip (not tripped today, kill switch off).
    pub profit_cap: Option<f64>,
    /// Any mark with a position must be replayed (the day not rolled yet, a target pending).
    pub always: bool,
    /// The kill switch is HALTED: a mark trips nothing.
    pub halted: bool,
}

impl Guard {
    /// True when a mark with these open P&L figures might trip the kill switch.
    pub fn near(&self, unrealized: f64, slack: f64) -> bool {
        if self.always {
            return true;
        }
        if self.halted {
            return false;
        }
        let margin = slack + 1.0;
        let day = self.realized_today + unrealized;
        let equity = self.balance + unrealized;
        self.daily_loss_limit.is_some_and(|l| day <= -l + margin)
            || self.floor.is_some_and(|f| equity <= f + margin)
            || self.profit_cap.is_some_and(|c| day >= c - margin)
    }
}

/// Skip every bar before `until` (UTC ns) that can change nothing; returns the open time of the
/// first bar to replay, or None when all bars before `until` were skipped. Lanes advance past the
/// skipped bars; a lane whose skipped bars marked its position has `marked` set to the last one.
pub fn advance(lanes: &mut [Lane<'_>], guard: &Guard, until: i64) -> Option<i64> {
    loop {
        // The next bar time over all lanes (bars of one time are replayed together).
        let t = lanes
            .iter()
            .filter(|l| l.next < l.end)
            .map(|l| l.ts[l.next])
            .min()?;
        if t >= until {
            return None;
        }
        let at_t = |l: &Lane<'_>| l.next < l.end && l.ts[l.next] == t;
        if lanes
            .iter()
            .any(|l| at_t(l) && (l.watching || l.may_fill(l.next)))
        {
            return Some(t);
        }
        // Mark in lane order, as the loop does, checking the kill switch after each mark.
        let saved: Vec<Option<f64>> = lanes.iter().map(|l| l.mark).collect();
        let mut stop = false;
        for k in 0..lanes.len() {
            if !at_t(&lanes[k]) || lanes[k].position() == 0 {
                continue;
            }
            let i = lanes[k].next;
            lanes[k].mark = Some(lanes[k].close[i]);
            let unreal: f64 = lanes.iter().map(Lane::unrealized).sum();
            let slack: f64 = lanes.iter().map(Lane::slack).sum();
            if guard.near(unreal, slack) {
                stop = true;
                break;
            }
        }
        if stop {
            for (l, m) in lanes.iter_mut().zip(saved) {
                l.mark = m;
            }
            return Some(t);
        }
        for l in lanes.iter_mut() {
            if at_t(l) {
                if l.position() != 0 {
                    l.marked = Some(l.next);
                }
                l.next += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane<'a>(ts: &'a [i64], high: &'a [f64], low: &'a [f64], close: &'a [f64]) -> Lane<'a> {
        Lane {
            ts,
            high,
            low,
            close,
            next: 0,
            end: ts.len(),
            orders: vec![],
            watching: false,
            lots: vec![],
            tick_size: 0.25,
            tick_value: 0.5,
            mark: None,
            marked: None,
        }
    }

    const TS: [i64; 4] = [0, 60, 120, 180];
    const HI: [f64; 4] = [10.0, 11.0, 12.0, 13.0];
    const LO: [f64; 4] = [9.0, 10.0, 11.0, 12.0];
    const CL: [f64; 4] = [9.5, 10.5, 11.5, 12.5];

    #[test]
    fn nothing_working_skips_to_until() {
        let mut l = [lane(&TS, &HI, &LO, &CL)];
        assert_eq!(advance(&mut l, &Guard::default(), 120), None);
        assert_eq!(l[0].next, 2);
        assert_eq!(advance(&mut l, &Guard::default(), i64::MAX), None);
        assert_eq!(l[0].next, 4);
    }

    #[test]
    fn a_buy_stop_stops_at_the_bar_that_reaches_it_within_half_a_tick() {
        let mut l = [lane(&TS, &HI, &LO, &CL)];
        l[0].orders.push(Resting {
            kind: Kind::Stop,
            buy: true,
            level: 12.1,
            active_from: 0,
        });
        assert_eq!(advance(&mut l, &Guard::default(), i64::MAX), Some(120));
        assert_eq!(l[0].next, 2);
    }

    #[test]
    fn an_order_not_yet_active_and_a_sell_limit() {
        let mut l = [lane(&TS, &HI, &LO, &CL)];
        l[0].orders.push(Resting {
            kind: Kind::Market,
            buy: true,
            level: 0.0,
            active_from: 180,
        });
        assert_eq!(advance(&mut l, &Guard::default(), i64::MAX), Some(180));
        let mut l = [lane(&TS, &HI, &LO, &CL)];
        l[0].orders.push(Resting {
            kind: Kind::Limit,
            buy: false,
            level: 11.0,
            active_from: 0,
        });
        assert_eq!(advance(&mut l, &Guard::default(), i64::MAX), Some(60));
    }

    #[test]
    fn watching_stops_at_once() {
        let mut l = [lane(&TS, &HI, &LO, &CL)];
        l[0].watching = true;
        assert_eq!(advance(&mut l, &Guard::default(), i64::MAX), Some(0));
    }

    #[test]
    fn marks_are_remembered_and_a_near_loss_limit_stops() {
        let mut l = [lane(&TS, &HI, &LO, &CL)];
        l[0].lots.push((9.5, 1));
        let g = Guard {
            daily_loss_limit: Some(100.0),
            ..Guard::default()
        };
        assert_eq!(advance(&mut l, &g, i64::MAX), None);
        assert_eq!(l[0].marked, Some(3));
        // Short 10 at 9.5: the mark at 10.5 (4 ticks x $0.5 x 10 = -$20) is near a $21 limit.
        let mut l = [lane(&TS, &HI, &LO, &CL)];
        l[0].lots.push((9.5, -10));
        let g = Guard {
            daily_loss_limit: Some(21.0),
            ..Guard::default()
        };
        assert_eq!(advance(&mut l, &g, i64::MAX), Some(60));
        assert_eq!((l[0].next, l[0].mark, l[0].marked), (1, Some(9.5), Some(0)));
        let g = Guard {
            always: true,
            ..Guard::default()
        };
        assert_eq!(advance(&mut l, &g, i64::MAX), Some(60));
    }
}
