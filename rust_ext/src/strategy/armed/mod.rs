//! The armed table: the quotes that can make a Rust strategy act, per contract, where the stream's
//! decoding task can see them, so that such a quote goes quote -> strategy -> executor without a
//! Python step (issue 15, "Live"; the bindings are `python/fast_path.rs`).
//!
//! Where this matters for the overnight range: its entries rest at the broker as stop orders, so no
//! quote has to place one; its one quote-driven action is the breakeven (an entry filled, a quote
//! `breakeven_points` past it moves the bracket's stop leg to the entry price). After each handler
//! call on the Rust strategy the host arms, per contract, the strategy's `bar_triggers` (a buy's
//! level reached by a last price at or above it, a sell's at or below) with the orders its context
//! gave it then; a quote that reaches a level runs the core's own `on_quote` (so `breakeven_done` is
//! the core's state, not a copy) against a context built from that snapshot, under the core's one
//! lock: the Python handler of the same quote then finds the breakeven done and does nothing, and
//! whichever of the two takes the lock first moves the stop, once per side.
//!
//! The crossing rule is a filter only: the core decides. A quote the filter lets through and the core
//! does not act on changes nothing; a crossing the filter missed (a table not armed yet) is still
//! seen by the Python handler of the same quote, as before the fast path existed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::dec::Dec;
use super::overnight_range::OvernightRange;
use super::{Account, Bars, Context, Decision, Notice, OrderView, PlaceRequest, Strategy};

/// True when a last price reaches one of `triggers` (buy, level): a buy's at or above its level, a
/// sell's at or below (the same rule as a bar's high and low in `Strategy::bar_triggers`).
pub fn crosses(triggers: &[(bool, f64)], last: f64) -> bool {
    triggers
        .iter()
        .any(|&(buy, level)| if buy { last >= level } else { last <= level })
}

/// One contract's armed quote: the strategy's symbol, its trigger levels and the orders its context
/// reported when it was armed (the core finds its stop leg among them).
pub struct Armed {
    pub symbol: String,
    pub triggers: Vec<(bool, f64)>,
    pub orders: Vec<OrderView>,
    pub core: Arc<Mutex<OvernightRange>>,
}

/// The context of a quote handled without Python: the armed orders to read, the stop moves taken.
/// The breakeven reads nothing else; anything else a handler would ask is answered empty (and the
/// core on a quote proposes, cancels and notifies nothing).
struct Snapshot<'a> {
    orders: &'a [OrderView],
    moves: Vec<(i64, Dec)>,
}

impl Context for Snapshot<'_> {
    fn now(&mut self) -> i64 {
        0
    }
    fn tick_size(&mut self, _symbol: &str) -> Dec {
        Dec::ZERO
    }
    fn bars(&mut self, _symbol: &str, _start: i64, _end: i64) -> Bars {
        Bars::default()
    }
    fn last_price(&mut self, _symbol: &str) -> Option<Dec> {
        None
    }
    fn orders(&mut self) -> Vec<OrderView> {
        self.orders.to_vec()
    }
    fn position(&mut self, _symbol: &str) -> Option<(bool, i64)> {
        None
    }
    fn account(&mut self) -> Account {
        Account {
            daily_pnl: Dec::ZERO,
            daily_loss_limit: Dec::int(1),
        }
    }
    fn open_minutes(&mut self, _start: i64, _end: i64) -> i64 {
        0
    }
    fn propose(&mut self, _request: PlaceRequest) -> Decision {
        Decision {
            approved: false,
            reason: "not on a quote without Python".into(),
            order_id: None,
        }
    }
    fn cancel(&mut self, _order_id: i64) {}
    fn modify_stop(&mut self, order_id: i64, price: Dec) {
        self.moves.push((order_id, price));
    }
    fn notify(&mut self, _notice: Notice) {}
}

/// The armed quotes by contract id, and the gate the host closes when the Python path's own
/// conditions for a stop move do not hold (see `fast_path.py`). Reads take a shared lock for a map
/// lookup; arming replaces one entry.
#[derive(Default)]
pub struct ArmedTable {
    by_contract: RwLock<HashMap<String, Arc<Armed>>>,
    open: AtomicBool,
    /// Quotes that reached an armed level and ran the core (acted or not).
    pub fired: AtomicU64,
    /// Stop moves the core made here whose results the host has not yet recorded (`recorded`).
    /// Raised under the core's lock, so whoever reads the core's state after a fired quote also sees
    /// its moves counted here: the host does not save a state that says "moved" while the record of
    /// the move could still be lost.
    unrecorded: AtomicU64,
}

impl ArmedTable {
    pub fn arm(&self, contract_id: &str, armed: Armed) {
        let mut map = self.by_contract.write().unwrap_or_else(|e| e.into_inner());
        if armed.triggers.is_empty() {
            map.remove(contract_id);
        } else {
            map.insert(contract_id.to_string(), Arc::new(armed));
        }
    }

    pub fn disarm(&self, contract_id: &str) {
        let mut map = self.by_contract.write().unwrap_or_else(|e| e.into_inner());
        map.remove(contract_id);
    }

    /// (buy, level) armed for `contract_id` (empty when none).
    pub fn triggers(&self, contract_id: &str) -> Vec<(bool, f64)> {
        let map = self.by_contract.read().unwrap_or_else(|e| e.into_inner());
        map.get(contract_id)
            .map(|a| a.triggers.clone())
            .unwrap_or_default()
    }

    pub fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    /// A quote's last price for `contract_id`: when the gate is open and it reaches an armed level, the
    /// core handles it (under its lock) and the stop moves it made are returned. The contract is then
    /// disarmed: the next handler call on the strategy (the fill, the order update, the quote itself
    /// in Python) arms what is left, from the core's state.
    /// Moves made by `fire` and not yet recorded by the host.
    pub fn unrecorded(&self) -> u64 {
        self.unrecorded.load(Ordering::SeqCst)
    }

    /// The host recorded `n` moves' results (their notices stored, or their failures handed on).
    pub fn recorded(&self, n: u64) {
        let _ = self
            .unrecorded
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                Some(u.saturating_sub(n))
            });
    }

    pub fn fire(&self, contract_id: &str, last: f64) -> Vec<(i64, Dec)> {
        if !self.is_open() {
            return vec![];
        }
        let armed = {
            let map = self.by_contract.read().unwrap_or_else(|e| e.into_inner());
            match map.get(contract_id) {
                Some(a) if crosses(&a.triggers, last) => a.clone(),
                _ => return vec![],
            }
        };
        self.fired.fetch_add(1, Ordering::Relaxed);
        let mut ctx = Snapshot {
            orders: &armed.orders,
            moves: vec![],
        };
        {
            let mut core = armed.core.lock().unwrap_or_else(|e| e.into_inner());
            core.on_quote(&mut ctx, &armed.symbol, Some(Dec::from_f64(last)));
            self.unrecorded
                .fetch_add(ctx.moves.len() as u64, Ordering::SeqCst);
        }
        let mut map = self.by_contract.write().unwrap_or_else(|e| e.into_inner());
        if map.get(contract_id).is_some_and(|a| Arc::ptr_eq(a, &armed)) {
            map.remove(contract_id);
        }
        ctx.moves
    }
}

#[cfg(test)]
mod tests;
