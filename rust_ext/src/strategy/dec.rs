//! Exact decimal money as Python's `decimal.Decimal` writes it: a mantissa and a scale (places
//! after the point). Sums and differences keep the larger scale, as `Decimal` does, so a level,
//! a range or a gap prints the same text in both implementations ("50.25", "21000.00", "50").
//! Ratios are exact fractions ([`Frac`]); they are rounded half-even only for display, as
//! `Decimal.quantize` and `format(x, ".1%")` do.

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, Copy)]
pub struct Dec {
    pub mant: i128,
    pub scale: u32,
}

fn pow10(n: u32) -> i128 {
    10i128.pow(n)
}

impl Dec {
    pub const ZERO: Dec = Dec { mant: 0, scale: 0 };

    pub fn int(n: i64) -> Dec {
        Dec {
            mant: n as i128,
            scale: 0,
        }
    }

    /// Parse `Decimal` text: "-12.50", "50", "1e16" (an exponent form is normalised).
    pub fn parse(text: &str) -> Result<Dec, String> {
        let t = text.trim();
        let bad = || format!("not a decimal number: {text:?}");
        let (body, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| bad())?),
            None => (t, 0),
        };
        let (neg, digits) = match body.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, body.strip_prefix('+').unwrap_or(body)),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if (whole.is_empty() && frac.is_empty())
            || !whole
                .bytes()
                .chain(frac.bytes())
                .all(|b| b.is_ascii_digit())
            || whole.len() + frac.len() > 30
        {
            return Err(bad());
        }
        let mut mant: i128 = format!("{whole}{frac}").parse().map_err(|_| bad())?;
        let mut scale = frac.len() as i32 - exp;
        if scale < 0 {
            mant *= pow10((-scale) as u32);
            scale = 0;
        }
        Ok(Dec {
            mant: if neg { -mant } else { mant },
            scale: scale as u32,
        })
    }

    /// A bar price as `trading.domain.to_decimal(float)` takes it: its shortest repr.
    pub fn from_f64(x: f64) -> Dec {
        // Fast path for prices (the hot one in a backtest): the fewest places, 1 to 4, whose decimal
        // reads back as `x` are the repr's (an integral float writes ".0"); |x| < 1e11 keeps x * 10^s
        // within a tenth of a unit of the decimal, so rounding finds it.
        if x.is_finite() && x.abs() < 1e11 {
            let mut p = 1.0;
            for s in 1..=4 {
                p *= 10.0;
                let m = (x * p).round();
                if m / p == x {
                    return Dec {
                        mant: m as i128,
                        scale: s,
                    };
                }
            }
        }
        Dec::parse(&format!("{x:?}")).unwrap_or(Dec::ZERO)
    }

    /// The nearest float (the text's, as Python's `float(Decimal)`).
    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// A float near the value (within a few ulps): for guards that keep a margin.
    pub fn approx_f64(self) -> f64 {
        self.mant as f64 / 10f64.powi(self.scale as i32)
    }

    pub fn is_zero(&self) -> bool {
        self.mant == 0
    }

    pub fn at_scale(&self, scale: u32) -> i128 {
        self.mant * pow10(scale - self.scale)
    }

    pub fn plus(self, o: Dec) -> Dec {
        let s = self.scale.max(o.scale);
        Dec {
            mant: self.at_scale(s) + o.at_scale(s),
            scale: s,
        }
    }

    pub fn minus(self, o: Dec) -> Dec {
        self.plus(o.negated())
    }

    pub fn negated(self) -> Dec {
        Dec {
            mant: -self.mant,
            scale: self.scale,
        }
    }

    pub fn abs(self) -> Dec {
        Dec {
            mant: self.mant.abs(),
            scale: self.scale,
        }
    }

    pub fn mul_int(self, n: i64) -> Dec {
        Dec {
            mant: self.mant * n as i128,
            scale: self.scale,
        }
    }

    pub fn is_negative(&self) -> bool {
        self.mant < 0
    }

    pub fn frac(&self) -> Frac {
        Frac::new(self.mant, pow10(self.scale))
    }

    /// `price_to_ticks`: price / tick rounded as asked.
    pub fn ticks(self, tick: Dec, rounding: Rounding) -> i64 {
        let q = self.frac().over(tick.frac());
        (match rounding {
            Rounding::Up => q.ceil(),
            Rounding::Down => q.floor(),
            Rounding::Nearest => q.round_half_away(),
        }) as i64
    }

    /// `snap_to_tick`: ticks x tick size (so the text has the tick's places).
    pub fn snap(self, tick: Dec, rounding: Rounding) -> Dec {
        tick.mul_int(self.ticks(tick, rounding))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Nearest,
    Up,
    Down,
}

impl PartialEq for Dec {
    fn eq(&self, o: &Dec) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Dec {}
impl PartialOrd for Dec {
    fn partial_cmp(&self, o: &Dec) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Dec {
    fn cmp(&self, o: &Dec) -> Ordering {
        let s = self.scale.max(o.scale);
        self.at_scale(s).cmp(&o.at_scale(s))
    }
}

impl fmt::Display for Dec {
    /// `str(Decimal)` for plain numbers: every place of the scale is written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mant.unsigned_abs().to_string();
        let sign = if self.mant < 0 { "-" } else { "" };
        let s = self.scale as usize;
        if s == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = s + 1);
        let (w, p) = padded.split_at(padded.len() - s);
        write!(f, "{sign}{w}.{p}")
    }
}

/// An exact fraction (`fractions.Fraction`), denominator positive, in lowest terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frac {
    pub num: i128,
    pub den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

impl Frac {
    pub fn new(num: i128, den: i128) -> Frac {
        let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
        let g = gcd(num, den);
        Frac {
            num: num / g,
            den: den / g,
        }
    }

    pub fn times(self, o: Frac) -> Frac {
        Frac::new(self.num * o.num, self.den * o.den)
    }

    pub fn over(self, o: Frac) -> Frac {
        Frac::new(self.num * o.den, self.den * o.num)
    }

    pub fn floor(&self) -> i128 {
        self.num.div_euclid(self.den)
    }

    pub fn ceil(&self) -> i128 {
        -(-self.num).div_euclid(self.den)
    }

    /// `round_half_away` of `trading.marketdata.levels`.
    pub fn round_half_away(&self) -> i128 {
        let n = self.num.abs();
        let mut whole = n / self.den;
        if 2 * (n - whole * self.den) >= self.den {
            whole += 1;
        }
        if self.num >= 0 {
            whole
        } else {
            -whole
        }
    }

    /// Half-even to `places` decimals: `Decimal(n) / Decimal(d)` then `.quantize(...)`.
    pub fn to_dec(&self, places: u32) -> Dec {
        let scaled = self.num * pow10(places);
        let q = scaled.div_euclid(self.den);
        let r2 = 2 * scaled.rem_euclid(self.den);
        let up = r2 > self.den || (r2 == self.den && q % 2 != 0);
        Dec {
            mant: q + i128::from(up),
            scale: places,
        }
    }

    /// `format(x, ".Np%")` of a `Decimal`: x x 100, half-even to `places`, then "%".
    pub fn percent(&self, places: u32) -> String {
        format!("{}%", self.times(Frac::new(100, 1)).to_dec(places))
    }
}

impl PartialOrd for Frac {
    fn partial_cmp(&self, o: &Frac) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Frac {
    fn cmp(&self, o: &Frac) -> Ordering {
        (self.num * o.den).cmp(&(o.num * self.den))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    #[test]
    fn text_keeps_the_places_decimal_keeps() {
        assert_eq!(d("21050.0").minus(d("21000.25")).to_string(), "49.75");
        assert_eq!(d("21050.0").minus(d("21000.0")).to_string(), "50.0");
        assert_eq!(d("-0.5").to_string(), "-0.5");
        assert_eq!(d("0.05").to_string(), "0.05");
        assert_eq!(d("50").to_string(), "50");
        assert_eq!(Dec::from_f64(21000.0).to_string(), "21000.0");
        assert_eq!(Dec::from_f64(21034.25).to_string(), "21034.25");
        assert_eq!(d("1e2").to_string(), "100");
        for x in [
            0.0,
            0.1,
            0.3,
            0.1 + 0.2,
            19949.75,
            20000.5,
            -3.25,
            1e-5,
            123456.789,
            5e12,
            2.0f64.sqrt(),
        ] {
            assert_eq!(
                Dec::from_f64(x),
                Dec::parse(&format!("{x:?}")).unwrap(),
                "{x}"
            );
            assert_eq!(
                Dec::from_f64(x).to_string(),
                Dec::parse(&format!("{x:?}")).unwrap().to_string()
            );
        }
    }

    #[test]
    fn snapping_follows_the_rounding_asked() {
        let tick = d("0.25");
        assert_eq!(d("100.1").snap(tick, Rounding::Up).to_string(), "100.25");
        assert_eq!(d("100.1").snap(tick, Rounding::Down).to_string(), "100.00");
        assert_eq!(
            d("100.125").snap(tick, Rounding::Nearest).to_string(),
            "100.25"
        );
        assert_eq!(
            d("-100.125").snap(tick, Rounding::Nearest).to_string(),
            "-100.25"
        );
        assert_eq!(
            d("21000").snap(tick, Rounding::Nearest).to_string(),
            "21000.00"
        );
    }

    #[test]
    fn fractions_round_as_python_does() {
        assert_eq!(Frac::new(5, 2).round_half_away(), 3);
        assert_eq!(Frac::new(-5, 2).round_half_away(), -3);
        assert_eq!(Frac::new(2, 3).to_dec(4).to_string(), "0.6667");
        assert_eq!(Frac::new(1, 8).to_dec(2).to_string(), "0.12");
        assert_eq!(Frac::new(3, 8).to_dec(2).to_string(), "0.38");
        assert_eq!(Frac::new(9, 10).percent(0), "90%");
        assert_eq!(Frac::new(0, 1).to_dec(4).to_string(), "0.0000");
        assert!(d("0.90").frac() == Frac::new(9, 10));
    }
}
