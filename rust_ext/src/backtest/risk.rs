//! The backtest's risk in Rust: `crate::risk`'s check, mark and day roll (the engine's rules, every
//! profile) over the loop's numbers. This file is only the boundary: the loop's money (`Dec`, the
//! strategy's and the ledger's type) is read into the risk's exact `Num` (a plain copy of mantissa
//! and scale, so exact), its orders and exposures into the risk's, and risk's numbers into the
//! guard a bar's mark is compared with. What the risk cannot decide exactly (a number beyond its
//! range, a calendar year it lacks) answers None: the run stops and says so.

use crate::backtest::run::{Exposure, Request, RiskGuard};
use crate::common::time::civil_from_days;
use crate::risk::calendar::Calendar;
use crate::risk::check::{self, check, KillMode, Order, Price, Rules, Verdict, Working};
use crate::risk::decimal::Num;
use crate::risk::mark::Account;
use crate::strategy::dec::Dec;
use crate::strategy::Side;

/// `Dec` as `Num`: the same digits and places (`Decimal` text either way).
pub fn num(d: Dec) -> Num {
    Num {
        neg: d.mant < 0,
        coef: d.mant.unsigned_abs(),
        exp: -(d.scale as i32),
    }
}

fn approx(n: Num) -> f64 {
    n.to_string().parse().unwrap_or(f64::NAN)
}

fn exposure(e: &Exposure) -> check::Exposure {
    check::Exposure {
        positions: e.positions.clone(),
        working: e
            .working
            .iter()
            .map(|(c, s, n)| Working {
                contract_id: c.clone(),
                buy: *s == Side::Buy,
                size: *n,
            })
            .collect(),
        realized_today: num(e.realized_today),
        unrealized: num(e.unrealized),
        balance: num(e.balance),
        price_ref: None,
    }
}

fn order(q: &Request) -> Order {
    let price = |p: Option<Dec>| p.map(|x| Price::Finite(num(x)));
    Order {
        contract_id: q.contract_id.clone(),
        buy: q.side == Side::Buy,
        size: q.size,
        limit: price(q.limit),
        stop: price(q.stop),
        trail: None,
    }
}

pub struct Risk {
    pub rules: Rules,
    pub calendar: Calendar,
    pub account: Account,
}

impl Risk {
    /// `RiskManager.check` (rolling the day first when it asks): (approved, reason), or None.
    pub fn check(&mut self, q: &Request, e: &Exposure, now: i64) -> Option<(bool, String)> {
        let (o, x) = (order(q), exposure(e));
        for _ in 0..2 {
            match check(
                &self.rules,
                &self.account.check,
                &self.calendar,
                &o,
                &x,
                now,
            ) {
                Verdict::Approved(why) => return Some((true, why)),
                Verdict::Refused(why) => return Some((false, why)),
                Verdict::Roll => self.account.roll_day(self.calendar.trading_date(now)),
                Verdict::NeedYears(_) | Verdict::Undecided => return None,
            }
        }
        None
    }

    /// `RiskManager.mark`: the kill-switch trips (their reasons), or None.
    pub fn mark(&mut self, e: &Exposure, now: i64) -> Option<Vec<String>> {
        let today = self.calendar.trading_date(now);
        self.account.mark(&self.rules, &exposure(e), today)
    }

    /// The guard a bar's mark is compared with (`run::World::must_mark`; `_Host.guard`).
    pub fn guard(&self) -> RiskGuard {
        let (r, st) = (&self.rules, &self.account.check);
        let cap_live = !st.cap_tripped && st.kill_mode == KillMode::Off;
        let start = r.starting_balance(st);
        let target_at = match (r.profit_target, start) {
            (Some(t), Some(s)) if !st.goal_met => s.plus(t).map(approx),
            _ => None,
        };
        RiskGuard {
            trading_date: st.trading_date.map(civil_from_days),
            daily_loss_limit: r.daily_loss_limit.map(approx),
            floor: r.floor(st).flatten().map(approx),
            profit_cap: r.daily_profit_cap.filter(|_| cap_live).map(approx),
            target_at,
            halted: st.kill_mode == KillMode::Halted,
        }
    }
}
