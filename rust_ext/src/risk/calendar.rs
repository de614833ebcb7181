//! The exchange calendar as risk reads it, from tables `trading.calendar` hands over (the calendar
//! package stays in Python): the CME Globex equity sessions and the NYSE sessions of whole years,
//! and New York's offsets (the crate's zone table). The functions below are the ones of
//! `trading/calendar.py` and `trading/risk/window.py` the risk check calls, with the same answers.
//!
//! Times are UTC ns; dates are days since 1970-01-01; wall-clock times are ns since midnight.

use crate::bars::zone::Zone;
use crate::common::time::civil_from_days;

pub const DAY: i64 = 86_400_000_000_000;
pub const MINUTE: i64 = 60_000_000_000;

/// One session: its label date, open and close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub date: i64,
    pub open: i64,
    pub close: i64,
}

#[derive(Debug, Clone)]
pub struct Calendar {
    zone: Zone,
    cme: Vec<Session>,
    nyse: Vec<Session>,
    years: Vec<i64>,
}

fn by_date(rows: &[Session], d: i64) -> Option<&Session> {
    rows.binary_search_by_key(&d, |s| s.date)
        .ok()
        .map(|i| &rows[i])
}

impl Calendar {
    pub fn new(zone: Zone) -> Calendar {
        Calendar {
            zone,
            cme: vec![],
            nyse: vec![],
            years: vec![],
        }
    }

    /// Add one year's sessions (CME and NYSE rows of dates in that year).
    pub fn add_year(&mut self, year: i64, cme: Vec<Session>, nyse: Vec<Session>) {
        if self.has_year(year) {
            return;
        }
        self.years.push(year);
        self.cme.extend(cme);
        self.nyse.extend(nyse);
        self.cme.sort_by_key(|s| s.date);
        self.nyse.sort_by_key(|s| s.date);
    }

    pub fn has_year(&self, year: i64) -> bool {
        self.years.contains(&year)
    }

    /// New York date and wall-clock time of `ts` (`to_ny(ts).date()`, `.time()`).
    pub fn local(&self, ts: i64) -> (i64, i64) {
        let t = ts + self.zone.offset_at(ts);
        (t.div_euclid(DAY), t.rem_euclid(DAY))
    }

    pub fn year_of(date: i64) -> i64 {
        civil_from_days(date).0
    }

    /// `ny(d, t)`: wall-clock `t` on `d` in New York, as UTC (zoneinfo's reading of gaps and folds).
    pub fn ny(&self, date: i64, t: i64) -> i64 {
        self.zone.utc_of_wall(date * DAY + t)
    }

    /// `session_at`: the CME session in progress at `ts` (sessions never overlap).
    pub fn session_at(&self, ts: i64) -> Option<&Session> {
        let i = self.cme.partition_point(|s| s.open <= ts);
        let s = self.cme.get(i.checked_sub(1)?)?;
        (ts < s.close).then_some(s)
    }

    pub fn cme_session(&self, date: i64) -> Option<&Session> {
        by_date(&self.cme, date)
    }

    /// `rth(d)`: the NYSE session of `d`.
    pub fn rth(&self, date: i64) -> Option<&Session> {
        by_date(&self.nyse, date)
    }

    pub fn is_trading_day(&self, date: i64) -> bool {
        self.rth(date).is_some() && self.cme_session(date).is_some()
    }

    /// The futures trading day of `ts` (`_roll_day`'s `today`): the session's date, else the New
    /// York date.
    pub fn trading_date(&self, ts: i64) -> i64 {
        self.session_at(ts)
            .map_or_else(|| self.local(ts).0, |s| s.date)
    }

    /// `window.in_window`.
    pub fn in_window(&self, now: i64, start: i64, end: i64) -> bool {
        let Some(s) = self.session_at(now) else {
            return false;
        };
        let opened = if start > end {
            self.ny(self.local(s.open).0, start)
        } else {
            self.ny(s.date, start)
        };
        s.open.max(opened) <= now && now < s.close.min(self.ny(s.date, end))
    }

    /// `window.flat_moment`.
    fn flat_moment(&self, now: i64, flat: i64) -> Option<i64> {
        let s = self.session_at(now);
        let d = s.map_or_else(|| self.local(now).0, |s| s.date);
        let session = s.or_else(|| self.cme_session(d))?;
        Some(self.ny(d, flat).min(session.close))
    }

    /// `window.past_flat`.
    pub fn past_flat(&self, now: i64, flat: i64, reopen: Option<i64>) -> bool {
        let s = self.session_at(now);
        let (date, time) = self.local(now);
        if s.is_some_and(|s| s.date != date) {
            return false;
        }
        match self.flat_moment(now, flat) {
            Some(at) if now >= at => reopen.is_none_or(|r| time < r) || s.is_none(),
            _ => false,
        }
    }

    /// `RiskManager.in_trading_hours`: from `start` to the earlier of `end` and five minutes before
    /// the NYSE close (`flatten_time`), New York time, on trading days.
    pub fn in_trading_hours(&self, now: i64, start: i64, end: i64) -> bool {
        let d = self.local(now).0;
        if !self.is_trading_day(d) {
            return false;
        }
        let Some(rth) = self.rth(d) else {
            return false;
        };
        let until = self.ny(d, end).min(rth.close - 5 * MINUTE);
        self.ny(d, start) <= now && now < until
    }
}
