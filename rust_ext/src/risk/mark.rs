//! `RiskManager.mark` and `_roll_day` of `trading/risk/manager.py`, rule for rule and sentence for
//! sentence: the kill-switch trips of a mark to market and the trading-day roll, over the state
//! they change (`Account`: the check's `State` and what only the mark and the roll write).
//!
//! The host keeps the store: an `Account` starts from the host's `RiskState` and hands back the
//! days it finished. A sum beyond the exact range answers None: Python decides.

use std::cmp::Ordering;

use super::check::{Exposure, KillMode, Rules, State};
use super::decimal::Num;

/// A finished trading day: (days since 1970-01-01, realized P&L, end balance).
pub type DayRecord = (i64, Num, Num);

/// `RiskState`: the fields the check reads, and those only the mark and the roll write.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub check: State,
    pub kill_automatic: bool,
    pub day_realized: Num,
    pub day_pnl: Num,
    pub balance: Option<Num>,
    /// Days finished since this account was built (the host appends them to its record).
    pub days: Vec<DayRecord>,
    /// The first trading date rolled into (the host's `profile_since` when it had none; its alerts
    /// cleared).
    pub first_roll: Option<i64>,
}

fn equal(a: Num, b: Num) -> bool {
    a.cmp(&b) == Ordering::Equal
}

impl Account {
    fn trip(&mut self, mode: KillMode, reason: String, automatic: bool) -> String {
        self.check.kill_mode = mode;
        self.check.kill_reason = reason.clone();
        self.kill_automatic = automatic;
        reason
    }

    /// `_roll_day` to `today` (the session's date of the call, `Calendar::trading_date`).
    pub fn roll_day(&mut self, today: i64) {
        if self.check.trading_date == Some(today) {
            return;
        }
        let st = &mut self.check;
        if let (Some(prev), Some(balance)) = (st.trading_date, self.balance) {
            if prev < today {
                self.days.push((prev, self.day_realized, balance));
                st.last_end_balance = Some(balance);
                // max(hw, balance): the first on a tie (its text stays)
                st.high_water =
                    Some(st.high_water.map_or(
                        balance,
                        |hw| {
                            if balance > hw {
                                balance
                            } else {
                                hw
                            }
                        },
                    ));
            }
        }
        st.trading_date = Some(today);
        st.cap_tripped = false;
        self.day_pnl = Num::ZERO;
        self.day_realized = Num::ZERO;
        self.first_roll = self.first_roll.or(Some(today));
        if self.kill_automatic {
            self.trip(KillMode::Off, String::new(), false);
        }
    }

    /// `mark`: the kill-switch trips (their reasons); None where Python must decide.
    pub fn mark(&mut self, rules: &Rules, x: &Exposure, today: i64) -> Option<Vec<String>> {
        self.roll_day(today);
        let day_pnl = x.realized_today.plus(x.unrealized)?;
        let equity = x.balance.plus(x.unrealized)?;
        self.day_pnl = day_pnl;
        self.day_realized = x.realized_today;
        self.balance = Some(x.balance);
        let st = &mut self.check;
        st.start_balance = st.start_balance.or(Some(x.balance));
        st.high_water = st.high_water.or(Some(x.balance));
        if st.kill_mode == KillMode::Halted {
            return Some(vec![]);
        }
        let floor = rules.floor(st)?;
        let start = rules.starting_balance(st);
        if let Some(limit) = rules.daily_loss_limit.filter(|l| day_pnl <= l.negated()) {
            let why = format!("daily loss limit hit: today's P&L {day_pnl} <= -{limit}");
            return Some(vec![self.trip(KillMode::Halted, why, true)]);
        }
        if let Some(f) = floor.filter(|f| equity <= *f) {
            let (Some(hw), Some(max_loss)) = (st.high_water, rules.max_loss) else {
                return None;
            };
            let locked = match (rules.max_loss_lock, start) {
                (Some(lock), Some(s)) => equal(f, s.plus(lock)?),
                _ => false,
            };
            let locked = if locked { ", locked" } else { "" };
            let why = format!(
                "trailing max loss hit: equity {equity} <= floor {f} (end-of-day high {hw} - {max_loss}{locked})"
            );
            return Some(vec![self.trip(KillMode::Halted, why, false)]);
        }
        if let (Some(target), Some(s)) = (rules.profit_target, start) {
            if x.balance >= s.plus(target)? && !st.goal_met {
                st.goal_met = true;
                let why = format!(
                    "profit target reached: balance {} >= {s} + {target}; reduce-only until a trader resets",
                    x.balance
                );
                return Some(vec![self.trip(KillMode::ReduceOnly, why, false)]);
            }
        }
        if let Some(cap) = rules.daily_profit_cap {
            if day_pnl >= cap && !st.cap_tripped && st.kill_mode == KillMode::Off {
                st.cap_tripped = true;
                let why = format!(
                    "daily profit cap reached: today's P&L {day_pnl} >= {cap}; reduce-only until the next trading day"
                );
                return Some(vec![self.trip(KillMode::ReduceOnly, why, true)]);
            }
        }
        Some(vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Num {
        Num::parse(s).unwrap()
    }

    fn rules() -> Rules {
        Rules {
            max_order_size: 5,
            max_position_per_symbol: 5,
            max_position_total: 10,
            trading_start: 0,
            trading_end: 0,
            price_band_ticks: 0,
            price_band_atr: Num::ZERO,
            label: "Custom".into(),
            starting_balance: None,
            profit_target: None,
            daily_loss_limit: Some(n("100")),
            daily_profit_cap: None,
            max_loss: Some(n("2000")),
            max_loss_lock: None,
            max_contracts: None,
            scaling: vec![],
            micros_per_lot: 10,
            flat_time: None,
            window: None,
        }
    }

    fn account() -> Account {
        Account {
            check: State {
                kill_mode: KillMode::Off,
                kill_reason: String::new(),
                trading_date: None,
                high_water: None,
                start_balance: None,
                last_end_balance: None,
                goal_met: false,
                cap_tripped: false,
            },
            kill_automatic: false,
            day_realized: Num::ZERO,
            day_pnl: Num::ZERO,
            balance: None,
            days: vec![],
            first_roll: None,
        }
    }

    fn exposure(realized: &str, unrealized: &str) -> Exposure {
        Exposure {
            positions: vec![],
            working: vec![],
            realized_today: n(realized),
            unrealized: n(unrealized),
            balance: n("50000").plus(n(realized)).unwrap(),
            price_ref: None,
        }
    }

    #[test]
    fn the_loss_limit_halts_until_the_next_day_which_records_the_finished_one() {
        let (mut a, r) = (account(), rules());
        assert_eq!(a.mark(&r, &exposure("0", "-20.00"), 20_250), Some(vec![]));
        let trips = a.mark(&r, &exposure("-50.00", "-50.00"), 20_250).unwrap();
        assert_eq!(trips, ["daily loss limit hit: today's P&L -100.00 <= -100"]);
        assert!(a.check.kill_mode == KillMode::Halted && a.kill_automatic);
        assert_eq!(a.mark(&r, &exposure("0", "0"), 20_251), Some(vec![]));
        assert_eq!(a.check.kill_mode, KillMode::Off);
        assert_eq!(a.days, [(20_250, n("-50.00"), n("49950.00"))]);
        assert_eq!(a.check.high_water, Some(n("50000")));
        assert_eq!(a.check.last_end_balance, Some(n("49950.00")));
        assert_eq!(a.first_roll, Some(20_250));
    }
}
