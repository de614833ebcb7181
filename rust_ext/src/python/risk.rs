//! `RiskCore`: the pure risk check (`risk/check.rs`) over the Python face's objects. The order and
//! the exposure are read here, attribute by attribute (an `OrderRequest`, an `Exposure` and its
//! `WorkingOrder`s and `PriceRef`); whatever is not what the check can read exactly (a value that is
//! not a `Decimal`, a number beyond the check's range) answers "undecided" and Python decides.

use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyType};

use crate::bars::zone::Zone;
use crate::risk::calendar::{Calendar, Session};
use crate::risk::check::{
    check, Exposure, KillMode, Order, Price, PriceRef, Rules, ScalingTier, State, Verdict, Working,
};
use crate::risk::decimal::Num;
use crate::risk::mark::Account;

pub const REFUSED: i64 = 0;
pub const APPROVED: i64 = 1;
pub const ROLL: i64 = 2;
pub const NEED_YEARS: i64 = 3;
pub const UNDECIDED: i64 = 4;

fn num(text: Option<String>, what: &str) -> PyResult<Option<Num>> {
    text.map(|t| {
        Num::parse(&t).ok_or_else(|| {
            PyValueError::new_err(format!("{what}: {t:?} is out of the Rust check's range"))
        })
    })
    .transpose()
}

/// RiskCore(...): `[risk]`'s limits, the rule profile's numbers (decimals as `Decimal` text, times
/// of day in ns) and New York's zone table; see `trading/risk/native.py`.
#[pyclass(name = "RiskCore", module = "trading._native")]
pub struct PyRiskCore {
    rules: Rules,
    state: Option<State>,
    calendar: Calendar,
    decimal: Py<PyType>,
}

impl PyRiskCore {
    /// The rules and the calendar (with the years added so far), for the backtest loop's risk.
    pub fn parts(&self) -> (Rules, Calendar) {
        (self.rules.clone(), self.calendar.clone())
    }

    fn dec(&self, v: &Bound<'_, PyAny>) -> Option<Num> {
        if !v.is_instance(self.decimal.bind(v.py())).ok()? {
            return None;
        }
        Num::parse(v.str().ok()?.to_str().ok()?)
    }

    fn price(&self, v: Bound<'_, PyAny>) -> Option<Option<Price>> {
        if v.is_none() {
            return Some(None);
        }
        if !v.is_instance(self.decimal.bind(v.py())).ok()? {
            return None;
        }
        let text = v.str().ok()?.to_str().ok()?.to_string();
        if let Some(n) = Num::parse(&text) {
            return Some(Some(Price::Finite(n)));
        }
        let special = text.trim_start_matches('-');
        let named = ["NaN", "sNaN", "Infinity"]
            .iter()
            .any(|s| special.starts_with(s));
        named.then_some(Some(Price::Special(text)))
    }

    fn order(&self, r: &Bound<'_, PyAny>) -> Option<Order> {
        let py = r.py();
        Some(Order {
            contract_id: r.getattr(intern!(py, "contract_id")).ok()?.extract().ok()?,
            buy: buy(&r.getattr(intern!(py, "side")).ok()?)?,
            size: r.getattr(intern!(py, "size")).ok()?.extract().ok()?,
            limit: self.price(r.getattr(intern!(py, "limit_price")).ok()?)?,
            stop: self.price(r.getattr(intern!(py, "stop_price")).ok()?)?,
            trail: self.price(r.getattr(intern!(py, "trail_price")).ok()?)?,
        })
    }

    fn exposure(&self, x: &Bound<'_, PyAny>, contract_id: &str) -> Option<Exposure> {
        let py = x.py();
        let held = x.getattr(intern!(py, "positions")).ok()?;
        let mut positions = vec![];
        if let Ok(d) = held.cast::<PyDict>() {
            for (k, v) in d.iter() {
                positions.push((
                    k.cast::<PyString>().ok()?.to_str().ok()?.to_string(),
                    v.extract().ok()?,
                ));
            }
        } else {
            for item in held
                .call_method0(intern!(py, "items"))
                .ok()?
                .try_iter()
                .ok()?
            {
                let (k, v): (String, i64) = item.ok()?.extract().ok()?;
                positions.push((k, v));
            }
        }
        let mut working = vec![];
        for w in x.getattr(intern!(py, "working")).ok()?.try_iter().ok()? {
            let w = w.ok()?;
            working.push(Working {
                contract_id: w.getattr(intern!(py, "contract_id")).ok()?.extract().ok()?,
                buy: buy(&w.getattr(intern!(py, "side")).ok()?)?,
                size: w.getattr(intern!(py, "size")).ok()?.extract().ok()?,
            });
        }
        let refs = x.getattr(intern!(py, "last_prices")).ok()?;
        let r = refs.call_method1(intern!(py, "get"), (contract_id,)).ok()?;
        let price_ref = if r.is_none() {
            None
        } else {
            let atr = r.getattr(intern!(py, "atr")).ok()?;
            Some(PriceRef {
                last: self.dec(&r.getattr(intern!(py, "last")).ok()?)?,
                tick_size: self.dec(&r.getattr(intern!(py, "tick_size")).ok()?)?,
                atr: if atr.is_none() {
                    None
                } else {
                    Some(self.dec(&atr)?)
                },
            })
        };
        Some(Exposure {
            positions,
            working,
            realized_today: self.dec(&x.getattr(intern!(py, "realized_today")).ok()?)?,
            unrealized: self.dec(&x.getattr(intern!(py, "unrealized")).ok()?)?,
            balance: self.dec(&x.getattr(intern!(py, "balance")).ok()?)?,
            price_ref,
        })
    }
}

/// A `Side` (a `str` enum): "buy" or "sell".
fn buy(side: &Bound<'_, PyAny>) -> Option<bool> {
    match side.cast::<PyString>().ok()?.to_str().ok()? {
        "buy" => Some(true),
        "sell" => Some(false),
        _ => None,
    }
}

fn kill_mode_of(value: &str) -> PyResult<KillMode> {
    KillMode::parse(value)
        .ok_or_else(|| PyValueError::new_err(format!("unknown kill mode {value:?}")))
}

/// `RiskState` for the Rust mark and check (`trading/backtest/native.py` writes it): (kill mode,
/// reason, automatic), trading date (days since 1970-01-01), (day realized, day P&L), [high water,
/// start balance, balance, the last finished day's end balance], (goal met, cap tripped).
pub type AccountIn = (
    (String, String, bool),
    Option<i64>,
    (String, String),
    [Option<String>; 4],
    (bool, bool),
);
/// The same, back (without the last end balance), with the days finished (date, realized, end
/// balance) and the first trading date rolled into.
pub type AccountOut = (
    (&'static str, String, bool),
    Option<i64>,
    (String, String),
    [Option<String>; 3],
    (bool, bool),
    Vec<(i64, String, String)>,
    Option<i64>,
);

/// The check's `State` from the kill switch, the trading date, the high water, start balance and
/// last end balance (`Decimal` text), goal met and cap tripped.
fn state_of(
    (kill_mode, kill_reason, trading_date): (KillMode, String, Option<i64>),
    [high_water, start_balance, last_end_balance]: [Option<String>; 3],
    (goal_met, cap_tripped): (bool, bool),
) -> PyResult<State> {
    Ok(State {
        kill_mode,
        kill_reason,
        trading_date,
        high_water: num(high_water, "high_water")?,
        start_balance: num(start_balance, "start_balance")?,
        last_end_balance: num(last_end_balance, "last_end_balance")?,
        goal_met,
        cap_tripped,
    })
}

pub fn account_in(row: AccountIn) -> PyResult<Account> {
    let ((mode, kill_reason, kill_automatic), trading_date, (realized, day_pnl), money, flags) =
        row;
    let [hw, start, balance, last_end] = money;
    let must = |t: String, what: &str| num(Some(t), what).map(|n| n.unwrap_or(Num::ZERO));
    Ok(Account {
        check: state_of(
            (kill_mode_of(&mode)?, kill_reason, trading_date),
            [hw, start, last_end],
            flags,
        )?,
        kill_automatic,
        day_realized: must(realized, "day_realized")?,
        day_pnl: must(day_pnl, "day_pnl")?,
        balance: num(balance, "balance")?,
        days: vec![],
        first_roll: None,
    })
}

pub fn account_out(a: &Account) -> AccountOut {
    let s = &a.check;
    let text = |n: Option<Num>| n.map(|x| x.to_string());
    (
        (s.kill_mode.value(), s.kill_reason.clone(), a.kill_automatic),
        s.trading_date,
        (a.day_realized.to_string(), a.day_pnl.to_string()),
        [text(s.high_water), text(s.start_balance), text(a.balance)],
        (s.goal_met, s.cap_tripped),
        a.days
            .iter()
            .map(|(d, r, b)| (*d, r.to_string(), b.to_string()))
            .collect(),
        a.first_roll,
    )
}

fn sessions(rows: Vec<(i64, i64, i64)>) -> Vec<Session> {
    rows.into_iter()
        .map(|(date, open, close)| Session { date, open, close })
        .collect()
}

#[pymethods]
impl PyRiskCore {
    #[new]
    #[pyo3(signature = (*, tz_utc, tz_offset, max_order_size, max_position_per_symbol, max_position_total,
        trading_start, trading_end, price_band_ticks, price_band_atr, label, starting_balance,
        profit_target, daily_loss_limit, daily_profit_cap, max_loss, max_loss_lock, max_contracts,
        scaling, micros_per_lot, flat_time, window))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        tz_utc: PyReadonlyArray1<'_, i64>,
        tz_offset: PyReadonlyArray1<'_, i64>,
        max_order_size: i64,
        max_position_per_symbol: i64,
        max_position_total: i64,
        trading_start: i64,
        trading_end: i64,
        price_band_ticks: i64,
        price_band_atr: String,
        label: String,
        starting_balance: Option<String>,
        profit_target: Option<String>,
        daily_loss_limit: Option<String>,
        daily_profit_cap: Option<String>,
        max_loss: Option<String>,
        max_loss_lock: Option<String>,
        max_contracts: Option<i64>,
        scaling: Vec<(String, i64)>,
        micros_per_lot: i64,
        flat_time: Option<i64>,
        window: Option<(i64, i64)>,
    ) -> PyResult<Self> {
        let zone = Zone::new(tz_utc.as_slice()?.to_vec(), tz_offset.as_slice()?.to_vec())
            .map_err(PyValueError::new_err)?;
        let scaling = scaling
            .into_iter()
            .map(|(from, max_contracts)| {
                Ok(ScalingTier {
                    from_profit: num(Some(from), "scaling from_profit")?.unwrap_or(Num::ZERO),
                    max_contracts,
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let rules = Rules {
            max_order_size,
            max_position_per_symbol,
            max_position_total,
            trading_start,
            trading_end,
            price_band_ticks,
            price_band_atr: num(Some(price_band_atr), "price_band_atr")?.unwrap_or(Num::ZERO),
            label,
            starting_balance: num(starting_balance, "starting_balance")?,
            profit_target: num(profit_target, "profit_target")?,
            daily_loss_limit: num(daily_loss_limit, "daily_loss_limit")?,
            daily_profit_cap: num(daily_profit_cap, "daily_profit_cap")?,
            max_loss: num(max_loss, "max_loss")?,
            max_loss_lock: num(max_loss_lock, "max_loss_lock")?,
            max_contracts,
            scaling,
            micros_per_lot,
            flat_time,
            window,
        };
        let decimal = py
            .import("decimal")?
            .getattr("Decimal")?
            .cast_into::<PyType>()?
            .unbind();
        Ok(PyRiskCore {
            rules,
            state: None,
            calendar: Calendar::new(zone),
            decimal,
        })
    }

    /// The state the check reads (`RiskState`'s fields; days since 1970-01-01 for the trading date).
    /// A number out of range leaves every check to Python until the next state.
    #[pyo3(signature = (*, kill_mode, kill_reason, trading_date, high_water, start_balance,
        last_end_balance, goal_met, cap_tripped))]
    #[allow(clippy::too_many_arguments)]
    fn set_state(
        &mut self,
        kill_mode: &str,
        kill_reason: String,
        trading_date: Option<i64>,
        high_water: Option<String>,
        start_balance: Option<String>,
        last_end_balance: Option<String>,
        goal_met: bool,
        cap_tripped: bool,
    ) -> PyResult<()> {
        let kill_mode = kill_mode_of(kill_mode)?;
        let parsed = state_of(
            (kill_mode, kill_reason, trading_date),
            [high_water, start_balance, last_end_balance],
            (goal_met, cap_tripped),
        );
        self.state = parsed.ok();
        Ok(())
    }

    /// One year's sessions: CME and NYSE rows of (days since 1970-01-01, open ns, close ns).
    fn add_year(&mut self, year: i64, cme: Vec<(i64, i64, i64)>, nyse: Vec<(i64, i64, i64)>) {
        self.calendar.add_year(year, sessions(cme), sessions(nyse));
    }

    /// check(request, exposure, now_ns) -> (code, reason, year): REFUSED or APPROVED with the
    /// sentence; ROLL (roll the day, ask again); NEED_YEARS (add `year` and the next); UNDECIDED.
    fn check(
        &self,
        request: &Bound<'_, PyAny>,
        exposure: &Bound<'_, PyAny>,
        now_ns: i64,
    ) -> (i64, String, i64) {
        let undecided = (UNDECIDED, String::new(), 0);
        let Some(state) = &self.state else {
            return undecided;
        };
        let Some(order) = self.order(request) else {
            return undecided;
        };
        let Some(x) = self.exposure(exposure, &order.contract_id) else {
            return undecided;
        };
        match check(&self.rules, state, &self.calendar, &order, &x, now_ns) {
            Verdict::Refused(r) => (REFUSED, r, 0),
            Verdict::Approved(r) => (APPROVED, r, 0),
            Verdict::Roll => (ROLL, String::new(), 0),
            Verdict::NeedYears(y) => (NEED_YEARS, String::new(), y),
            Verdict::Undecided => undecided,
        }
    }

    /// mark(exposure, now_ns, account) -> (trips, account): `RiskManager.mark` in Rust (`risk/mark.rs`)
    /// on the state row `trading/backtest/native.py` writes (`AccountIn`), with the trips' reasons and
    /// the state after (`AccountOut`); trips None where Python must decide. The calendar needs the
    /// year of `now_ns` (`add_year`).
    fn mark(
        &self,
        exposure: &Bound<'_, PyAny>,
        now_ns: i64,
        account: AccountIn,
    ) -> PyResult<(Option<Vec<String>>, AccountOut)> {
        let mut a = account_in(account)?;
        let x = self
            .exposure(exposure, "")
            .ok_or_else(|| PyValueError::new_err("an exposure the Rust mark cannot read"))?;
        let trips = a.mark(&self.rules, &x, self.calendar.trading_date(now_ns));
        Ok((trips, account_out(&a)))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRiskCore>()?;
    m.add("RISK_REFUSED", REFUSED)?;
    m.add("RISK_APPROVED", APPROVED)?;
    m.add("RISK_ROLL", ROLL)?;
    m.add("RISK_NEED_YEARS", NEED_YEARS)?;
    m.add("RISK_UNDECIDED", UNDECIDED)?;
    Ok(())
}
