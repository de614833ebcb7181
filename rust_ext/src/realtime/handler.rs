//! Per-contract state and the consumer's queue: decoded events become records (quotes merged per
//! contract), queued in order with the client's status and log lines; the consumer takes the
//! queue in one piece per batch. Two clocks feed the watchdogs: the last event, and the last frame
//! of any kind (keep-alive pings included).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use tokio::sync::Notify;

use super::messages::{Event, QuoteState, Record};
use crate::common::wake::Inbox;

/// Turns decoded events into records, holding the merged quote of every contract.
#[derive(Debug, Default)]
pub struct Handler {
    quotes: HashMap<String, QuoteState>,
}

impl Handler {
    pub fn absorb(&mut self, events: Vec<Event>, out: &mut Vec<Record>) {
        for ev in events {
            out.push(match ev {
                Event::Quote(cid, patch) => {
                    let q = match self.quotes.get_mut(&cid) {
                        Some(q) => q,
                        None => self.quotes.entry(cid.clone()).or_default(),
                    };
                    q.merge(patch);
                    Record::Quote(cid, *q)
                }
                Event::Trades(cid, prints) => Record::Trades(cid, prints),
                Event::Depth(cid, levels) => Record::Depth(cid, levels),
                Event::Order(action, o) => Record::Order(action, Box::new(o)),
                Event::Position(p) => Record::Position(p),
                Event::Fill(f) => Record::Fill(f),
                Event::Account(a) => Record::Account(a),
                Event::Logout => Record::Logout,
            });
        }
    }
}

/// The queue for the consumer and the per-contract state, under one lock.
#[derive(Debug, Default)]
pub struct State {
    pub queue: Vec<Record>,
    pub handler: Handler,
    /// Wall-clock ns since the epoch at which the oldest hub frame whose records wait in `queue`
    /// was taken off the socket (0: none waiting): the start of the bot's tick -> order span.
    pub seen_ns: i64,
}

/// Each contract's last quote of `batch`, at its own place; the earlier quotes of a contract are
/// dropped (a quote is the merged state: a later one holds everything an earlier one said). Every
/// other record is kept, in order. Returns the batch and how many quotes it dropped.
pub fn coalesce_quotes(batch: Vec<Record>) -> (Vec<Record>, u64) {
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, r) in batch.iter().enumerate() {
        if let Record::Quote(cid, _) = r {
            last.insert(cid.as_str(), i);
        }
    }
    let quotes = batch
        .iter()
        .filter(|r| matches!(r, Record::Quote(..)))
        .count();
    let dropped = (quotes - last.len()) as u64;
    if dropped == 0 {
        return (batch, 0);
    }
    let keep: Vec<bool> = batch
        .iter()
        .enumerate()
        .map(|(i, r)| match r {
            Record::Quote(cid, _) => last.get(cid.as_str()) == Some(&i),
            _ => true,
        })
        .collect();
    let out = batch
        .into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect();
    (out, dropped)
}

/// What a hook leaves to run once the frame's records are queued and the consumer woken (a send
/// spawned then is the next task this worker runs: the consumer's wake-up does not go first).
pub type After = Box<dyn FnOnce() + Send>;

/// Told of every quote with a last price as it is decoded, before it is queued for the consumer
/// (`python/fast_path.rs`: a quote that reaches an armed strategy trigger acts without Python).
/// Called on the decoding task with the queue's lock held: it must not block on the consumer.
pub trait QuoteHook: Send + Sync {
    /// `seen_ns`: wall-clock ns at which the quote's frame was taken off the socket. Whatever it
    /// pushes on `after` runs when the frame's handling is done.
    fn on_quote(&self, contract_id: &str, last: f64, seen_ns: i64, after: &mut Vec<After>);
}

/// Client-wide state, kept across connections: the queue, the handler, the time of the last
/// event (stale-feed watchdog) and of the last frame of any kind (keep-alive watchdog), both in ns
/// since `epoch` (never 0 once touched).
pub struct Shared {
    state: Mutex<State>,
    pub notify: Notify,
    epoch: Instant,
    last_event_ns: AtomicU64,
    last_frame_ns: AtomicU64,
    frames: AtomicU64,
    /// Hand over each contract's last quote per batch only (`coalesce_quotes`).
    coalesce: AtomicBool,
    coalesced: AtomicU64,
    hook: RwLock<Option<Arc<dyn QuoteHook>>>,
    hooked: AtomicBool,
    kick: RwLock<Option<Arc<Inbox<()>>>>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            epoch: Instant::now(),
            last_event_ns: AtomicU64::new(0),
            last_frame_ns: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            coalesce: AtomicBool::new(false),
            coalesced: AtomicU64::new(0),
            hook: RwLock::new(None),
            hooked: AtomicBool::new(false),
            kick: RwLock::new(None),
        }
    }
}

impl Shared {
    /// The state (a poisoned lock is taken over: the queue holds plain data).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ns(&self) -> u64 {
        (self.epoch.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64).max(1)
    }

    fn since_s(&self, clock: &AtomicU64) -> f64 {
        self.now_ns().saturating_sub(clock.load(Ordering::SeqCst)) as f64 / 1e9
    }

    /// Tell `hook` of every quote from now on (None: nobody).
    pub fn set_hook(&self, hook: Option<Arc<dyn QuoteHook>>) {
        let mut h = self.hook.write().unwrap_or_else(|e| e.into_inner());
        self.hooked.store(hook.is_some(), Ordering::SeqCst);
        *h = hook;
    }

    /// The quotes of `recs` to the hook, if one is set (one atomic load when none is).
    pub fn tell_hook(&self, recs: &[Record], seen_ns: i64, after: &mut Vec<After>) {
        if !self.hooked.load(Ordering::Relaxed) {
            return;
        }
        let hook = self.hook.read().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(hook) = hook else { return };
        for r in recs {
            if let Record::Quote(
                cid,
                QuoteState {
                    last: Some(last), ..
                },
            ) = r
            {
                hook.on_quote(cid, *last, seen_ns, after);
            }
        }
    }

    /// Queue records and wake the consumer.
    pub fn push(&self, recs: Vec<Record>) {
        if recs.is_empty() {
            return;
        }
        self.state().queue.extend(recs);
        self.notify.notify_one();
        self.wake_loop();
    }

    /// Everything queued since the last call, waiting until something is there (with
    /// coalescing on, each contract's last quote of it only).
    pub async fn next_batch(&self) -> Vec<Record> {
        self.next_batch_seen().await.0
    }

    /// `next_batch` and when its oldest hub frame was taken off the socket (`State::seen_ns`).
    pub async fn next_batch_seen(&self) -> (Vec<Record>, i64) {
        loop {
            let notified = self.notify.notified();
            if let Some(taken) = self.take_batch() {
                return taken;
            }
            notified.await;
        }
    }

    /// Everything queued now (with coalescing on, each contract's last quote of it only) and when
    /// its oldest hub frame was taken off the socket; None when nothing is queued.
    pub fn take_batch(&self) -> Option<(Vec<Record>, i64)> {
        let (batch, seen) = {
            let mut st = self.state();
            if st.queue.is_empty() {
                return None;
            }
            (
                std::mem::take(&mut st.queue),
                std::mem::take(&mut st.seen_ns),
            )
        };
        if !self.coalesce.load(Ordering::Relaxed) {
            return Some((batch, seen));
        }
        let (batch, dropped) = coalesce_quotes(batch);
        self.coalesced.fetch_add(dropped, Ordering::Relaxed);
        Some((batch, seen))
    }

    /// From now on every record queued from another thread (`push`) also wakes `kick`'s reader:
    /// the event loop that reads the hub's socket itself (`python/realtime/on_loop.rs`).
    pub fn set_kick(&self, kick: Arc<Inbox<()>>) {
        *self.kick.write().unwrap_or_else(|e| e.into_inner()) = Some(kick);
    }

    /// Wake the loop reading on its own thread, if one does.
    pub fn wake_loop(&self) {
        if let Some(kick) = self.kick.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            kick.post(());
        }
    }

    /// For a consumer that needs each contract's latest quote only: the earlier quotes of a
    /// batch are dropped before they cross into Python.
    pub fn set_coalesce(&self, on: bool) {
        self.coalesce.store(on, Ordering::Relaxed);
    }

    /// Quotes dropped by coalescing so far.
    pub fn coalesced(&self) -> u64 {
        self.coalesced.load(Ordering::Relaxed)
    }

    /// An event came (or a connection was made).
    pub fn touch(&self) {
        self.last_event_ns.store(self.now_ns(), Ordering::SeqCst);
    }

    /// `n` frames of any kind came (or, with 0, a connection was made).
    pub fn touch_frame(&self, n: u64) {
        self.frames.fetch_add(n, Ordering::SeqCst);
        self.last_frame_ns.store(self.now_ns(), Ordering::SeqCst);
    }

    /// Seconds since the last event (or connect).
    pub fn silent_s(&self) -> f64 {
        self.since_s(&self.last_event_ns)
    }

    /// Seconds since the last frame of any kind (or connect).
    pub fn frame_silent_s(&self) -> f64 {
        self.since_s(&self.last_frame_ns)
    }

    /// Frames of any kind received so far (pings included).
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::SeqCst)
    }

    #[cfg(test)]
    pub fn clocks(&self) -> (u64, u64, u64) {
        (
            self.frames(),
            self.last_frame_ns.load(Ordering::SeqCst),
            self.last_event_ns.load(Ordering::SeqCst),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::messages::{QuotePatch, TradeRec};

    #[test]
    fn quotes_merge_per_contract_and_other_events_pass_through() {
        let mut h = Handler::default();
        let mut out = Vec::new();
        let patch = |bid: f64| QuotePatch {
            bid: Some(bid),
            ..QuotePatch::default()
        };
        let print = TradeRec {
            price: 1.0,
            ts: 2,
            kind: 0,
            volume: 3,
        };
        h.absorb(
            vec![
                Event::Quote(
                    "A".into(),
                    QuotePatch {
                        last: Some(5.0),
                        ..patch(4.0)
                    },
                ),
                Event::Quote("B".into(), patch(9.0)),
                Event::Trades("A".into(), vec![print.clone()]),
                Event::Quote("A".into(), patch(4.25)),
                Event::Logout,
            ],
            &mut out,
        );
        assert_eq!(out.len(), 5);
        assert!(matches!(&out[1], Record::Quote(c, q) if c == "B" && q.last.is_none()));
        assert!(matches!(&out[2], Record::Trades(c, t) if c == "A" && t[0] == print));
        let Record::Quote(_, q) = &out[3] else {
            panic!("{out:?}")
        };
        assert_eq!((q.last, q.bid), (Some(5.0), Some(4.25)));
        assert!(matches!(out[4], Record::Logout));
    }

    fn quote(cid: &str, bid: f64) -> Record {
        Record::Quote(
            cid.into(),
            QuoteState {
                bid: Some(bid),
                ..QuoteState::default()
            },
        )
    }

    #[test]
    fn coalescing_keeps_each_contracts_last_quote_in_its_place() {
        let batch = vec![
            quote("A", 1.0),
            quote("B", 2.0),
            Record::Logout,
            quote("A", 3.0),
            Record::MarketHours,
            quote("A", 4.0),
        ];
        let (out, dropped) = coalesce_quotes(batch);
        assert_eq!(dropped, 2);
        assert!(
            matches!(&out[..], [Record::Quote(b, _), Record::Logout, Record::MarketHours, Record::Quote(a, q)]
            if b == "B" && a == "A" && q.bid == Some(4.0))
        );
        let (same, none) = coalesce_quotes(vec![quote("A", 1.0), quote("B", 2.0)]);
        assert_eq!((same.len(), none), (2, 0));
    }

    #[tokio::test]
    async fn a_coalescing_batch_counts_what_it_dropped() {
        let shared = Shared::default();
        shared.set_coalesce(true);
        shared.push(vec![quote("A", 1.0), quote("A", 2.0), quote("A", 3.0)]);
        let batch = shared.next_batch().await;
        assert!(matches!(&batch[..], [Record::Quote(_, q)] if q.bid == Some(3.0)));
        assert_eq!(shared.coalesced(), 2);
    }

    #[tokio::test]
    async fn a_batch_is_everything_queued_in_order() {
        let shared = std::sync::Arc::new(Shared::default());
        shared.push(vec![Record::Malformed(1), Record::MarketHours]);
        shared.push(vec![Record::End]);
        let batch = shared.next_batch().await;
        assert!(matches!(
            batch[..],
            [Record::Malformed(1), Record::MarketHours, Record::End]
        ));
        let waiter = tokio::spawn({
            let shared = shared.clone();
            async move { shared.next_batch().await.len() }
        });
        tokio::task::yield_now().await;
        shared.push(vec![Record::Logout]);
        assert_eq!(waiter.await.unwrap(), 1);
    }
}
