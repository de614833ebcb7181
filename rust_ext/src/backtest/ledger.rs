//! The backtest's money, as `trading/backtest/ledger.py`'s `Ledger`: FIFO lots per symbol, P&L in
//! ticks x tick value x quantity, fees per contract per side, all exact (`Dec`, with the places
//! Python's `Decimal` gives the same sums, so the texts match).

use crate::strategy::dec::{Dec, Rounding};
use crate::strategy::Side;

/// A symbol's money facts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Money {
    pub tick: Dec,
    pub tick_value: Dec,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lot {
    pub price: Dec,
    pub price_f: f64,
    /// Signed quantity.
    pub qty: i64,
}

#[derive(Debug, Clone)]
pub struct Ledger {
    pub starting_balance: Dec,
    pub fees_per_side: Dec,
    pub realized: Dec,
    pub fees: Dec,
    pub day_start_balance: Dec,
    lots: Vec<Vec<Lot>>,
    /// Lanes in the order they were first traded (the Python dict's order).
    touched: Vec<usize>,
}

impl Ledger {
    pub fn new(lanes: usize, starting_balance: Dec, fees_per_side: Dec) -> Ledger {
        Ledger {
            starting_balance,
            fees_per_side,
            realized: Dec::ZERO,
            fees: Dec::ZERO,
            day_start_balance: Dec::ZERO,
            lots: vec![vec![]; lanes],
            touched: vec![],
        }
    }

    pub fn balance(&self) -> Dec {
        self.starting_balance.plus(self.realized).minus(self.fees)
    }

    pub fn position(&self, lane: usize) -> i64 {
        self.lots[lane].iter().map(|l| l.qty).sum()
    }

    pub fn lots(&self, lane: usize) -> &[Lot] {
        &self.lots[lane]
    }

    pub fn touched(&self) -> &[usize] {
        &self.touched
    }

    /// Book a fill; returns (realized P&L, ticks) of the part that closed lots (FIFO).
    pub fn apply(&mut self, lane: usize, side: Side, qty: i64, price: Dec, m: Money) -> (Dec, i64) {
        self.fees = self.fees.plus(self.fees_per_side.mul_int(qty));
        if !self.touched.contains(&lane) {
            self.touched.push(lane);
        }
        let lots = &mut self.lots[lane];
        let mut signed = side.sign() * qty;
        let (mut pnl, mut ticks) = (Dec::ZERO, 0i64);
        while signed != 0 && !lots.is_empty() && (lots[0].qty > 0) != (signed > 0) {
            let lot = &mut lots[0];
            let n = lot.qty.abs().min(signed.abs());
            let long = lot.qty > 0;
            let moved = if long {
                price.minus(lot.price)
            } else {
                lot.price.minus(price)
            };
            let t = moved.ticks(m.tick, Rounding::Nearest);
            ticks += t * n;
            pnl = pnl.plus(m.tick_value.mul_int(t).mul_int(n));
            lot.qty -= if long { n } else { -n };
            signed += if signed < 0 { n } else { -n };
            if lot.qty == 0 {
                lots.remove(0);
            }
        }
        if signed != 0 {
            lots.push(Lot {
                price,
                price_f: price.to_f64(),
                qty: signed,
            });
        }
        self.realized = self.realized.plus(pnl);
        (pnl, ticks)
    }

    /// The open P&L of `lane`'s lots at `mark`, exact.
    pub fn unrealized(&self, lane: usize, mark: Dec, m: Money) -> Dec {
        self.lots[lane].iter().fold(Dec::ZERO, |acc, lot| {
            let moved = if lot.qty > 0 {
                mark.minus(lot.price)
            } else {
                lot.price.minus(mark)
            };
            acc.plus(
                m.tick_value
                    .mul_int(moved.ticks(m.tick, Rounding::Nearest))
                    .mul_int(lot.qty.abs()),
            )
        })
    }

    /// The open P&L at `mark` in floats (for the kill-switch guard) and the most it can be off by.
    pub fn unrealized_f(&self, lane: usize, mark: f64, m_tick: f64, m_value: f64) -> (f64, f64) {
        self.lots[lane].iter().fold((0.0, 0.0), |(u, s), lot| {
            let q = lot.qty as f64;
            (
                u + (mark - lot.price_f) / m_tick * m_value * q,
                s + q.abs() * m_value,
            )
        })
    }

    /// Put back the lots of a lane (a run continued from a Python ledger).
    pub fn set_lots(&mut self, lane: usize, lots: Vec<(Dec, i64)>) {
        if !lots.is_empty() && !self.touched.contains(&lane) {
            self.touched.push(lane);
        }
        self.lots[lane] = lots
            .into_iter()
            .map(|(price, qty)| Lot {
                price,
                price_f: price.to_f64(),
                qty,
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    #[test]
    fn fifo_pnl_in_ticks_with_the_places_decimal_gives() {
        let m = Money {
            tick: d("0.25"),
            tick_value: d("0.50"),
        };
        let mut l = Ledger::new(1, d("50000"), d("0.37"));
        assert_eq!(l.apply(0, Side::Buy, 2, d("100.25"), m), (Dec::ZERO, 0));
        let (pnl, ticks) = l.apply(0, Side::Sell, 1, d("101.00"), m);
        assert_eq!((pnl.to_string(), ticks), ("1.50".into(), 3));
        assert_eq!(l.position(0), 1);
        assert_eq!(l.unrealized(0, d("100.00"), m).to_string(), "-0.50");
        assert_eq!(l.balance().to_string(), "50000.39");
        let (pnl, _) = l.apply(0, Side::Sell, 2, d("100.00"), m);
        assert_eq!(pnl.to_string(), "-0.50");
        assert_eq!(l.position(0), -1);
    }
}
