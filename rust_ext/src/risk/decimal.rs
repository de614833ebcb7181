//! Python's `decimal.Decimal` under its default context (28 digits, ROUND_HALF_EVEN), as far as
//! the risk check uses it: sums, products and quotients rounded as `Decimal` rounds them, exact
//! comparisons, `str()`, `format(x, "f")` / `".Nf"` and `normalize()`. Unlike `strategy::dec::Dec`
//! (fixed-point, places after the point) a value here keeps Python's triple (sign, coefficient,
//! exponent): risk prints the numbers it was handed and what it computed from them, negative zero
//! and exponent forms included.
//!
//! Every operation answers `None` where the coefficient would not fit 128 bits; the caller then
//! leaves the decision to Python (whose numbers have no such bound).

use std::cmp::Ordering;
use std::fmt;

/// Significant digits of the default context.
pub const PREC: u32 = 28;
/// Exponents beyond this are refused at parse time (Python's context allows 999999).
const MAX_EXP: i32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Num {
    pub neg: bool,
    pub coef: u128,
    pub exp: i32,
}

fn digits(c: u128) -> u32 {
    if c == 0 {
        1
    } else {
        c.ilog10() + 1
    }
}

fn p10(n: u32) -> Option<u128> {
    10u128.checked_pow(n)
}

/// `coef` divided by 10^shift, rounded half-even (0 when the shift drops every digit).
fn shift_down(coef: u128, shift: u32) -> u128 {
    let Some(p) = p10(shift) else { return 0 };
    let (q, r) = (coef / p, coef % p);
    if 2 * r > p || (2 * r == p && q % 2 == 1) {
        q + 1
    } else {
        q
    }
}

impl Num {
    pub const ZERO: Num = Num {
        neg: false,
        coef: 0,
        exp: 0,
    };

    pub fn int(n: i128) -> Num {
        Num {
            neg: n < 0,
            coef: n.unsigned_abs(),
            exp: 0,
        }
    }

    /// `str(Decimal)` text of a finite number: `-12.50`, `0E-7`, `1.5E+3`. None for NaN,
    /// Infinity, more than 28 digits or an exponent out of range.
    pub fn parse(text: &str) -> Option<Num> {
        let (neg, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mant, exp) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
            None => (body, 0),
        };
        let (whole, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let all = || whole.bytes().chain(frac.bytes());
        if whole.is_empty() && frac.is_empty() || !all().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let coef = all().try_fold(0u128, |a, b| {
            a.checked_mul(10)?.checked_add(u128::from(b - b'0'))
        })?;
        let exp = exp.checked_sub(i32::try_from(frac.len()).ok()?)?;
        if digits(coef) > PREC || exp.abs() > MAX_EXP {
            return None;
        }
        Some(Num { neg, coef, exp })
    }

    pub fn is_zero(&self) -> bool {
        self.coef == 0
    }

    /// The context's rounding (`_fix`): at most 28 digits, half-even.
    fn fixed(self) -> Num {
        let n = digits(self.coef);
        if n <= PREC {
            return self;
        }
        let mut drop = n - PREC;
        let mut coef = shift_down(self.coef, drop);
        if digits(coef) > PREC {
            coef /= 10;
            drop += 1;
        }
        Num {
            coef,
            exp: self.exp + drop as i32,
            ..self
        }
    }

    /// The coefficient at a smaller exponent `exp`, if it fits.
    fn coef_at(&self, exp: i32) -> Option<u128> {
        self.coef.checked_mul(p10((self.exp - exp) as u32)?)
    }

    pub fn plus(self, o: Num) -> Option<Num> {
        let exp = self.exp.min(o.exp);
        let (a, b) = (self.coef_at(exp)?, o.coef_at(exp)?);
        let (neg, coef) = if self.neg == o.neg {
            (self.neg, a.checked_add(b)?)
        } else if a >= b {
            (self.neg, a - b)
        } else {
            (o.neg, b - a)
        };
        // An exact zero of opposite signs is +0 under ROUND_HALF_EVEN.
        let neg = neg && (coef != 0 || self.neg == o.neg);
        Some(Num { neg, coef, exp }.fixed())
    }

    pub fn minus(self, o: Num) -> Option<Num> {
        self.plus(Num { neg: !o.neg, ..o })
    }

    /// Unary minus (`-x`): -0 gives +0.
    pub fn negated(self) -> Num {
        Num {
            neg: !self.neg && self.coef != 0,
            ..self
        }
        .fixed()
    }

    pub fn abs(self) -> Num {
        Num { neg: false, ..self }.fixed()
    }

    pub fn times(self, o: Num) -> Option<Num> {
        Some(
            Num {
                neg: self.neg != o.neg,
                coef: self.coef.checked_mul(o.coef)?,
                exp: self.exp.checked_add(o.exp)?,
            }
            .fixed(),
        )
    }

    /// `self / o` as `Decimal.__truediv__` computes it, and whether it was exact. None when `o` is
    /// zero (Python raises) or a coefficient would not fit.
    pub fn over(self, o: Num) -> Option<(Num, bool)> {
        if o.coef == 0 {
            return None;
        }
        let neg = self.neg != o.neg;
        if self.coef == 0 {
            let exp = self.exp - o.exp;
            return Some((Num { neg, coef: 0, exp }.fixed(), true));
        }
        let shift = digits(o.coef) as i32 - digits(self.coef) as i32 + PREC as i32 + 1;
        let mut exp = self.exp - o.exp - shift;
        let (mut coef, rem) = if shift >= 0 {
            let n = self.coef.checked_mul(p10(shift as u32)?)?;
            (n / o.coef, n % o.coef)
        } else {
            let d = o.coef.checked_mul(p10((-shift) as u32)?)?;
            (self.coef / d, self.coef % d)
        };
        if rem != 0 {
            if coef % 5 == 0 {
                coef += 1;
            }
        } else {
            let ideal = self.exp - o.exp;
            while exp < ideal && coef % 10 == 0 {
                coef /= 10;
                exp += 1;
            }
        }
        Some((Num { neg, coef, exp }.fixed(), rem == 0))
    }

    /// `normalize()`: rounded, trailing zeros stripped (zero is `0`).
    pub fn normalize(self) -> Num {
        let mut n = self.fixed();
        if n.coef == 0 {
            return Num { exp: 0, ..n };
        }
        while n.coef % 10 == 0 {
            n.coef /= 10;
            n.exp += 1;
        }
        n
    }

    /// `_rescale(exp, ROUND_HALF_EVEN)`: the value at exponent `exp`.
    fn rescale(self, exp: i32) -> Option<Num> {
        if self.coef == 0 {
            return Some(Num { exp, ..self });
        }
        let coef = if self.exp >= exp {
            self.coef_at(exp)?
        } else {
            shift_down(self.coef, (exp - self.exp) as u32)
        };
        Some(Num { coef, exp, ..self })
    }

    /// `format(x, "f")` (`places` None) or `format(x, ".{places}f")`.
    pub fn format_f(self, places: Option<u32>) -> Option<String> {
        let mut x = match places {
            Some(p) => self.rescale(-(p as i32))?,
            None => self,
        };
        if x.coef == 0 && x.exp > 0 {
            x = x.rescale(0)?;
        }
        let ds = x.coef.to_string();
        let (int, frac) = split_at_dot(&ds, x.exp + ds.len() as i32);
        let sign = if x.neg { "-" } else { "" };
        let dot = if frac.is_empty() { "" } else { "." };
        Some(format!("{sign}{int}{dot}{frac}"))
    }
}

/// The integer and fraction digits of coefficient text `ds` with the point `dotplace` digits in.
fn split_at_dot(ds: &str, dotplace: i32) -> (String, String) {
    if dotplace <= 0 {
        ("0".into(), "0".repeat((-dotplace) as usize) + ds)
    } else if dotplace as usize >= ds.len() {
        (
            ds.to_string() + &"0".repeat(dotplace as usize - ds.len()),
            String::new(),
        )
    } else {
        let (i, f) = ds.split_at(dotplace as usize);
        (i.to_string(), f.to_string())
    }
}

impl fmt::Display for Num {
    /// `str(Decimal)`: plain while the exponent is <= 0 and the number not too small, else
    /// scientific (`1E+3`, `1.5E-7`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ds = self.coef.to_string();
        let left = self.exp + ds.len() as i32;
        let dotplace = if self.exp <= 0 && left > -6 { left } else { 1 };
        let (int, frac) = split_at_dot(&ds, dotplace);
        let sign = if self.neg { "-" } else { "" };
        let dot = if frac.is_empty() { "" } else { "." };
        let e = if left == dotplace {
            String::new()
        } else {
            format!("E{:+}", left - dotplace)
        };
        write!(f, "{sign}{int}{dot}{frac}{e}")
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, o: &Num) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Num {
    /// By value, exactly (-0 == 0, 1.0 == 1).
    fn cmp(&self, o: &Num) -> Ordering {
        match (self.coef == 0, o.coef == 0) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if o.neg {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, true) => {
                return if self.neg {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            _ => {}
        }
        if self.neg != o.neg {
            return if self.neg {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let mag = magnitude_cmp(self, o);
        if self.neg {
            mag.reverse()
        } else {
            mag
        }
    }
}

fn magnitude_cmp(a: &Num, b: &Num) -> Ordering {
    let (aa, ba) = (a.exp + digits(a.coef) as i32, b.exp + digits(b.coef) as i32);
    if aa != ba {
        return aa.cmp(&ba);
    }
    // Same adjusted exponent: the exponents differ by at most 38 digits.
    let e = a.exp.min(b.exp);
    match (a.coef_at(e), b.coef_at(e)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (None, _) => Ordering::Greater,
        (_, None) => Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Num {
        Num::parse(s).unwrap()
    }

    #[test]
    fn str_round_trips_python_text() {
        for s in [
            "0", "-0", "12.50", "0.05", "1E+3", "1.5E-7", "0E-10", "-0.00", "21000.25", "0.000001",
        ] {
            assert_eq!(n(s).to_string(), s);
        }
        assert!(Num::parse("NaN").is_none() && Num::parse("-Infinity").is_none());
        assert!(Num::parse("12345678901234567890123456789").is_none());
    }

    #[test]
    fn arithmetic_rounds_as_decimal_does() {
        assert_eq!(n("0.1").plus(n("0.20")).unwrap().to_string(), "0.30");
        assert_eq!(n("-5").plus(n("5.0")).unwrap().to_string(), "0.0");
        assert_eq!(n("-0").plus(n("-0")).unwrap().to_string(), "-0");
        assert_eq!(
            n("1").over(n("3")).unwrap().0.to_string(),
            "0.3333333333333333333333333333"
        );
        assert_eq!(
            n("2").over(n("3")).unwrap().0.to_string(),
            "0.6666666666666666666666666667"
        );
        assert_eq!(n("7").over(n("10")).unwrap().0.to_string(), "0.7");
        assert_eq!(n("100").over(n("4")).unwrap().0.to_string(), "25");
        assert_eq!(n("0").over(n("10")).unwrap().0.to_string(), "0");
        assert_eq!(n("2000").times(n("0.25")).unwrap().to_string(), "500.00");
        assert_eq!(n("0").negated().to_string(), "0");
        assert_eq!(
            n("1.5")
                .times(n("12.35714285714285714285714286"))
                .unwrap()
                .to_string(),
            "18.53571428571428571428571429"
        );
    }

    #[test]
    fn formats_as_format_f() {
        assert_eq!(n("2.5").format_f(Some(0)).unwrap(), "2");
        assert_eq!(n("3.5").format_f(Some(0)).unwrap(), "4");
        assert_eq!(n("12.345").format_f(Some(2)).unwrap(), "12.34");
        assert_eq!(n("1E+3").format_f(None).unwrap(), "1000");
        assert_eq!(n("500.00").format_f(None).unwrap(), "500.00");
        assert_eq!(n("-0").format_f(Some(0)).unwrap(), "-0");
        assert_eq!(n("0E+2").format_f(None).unwrap(), "0");
        assert_eq!(n("5.10").normalize().format_f(None).unwrap(), "5.1");
        assert_eq!(n("10").normalize().format_f(None).unwrap(), "10");
    }

    #[test]
    fn compares_by_value() {
        assert_eq!(n("1.0").cmp(&n("1")), Ordering::Equal);
        assert_eq!(n("-0").cmp(&n("0.00")), Ordering::Equal);
        assert!(n("-2") < n("-1.5") && n("1E+9") > n("999999999.99"));
    }
}
