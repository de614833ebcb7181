//! The risk checks a backtest applies, `RiskManager.check` and `.mark` of `trading/risk/manager.py`
//! rule for rule and sentence for sentence, for the rule profiles a backtest of the `custom` kind
//! uses: order size, per-symbol and total positions, the contract cap, the daily loss limit (a soft
//! breach: halted until the next trading day), the trailing maximum loss (its floor trails the
//! end-of-day balance high, optionally locked), the daily profit cap, trading hours, the kill switch.
//! Pure: no store, no clock; the host hands each day's trading hours. Profiles with a profit target,
//! a scaling plan, micros per lot, a flat time or a trading window stay with the Python
//! `RiskManager` (`trading/backtest/native.py` decides).

use crate::backtest::run::{Exposure, Request, RiskGuard};
use crate::strategy::dec::Dec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillMode {
    Off,
    ReduceOnly,
    Halted,
}

/// `[risk]`'s limits and the profile's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub max_order_size: i64,
    pub max_position_per_symbol: i64,
    pub max_position_total: i64,
    /// "09:30-15:55", as the refusal writes the trading hours.
    pub hours_text: String,
    pub label: String,
    pub starting_balance: Option<Dec>,
    pub daily_loss_limit: Option<Dec>,
    pub daily_profit_cap: Option<Dec>,
    pub max_loss: Option<Dec>,
    pub max_loss_lock: Option<Dec>,
    pub max_contracts: Option<i64>,
}

/// A finished trading day: (date, realized P&L, end balance).
pub type DayRecord = ((i64, i64, i64), Dec, Dec);

/// What risk remembers (`RiskState`, the fields these rules read and write).
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub kill_mode: KillMode,
    pub kill_reason: String,
    pub kill_automatic: bool,
    pub trading_date: Option<(i64, i64, i64)>,
    pub day_realized: Dec,
    pub day_pnl: Dec,
    pub high_water: Option<Dec>,
    pub start_balance: Option<Dec>,
    pub balance: Option<Dec>,
    pub cap_tripped: bool,
    /// Days finished during this run (appended to the host's record at the end).
    pub days: Vec<DayRecord>,
    /// The first trading date the run rolled into (the host's `profile_since` when it had none, and
    /// its alerts cleared).
    pub first_roll: Option<(i64, i64, i64)>,
}

/// Python's `min(a, b)` / `max(a, b)`: the first on a tie (the texts keep its places).
fn first_min(a: Dec, b: Dec) -> Dec {
    if b < a {
        b
    } else {
        a
    }
}

fn first_max(a: Dec, b: Dec) -> Dec {
    if b > a {
        b
    } else {
        a
    }
}

pub struct Risk {
    pub rules: Rules,
    pub state: State,
}

impl Risk {
    fn starting_balance(&self) -> Option<Dec> {
        self.rules.starting_balance.or(self.state.start_balance)
    }

    fn floor(&self) -> Option<Dec> {
        let f = self.state.high_water?.minus(self.rules.max_loss?);
        match (self.rules.max_loss_lock, self.starting_balance()) {
            (Some(lock), Some(start)) => Some(first_min(f, start.plus(lock))),
            _ => Some(f),
        }
    }

    fn floor_locked(&self) -> bool {
        match (
            self.rules.max_loss_lock,
            self.starting_balance(),
            self.floor(),
        ) {
            (Some(lock), Some(start), Some(f)) => f == start.plus(lock),
            _ => false,
        }
    }

    /// The guard a bar's mark is compared with (`run::World::must_mark`).
    pub fn guard(&self) -> RiskGuard {
        let s = &self.state;
        let cap_live = !s.cap_tripped && s.kill_mode == KillMode::Off;
        RiskGuard {
            trading_date: s.trading_date,
            daily_loss_limit: self.rules.daily_loss_limit.map(Dec::approx_f64),
            floor: self.floor().map(Dec::approx_f64),
            profit_cap: self
                .rules
                .daily_profit_cap
                .filter(|_| cap_live)
                .map(Dec::approx_f64),
            target_at: None,
            halted: s.kill_mode == KillMode::Halted,
        }
    }

    fn trip(&mut self, mode: KillMode, reason: String, automatic: bool) -> String {
        self.state.kill_mode = mode;
        self.state.kill_reason = reason.clone();
        self.state.kill_automatic = automatic;
        reason
    }

    /// The trading day rolls (`_roll_day`): `today` is the session's date of the call.
    fn roll_day(&mut self, today: (i64, i64, i64)) {
        let st = &mut self.state;
        if st.trading_date == Some(today) {
            return;
        }
        if let (Some(prev), Some(balance)) = (st.trading_date, st.balance) {
            if prev < today {
                st.days.push((prev, st.day_realized, balance));
                st.high_water = Some(st.high_water.map_or(balance, |hw| first_max(hw, balance)));
            }
        }
        st.trading_date = Some(today);
        st.day_pnl = Dec::ZERO;
        st.day_realized = Dec::ZERO;
        st.cap_tripped = false;
        st.first_roll = st.first_roll.or(Some(today));
        if st.kill_automatic {
            st.kill_mode = KillMode::Off;
            st.kill_reason = String::new();
            st.kill_automatic = false;
        }
    }

    /// Mark to market: the kill-switch trips (their reasons).
    pub fn mark(&mut self, e: &Exposure, today: (i64, i64, i64)) -> Vec<String> {
        self.roll_day(today);
        let day_pnl = e.realized_today.plus(e.unrealized);
        let equity = e.balance.plus(e.unrealized);
        let st = &mut self.state;
        st.day_pnl = day_pnl;
        st.day_realized = e.realized_today;
        st.balance = Some(e.balance);
        st.start_balance = st.start_balance.or(Some(e.balance));
        st.high_water = st.high_water.or(Some(e.balance));
        if st.kill_mode == KillMode::Halted {
            return vec![];
        }
        let floor = self.floor();
        let r = &self.rules;
        if let Some(limit) = r.daily_loss_limit.filter(|l| day_pnl <= l.negated()) {
            let why = format!("daily loss limit hit: today's P&L {day_pnl} <= -{limit}");
            return vec![self.trip(KillMode::Halted, why, true)];
        }
        if let Some(f) = floor.filter(|f| equity <= *f) {
            let hw = self
                .state
                .high_water
                .map_or("None".into(), |h| h.to_string());
            let max_loss = r.max_loss.map_or("None".into(), |m| m.to_string());
            let locked = if self.floor_locked() { ", locked" } else { "" };
            let why = format!(
                "trailing max loss hit: equity {equity} <= floor {f} (end-of-day high {hw} - {max_loss}{locked})"
            );
            return vec![self.trip(KillMode::Halted, why, false)];
        }
        if let Some(cap) = r.daily_profit_cap {
            if day_pnl >= cap && !self.state.cap_tripped && self.state.kill_mode == KillMode::Off {
                self.state.cap_tripped = true;
                let why = format!(
                    "daily profit cap reached: today's P&L {day_pnl} >= {cap}; reduce-only until the next trading day"
                );
                return vec![self.trip(KillMode::ReduceOnly, why, true)];
            }
        }
        vec![]
    }

    /// `check`: (approved, reason). `hours`: today's trading hours [start, end) (None: not a
    /// trading day).
    pub fn check(
        &mut self,
        q: &Request,
        e: &Exposure,
        now: i64,
        today: (i64, i64, i64),
        hours: Option<(i64, i64)>,
    ) -> (bool, String) {
        self.roll_day(today);
        let r = &self.rules;
        let refuse = |why: String| (false, why);
        let pos_of = |cid: &str| {
            e.positions
                .iter()
                .find(|(c, _)| c == cid)
                .map_or(0, |p| p.1)
        };
        let pos = pos_of(&q.contract_id);
        let delta = q.side.sign() * q.size;
        let reduces = pos != 0 && (pos > 0) != (delta > 0) && q.size <= pos.abs();
        if q.size <= 0 {
            return refuse(format!("order size must be positive, got {}", q.size));
        }
        let sane = Dec::parse("1e9").unwrap_or(Dec::ZERO);
        for (name, price) in [("limit", q.limit), ("stop", q.stop)] {
            if let Some(p) = price {
                if p.abs() > sane || p <= Dec::ZERO {
                    return refuse(format!(
                        "{name} price {p} is not a price this contract can trade at"
                    ));
                }
            }
        }
        if reduces {
            return (true, "reduces the open position".into());
        }
        let st = &self.state;
        match st.kill_mode {
            KillMode::Halted => {
                return refuse(format!(
                    "kill switch is HALTED ({}); only flattening is allowed",
                    st.kill_reason
                ))
            }
            KillMode::ReduceOnly => {
                return refuse(format!(
                    "kill switch is REDUCE-ONLY ({}); this order would add exposure",
                    st.kill_reason
                ))
            }
            KillMode::Off => {}
        }
        if q.size > r.max_order_size {
            return refuse(format!(
                "order size {} exceeds the maximum of {} contracts per order",
                q.size, r.max_order_size
            ));
        }
        let same_side: i64 = e
            .working
            .iter()
            .filter(|w| w.0 == q.contract_id && w.1 == q.side)
            .map(|w| w.2)
            .sum();
        let projected = pos + q.side.sign() * (same_side + q.size);
        if projected.abs() > r.max_position_per_symbol {
            return refuse(format!(
                "position would reach {} contracts on {} (max {}, counting working orders)",
                projected.abs(),
                q.contract_id,
                r.max_position_per_symbol
            ));
        }
        let others: i64 = e
            .positions
            .iter()
            .filter(|(c, _)| *c != q.contract_id)
            .map(|(_, n)| n.abs())
            .sum();
        if others + projected.abs() > r.max_position_total {
            return refuse(format!(
                "total position would reach {} contracts (max {})",
                others + projected.abs(),
                r.max_position_total
            ));
        }
        if let Some(cap) = r.max_contracts {
            let lots = lots(e, q);
            if lots > cap {
                return refuse(format!(
                    "contracts would reach {lots} (max {cap}: {}'s maximum; counting working orders)",
                    r.label
                ));
            }
        }
        let day_pnl = e.realized_today.plus(e.unrealized);
        let equity = e.balance.plus(e.unrealized);
        if let Some(limit) = r.daily_loss_limit.filter(|l| day_pnl <= l.negated()) {
            return refuse(format!(
                "daily loss limit reached: today's P&L {day_pnl} (limit -{limit})"
            ));
        }
        if let Some(f) = self.floor().filter(|f| equity <= *f) {
            let max_loss = r.max_loss.map_or("None".into(), |m| m.to_string());
            let hw = st.high_water.map_or("None".into(), |h| h.to_string());
            return refuse(format!(
                "trailing max loss reached: equity {equity} is at or below the floor {f} ({max_loss} below the \
                 end-of-day high {hw})"
            ));
        }
        if let Some(cap) = r.daily_profit_cap {
            if day_pnl >= cap && !st.cap_tripped {
                return refuse(format!(
                    "daily profit cap of {cap} reached: reduce-only until the next trading day"
                ));
            }
        }
        if !hours.is_some_and(|(a, b)| a <= now && now < b) {
            return refuse(format!(
                "outside trading hours ({} New York on trading days)",
                r.hours_text
            ));
        }
        (true, String::new())
    }
}

/// Contracts held plus working, worst case per contract, the request included (`RiskManager.lots`
/// with one micro per lot).
fn lots(e: &Exposure, q: &Request) -> i64 {
    let mut ids: Vec<&str> = e.positions.iter().map(|(c, _)| c.as_str()).collect();
    ids.extend(e.working.iter().map(|w| w.0.as_str()));
    ids.push(&q.contract_id);
    ids.sort_unstable();
    ids.dedup();
    ids.iter()
        .map(|&cid| {
            let pos = e
                .positions
                .iter()
                .find(|(c, _)| c == cid)
                .map_or(0, |p| p.1);
            let extra = |side| i64::from(cid == q.contract_id && q.side == side) * q.size;
            let on = |side| {
                e.working
                    .iter()
                    .filter(|w| w.0 == cid && w.1 == side)
                    .map(|w| w.2)
                    .sum::<i64>()
                    + extra(side)
            };
            use crate::strategy::Side;
            (pos + on(Side::Buy))
                .abs()
                .max((pos - on(Side::Sell)).abs())
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{OrderKind, Side};

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    fn risk() -> Risk {
        Risk {
            rules: Rules {
                max_order_size: 5,
                max_position_per_symbol: 5,
                max_position_total: 10,
                hours_text: "09:30-15:55".into(),
                label: "Custom".into(),
                starting_balance: None,
                daily_loss_limit: Some(d("100")),
                daily_profit_cap: None,
                max_loss: Some(d("2000")),
                max_loss_lock: None,
                max_contracts: Some(10),
            },
            state: State {
                kill_mode: KillMode::Off,
                kill_reason: String::new(),
                kill_automatic: false,
                trading_date: None,
                day_realized: Dec::ZERO,
                day_pnl: Dec::ZERO,
                high_water: None,
                start_balance: None,
                balance: None,
                cap_tripped: false,
                days: vec![],
                first_roll: None,
            },
        }
    }

    fn exposure(pos: i64, realized: &str, unrealized: &str) -> Exposure {
        Exposure {
            positions: vec![("CON.F.US.MNQ".into(), pos)],
            working: vec![],
            realized_today: d(realized),
            unrealized: d(unrealized),
            balance: d("50000").plus(d(realized)),
        }
    }

    fn buy(size: i64) -> Request {
        Request {
            contract_id: "CON.F.US.MNQ".into(),
            side: Side::Buy,
            kind: OrderKind::Market,
            size,
            limit: None,
            stop: None,
        }
    }

    #[test]
    fn the_loss_limit_halts_until_the_next_day_and_flattening_stays_allowed() {
        let mut r = risk();
        let day = (2025, 6, 11);
        assert!(r.mark(&exposure(1, "0", "-20.00"), day).is_empty());
        let trips = r.mark(&exposure(1, "-50.00", "-50.00"), day);
        assert_eq!(trips, ["daily loss limit hit: today's P&L -100.00 <= -100"]);
        let (ok, why) = r.check(
            &buy(1),
            &exposure(1, "-50.00", "-50.00"),
            0,
            day,
            Some((0, 1)),
        );
        assert!(!ok);
        assert!(why.starts_with("kill switch is HALTED (daily loss limit hit"));
        let mut sell = buy(1);
        sell.side = Side::Sell;
        let got = r.check(
            &sell,
            &exposure(1, "-50.00", "-50.00"),
            0,
            day,
            Some((0, 1)),
        );
        assert_eq!(got, (true, "reduces the open position".into()));
        // The next trading day: the automatic trip clears, the finished day is recorded.
        let got = r.check(
            &buy(1),
            &exposure(0, "0", "0"),
            0,
            (2025, 6, 12),
            Some((0, 1)),
        );
        assert_eq!(got, (true, String::new()));
        assert_eq!(r.state.days, [((2025, 6, 11), d("-50.00"), d("49950.00"))]);
        assert_eq!(r.state.high_water, Some(d("50000")));
    }

    #[test]
    fn outside_the_trading_hours_and_over_the_order_size() {
        let mut r = risk();
        let day = (2025, 6, 11);
        let (ok, why) = r.check(&buy(1), &exposure(0, "0", "0"), 5, day, Some((0, 5)));
        assert!(!ok && why == "outside trading hours (09:30-15:55 New York on trading days)");
        let (_, why) = r.check(&buy(6), &exposure(0, "0", "0"), 1, day, Some((0, 5)));
        assert_eq!(
            why,
            "order size 6 exceeds the maximum of 5 contracts per order"
        );
    }
}
