//! One SignalR hub connection on tokio-tungstenite: handshake, keep-alive pings, invocations with
//! completions, and a reader that frames and decodes (`signalr.rs`) into records queued for Python.
//! Python takes the queue in one crossing per batch (`next_batch`). Quotes are merged per contract
//! here; trade prints feed a per-contract `TickAggregator` (closed bars and the forming bar go to
//! Python with the batch). User-hub events (orders with their wrapper action, positions with the
//! flat flag, fills, accounts) are decoded and validated in `signalr.rs` and cross as typed tuples.
//!
//! A `HubConn` is one connection: when it ends, `next_batch` returns a `("closed", reason)` record
//! and the Python wrapper (`trading/projectx/stream_rust.py`) rebuilds it with backoff and re-sends
//! the subscriptions (the same supervisor and watchdog as `realtime.py`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pyo3::exceptions::{PyConnectionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::IntoPyObjectExt;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_tungstenite::tungstenite::Message;

use crate::signalr::{
    AccountRec, Decoded, Decoder, Event, FillRec, Framer, OrderRec, PositionRec, QuotePatch,
};
use crate::ticks::{Bar, BarColumns, TickAggregator};
use crate::wire::*;
use crate::zone::{Bucketer, Zone};

#[derive(Debug, Clone, Copy, Default)]
struct QuoteState {
    last: Option<f64>,
    bid: Option<f64>,
    ask: Option<f64>,
    volume: Option<i64>,
    ts: Option<i64>,
}

type TradeRow = (f64, i64, i64, i64);
type DepthRow = (Option<i64>, i64, f64, i64, Option<i64>);
type BarRow = (i64, f64, f64, f64, f64, f64);

/// What crosses to Python.
enum Rec {
    Quote(String, QuoteState),
    Trades(String, Vec<TradeRow>),
    Depth(String, Vec<DepthRow>),
    Order(Option<i64>, Box<OrderRec>),
    Position(PositionRec),
    Fill(FillRec),
    Account(AccountRec),
    Bar(String, BarRow),
    Forming(String, Option<BarRow>),
    Logout,
    Malformed(u64),
    Closed(String),
}

fn bar_row(b: &Bar) -> BarRow {
    (b.ts, b.open, b.high, b.low, b.close, b.volume)
}

#[derive(Default)]
struct State {
    queue: Vec<Rec>,
    quotes: HashMap<String, QuoteState>,
    bars: HashMap<String, TickAggregator>,
}

struct Shared {
    state: Mutex<State>,
    notify: Notify,
    closed: AtomicBool,
    acks: Mutex<HashMap<String, oneshot::Sender<Option<String>>>>,
    next_id: AtomicU64,
    bucketer: Option<Bucketer>,
}

impl Shared {
    fn push(&self, recs: Vec<Rec>) {
        if recs.is_empty() {
            return;
        }
        if let Ok(mut st) = self.state.lock() {
            st.queue.extend(recs);
        }
        self.notify.notify_one();
    }

    fn close(&self, reason: String) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            if let Ok(mut acks) = self.acks.lock() {
                acks.clear(); // dropping the senders resolves every waiting invoke as lost
            }
            self.push(vec![Rec::Closed(reason)]);
        }
    }

    /// Turn decoded events into records (merging quotes, aggregating trades).
    fn absorb(&self, events: Vec<Event>, out: &mut Vec<Rec>, st: &mut State) {
        for ev in events {
            match ev {
                Event::Quote(cid, p) => {
                    let QuotePatch {
                        last,
                        bid,
                        ask,
                        volume,
                        ts,
                    } = p;
                    let q = st.quotes.entry(cid.clone()).or_default();
                    q.last = last.or(q.last);
                    q.bid = bid.or(q.bid);
                    q.ask = ask.or(q.ask);
                    q.volume = volume.or(q.volume);
                    q.ts = ts.or(q.ts);
                    out.push(Rec::Quote(cid, *q));
                }
                Event::Trades(cid, trades) => {
                    if let Some(b) = &self.bucketer {
                        let agg = st
                            .bars
                            .entry(cid.clone())
                            .or_insert_with(|| TickAggregator::new(b.clone()));
                        let mut closed = BarColumns::default();
                        for t in &trades {
                            agg.push(t.ts, t.price, t.volume as f64, &mut closed);
                        }
                        for i in 0..closed.len() {
                            out.push(Rec::Bar(
                                cid.clone(),
                                (
                                    closed.ts[i],
                                    closed.open[i],
                                    closed.high[i],
                                    closed.low[i],
                                    closed.close[i],
                                    closed.volume[i],
                                ),
                            ));
                        }
                        out.push(Rec::Forming(
                            cid.clone(),
                            agg.forming().as_ref().map(bar_row),
                        ));
                    }
                    let rows = trades
                        .iter()
                        .map(|t| (t.price, t.ts, t.kind, t.volume))
                        .collect();
                    out.push(Rec::Trades(cid, rows));
                }
                Event::Depth(cid, levels) => {
                    let rows = levels
                        .iter()
                        .map(|d| (d.ts, d.kind, d.price, d.volume, d.current_volume))
                        .collect();
                    out.push(Rec::Depth(cid, rows));
                }
                Event::Order(action, o) => out.push(Rec::Order(action, Box::new(o))),
                Event::Position(p) => out.push(Rec::Position(p)),
                Event::Fill(f) => out.push(Rec::Fill(f)),
                Event::Account(a) => out.push(Rec::Account(a)),
                Event::Logout => out.push(Rec::Logout),
            }
        }
    }
}

/// Frame, decode and queue one websocket message; returns a close reason when the hub closed.
fn handle(
    data: &[u8],
    shared: &Shared,
    framer: &mut Framer,
    decoder: &mut Decoder,
) -> Result<Option<String>, String> {
    let mut recs = Vec::new();
    let before = decoder.stats.malformed;
    let mut close: Option<String> = None;
    {
        let mut st = shared
            .state
            .lock()
            .map_err(|_| "poisoned state".to_string())?;
        framer.feed(data, |frame| match decoder.decode(frame) {
            Decoded::Events(ev) => shared.absorb(ev, &mut recs, &mut st),
            Decoded::Completion(Some(id), err) => {
                if let Some(tx) = shared.acks.lock().ok().and_then(|mut a| a.remove(&id)) {
                    let _ = tx.send(err);
                }
            }
            Decoded::Close(err) => close = Some(err.unwrap_or_else(|| "closed by the hub".into())),
            _ => {}
        });
        // Bad frames and bad items inside arrays, counted alike (unknown targets are not).
        let malformed = decoder.stats.malformed - before;
        if malformed > 0 {
            recs.push(Rec::Malformed(malformed));
        }
        st.queue.extend(recs);
    }
    shared.notify.notify_one();
    Ok(close)
}

async fn reader<S>(
    mut rx: S,
    shared: Arc<Shared>,
    mut decoder: Decoder,
    first: Vec<u8>,
    out_tx: mpsc::UnboundedSender<Message>,
) where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut framer = Framer::default();
    let mut pending = Some(first);
    let reason = loop {
        let data: Vec<u8> = if let Some(d) = pending.take() {
            d
        } else {
            match rx.next().await {
                None => break "connection closed".to_string(),
                Some(Err(e)) => break format!("connection error: {e}"),
                Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
                Some(Ok(Message::Binary(b))) => b.to_vec(),
                Some(Ok(Message::Ping(p))) => {
                    let _ = out_tx.send(Message::Pong(p));
                    continue;
                }
                Some(Ok(Message::Close(_))) => break "closed by the hub".to_string(),
                Some(Ok(_)) => continue,
            }
        };
        match handle(&data, &shared, &mut framer, &mut decoder) {
            Ok(None) => {}
            Ok(Some(r)) | Err(r) => break r,
        }
    };
    shared.close(reason);
}

/// One hub connection. Build with `await HubConn.connect(url, ...)`.
#[pyclass(module = "trading._native", frozen)]
pub struct HubConn {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Message>,
}

fn rec_to_py<'py>(py: Python<'py>, r: Rec) -> PyResult<Bound<'py, PyAny>> {
    match r {
        Rec::Quote(cid, q) => {
            ("q", cid, q.last, q.bid, q.ask, q.volume, q.ts).into_bound_py_any(py)
        }
        Rec::Trades(cid, rows) => ("t", cid, rows).into_bound_py_any(py),
        Rec::Depth(cid, rows) => ("d", cid, rows).into_bound_py_any(py),
        Rec::Order(action, o) => {
            let o = *o;
            let items: Vec<Bound<'py, PyAny>> = vec![
                "o".into_bound_py_any(py)?,
                action.into_bound_py_any(py)?,
                o.id.into_bound_py_any(py)?,
                o.account_id.into_bound_py_any(py)?,
                o.contract_id.into_bound_py_any(py)?,
                o.side.into_bound_py_any(py)?,
                o.kind.into_bound_py_any(py)?,
                o.size.into_bound_py_any(py)?,
                o.status.into_bound_py_any(py)?,
                o.custom_tag.into_bound_py_any(py)?,
                o.limit_price.into_bound_py_any(py)?,
                o.stop_price.into_bound_py_any(py)?,
                o.trail_price.into_bound_py_any(py)?,
                o.fill_volume.into_bound_py_any(py)?,
                o.filled_price.into_bound_py_any(py)?,
                o.creation_timestamp.into_bound_py_any(py)?,
                o.update_timestamp.into_bound_py_any(py)?,
                o.parent_order_id.into_bound_py_any(py)?,
                o.linked_order_id.into_bound_py_any(py)?,
            ];
            PyTuple::new(py, items)?.into_bound_py_any(py)
        }
        Rec::Position(p) => (
            "p",
            (p.account_id, p.contract_id, p.long, p.size, p.average_price),
            (p.creation_timestamp, p.id, p.closed),
        )
            .into_bound_py_any(py),
        Rec::Fill(f) => (
            "f",
            (
                f.id,
                f.order_id,
                f.account_id,
                f.contract_id,
                f.side,
                f.size,
            ),
            (
                f.price,
                f.creation_timestamp,
                f.fees,
                f.profit_and_loss,
                f.voided,
            ),
        )
            .into_bound_py_any(py),
        Rec::Account(a) => (
            "a",
            a.id,
            a.name,
            a.balance,
            a.can_trade,
            a.is_visible,
            a.simulated,
        )
            .into_bound_py_any(py),
        Rec::Bar(cid, b) => ("bar", cid, b).into_bound_py_any(py),
        Rec::Forming(cid, b) => ("forming", cid, b).into_bound_py_any(py),
        Rec::Logout => PyTuple::new(py, ["logout"])?.into_bound_py_any(py),
        Rec::Malformed(n) => ("bad", n).into_bound_py_any(py),
        Rec::Closed(reason) => ("closed", reason).into_bound_py_any(py),
    }
}

#[pymethods]
impl HubConn {
    /// connect(url, timeout_s=10, keep_alive_s=10, bar_period_ns=None, origin_ns=0, tz_utc=None,
    /// tz_offset=None) -> awaitable HubConn (handshake done).
    #[staticmethod]
    #[pyo3(signature = (url, timeout_s = 10.0, keep_alive_s = 10.0, bar_period_ns = None, origin_ns = 0, tz_utc = None, tz_offset = None))]
    #[allow(clippy::too_many_arguments)]
    fn connect<'py>(
        py: Python<'py>,
        url: String,
        timeout_s: f64,
        keep_alive_s: f64,
        bar_period_ns: Option<i64>,
        origin_ns: i64,
        tz_utc: Option<Vec<i64>>,
        tz_offset: Option<Vec<i64>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let bucketer = match bar_period_ns {
            None => None,
            Some(p) => {
                let zone = match (tz_utc, tz_offset) {
                    (Some(u), Some(o)) => Zone::new(u, o).map_err(PyValueError::new_err)?,
                    _ => Zone::fixed(0),
                };
                Some(Bucketer::new(p, origin_ns, zone).map_err(PyValueError::new_err)?)
            }
        };
        if !(timeout_s > 0.0 && keep_alive_s > 0.0) {
            return Err(PyValueError::new_err("timeouts must be positive"));
        }
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let timeout = Duration::from_secs_f64(timeout_s);
            let (ws, _) =
                tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url.as_str()))
                    .await
                    .map_err(|_| PyConnectionError::new_err("hub connect timed out"))?
                    .map_err(|e| PyConnectionError::new_err(format!("hub connect failed: {e}")))?;
            let (mut sink, mut rx) = ws.split();
            sink.send(Message::Text(HANDSHAKE_REQUEST.into()))
                .await
                .map_err(|e| PyConnectionError::new_err(format!("handshake send failed: {e}")))?;
            // Handshake answer: the first frame; anything after it in the same message is kept.
            let mut decoder = Decoder::new();
            let mut framer = Framer::default();
            let mut rest: Vec<Vec<u8>> = Vec::new();
            let mut answer: Option<Option<String>> = None;
            while answer.is_none() {
                let msg = tokio::time::timeout(timeout, rx.next())
                    .await
                    .map_err(|_| PyConnectionError::new_err("no handshake answer in time"))?;
                let data = match msg {
                    Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
                    Some(Ok(Message::Binary(b))) => b.to_vec(),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        return Err(PyConnectionError::new_err(format!("handshake failed: {e}")))
                    }
                    None => return Err(PyConnectionError::new_err("closed during the handshake")),
                };
                framer.feed(&data, |f| {
                    if answer.is_none() {
                        if let Decoded::Handshake(err) = decoder.decode(f) {
                            answer = Some(err);
                        }
                    } else {
                        rest.push(f.to_vec());
                    }
                });
            }
            if let Some(Some(err)) = answer {
                return Err(PyConnectionError::new_err(format!(
                    "hub refused the handshake: {err}"
                )));
            }
            let shared = Arc::new(Shared {
                state: Mutex::new(State::default()),
                notify: Notify::new(),
                closed: AtomicBool::new(false),
                acks: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                bucketer,
            });
            let (tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
            let writer_shared = shared.clone();
            tokio::spawn(async move {
                let mut ping = tokio::time::interval(Duration::from_secs_f64(keep_alive_s));
                ping.tick().await;
                loop {
                    let msg = tokio::select! {
                        m = out_rx.recv() => match m { Some(m) => m, None => break },
                        _ = ping.tick() => Message::Text(PING_FRAME.into()),
                    };
                    let is_close = matches!(msg, Message::Close(_));
                    if sink.send(msg).await.is_err() || is_close {
                        break;
                    }
                }
                let _ = sink.close().await;
                writer_shared.close("connection closed".into());
            });
            let reader_shared = shared.clone();
            let reader_tx = tx.clone();
            let mut first = Vec::new();
            for f in rest {
                first.extend_from_slice(&f);
                first.push(RECORD_SEPARATOR);
            }
            tokio::spawn(reader(rx, reader_shared, decoder, first, reader_tx));
            Ok(HubConn { shared, tx })
        })
    }

    /// Invoke a hub method (`args_json` is the JSON array of arguments); resolves to None on
    /// completion, the hub's error text, or "lost" when no completion comes in `timeout_s`.
    #[pyo3(signature = (target, args_json, timeout_s = 10.0))]
    fn invoke<'py>(
        &self,
        py: Python<'py>,
        target: String,
        args_json: String,
        timeout_s: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args: serde_json::Value = serde_json::from_str(&args_json)
            .map_err(|e| PyValueError::new_err(format!("bad arguments: {e}")))?;
        let id = self
            .shared
            .next_id
            .fetch_add(1, Ordering::Relaxed)
            .to_string();
        let frame = serde_json::json!({"type": MSG_INVOCATION, "invocationId": id, "target": target, "arguments": args});
        let (ack_tx, ack_rx) = oneshot::channel();
        if let Ok(mut acks) = self.shared.acks.lock() {
            acks.insert(id.clone(), ack_tx);
        }
        let sent = !self.shared.closed.load(Ordering::SeqCst)
            && self
                .tx
                .send(Message::Text(format!("{frame}\u{1e}").into()))
                .is_ok();
        let shared = self.shared.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            if !sent {
                return Ok(Some("lost".to_string()));
            }
            let out =
                match tokio::time::timeout(Duration::from_secs_f64(timeout_s.max(0.001)), ack_rx)
                    .await
                {
                    Ok(Ok(err)) => err,
                    _ => Some("lost".to_string()),
                };
            if let Ok(mut acks) = shared.acks.lock() {
                acks.remove(&id);
            }
            Ok(out)
        })
    }

    /// Everything queued since the last call (waits until something is there).
    fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = self.shared.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            loop {
                let notified = shared.notify.notified();
                let batch = shared
                    .state
                    .lock()
                    .map(|mut st| std::mem::take(&mut st.queue))
                    .unwrap_or_default();
                if !batch.is_empty() {
                    return Python::attach(|py| -> PyResult<Py<PyList>> {
                        let items = batch
                            .into_iter()
                            .map(|r| rec_to_py(py, r))
                            .collect::<PyResult<Vec<_>>>()?;
                        Ok(PyList::new(py, items)?.unbind())
                    });
                }
                notified.await;
            }
        })
    }

    /// Close bars whose time is over (`now_ns` from the clock); returns (contract, bar) pairs.
    fn advance(&self, now_ns: i64) -> Vec<(String, BarRow)> {
        let mut out = Vec::new();
        if let Ok(mut st) = self.shared.state.lock() {
            for (cid, agg) in st.bars.iter_mut() {
                let mut closed = BarColumns::default();
                agg.advance(now_ns, &mut closed);
                for i in 0..closed.len() {
                    out.push((
                        cid.clone(),
                        (
                            closed.ts[i],
                            closed.open[i],
                            closed.high[i],
                            closed.low[i],
                            closed.close[i],
                            closed.volume[i],
                        ),
                    ));
                }
            }
        }
        out
    }

    fn forming(&self, contract_id: &str) -> Option<BarRow> {
        let st = self.shared.state.lock().ok()?;
        st.bars.get(contract_id)?.forming().as_ref().map(bar_row)
    }

    fn close(&self) {
        let _ = self.tx.send(Message::Close(None));
        self.shared.close("closed by us".into());
    }

    #[getter]
    fn closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HubConn>()?;
    Ok(())
}
