//! `RiskManager.check` of `trading/risk/manager.py`, rule for rule and sentence for sentence: the
//! same order of rules, the same numbers printed the way `Decimal` prints them.
//!
//! What stays with the host: the trading-day roll (it changes the remembered state, and happens
//! once a day) and anything this port cannot decide exactly. The check answers `Roll` when the
//! state's trading day is not the day of `now` (the host rolls, then asks again), `NeedYears` when
//! the calendar lacks the year of `now` (or the next), and `Undecided` where Python must decide:
//! a sum of micro contracts whose division by `micros_per_lot` is inexact (Python adds those in the
//! order of a `set`, which a second implementation cannot know), a number beyond 128 bits, a
//! date outside the zone table.

use super::calendar::{Calendar, MINUTE};
use super::decimal::Num;

/// Micro futures count `1 / micros_per_lot` contract (`rule_profiles.MICRO_CODES`).
const MICRO_CODES: [&str; 15] = [
    "MNQ", "MES", "MYM", "M2K", "MGC", "MCL", "MBT", "MET", "M6E", "M6A", "M6B", "SIL", "MHG",
    "MNG", "MMC",
];
/// Always refused, band or not (`manager.MAX_SANE_PRICE`).
const MAX_SANE_PRICE: Num = Num {
    neg: false,
    coef: 1,
    exp: 9,
};
/// The years of New York's zone table (`ny_zone()`: 2000-2050), with a year's margin.
const YEARS: (i64, i64) = (2001, 2049);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Approved(String),
    Refused(String),
    /// The state's trading day is not `now`'s: the host rolls the day and asks again.
    Roll,
    /// The calendar needs this year and the next.
    NeedYears(i64),
    /// Python decides (see the module notes).
    Undecided,
}

/// A `time` of day for the sentences: `%H:%M`.
fn hm(t: i64) -> String {
    let m = t / MINUTE;
    format!("{:02}:{:02}", m / 60, m % 60)
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScalingTier {
    pub from_profit: Num,
    pub max_contracts: i64,
}

/// `[risk]`'s limits and the rule profile's numbers: fixed for a manager's life.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub max_order_size: i64,
    pub max_position_per_symbol: i64,
    pub max_position_total: i64,
    pub trading_start: i64,
    pub trading_end: i64,
    pub price_band_ticks: i64,
    pub price_band_atr: Num,
    pub label: String,
    pub starting_balance: Option<Num>,
    pub profit_target: Option<Num>,
    pub daily_loss_limit: Option<Num>,
    pub daily_profit_cap: Option<Num>,
    pub max_loss: Option<Num>,
    pub max_loss_lock: Option<Num>,
    pub max_contracts: Option<i64>,
    pub scaling: Vec<ScalingTier>,
    pub micros_per_lot: i64,
    pub flat_time: Option<i64>,
    pub window: Option<(i64, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillMode {
    Off,
    ReduceOnly,
    Halted,
}

impl KillMode {
    /// `KillMode(value)`.
    pub fn parse(value: &str) -> Option<KillMode> {
        match value {
            "off" => Some(KillMode::Off),
            "reduce_only" => Some(KillMode::ReduceOnly),
            "halted" => Some(KillMode::Halted),
            _ => None,
        }
    }

    /// `KillMode.value`.
    pub fn value(self) -> &'static str {
        match self {
            KillMode::Off => "off",
            KillMode::ReduceOnly => "reduce_only",
            KillMode::Halted => "halted",
        }
    }
}

/// What of `RiskState` the check reads.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub kill_mode: KillMode,
    pub kill_reason: String,
    pub trading_date: Option<i64>,
    pub high_water: Option<Num>,
    pub start_balance: Option<Num>,
    /// The last finished day's end balance (`days[-1].end_balance`), None without days.
    pub last_end_balance: Option<Num>,
    pub goal_met: bool,
    pub cap_tripped: bool,
}

/// An order's price: a number, or a `Decimal` that is not one (NaN, Infinity) as `str` writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Price {
    Finite(Num),
    Special(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub contract_id: String,
    pub buy: bool,
    pub size: i64,
    pub limit: Option<Price>,
    pub stop: Option<Price>,
    pub trail: Option<Price>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PriceRef {
    pub last: Num,
    pub tick_size: Num,
    pub atr: Option<Num>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Working {
    pub contract_id: String,
    pub buy: bool,
    pub size: i64,
}

/// `Exposure`, with the order's contract's price reference only.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub positions: Vec<(String, i64)>,
    pub working: Vec<Working>,
    pub realized_today: Num,
    pub unrealized: Num,
    pub balance: Num,
    pub price_ref: Option<PriceRef>,
}

impl Exposure {
    fn position(&self, contract_id: &str) -> i128 {
        self.positions
            .iter()
            .find(|(c, _)| c == contract_id)
            .map_or(0, |(_, q)| i128::from(*q))
    }

    /// `Exposure.worst_case` with the order as an extra working order.
    fn worst_case(&self, contract_id: &str, extra: Option<&Working>) -> i128 {
        let pos = self.position(contract_id);
        let (mut buys, mut sells) = (0i128, 0i128);
        for w in self.working.iter().chain(extra) {
            if w.contract_id == contract_id {
                *(if w.buy { &mut buys } else { &mut sells }) += i128::from(w.size);
            }
        }
        (pos + buys).abs().max((pos - sells).abs())
    }
}

pub fn is_micro(contract_id_or_symbol: &str) -> bool {
    let parts: Vec<&str> = contract_id_or_symbol.split('.').collect();
    let code = if parts.len() >= 4 {
        parts[3]
    } else {
        contract_id_or_symbol
    };
    MICRO_CODES.contains(&code.to_uppercase().as_str())
}

/// `?` for the `Option`s of exact arithmetic: out of range means Python decides.
macro_rules! exact {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return Verdict::Undecided,
        }
    };
}

fn refuse(reason: String) -> Verdict {
    Verdict::Refused(reason)
}

impl Rules {
    /// `RiskManager.starting_balance`.
    pub fn starting_balance(&self, st: &State) -> Option<Num> {
        self.starting_balance.or(st.start_balance)
    }

    /// `RuleProfile.scaling_cap`.
    fn scaling_cap(&self, eod_profit: Num) -> Option<i64> {
        let mut cap = self.scaling.first()?.max_contracts;
        for tier in &self.scaling {
            if eod_profit >= tier.from_profit {
                cap = tier.max_contracts;
            }
        }
        Some(cap)
    }

    /// `RiskManager.contract_cap` (outer None: out of range).
    fn contract_cap(&self, st: &State) -> Option<Option<i64>> {
        let start = self.starting_balance(st);
        let eod = st.last_end_balance.or(start);
        let tier = match (eod, start) {
            (Some(e), Some(s)) => self.scaling_cap(e.minus(s)?),
            _ => self.scaling_cap(Num::ZERO),
        };
        Some(match (self.max_contracts, tier) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// `RiskManager.floor` (outer None: out of range).
    pub fn floor(&self, st: &State) -> Option<Option<Num>> {
        let (Some(max_loss), Some(hw)) = (self.max_loss, st.high_water) else {
            return Some(None);
        };
        let mut f = hw.minus(max_loss)?;
        if let (Some(lock), Some(start)) = (self.max_loss_lock, self.starting_balance(st)) {
            let locked = start.plus(lock)?;
            if locked < f {
                f = locked; // min(f, locked) keeps f when equal (its text)
            }
        }
        Some(Some(f))
    }

    /// `RiskManager.lots` with the order as the extra working order; None when Python must add it.
    fn lots(&self, x: &Exposure, extra: &Working) -> Option<Num> {
        let mut ids: Vec<&str> = x.positions.iter().map(|(c, _)| c.as_str()).collect();
        ids.extend(x.working.iter().map(|w| w.contract_id.as_str()));
        ids.push(&extra.contract_id);
        ids.sort_unstable();
        ids.dedup();
        let per_lot = Num::int(i128::from(self.micros_per_lot));
        let mut total = Num::ZERO;
        for cid in ids {
            let extra = (extra.contract_id == cid).then_some(extra);
            let n = Num::int(x.worst_case(cid, extra));
            let term = if is_micro(cid) {
                let (q, exact) = n.over(per_lot)?;
                if !exact {
                    return None; // rounded terms: their sum depends on the set's order
                }
                q
            } else {
                n
            };
            total = total.plus(term)?;
        }
        Some(total)
    }

    /// `RiskManager._band`: the band's half-width in points and how it was set.
    fn band(&self, r: &PriceRef) -> Option<Option<(Num, String)>> {
        let mut best: Option<(Num, String)> = None;
        if self.price_band_ticks != 0 {
            let w = Num::int(i128::from(self.price_band_ticks)).times(r.tick_size)?;
            best = Some((w, format!("{} ticks", self.price_band_ticks)));
        }
        if let Some(atr) = r
            .atr
            .filter(|a| !a.is_zero() && !self.price_band_atr.is_zero())
        {
            let w = self.price_band_atr.times(atr)?;
            let label = format!("{} x ATR {}", self.price_band_atr, atr.format_f(Some(2))?);
            if best.as_ref().is_none_or(|(b, _)| w > *b) {
                best = Some((w, label));
            }
        }
        Some(best)
    }

    /// `RiskManager.price_band`: None when every price passes.
    fn price_band(&self, o: &Order, r: Option<&PriceRef>) -> Option<Verdict> {
        let prices = [("limit", &o.limit), ("stop", &o.stop), ("trail", &o.trail)];
        for (name, price) in prices {
            let Some(price) = price else { continue };
            let Price::Finite(p) = price else {
                let Price::Special(text) = price else {
                    unreachable!()
                };
                return Some(refuse(format!(
                    "{name} price {text} is not a price this contract can trade at"
                )));
            };
            if let Some(r) = r {
                let Some(band) = self.band(r) else {
                    return Some(Verdict::Undecided);
                };
                let Some(dist) = p.minus(r.last).map(Num::abs) else {
                    return Some(Verdict::Undecided);
                };
                if let Some((width, label)) = band.filter(|(w, _)| dist > *w) {
                    let ticks = dist
                        .over(r.tick_size)
                        .and_then(|(q, _)| q.format_f(Some(0)));
                    let (Some(ticks), Some(width)) = (ticks, width.format_f(None)) else {
                        return Some(Verdict::Undecided);
                    };
                    return Some(refuse(format!(
                        "{name} price {p} is {ticks} ticks from the last trade {} on {}: beyond the \
                         price band of {label} ({width} points)",
                        r.last, o.contract_id
                    )));
                }
            }
            if p.abs() > MAX_SANE_PRICE || (r.is_none() && *p <= Num::ZERO) {
                return Some(refuse(format!(
                    "{name} price {p} is not a price this contract can trade at"
                )));
            }
        }
        None
    }
}

/// `RiskManager.check` after its day roll (see the module notes).
pub fn check(
    rules: &Rules,
    st: &State,
    cal: &Calendar,
    o: &Order,
    x: &Exposure,
    now: i64,
) -> Verdict {
    let year = Calendar::year_of(cal.local(now).0);
    if !(YEARS.0..=YEARS.1).contains(&year) {
        return Verdict::Undecided;
    }
    if !cal.has_year(year) || !cal.has_year(year + 1) {
        return Verdict::NeedYears(year);
    }
    if st.trading_date != Some(cal.trading_date(now)) {
        return Verdict::Roll;
    }
    let sign: i128 = if o.buy { 1 } else { -1 };
    let size = i128::from(o.size);
    let pos = x.position(&o.contract_id);
    let reduces = pos != 0 && (pos > 0) != (sign * size > 0) && size <= pos.abs();
    if size <= 0 {
        return refuse(format!("order size must be positive, got {size}"));
    }
    if let Some(v) = rules.price_band(o, x.price_ref.as_ref()) {
        return v;
    }
    if reduces {
        return Verdict::Approved("reduces the open position".into());
    }
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
    if size > i128::from(rules.max_order_size) {
        return refuse(format!(
            "order size {size} exceeds the maximum of {} contracts per order",
            rules.max_order_size
        ));
    }
    let same_side: i128 = x
        .working
        .iter()
        .filter(|w| w.contract_id == o.contract_id && w.buy == o.buy)
        .map(|w| i128::from(w.size))
        .sum();
    let projected = (pos + sign * (same_side + size)).abs();
    if projected > i128::from(rules.max_position_per_symbol) {
        return refuse(format!(
            "position would reach {projected} contracts on {} (max {}, counting working orders)",
            o.contract_id, rules.max_position_per_symbol
        ));
    }
    let others: i128 = x
        .positions
        .iter()
        .filter(|(c, _)| *c != o.contract_id)
        .map(|(_, q)| i128::from(*q).abs())
        .sum();
    if others + projected > i128::from(rules.max_position_total) {
        return refuse(format!(
            "total position would reach {} contracts (max {})",
            others + projected,
            rules.max_position_total
        ));
    }
    if let Some(cap) = exact!(rules.contract_cap(st)) {
        let extra = Working {
            contract_id: o.contract_id.clone(),
            buy: o.buy,
            size: o.size,
        };
        let lots = exact!(rules.lots(x, &extra));
        if lots > Num::int(i128::from(cap)) {
            let scaled = rules.max_contracts.is_none_or(|m| cap < m);
            let why = if scaled {
                "today's scaling-plan tier".to_string()
            } else {
                format!("{}'s maximum", rules.label)
            };
            let micros = if rules.micros_per_lot > 1 {
                format!(", {} micros = 1", rules.micros_per_lot)
            } else {
                String::new()
            };
            let shown = exact!(lots.normalize().format_f(None));
            return refuse(format!(
                "contracts would reach {shown} (max {cap}: {why}; counting working orders{micros})"
            ));
        }
    }
    let day_pnl = exact!(x.realized_today.plus(x.unrealized));
    if let Some(limit) = rules.daily_loss_limit {
        if day_pnl <= limit.negated() {
            return refuse(format!(
                "daily loss limit reached: today's P&L {day_pnl} (limit -{limit})"
            ));
        }
    }
    if let Some(floor) = exact!(rules.floor(st)) {
        let equity = exact!(x.balance.plus(x.unrealized));
        if equity <= floor {
            let (Some(max_loss), Some(hw)) = (rules.max_loss, st.high_water) else {
                return Verdict::Undecided;
            };
            return refuse(format!(
                "trailing max loss reached: equity {equity} is at or below the floor {floor} \
                 ({max_loss} below the end-of-day high {hw})"
            ));
        }
    }
    if let (Some(target), Some(start)) = (rules.profit_target, rules.starting_balance(st)) {
        if x.balance >= exact!(start.plus(target)) && !st.goal_met {
            return refuse(format!("profit target of {target} reached: reduce-only"));
        }
    }
    if let Some(cap) = rules.daily_profit_cap {
        if day_pnl >= cap && !st.cap_tripped {
            return refuse(format!(
                "daily profit cap of {cap} reached: reduce-only until the next trading day"
            ));
        }
    }
    if let Some(flat) = rules.flat_time {
        if cal.past_flat(now, flat, rules.window.map(|w| w.0)) {
            return refuse(format!(
                "past the flat time {} ET: no new positions until the window reopens",
                hm(flat)
            ));
        }
    }
    if let Some((start, end)) = rules.window {
        if !cal.in_window(now, start, end) {
            return refuse(format!(
                "outside {}'s trading window ({}-{} ET on trading days)",
                rules.label,
                hm(start),
                hm(end)
            ));
        }
    }
    if !cal.in_trading_hours(now, rules.trading_start, rules.trading_end) {
        return refuse(format!(
            "outside trading hours ({}-{} New York on trading days)",
            hm(rules.trading_start),
            hm(rules.trading_end)
        ));
    }
    Verdict::Approved(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bars::zone::Zone;
    use crate::risk::calendar::{Session, DAY};

    const H: i64 = 60 * MINUTE;

    fn n(s: &str) -> Num {
        Num::parse(s).unwrap()
    }

    /// Wednesday 2025-06-11 (day 20250 since 1970) at a fixed EDT offset: one CME and NYSE session.
    fn calendar() -> (Calendar, i64) {
        let d = 20_250;
        let mut cal = Calendar::new(Zone::fixed(-4 * H));
        let cme = Session {
            date: d,
            open: (d - 1) * DAY + 22 * H,
            close: d * DAY + 21 * H,
        };
        let nyse = Session {
            date: d,
            open: d * DAY + 13 * H + 30 * MINUTE,
            close: d * DAY + 20 * H,
        };
        cal.add_year(2025, vec![cme], vec![nyse]);
        cal.add_year(2026, vec![], vec![]);
        (cal, d)
    }

    fn rules() -> Rules {
        Rules {
            max_order_size: 2,
            max_position_per_symbol: 3,
            max_position_total: 4,
            trading_start: 9 * H + 30 * MINUTE,
            trading_end: 15 * H + 55 * MINUTE,
            price_band_ticks: 40,
            price_band_atr: Num::ZERO,
            label: "Custom".into(),
            starting_balance: None,
            profit_target: None,
            daily_loss_limit: Some(n("1000")),
            daily_profit_cap: None,
            max_loss: Some(n("2000")),
            max_loss_lock: None,
            max_contracts: Some(4),
            scaling: vec![],
            micros_per_lot: 10,
            flat_time: None,
            window: None,
        }
    }

    fn state(date: Option<i64>) -> State {
        State {
            kill_mode: KillMode::Off,
            kill_reason: String::new(),
            trading_date: date,
            high_water: Some(n("50000")),
            start_balance: None,
            last_end_balance: None,
            goal_met: false,
            cap_tripped: false,
        }
    }

    fn order(size: i64, stop: &str) -> Order {
        Order {
            contract_id: "CON.F.US.MNQ.U25".into(),
            buy: true,
            size,
            limit: None,
            stop: Some(Price::Finite(n(stop))),
            trail: None,
        }
    }

    fn exposure(realized: &str) -> Exposure {
        Exposure {
            positions: vec![],
            working: vec![],
            realized_today: n(realized),
            unrealized: Num::ZERO,
            balance: n("50000"),
            price_ref: Some(PriceRef {
                last: n("21000.00"),
                tick_size: n("0.25"),
                atr: None,
            }),
        }
    }

    #[test]
    fn each_rule_says_why() {
        let (cal, d) = calendar();
        let ten = d * DAY + 14 * H; // 10:00 EDT
        let ok = check(
            &rules(),
            &state(Some(d)),
            &cal,
            &order(1, "21005"),
            &exposure("0"),
            ten,
        );
        assert_eq!(ok, Verdict::Approved(String::new()));
        let far = check(
            &rules(),
            &state(Some(d)),
            &cal,
            &order(1, "21100"),
            &exposure("0"),
            ten,
        );
        assert_eq!(
            far,
            Verdict::Refused(
                "stop price 21100 is 400 ticks from the last trade 21000.00 on CON.F.US.MNQ.U25: \
                 beyond the price band of 40 ticks (10.00 points)"
                    .into()
            )
        );
        let lost = check(
            &rules(),
            &state(Some(d)),
            &cal,
            &order(1, "21005"),
            &exposure("-1000.00"),
            ten,
        );
        assert_eq!(
            lost,
            Verdict::Refused("daily loss limit reached: today's P&L -1000.00 (limit -1000)".into())
        );
        let late = check(
            &rules(),
            &state(Some(d)),
            &cal,
            &order(1, "21005"),
            &exposure("0"),
            ten + 6 * H,
        );
        assert!(
            matches!(late, Verdict::Refused(r) if r.starts_with("outside trading hours (09:30-15:55"))
        );
    }

    #[test]
    fn the_host_rolls_the_day_and_loads_years() {
        let (cal, d) = calendar();
        let ten = d * DAY + 14 * H;
        let v = check(
            &rules(),
            &state(Some(d - 1)),
            &cal,
            &order(1, "21005"),
            &exposure("0"),
            ten,
        );
        assert_eq!(v, Verdict::Roll);
        let empty = Calendar::new(Zone::fixed(-4 * H));
        let v = check(
            &rules(),
            &state(Some(d)),
            &empty,
            &order(1, "21005"),
            &exposure("0"),
            ten,
        );
        assert_eq!(v, Verdict::NeedYears(2025));
    }

    #[test]
    fn micros_count_a_tenth() {
        assert!(is_micro("CON.F.US.MNQ.U25") && is_micro("mes") && !is_micro("CON.F.US.ENQ.U25"));
        let x = Exposure {
            positions: vec![("CON.F.US.MNQ.U25".into(), 35)],
            ..exposure("0")
        };
        let extra = Working {
            contract_id: "CON.F.US.MNQ.U25".into(),
            buy: true,
            size: 7,
        };
        assert_eq!(rules().lots(&x, &extra).unwrap().to_string(), "4.2");
        let thirds = Rules {
            micros_per_lot: 3,
            ..rules()
        };
        assert_eq!(thirds.lots(&x, &extra).unwrap().to_string(), "14"); // 42 / 3: exact
        let odd = Working { size: 6, ..extra };
        assert!(thirds.lots(&x, &odd).is_none()); // 41 / 3 is rounded: Python adds those
    }
}
