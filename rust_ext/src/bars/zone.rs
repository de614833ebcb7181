//! Session-aligned bucketing: which bar a UTC instant belongs to.
//!
//! A [`Zone`] is a table of UTC-offset transitions handed over from Python (computed with
//! `zoneinfo` for America/New_York over the data's span, see `trading.marketdata.ny_zone`):
//! `offsets[i]` is in force from `trans[i]` (UTC ns) until `trans[i + 1]`; before `trans[0]` the
//! first offset applies. A fixed offset is a one-entry table.
//!
//! Buckets of `period` are aligned to local wall-clock time: local boundaries are
//! `origin + k * period` (origin is local time, e.g. 18:00 for CME session days).
//!
//! * Fast path: when every offset of the table is a multiple of the period (any period that
//!   divides one hour, for New York), the offset cancels out and a bucket is
//!   `floor((t - origin) / period) * period + origin` in plain UTC arithmetic. Around the
//!   fall-back transition, the repeated local hour gives two distinct sets of bars, as it should.
//! * General path (e.g. 2 h, 4 h, 1 day): bucket boundaries are the local boundaries converted to
//!   UTC. A boundary in the spring-forward gap maps to the transition instant; an ambiguous one
//!   (fall-back) maps to its first occurrence. So the bucket that contains a transition lasts one
//!   hour more (fall back) or less (spring forward) than the period: a session day stays one bar.

/// Time-zone offsets as a transition table (all values in ns).
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    trans: Vec<i64>,
    offs: Vec<i64>,
}

impl Zone {
    pub fn fixed(offset_ns: i64) -> Self {
        Zone {
            trans: vec![i64::MIN],
            offs: vec![offset_ns],
        }
    }

    pub fn new(trans: Vec<i64>, offs: Vec<i64>) -> Result<Self, String> {
        if trans.len() != offs.len() || trans.is_empty() {
            return Err(
                "zone transitions and offsets must be non-empty and of equal length".into(),
            );
        }
        if trans.windows(2).any(|w| w[1] <= w[0]) {
            return Err("zone transitions must be strictly ascending".into());
        }
        if offs.iter().any(|o| o.abs() >= 86_400_000_000_000) {
            return Err("zone offsets must be less than one day".into());
        }
        Ok(Zone { trans, offs })
    }

    /// Offset in force at UTC instant `t`.
    pub fn offset_at(&self, t: i64) -> i64 {
        let i = self.trans.partition_point(|&u| u <= t);
        self.offs[i.saturating_sub(1)]
    }

    fn valid(&self, i: usize, utc: i64) -> bool {
        let lo = if i == 0 { i64::MIN } else { self.trans[i] };
        let hi = self.trans.get(i + 1).copied().unwrap_or(i64::MAX);
        lo <= utc && utc < hi
    }

    /// UTC instant of local time `local`: first occurrence when ambiguous, the transition
    /// instant when `local` falls in a gap.
    pub fn utc_of_local(&self, local: i64) -> i64 {
        self.wall(local, true)
    }

    /// UTC instant of wall-clock `local` as Python's `zoneinfo` reads it (`fold=0`): the first
    /// occurrence when ambiguous; in a gap, the offset in force before the transition (02:30 on the
    /// spring-forward day is 03:30 daylight time), where `utc_of_local` gives the transition instant.
    pub fn utc_of_wall(&self, local: i64) -> i64 {
        self.wall(local, false)
    }

    fn wall(&self, local: i64, gap_to_transition: bool) -> i64 {
        let guess = local.saturating_sub(self.offs[0]);
        let i = self
            .trans
            .partition_point(|&u| u <= guess)
            .saturating_sub(1);
        let lo = i.saturating_sub(2);
        let hi = (i + 2).min(self.offs.len() - 1);
        let mut best: Option<i64> = None;
        for j in lo..=hi {
            let utc = local.saturating_sub(self.offs[j]);
            if self.valid(j, utc) {
                best = Some(best.map_or(utc, |b: i64| b.min(utc)));
            }
        }
        if let Some(b) = best {
            return b;
        }
        // In a gap: the transition k with local - offs[k-1] >= trans[k] > local - offs[k].
        for k in (lo.max(1))..=hi {
            if local.saturating_sub(self.offs[k - 1]) >= self.trans[k]
                && self.trans[k] > local.saturating_sub(self.offs[k])
            {
                return if gap_to_transition {
                    self.trans[k]
                } else {
                    local.saturating_sub(self.offs[k - 1])
                };
            }
        }
        guess
    }
}

/// How instants are assigned to buckets: period, local origin and zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucketer {
    period: i64,
    origin: i64,
    zone: Zone,
    fast: bool,
}

impl Bucketer {
    pub fn new(period_ns: i64, origin_ns: i64, zone: Zone) -> Result<Self, String> {
        if period_ns <= 0 {
            return Err(format!("period must be positive, got {period_ns} ns"));
        }
        let fast = zone.offs.iter().all(|o| o % period_ns == 0);
        Ok(Bucketer {
            period: period_ns,
            origin: origin_ns,
            zone,
            fast,
        })
    }

    pub fn period(&self) -> i64 {
        self.period
    }

    /// `[start, end)` of the bucket that holds UTC instant `t`.
    #[inline]
    pub fn bucket(&self, t: i64) -> (i64, i64) {
        if self.fast {
            let s = (t - self.origin).div_euclid(self.period) * self.period + self.origin;
            return (s, s + self.period);
        }
        self.bucket_general(t)
    }

    fn boundary(&self, k: i64) -> i64 {
        self.zone.utc_of_local(k * self.period + self.origin)
    }

    fn bucket_general(&self, t: i64) -> (i64, i64) {
        let off = self.zone.offset_at(t);
        let mut k = (t + off - self.origin).div_euclid(self.period);
        let mut s = self.boundary(k);
        while s > t {
            k -= 1;
            s = self.boundary(k);
        }
        loop {
            let e = self.boundary(k + 1);
            if e > t {
                return (s, e);
            }
            k += 1;
            s = e;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000_000;
    const MIN: i64 = 60_000_000_000;

    /// New York around 2024-03-10 (spring forward at 07:00Z) and 2024-11-03 (fall back at 06:00Z).
    fn ny() -> Zone {
        let spring = 1_710_054_000 * 1_000_000_000; // 2024-03-10T07:00Z
        let fall = 1_730_613_600 * 1_000_000_000; // 2024-11-03T06:00Z
        Zone::new(vec![i64::MIN, spring, fall], vec![-5 * H, -4 * H, -5 * H]).unwrap()
    }

    #[test]
    fn fixed_zone_matches_offset_formula() {
        let b = Bucketer::new(60 * MIN, 0, Zone::fixed(-300 * MIN)).unwrap();
        assert_eq!(b.bucket(70 * MIN), (60 * MIN, 120 * MIN));
        let b = Bucketer::new(7 * MIN, 0, Zone::fixed(-300 * MIN)).unwrap();
        let t = 1000 * MIN + 17;
        let expect = (t + -300 * MIN).div_euclid(7 * MIN) * 7 * MIN + 300 * MIN;
        assert_eq!(b.bucket(t).0, expect);
    }

    #[test]
    fn fall_back_gives_two_one_minute_bars_for_the_repeated_minute() {
        let b = Bucketer::new(MIN, 0, ny()).unwrap();
        let fall = 1_730_613_600 * 1_000_000_000;
        // 01:30 EDT and 01:30 EST are an hour apart in UTC: distinct buckets.
        assert_ne!(b.bucket(fall - 30 * MIN).0, b.bucket(fall + 30 * MIN).0);
    }

    #[test]
    fn session_days_from_18h_stay_one_bar_across_dst() {
        // Daily buckets from 18:00 New York time.
        let b = Bucketer::new(24 * H, 18 * H, ny()).unwrap();
        let fall = 1_730_613_600 * 1_000_000_000; // Sun 2024-11-03 01:00 EST
        let (s, e) = b.bucket(fall);
        // Starts Sat 18:00 EDT = 22:00Z on Nov 2, ends Sun 18:00 EST = 23:00Z on Nov 3: 25 h.
        assert_eq!(e - s, 25 * H);
        assert_eq!(s, fall - 8 * H);
        let spring = 1_710_054_000 * 1_000_000_000;
        let (s, e) = b.bucket(spring);
        assert_eq!(e - s, 23 * H);
        assert_eq!(s, spring - 8 * H); // Sat 18:00 EST = 23:00Z
    }

    #[test]
    fn gap_boundary_maps_to_transition() {
        let z = ny();
        let spring = 1_710_054_000 * 1_000_000_000;
        // Local 02:30 on 2024-03-10 does not exist.
        let local_0230 = spring - 5 * H + 30 * MIN;
        assert_eq!(z.utc_of_local(local_0230), spring);
        assert_eq!(z.utc_of_wall(local_0230), spring + 30 * MIN); // zoneinfo: 03:30 EDT
                                                                  // Every instant lies in its bucket for a 4 h period across both transitions.
        let b = Bucketer::new(4 * H, 0, z).unwrap();
        for t in (spring - 30 * H..spring + 30 * H).step_by((7 * MIN) as usize) {
            let (s, e) = b.bucket(t);
            assert!(s <= t && t < e, "{t} not in [{s},{e})");
        }
    }

    #[test]
    fn bad_zone_refused() {
        assert!(Zone::new(vec![], vec![]).is_err());
        assert!(Zone::new(vec![5, 1], vec![0, 0]).is_err());
        assert!(Bucketer::new(0, 0, Zone::fixed(0)).is_err());
    }
}
