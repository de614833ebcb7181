//! Time maths, once: ISO-8601 text <-> ns since the epoch (UTC, µs precision like the Python
//! twin), and the wall clock in ns. Civil-date conversions are Howard Hinnant's algorithms.

use std::time::{SystemTime, UNIX_EPOCH};

const NS_PER_S: i64 = 1_000_000_000;
const S_PER_DAY: i64 = 86_400;

/// Wall-clock time in ns since the epoch (0 if the clock is before it).
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ns since the epoch -> `2025-07-18T21:00:01.268009+00:00`.
pub fn format_ts(ns: i64) -> String {
    let secs = ns.div_euclid(NS_PER_S);
    let micros = ns.rem_euclid(NS_PER_S) / 1000;
    let (y, m, d) = civil_from_days(secs.div_euclid(S_PER_DAY));
    let sod = secs.rem_euclid(S_PER_DAY);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// ns since the epoch -> Python's `datetime.isoformat()` of a UTC time: `2025-07-18T21:00:00+00:00`
/// (the fraction only when there is one).
pub fn isoformat(ns: i64) -> String {
    let secs = ns.div_euclid(NS_PER_S);
    let micros = ns.rem_euclid(NS_PER_S) / 1000;
    let (y, m, d) = civil_from_days(secs.div_euclid(S_PER_DAY));
    let sod = secs.rem_euclid(S_PER_DAY);
    let frac = if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}")
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}+00:00",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

fn num(s: &[u8]) -> Result<i64, String> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err("not an ISO-8601 timestamp".into());
    }
    Ok(s.iter().fold(0i64, |a, &b| a * 10 + i64::from(b - b'0')))
}

/// ISO-8601 -> ns since the epoch (UTC), truncated to µs like the Python twin; the `0001-01-01`
/// "N/A" sentinel gives None. Accepts `Z`, `±HH:MM`, no zone (UTC), any fraction length.
pub fn parse_ts(text: &str) -> Result<Option<i64>, String> {
    let b = text.trim().as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(format!("not an ISO-8601 timestamp: {:.40}", text));
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (h, mi, s) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return Err(format!("timestamp out of range: {:.40}", text));
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &b[start..i];
        if frac.is_empty() {
            return Err("empty fraction".into());
        }
        for k in 0..6 {
            micros = micros * 10 + frac.get(k).map_or(0, |&c| i64::from(c - b'0'));
        }
    }
    let offset_s = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), hh1, hh2, b':', mm1, mm2] => {
            let v = num(&[*hh1, *hh2])? * 3600 + num(&[*mm1, *mm2])? * 60;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return Err(format!("bad zone in timestamp: {:.40}", text)),
    };
    if y == 1 {
        return Ok(None);
    }
    let secs = days_from_civil(y, mo, d) * S_PER_DAY + h * 3600 + mi * 60 + s - offset_s;
    Ok(Some(secs * NS_PER_S + micros * 1_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timestamps() {
        assert_eq!(parse_ts("1970-01-01T00:00:00Z"), Ok(Some(0)));
        assert_eq!(parse_ts("1970-01-01T01:00:00+01:00"), Ok(Some(0)));
        assert_eq!(
            parse_ts("1969-12-31T23:59:59.5-00:00"),
            Ok(Some(-500_000_000))
        );
        assert_eq!(parse_ts("0001-01-01T00:00:00"), Ok(None));
        assert_eq!(
            parse_ts("2024-02-29T12:00:00"),
            Ok(Some(1_709_208_000_000_000_000))
        );
        for bad in [
            "",
            "2024-13-01T00:00:00",
            "2024-01-01X00:00:00",
            "2024-01-01T00:00:00+5",
            "2024-01-01T00:00:00.",
        ] {
            assert!(parse_ts(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_timestamps_round_trip() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000000+00:00");
        let ns = 1_752_872_401_268_009_000;
        assert_eq!(format_ts(ns), "2025-07-18T21:00:01.268009+00:00");
        assert_eq!(parse_ts(&format_ts(ns)), Ok(Some(ns)));
        assert_eq!(
            format_ts(1_709_208_000_000_000_000),
            "2024-02-29T12:00:00.000000+00:00"
        );
    }

    #[test]
    fn civil_dates_round_trip_across_eras() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert!(now_ns() > 1_700_000_000 * NS_PER_S);
    }
}
