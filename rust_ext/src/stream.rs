//! The hub client of the Rust stream, on tokio-tungstenite: handshake, keep-alive pings,
//! invocations with completions, and a reader that frames and decodes (`signalr.rs`) into records
//! queued for Python. Python takes the queue in one crossing per batch (`next_batch`). Quotes are
//! merged per contract here; trade prints feed a per-contract `TickAggregator` (closed bars and the
//! forming bar go to Python with the batch). User-hub events (orders with their wrapper action,
//! positions with the flat flag, fills, accounts) are decoded and validated in `signalr.rs` and
//! cross as typed tuples.
//!
//! Supervision lives here too (`HubClient`), the twin of `realtime.py`'s: the access token is read
//! from a Python token provider at every (re)connect and put in the URL; a lost connection is
//! reported (disconnected) and rebuilt with backoff, every remembered subscription re-invoked
//! before `reconnected` is reported; `token_changed` rebuilds in the background (token_refreshed);
//! the stale-feed watchdog (no event for `stale_after_s` while something is subscribed) asks Python
//! whether the market is open (a `("market_hours",)` record answered by `market_hours(open)`, so
//! the predicate runs on the asyncio loop), then raises a stale alert and forces a reconnect.
//! The keep-alive watchdog (`keepalive_stale_s`) watches FRAMES instead of events: every frame the
//! hub sends (events, completions, the type 6 pings it sends every few seconds even when nothing
//! happens) touches a second clock; none for that long means a silently stalled socket, at any hour,
//! and is answered the same way (stale alert, forced reconnect) without asking about market hours.
//! Reconnects are serialised by one lock, as in the Python twin; status and log lines cross as
//! records with the events, in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use pyo3::exceptions::{PyConnectionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::IntoPyObjectExt;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::signalr::{
    AccountRec, Decoded, Decoder, Event, FillRec, Framer, OrderRec, PositionRec, QuotePatch,
};
use crate::ticks::{Bar, BarColumns, TickAggregator};
use crate::wire::*;
use crate::zone::{Bucketer, Zone};

/// What an invocation resolves to when no completion came (connection lost, time-out).
pub const LOST: &str = "lost";
const LOG_INFO: i64 = 20;
const LOG_WARNING: i64 = 30;

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
#[derive(Debug)]
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
    /// A `trading.streaming.StreamState` value and the trader-facing message.
    Status(&'static str, String),
    /// A log line for Python's logger (level as in `logging`).
    Log(i64, String),
    /// The watchdog found the feed silent: Python answers with `market_hours(open)`.
    MarketHours,
    /// The client stopped: the last record.
    End,
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

/// Client-wide state, kept across connections: the queue for Python, merged quotes, bars, the
/// time of the last event (for the stale-feed watchdog) and of the last frame of any kind (for the
/// keep-alive watchdog), both in ns since `epoch` (never 0 once touched).
struct Shared {
    state: Mutex<State>,
    notify: Notify,
    bucketer: Option<Bucketer>,
    epoch: Instant,
    last_event_ns: AtomicU64,
    last_frame_ns: AtomicU64,
    frames: AtomicU64,
}

impl Shared {
    fn new(bucketer: Option<Bucketer>) -> Self {
        Shared {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            bucketer,
            epoch: Instant::now(),
            last_event_ns: AtomicU64::new(0),
            last_frame_ns: AtomicU64::new(0),
            frames: AtomicU64::new(0),
        }
    }

    fn now_ns(&self) -> u64 {
        (self.epoch.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64).max(1)
    }

    fn since_s(&self, clock: &AtomicU64) -> f64 {
        self.now_ns().saturating_sub(clock.load(Ordering::SeqCst)) as f64 / 1e9
    }

    fn push(&self, recs: Vec<Rec>) {
        if recs.is_empty() {
            return;
        }
        if let Ok(mut st) = self.state.lock() {
            st.queue.extend(recs);
        }
        self.notify.notify_one();
    }

    /// An event came (or a connection was made).
    fn touch(&self) {
        self.last_event_ns.store(self.now_ns(), Ordering::SeqCst);
    }

    /// `n` frames of any kind came (or, with 0, a connection was made).
    fn touch_frame(&self, n: u64) {
        self.frames.fetch_add(n, Ordering::SeqCst);
        self.last_frame_ns.store(self.now_ns(), Ordering::SeqCst);
    }

    /// Seconds since the last event (or connect).
    fn silent_s(&self) -> f64 {
        self.since_s(&self.last_event_ns)
    }

    /// Seconds since the last frame of any kind (or connect).
    fn frame_silent_s(&self) -> f64 {
        self.since_s(&self.last_frame_ns)
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

/// One websocket connection: its writer channel and the invocations waiting for a completion.
struct Conn {
    gen: u64,
    closed: AtomicBool,
    acks: Mutex<HashMap<String, oneshot::Sender<Option<String>>>>,
    next_id: AtomicU64,
    tx: mpsc::UnboundedSender<Message>,
    /// The reader task: aborted when we drop the connection (a stalled socket never wakes it).
    reader: Mutex<Option<JoinHandle<()>>>,
}

impl Conn {
    /// Mark closed (once): every waiting invocation resolves as lost. True the first time.
    fn close(&self) -> bool {
        if self.closed.swap(true, Ordering::SeqCst) {
            return false;
        }
        if let Ok(mut acks) = self.acks.lock() {
            acks.clear(); // dropping the senders resolves every waiting invoke as lost
        }
        let _ = self.tx.send(Message::Close(None));
        true
    }

    /// Invoke a hub method (`args` is the JSON array of arguments): None on completion, the hub's
    /// error text, or `LOST` when no completion comes in `timeout`.
    async fn invoke(
        &self,
        target: &str,
        args: &serde_json::Value,
        timeout: Duration,
    ) -> Option<String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let frame = serde_json::json!({"type": MSG_INVOCATION, "invocationId": id, "target": target, "arguments": args});
        let (ack_tx, ack_rx) = oneshot::channel();
        if let Ok(mut acks) = self.acks.lock() {
            acks.insert(id.clone(), ack_tx);
        }
        let sent = !self.closed.load(Ordering::SeqCst)
            && self
                .tx
                .send(Message::Text(format!("{frame}\u{1e}").into()))
                .is_ok();
        let out = if !sent {
            Some(LOST.to_string())
        } else {
            match tokio::time::timeout(timeout, ack_rx).await {
                Ok(Ok(err)) => err,
                _ => Some(LOST.to_string()),
            }
        };
        if let Ok(mut acks) = self.acks.lock() {
            acks.remove(&id);
        }
        out
    }
}

/// Frame, decode and queue one websocket message; returns a close reason when the hub closed.
fn handle(
    data: &[u8],
    shared: &Shared,
    conn: &Conn,
    framer: &mut Framer,
    decoder: &mut Decoder,
) -> Result<Option<String>, String> {
    let mut recs = Vec::new();
    let before = decoder.stats.malformed;
    let mut close: Option<String> = None;
    let mut events = false;
    let mut frames = 0u64;
    {
        let mut st = shared
            .state
            .lock()
            .map_err(|_| "poisoned state".to_string())?;
        framer.feed(data, |frame| {
            frames += 1; // any frame, pings included: the keep-alive watchdog's clock
            match decoder.decode(frame) {
                Decoded::Events(ev) => {
                    events = true;
                    shared.absorb(ev, &mut recs, &mut st)
                }
                Decoded::Completion(Some(id), err) => {
                    if let Some(tx) = conn.acks.lock().ok().and_then(|mut a| a.remove(&id)) {
                        let _ = tx.send(err);
                    }
                }
                Decoded::Close(err) => {
                    close = Some(err.unwrap_or_else(|| "closed by the hub".into()))
                }
                _ => {}
            }
        });
        // Bad frames and bad items inside arrays, counted alike (unknown targets are not).
        let malformed = decoder.stats.malformed - before;
        if malformed > 0 {
            recs.push(Rec::Malformed(malformed));
        }
        st.queue.extend(recs);
    }
    if frames > 0 {
        shared.touch_frame(frames);
    }
    if events {
        shared.touch();
    }
    shared.notify.notify_one();
    Ok(close)
}

async fn reader<S>(
    mut rx: S,
    client: Arc<Client>,
    conn: Arc<Conn>,
    mut decoder: Decoder,
    first: Vec<u8>,
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
                    let _ = conn.tx.send(Message::Pong(p));
                    continue;
                }
                Some(Ok(Message::Close(_))) => break "closed by the hub".to_string(),
                Some(Ok(_)) => continue,
            }
        };
        match handle(&data, &client.shared, &conn, &mut framer, &mut decoder) {
            Ok(None) => {}
            Ok(Some(r)) | Err(r) => break r,
        }
    };
    client.lost(&conn, reason);
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

async fn writer(
    mut sink: Sink,
    mut out_rx: mpsc::UnboundedReceiver<Message>,
    keep_alive: Duration,
    client: Arc<Client>,
    conn: Arc<Conn>,
) {
    // A peer that stops reading must not hold the writer forever: every send has a time limit.
    let limit = keep_alive.max(client.cfg.timeout);
    let mut ping = tokio::time::interval(keep_alive);
    ping.tick().await;
    loop {
        let msg = tokio::select! {
            m = out_rx.recv() => match m { Some(m) => m, None => break },
            _ = ping.tick() => Message::Text(PING_FRAME.into()),
        };
        let is_close = matches!(msg, Message::Close(_));
        let sent = tokio::time::timeout(limit, sink.send(msg)).await;
        if !matches!(sent, Ok(Ok(()))) || is_close {
            break;
        }
    }
    let _ = tokio::time::timeout(limit, sink.close()).await;
    client.lost(&conn, "connection closed".into());
}

/// `application/x-www-form-urlencoded` like Python's `urlencode` (quote_plus).
fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The hub URL with the token in its query (as `realtime.hub_url`), on the ws/wss scheme.
pub fn hub_url(base: &str, token: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}{HUB_ACCESS_TOKEN_PARAM}={}", quote_plus(token));
    if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url
    }
}

/// Reconnect delay after `attempt` failed attempts (the last delay repeats).
pub fn backoff(delays: &[Duration], attempt: usize) -> Duration {
    match delays {
        [] => Duration::from_secs(1),
        d => d[attempt.min(d.len() - 1)],
    }
}

/// Watchdog period for a stale limit (as `realtime._watch`).
pub fn watch_period(limit_s: f64) -> Duration {
    Duration::from_secs_f64((limit_s / 4.0).clamp(0.05, 1.0))
}

struct Sub {
    method: String,
    key: String,
    args: serde_json::Value,
}

#[derive(Default)]
struct Tasks {
    watchdog: Option<JoinHandle<()>>,
    supervisors: Vec<JoinHandle<()>>,
    rebuilder: Option<JoinHandle<()>>,
}

struct Config {
    url: String,
    hub: String,
    timeout: Duration,
    keep_alive: Duration,
    delays: Vec<Duration>,
    stale_after_s: Option<f64>,
    keepalive_stale_s: Option<f64>,
}

type TokenFn = Box<dyn Fn() -> Result<String, String> + Send + Sync>;

struct Client {
    shared: Shared,
    cfg: Config,
    token: TokenFn,
    conn: Mutex<Option<Arc<Conn>>>,
    gen: AtomicU64,
    lock: tokio::sync::Mutex<()>,
    started: AtomicBool,
    stopping: AtomicBool,
    stop_tx: watch::Sender<bool>,
    subs: Mutex<Vec<Sub>>,
    tasks: Mutex<Tasks>,
    verdict: Mutex<Option<oneshot::Sender<bool>>>,
    connects: AtomicU64,
    stale: AtomicU64,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Open the websocket and do the SignalR handshake; frames that came after the answer are kept.
async fn open(url: &str, timeout: Duration) -> Result<(Ws, Decoder, Vec<u8>), String> {
    let (mut ws, _) = tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url))
        .await
        .map_err(|_| "hub connect timed out".to_string())?
        .map_err(|e| format!("hub connect failed: {e}"))?;
    ws.send(Message::Text(HANDSHAKE_REQUEST.into()))
        .await
        .map_err(|e| format!("handshake send failed: {e}"))?;
    let mut decoder = Decoder::new();
    let mut framer = Framer::default();
    let mut rest: Vec<u8> = Vec::new();
    let mut answer: Option<Option<String>> = None;
    while answer.is_none() {
        let msg = tokio::time::timeout(timeout, ws.next())
            .await
            .map_err(|_| "no handshake answer in time".to_string())?;
        let data = match msg {
            Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
            Some(Ok(Message::Binary(b))) => b.to_vec(),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("handshake failed: {e}")),
            None => return Err("closed during the handshake".into()),
        };
        framer.feed(&data, |f| {
            if answer.is_none() {
                if let Decoded::Handshake(err) = decoder.decode(f) {
                    answer = Some(err);
                }
            } else {
                rest.extend_from_slice(f);
                rest.push(RECORD_SEPARATOR);
            }
        });
    }
    if let Some(Some(err)) = answer {
        return Err(format!("hub refused the handshake: {err}"));
    }
    Ok((ws, decoder, rest))
}

impl Client {
    fn status(&self, state: &'static str, message: String) {
        self.shared.push(vec![Rec::Status(state, message)]);
    }

    fn log(&self, level: i64, message: String) {
        self.shared.push(vec![Rec::Log(level, message)]);
    }

    fn connected(&self) -> bool {
        self.conn
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|c| !c.closed.load(Ordering::SeqCst)))
            .unwrap_or(false)
    }

    fn current(&self) -> Option<Arc<Conn>> {
        self.conn.lock().ok().and_then(|c| c.clone())
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleep unless the client stops first (then false).
    async fn sleep(&self, d: Duration) -> bool {
        let mut rx = self.stop_tx.subscribe();
        if *rx.borrow() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => !self.is_stopping(),
            _ = rx.wait_for(|s| *s) => false,
        }
    }

    fn token(&self) -> Result<String, String> {
        (self.token)().map_err(|e| format!("no session token ({e})"))
    }

    fn new(cfg: Config, token: TokenFn, bucketer: Option<Bucketer>) -> Self {
        let (stop_tx, _) = watch::channel(false);
        Client {
            shared: Shared::new(bucketer),
            cfg,
            token,
            conn: Mutex::new(None),
            gen: AtomicU64::new(0),
            lock: tokio::sync::Mutex::new(()),
            started: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            stop_tx,
            subs: Mutex::new(Vec::new()),
            tasks: Mutex::new(Tasks::default()),
            verdict: Mutex::new(None),
            connects: AtomicU64::new(0),
            stale: AtomicU64::new(0),
        }
    }

    /// First connection (no retry: the caller decides), then `connected` and the watchdog.
    async fn start(self: Arc<Self>) -> Result<(), String> {
        if self.is_stopping() {
            return Err("this hub client was stopped".into());
        }
        if self.started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let res = {
            let _guard = self.lock.lock().await;
            self.connect_once().await
        };
        if let Err(e) = res {
            self.started.store(false, Ordering::SeqCst);
            return Err(e);
        }
        self.status("connected", format!("{} feed connected", self.cfg.hub));
        if self.cfg.stale_after_s.is_some() || self.cfg.keepalive_stale_s.is_some() {
            let handle = tokio::spawn(self.clone().watch());
            if let Ok(mut t) = self.tasks.lock() {
                t.watchdog = Some(handle);
            }
        }
        Ok(())
    }

    /// Remember a subscription (replacing the arguments of the same method and key, in place).
    fn remember(&self, method: &str, key: &str, args: &serde_json::Value) {
        if let Ok(mut subs) = self.subs.lock() {
            match subs.iter_mut().find(|s| s.method == method && s.key == key) {
                Some(s) => s.args = args.clone(),
                None => subs.push(Sub {
                    method: method.to_string(),
                    key: key.to_string(),
                    args: args.clone(),
                }),
            }
        }
    }

    /// Invoke a remembered subscription when connected; a refusal by the hub forgets it.
    async fn subscribe(
        self: Arc<Self>,
        method: String,
        key: String,
        args: serde_json::Value,
    ) -> Option<String> {
        let conn = self
            .current()
            .filter(|c| !c.closed.load(Ordering::SeqCst))?;
        let err = conn.invoke(&method, &args, self.cfg.timeout).await;
        if err.as_deref().is_some_and(|e| e != LOST) {
            if let Ok(mut subs) = self.subs.lock() {
                subs.retain(|s| !(s.method == method && s.key == key));
            }
        }
        err
    }

    /// A new token was issued: rebuild in the background; reports `token_refreshed` after.
    fn token_changed(self: &Arc<Self>) {
        if !self.started.load(Ordering::SeqCst) || self.is_stopping() {
            return;
        }
        let Ok(mut tasks) = self.tasks.lock() else {
            return;
        };
        if let Some(old) = tasks.rebuilder.take() {
            old.abort();
        }
        let task = self.clone();
        let job = async move {
            task.reconnect("token refreshed").await;
            if task.connected() && !task.is_stopping() {
                task.status(
                    "token_refreshed",
                    format!("{} feed reconnected with a fresh token", task.cfg.hub),
                );
            }
        };
        tasks.rebuilder = Some(match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.spawn(job),
            Err(_) => pyo3_async_runtimes::tokio::get_runtime().spawn(job),
        });
    }

    /// Build one connection with the current token and re-invoke every subscription.
    async fn connect_once(self: &Arc<Self>) -> Result<(), String> {
        let token = self.token()?;
        let url = hub_url(&self.cfg.url, &token);
        let (ws, decoder, first) = open(&url, self.cfg.timeout).await?;
        let (sink, rx) = ws.split();
        let (tx, out_rx) = mpsc::unbounded_channel::<Message>();
        let gen = self.gen.fetch_add(1, Ordering::SeqCst) + 1;
        let conn = Arc::new(Conn {
            gen,
            closed: AtomicBool::new(false),
            acks: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            tx,
            reader: Mutex::new(None),
        });
        {
            let mut slot = self.conn.lock().map_err(|_| "poisoned".to_string())?;
            if self.is_stopping() {
                drop(slot);
                conn.close();
                let _ = tokio::time::timeout(self.cfg.timeout, {
                    let mut sink = sink;
                    async move { sink.close().await }
                })
                .await;
                return Err("stopped".into());
            }
            *slot = Some(conn.clone());
        }
        tokio::spawn(writer(
            sink,
            out_rx,
            self.cfg.keep_alive,
            self.clone(),
            conn.clone(),
        ));
        let task = tokio::spawn(reader(rx, self.clone(), conn.clone(), decoder, first));
        if let Ok(mut r) = conn.reader.lock() {
            *r = Some(task);
        }
        self.connects.fetch_add(1, Ordering::SeqCst);
        self.shared.touch();
        self.shared.touch_frame(0);
        let subs: Vec<(String, serde_json::Value)> = self
            .subs
            .lock()
            .map(|s| {
                s.iter()
                    .map(|s| (s.method.clone(), s.args.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let results = futures_util::future::join_all(
            subs.iter()
                .map(|(m, a)| conn.invoke(m, a, self.cfg.timeout)),
        )
        .await;
        for ((method, args), err) in subs.iter().zip(results) {
            if let Some(err) = err {
                self.log(
                    LOG_WARNING,
                    format!(
                        "{} hub: re-subscribing {method}{args} failed: {err}",
                        self.cfg.hub.to_lowercase()
                    ),
                );
            }
        }
        Ok(())
    }

    /// Drop the current connection (its late reports are ignored: a new generation).
    fn drop_conn(&self) {
        let conn = self.conn.lock().ok().and_then(|mut c| c.take());
        self.gen.fetch_add(1, Ordering::SeqCst);
        if let Some(conn) = conn {
            conn.close();
            if let Some(task) = conn.reader.lock().ok().and_then(|mut r| r.take()) {
                task.abort();
            }
        }
    }

    async fn connect_with_backoff(self: &Arc<Self>, reason: &str) {
        let mut attempt = 0usize;
        while !self.is_stopping() {
            match self.connect_once().await {
                Ok(()) => {
                    self.status(
                        "reconnected",
                        format!(
                            "{} feed reconnected ({reason}); subscriptions renewed",
                            self.cfg.hub
                        ),
                    );
                    return;
                }
                Err(e) => {
                    let delay = backoff(&self.cfg.delays, attempt);
                    attempt += 1;
                    if !self.is_stopping() {
                        self.log(
                            LOG_WARNING,
                            format!(
                                "Could not connect the {} feed: {e} (attempt {attempt}); next try in {:.1} s",
                                self.cfg.hub.to_lowercase(),
                                delay.as_secs_f64()
                            ),
                        );
                    }
                    if !self.sleep(delay).await {
                        return;
                    }
                }
            }
        }
    }

    async fn reconnect(self: &Arc<Self>, reason: &str) {
        if !self.started.load(Ordering::SeqCst) || self.is_stopping() {
            return;
        }
        let _guard = self.lock.lock().await;
        if self.is_stopping() {
            return;
        }
        self.drop_conn();
        self.connect_with_backoff(reason).await;
    }

    /// A connection ended (reader or writer): when it is the current one, report and rebuild.
    fn lost(self: &Arc<Self>, conn: &Arc<Conn>, reason: String) {
        let first = conn.close();
        if !first
            || conn.gen != self.gen.load(Ordering::SeqCst)
            || self.is_stopping()
            || !self.started.load(Ordering::SeqCst)
        {
            return;
        }
        self.log(
            LOG_INFO,
            format!("{} hub (rust): {reason}", self.cfg.hub.to_lowercase()),
        );
        self.status(
            "disconnected",
            format!("{} feed disconnected; reconnecting", self.cfg.hub),
        );
        let Ok(mut tasks) = self.tasks.lock() else {
            return;
        };
        // One supervisor per lost connection (even while another rebuild runs: the connection it
        // is building may be the one that died); each waits for the lock and does nothing when the
        // connection was rebuilt meanwhile.
        tasks.supervisors.retain(|t| !t.is_finished());
        let me = self.clone();
        let gen = conn.gen;
        tasks.supervisors.push(tokio::spawn(async move {
            let _guard = me.lock.lock().await;
            if gen != me.gen.load(Ordering::SeqCst) || me.is_stopping() {
                return; // someone already rebuilt it
            }
            me.drop_conn();
            me.connect_with_backoff("connection lost").await;
        }));
    }

    /// The watchdogs (as `realtime._watch`): keep-alive (no frame for `keepalive_stale_s`, at any
    /// hour) and stale feed (no event for `stale_after_s` while subscribed and the market is open).
    async fn watch(self: Arc<Self>) {
        let (events, frames) = (self.cfg.stale_after_s, self.cfg.keepalive_stale_s);
        let Some(shortest) = [events, frames].into_iter().flatten().reduce(f64::min) else {
            return;
        };
        let period = watch_period(shortest);
        loop {
            if !self.sleep(period).await {
                return;
            }
            if !self.connected() || self.lock.try_lock().is_err() {
                continue;
            }
            if let Some(limit) = frames {
                let silent = self.shared.frame_silent_s();
                if silent >= limit {
                    self.went_stale(
                        format!(
                            "{} feed sent nothing, not even a keep-alive ping, for {silent:.1} s; reconnecting",
                            self.cfg.hub
                        ),
                        format!("no keep-alive for {silent:.1} s"),
                    )
                    .await;
                    continue;
                }
            }
            let Some(limit) = events else {
                continue;
            };
            let subscribed = self.subs.lock().map(|s| !s.is_empty()).unwrap_or(false);
            let silent = self.shared.silent_s();
            if !subscribed || silent < limit {
                continue;
            }
            let (tx, rx) = oneshot::channel();
            if let Ok(mut v) = self.verdict.lock() {
                *v = Some(tx);
            }
            self.shared.push(vec![Rec::MarketHours]);
            let mut stop = self.stop_tx.subscribe();
            let open = tokio::select! {
                r = rx => r.unwrap_or(false),
                _ = stop.wait_for(|s| *s) => return,
            };
            if open {
                self.went_stale(
                    format!(
                        "{} feed silent for {silent:.1} s during market hours; reconnecting",
                        self.cfg.hub
                    ),
                    format!("silent for {silent:.1} s"),
                )
                .await;
            }
        }
    }

    /// A watchdog found the connection dead: a stale alert, then a forced reconnect.
    async fn went_stale(self: &Arc<Self>, message: String, reason: String) {
        self.stale.fetch_add(1, Ordering::SeqCst);
        self.status("stale", message);
        self.reconnect(&reason).await;
    }

    fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.started.store(false, Ordering::SeqCst);
        let _ = self.stop_tx.send(true);
        if let Ok(mut t) = self.tasks.lock() {
            for h in [t.watchdog.take(), t.rebuilder.take()]
                .into_iter()
                .flatten()
                .chain(t.supervisors.drain(..))
            {
                h.abort();
            }
        }
        if let Ok(mut v) = self.verdict.lock() {
            v.take();
        }
        self.drop_conn();
        self.shared.push(vec![Rec::End]);
    }
}

/// A supervised hub client. `HubClient(url, hub, token, ...)`, then `await start()`.
#[pyclass(module = "trading._native", frozen)]
pub struct HubClient {
    inner: Arc<Client>,
}

impl Drop for HubClient {
    /// Forgotten without `stop()` (the Python object collected): end the tasks and the connection.
    fn drop(&mut self) {
        if !self.inner.is_stopping() {
            self.inner.stop();
        }
    }
}

fn py_err(e: String) -> PyErr {
    PyConnectionError::new_err(e)
}

#[pymethods]
impl HubClient {
    /// HubClient(url, hub, token, timeout_s=10, keep_alive_s=10, reconnect_delays_s=(0.5, 1, 2, 5,
    /// 10, 30), stale_after_s=None, bar_period_ns=None, origin_ns=0, tz_utc=None, tz_offset=None,
    /// keepalive_stale_s=None).
    /// `url` is the hub's http(s) URL; `hub` names it in status messages ("Market", "User");
    /// `token()` returns the current access token (called at every connect).
    #[new]
    #[pyo3(signature = (url, hub, token, timeout_s = 10.0, keep_alive_s = 10.0, reconnect_delays_s = vec![0.5, 1.0, 2.0, 5.0, 10.0, 30.0], stale_after_s = None, bar_period_ns = None, origin_ns = 0, tz_utc = None, tz_offset = None, keepalive_stale_s = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: String,
        hub: String,
        token: Py<PyAny>,
        timeout_s: f64,
        keep_alive_s: f64,
        reconnect_delays_s: Vec<f64>,
        stale_after_s: Option<f64>,
        bar_period_ns: Option<i64>,
        origin_ns: i64,
        tz_utc: Option<Vec<i64>>,
        tz_offset: Option<Vec<i64>>,
        keepalive_stale_s: Option<f64>,
    ) -> PyResult<Self> {
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
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !(positive(timeout_s) && positive(keep_alive_s)) {
            return Err(PyValueError::new_err("timeouts must be positive"));
        }
        if reconnect_delays_s
            .iter()
            .any(|d| !(d.is_finite() && *d >= 0.0))
        {
            return Err(PyValueError::new_err("reconnect delays must be >= 0"));
        }
        if stale_after_s.is_some_and(|s| !positive(s)) {
            return Err(PyValueError::new_err("stale_after_s must be positive"));
        }
        if keepalive_stale_s.is_some_and(|s| !positive(s)) {
            return Err(PyValueError::new_err("keepalive_stale_s must be positive"));
        }
        let mut delays: Vec<Duration> = reconnect_delays_s
            .into_iter()
            .map(Duration::from_secs_f64)
            .collect();
        if delays.is_empty() {
            delays.push(Duration::from_secs(1));
        }
        let cfg = Config {
            url,
            hub,
            timeout: Duration::from_secs_f64(timeout_s),
            keep_alive: Duration::from_secs_f64(keep_alive_s),
            delays,
            stale_after_s,
            keepalive_stale_s,
        };
        let token: TokenFn = Box::new(move || {
            Python::attach(|py| {
                token
                    .call0(py)
                    .and_then(|t| t.bind(py).extract::<String>())
                    .map_err(|e| e.to_string())
            })
        });
        Ok(HubClient {
            inner: Arc::new(Client::new(cfg, token, bucketer)),
        })
    }

    /// Connect (handshake done, subscriptions sent) and start the watchdog; raises
    /// ConnectionError when the first connection fails (no retry: the caller decides).
    fn start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let me = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(
            py,
            async move { me.start().await.map_err(py_err) },
        )
    }

    /// Stop for good: tasks ended, connection closed; `next_batch` ends with `("end",)`.
    fn stop(&self) {
        self.inner.stop();
    }

    /// Drop the connection and build a new one (token read again, every subscription re-sent),
    /// with backoff; reports `reconnected`.
    fn reconnect<'py>(&self, py: Python<'py>, reason: String) -> PyResult<Bound<'py, PyAny>> {
        let me = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            me.reconnect(&reason).await;
            Ok(())
        })
    }

    /// A new token was issued: rebuild in the background; reports `token_refreshed` after.
    fn token_changed(&self) {
        self.inner.token_changed();
    }

    /// Remember a subscription (re-sent after every reconnect) and, when connected, invoke it:
    /// resolves to None, the hub's error (the subscription is then forgotten) or "lost".
    fn subscribe<'py>(
        &self,
        py: Python<'py>,
        method: String,
        key: String,
        args_json: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args: serde_json::Value = serde_json::from_str(&args_json)
            .map_err(|e| PyValueError::new_err(format!("bad arguments: {e}")))?;
        self.inner.remember(&method, &key, &args);
        let me = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            Ok(me.subscribe(method, key, args).await)
        })
    }

    /// Forget a subscription and, when it was remembered and we are connected, invoke `unmethod`.
    fn unsubscribe<'py>(
        &self,
        py: Python<'py>,
        method: String,
        unmethod: String,
        key: String,
        args_json: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args: serde_json::Value = serde_json::from_str(&args_json)
            .map_err(|e| PyValueError::new_err(format!("bad arguments: {e}")))?;
        let removed = self
            .inner
            .subs
            .lock()
            .map(|mut subs| {
                let n = subs.len();
                subs.retain(|s| !(s.method == method && s.key == key));
                subs.len() != n
            })
            .unwrap_or(false);
        let me = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            match me.current().filter(|c| !c.closed.load(Ordering::SeqCst)) {
                Some(conn) if removed => Ok(conn.invoke(&unmethod, &args, me.cfg.timeout).await),
                _ => Ok(None),
            }
        })
    }

    /// The answer to a `("market_hours",)` record: is the market open now?
    fn market_hours(&self, open: bool) {
        if let Some(tx) = self.inner.verdict.lock().ok().and_then(|mut v| v.take()) {
            let _ = tx.send(open);
        }
    }

    /// Everything queued since the last call (waits until something is there).
    fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let me = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let shared = &me.shared;
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
        if let Ok(mut st) = self.inner.shared.state.lock() {
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
        let st = self.inner.shared.state.lock().ok()?;
        st.bars.get(contract_id)?.forming().as_ref().map(bar_row)
    }

    #[getter]
    fn connected(&self) -> bool {
        self.inner.connected()
    }

    /// Successful connections so far (the first one included).
    #[getter]
    fn connects(&self) -> u64 {
        self.inner.connects.load(Ordering::SeqCst)
    }

    /// Stale alerts raised by the watchdog.
    #[getter]
    fn stale(&self) -> u64 {
        self.inner.stale.load(Ordering::SeqCst)
    }

    /// Seconds since the last event (or connect).
    #[getter]
    fn silent_s(&self) -> f64 {
        self.inner.shared.silent_s()
    }

    /// Seconds since the last frame of any kind, keep-alive pings included (or connect).
    #[getter]
    fn frame_silent_s(&self) -> f64 {
        self.inner.shared.frame_silent_s()
    }

    /// Frames of any kind received so far (pings included).
    #[getter]
    fn frames(&self) -> u64 {
        self.inner.shared.frames.load(Ordering::SeqCst)
    }
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
        Rec::Status(state, message) => ("status", state, message).into_bound_py_any(py),
        Rec::Log(level, message) => ("log", level, message).into_bound_py_any(py),
        Rec::MarketHours => PyTuple::new(py, ["market_hours"])?.into_bound_py_any(py),
        Rec::End => PyTuple::new(py, ["end"])?.into_bound_py_any(py),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HubClient>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_url_puts_the_token_in_the_query_on_ws() {
        assert_eq!(
            hub_url("https://h/hubs/market", "a.b-c_d"),
            "wss://h/hubs/market?access_token=a.b-c_d"
        );
        assert_eq!(
            hub_url("http://h/hubs/user?x=1", "a b/+="),
            "ws://h/hubs/user?x=1&access_token=a+b%2F%2B%3D"
        );
        assert_eq!(hub_url("ws://h", "t"), "ws://h?access_token=t");
    }

    #[test]
    fn backoff_follows_the_schedule_then_repeats_the_last() {
        let d: Vec<Duration> = [0.5, 1.0, 2.0]
            .iter()
            .map(|s| Duration::from_secs_f64(*s))
            .collect();
        let got: Vec<f64> = (0..5).map(|a| backoff(&d, a).as_secs_f64()).collect();
        assert_eq!(got, vec![0.5, 1.0, 2.0, 2.0, 2.0]);
        assert_eq!(backoff(&[], 3), Duration::from_secs(1));
    }

    #[test]
    fn watchdog_period_is_a_quarter_of_the_limit_within_bounds() {
        assert_eq!(watch_period(0.3), Duration::from_secs_f64(0.075));
        assert_eq!(watch_period(0.1), Duration::from_secs_f64(0.05));
        assert_eq!(watch_period(30.0), Duration::from_secs(1));
    }

    fn conn() -> (Arc<Conn>, mpsc::UnboundedReceiver<Message>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let c = Conn {
            gen: 1,
            closed: AtomicBool::new(false),
            acks: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            tx,
            reader: Mutex::new(None),
        };
        (Arc::new(c), rx)
    }

    #[test]
    fn handle_routes_completions_counts_malformed_and_never_panics() {
        let shared = Shared::new(None);
        let (c, _rx) = conn();
        let (ack_tx, mut ack_rx) = oneshot::channel();
        c.acks.lock().unwrap().insert("7".into(), ack_tx);
        let mut framer = Framer::default();
        let mut decoder = Decoder::new();
        let mut feed = |data: &[u8]| handle(data, &shared, &c, &mut framer, &mut decoder);
        assert_eq!(feed(b"{}\x1e"), Ok(None)); // handshake
        assert_eq!(
            feed(b"{\"type\":3,\"invocationId\":\"7\",\"error\":\"no\"}\x1e"),
            Ok(None)
        );
        assert_eq!(ack_rx.try_recv(), Ok(Some("no".into())));
        // Truncated, wrong types, unknown targets, a split frame: skipped or buffered, never a panic.
        assert_eq!(
            feed(b"{\"type\":1,\"target\":\"GatewayQuote\",\"argu\x1e"),
            Ok(None)
        );
        assert_eq!(
            feed(b"{\"type\":1,\"target\":\"Nope\",\"arguments\":[1]}\x1e"),
            Ok(None)
        );
        assert_eq!(feed(b"{\"type\":1,\"target\":\"GatewayUserOrder\",\"arguments\":[[{\"id\":\"x\"}]]}\x1e"), Ok(None));
        assert_eq!(
            feed(b"{\"type\":1,\"target\":\"GatewayUserAccount\",\"argum"),
            Ok(None)
        );
        assert_eq!(
            feed(b"ents\":[{\"id\":1,\"name\":\"A\",\"balance\":1,\"canTrade\":true}]}\x1e"),
            Ok(None)
        );
        assert_eq!(
            feed(b"{\"type\":7,\"error\":\"bye\"}\x1e"),
            Ok(Some("bye".into()))
        );
        let queue = std::mem::take(&mut shared.state.lock().unwrap().queue);
        let bad: u64 = queue
            .iter()
            .map(|r| if let Rec::Malformed(n) = r { *n } else { 0 })
            .sum();
        assert_eq!(bad, 2);
        assert!(queue
            .iter()
            .any(|r| matches!(r, Rec::Account(a) if a.id == 1)));
    }

    #[test]
    fn every_frame_touches_the_frame_clock_only_events_the_event_clock() {
        let shared = Shared::new(None);
        let (c, _rx) = conn();
        let mut framer = Framer::default();
        let mut decoder = Decoder::new();
        let clocks = |s: &Shared| {
            (
                s.frames.load(Ordering::SeqCst),
                s.last_frame_ns.load(Ordering::SeqCst),
                s.last_event_ns.load(Ordering::SeqCst),
            )
        };
        let mut feed = |data: &[u8]| handle(data, &shared, &c, &mut framer, &mut decoder);
        assert_eq!(feed(b"{}\x1e"), Ok(None)); // handshake
        assert_eq!(feed(b"{\"type\":6}\x1e"), Ok(None)); // a keep-alive ping
        let (n, frame, event) = clocks(&shared);
        assert_eq!((n, event), (2, 0));
        assert!(frame > 0);
        // Two pings and half a completion: two frames now, the rest when it is whole.
        assert_eq!(
            feed(b"{\"type\":6}\x1e{\"type\":6}\x1e{\"type\":3,"),
            Ok(None)
        );
        let (n, later, event) = clocks(&shared);
        assert_eq!((n, event), (4, 0));
        assert!(later >= frame);
        assert_eq!(feed(b"\"invocationId\":\"9\"}\x1e"), Ok(None));
        assert_eq!(clocks(&shared).0, 5);
        assert_eq!(clocks(&shared).2, 0); // pings and completions are not events
        assert_eq!(
            feed(b"{\"type\":1,\"target\":\"GatewayUserAccount\",\"arguments\":[{\"id\":1,\"name\":\"A\",\"balance\":1,\"canTrade\":true}]}\x1e"),
            Ok(None)
        );
        let (n, frame, event) = clocks(&shared);
        assert_eq!(n, 6);
        assert!(event > 0 && frame >= later);
        // Nothing framed (a partial frame): no clock moves.
        assert_eq!(feed(b"{\"type\":"), Ok(None));
        assert_eq!(clocks(&shared), (6, frame, event));
    }

    #[test]
    fn a_closed_connection_resolves_invocations_as_lost() {
        let (c, mut rx) = conn();
        assert!(c.close());
        assert!(!c.close());
        assert!(matches!(rx.try_recv(), Ok(Message::Close(None))));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let got = rt.block_on(c.invoke("Sub", &serde_json::json!([1]), Duration::from_secs(1)));
        assert_eq!(got.as_deref(), Some(LOST));
    }

    // ---- supervision against a minimal SignalR hub on a local socket ----

    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

    #[derive(Debug, PartialEq)]
    enum Seen {
        Conn(usize, String),
        Invoke(usize, String, serde_json::Value),
    }

    struct Hub {
        url: String,
        seen: mpsc::UnboundedReceiver<Seen>,
        refuse: Arc<AtomicU64>,
        kill: watch::Sender<u64>,
    }

    /// Answers the handshake and every invocation (an error for target "Bad"); `refuse` makes the
    /// next accepts fail at the socket; `kill` drops every open connection.
    #[allow(clippy::result_large_err)] // tungstenite's handshake callback signature
    async fn hub() -> Hub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hubs/market", listener.local_addr().unwrap());
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let refuse = Arc::new(AtomicU64::new(0));
        let (kill, _) = watch::channel(0u64);
        let (r, k) = (refuse.clone(), kill.clone());
        tokio::spawn(async move {
            let mut n = 0usize;
            while let Ok((stream, _)) = listener.accept().await {
                if r.load(Ordering::SeqCst) > 0 {
                    r.fetch_sub(1, Ordering::SeqCst);
                    drop(stream);
                    continue;
                }
                let (idx, seen_tx, mut kill_rx) = (n, seen_tx.clone(), k.subscribe());
                n += 1;
                tokio::spawn(async move {
                    let mut uri = String::new();
                    let cb = |req: &Request, resp: Response| {
                        uri = req.uri().to_string();
                        Ok(resp)
                    };
                    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, cb).await else {
                        return;
                    };
                    let _ = seen_tx.send(Seen::Conn(idx, uri));
                    let (mut sink, mut rx) = ws.split();
                    loop {
                        let msg = tokio::select! {
                            m = rx.next() => m,
                            _ = kill_rx.changed() => return,
                        };
                        let Some(Ok(Message::Text(text))) = msg else {
                            return;
                        };
                        for frame in text.as_str().split('\u{1e}').filter(|f| !f.is_empty()) {
                            let v: serde_json::Value = serde_json::from_str(frame).unwrap();
                            let reply = if v.get("protocol").is_some() {
                                "{}".to_string()
                            } else if v["type"] == 1 {
                                let target = v["target"].as_str().unwrap().to_string();
                                let id = v["invocationId"].clone();
                                let reply = if target == "Bad" {
                                    serde_json::json!({"type": 3, "invocationId": id, "error": "refused"})
                                } else {
                                    serde_json::json!({"type": 3, "invocationId": id})
                                };
                                let _ =
                                    seen_tx.send(Seen::Invoke(idx, target, v["arguments"].clone()));
                                reply.to_string()
                            } else {
                                continue;
                            };
                            if sink
                                .send(Message::Text(format!("{reply}\u{1e}").into()))
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Hub {
            url,
            seen,
            refuse,
            kill,
        }
    }

    fn client(url: &str, stale_after_s: Option<f64>) -> (Arc<Client>, Arc<AtomicU64>) {
        client_with(url, stale_after_s, None)
    }

    fn client_with(
        url: &str,
        stale_after_s: Option<f64>,
        keepalive_stale_s: Option<f64>,
    ) -> (Arc<Client>, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let token: TokenFn =
            Box::new(move || Ok(format!("t{}", c.fetch_add(1, Ordering::SeqCst) + 1)));
        let cfg = Config {
            url: url.to_string(),
            hub: "Market".into(),
            timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(10),
            delays: vec![Duration::from_millis(10), Duration::from_millis(20)],
            stale_after_s,
            keepalive_stale_s,
        };
        (Arc::new(Client::new(cfg, token, None)), calls)
    }

    const GUARD: Duration = Duration::from_secs(10); // against hanging only

    /// Take records until one matches `pred`; every record taken is appended to `log`.
    async fn until(c: &Client, log: &mut Vec<Rec>, pred: impl Fn(&Rec) -> bool) {
        let wait = async {
            loop {
                let notified = c.shared.notify.notified();
                let batch = std::mem::take(&mut c.shared.state.lock().unwrap().queue);
                let hit = batch.iter().any(&pred);
                log.extend(batch);
                if hit {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(GUARD, wait)
            .await
            .expect("record never came");
    }

    async fn seen(h: &mut Hub) -> Seen {
        tokio::time::timeout(GUARD, h.seen.recv())
            .await
            .unwrap()
            .unwrap()
    }

    fn status(state: &'static str) -> impl Fn(&Rec) -> bool {
        move |r| matches!(r, Rec::Status(s, _) if *s == state)
    }

    fn states(log: &[Rec]) -> Vec<&'static str> {
        log.iter()
            .filter_map(|r| {
                if let Rec::Status(s, _) = r {
                    Some(*s)
                } else {
                    None
                }
            })
            .collect()
    }

    fn sub(
        c: &Arc<Client>,
        method: &str,
        args: serde_json::Value,
    ) -> impl std::future::Future<Output = Option<String>> {
        c.remember(method, "k", &args);
        c.clone()
            .subscribe(method.to_string(), "k".to_string(), args)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reconnects_with_backoff_a_fresh_token_and_every_subscription() {
        let mut h = hub().await;
        let (c, tokens) = client(&h.url, None);
        c.clone().start().await.unwrap();
        assert_eq!(
            seen(&mut h).await,
            Seen::Conn(0, "/hubs/market?access_token=t1".into())
        );
        assert_eq!(
            sub(&c, "SubscribeContractTrades", serde_json::json!(["C"])).await,
            None
        );
        assert_eq!(
            sub(&c, "Bad", serde_json::json!([1])).await.as_deref(),
            Some("refused")
        );
        for _ in 0..2 {
            assert!(matches!(seen(&mut h).await, Seen::Invoke(0, _, _)));
        }
        // Two refused attempts, then back: the token is read again and the subscription renewed
        // (the refused one was forgotten).
        h.refuse.store(2, Ordering::SeqCst);
        h.kill.send_modify(|g| *g += 1);
        let mut log = Vec::new();
        until(&c, &mut log, status("reconnected")).await;
        let token = format!("t{}", tokens.load(Ordering::SeqCst));
        assert_eq!(
            seen(&mut h).await,
            Seen::Conn(1, format!("/hubs/market?access_token={token}"))
        );
        assert_eq!(
            seen(&mut h).await,
            Seen::Invoke(
                1,
                "SubscribeContractTrades".into(),
                serde_json::json!(["C"])
            )
        );
        assert_eq!(tokens.load(Ordering::SeqCst), 4);
        assert_eq!(
            states(&log),
            vec!["connected", "disconnected", "reconnected"]
        );
        let attempts = log
            .iter()
            .filter(|r| matches!(r, Rec::Log(LOG_WARNING, m) if m.contains("(attempt ")))
            .count();
        assert_eq!(attempts, 2);
        assert_eq!(c.connects.load(Ordering::SeqCst), 2);
        assert!(c.connected());
        c.stop();
        until(&c, &mut log, |r| matches!(r, Rec::End)).await;
        assert!(!c.connected());
        assert!(c.clone().start().await.is_err()); // stopped for good
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn watchdog_asks_for_market_hours_then_alerts_and_reconnects() {
        let mut h = hub().await;
        let (c, _) = client(&h.url, Some(0.2));
        c.clone().start().await.unwrap();
        let _ = seen(&mut h).await;
        sub(&c, "SubscribeContractQuotes", serde_json::json!(["C"])).await;
        let _ = seen(&mut h).await;
        let mut log = Vec::new();
        let verdict = |open: bool| {
            let tx = c
                .verdict
                .lock()
                .unwrap()
                .take()
                .expect("a question is pending");
            tx.send(open).unwrap();
        };
        // Market closed: nothing happens, the watchdog asks again.
        until(&c, &mut log, |r| matches!(r, Rec::MarketHours)).await;
        verdict(false);
        until(&c, &mut log, |r| matches!(r, Rec::MarketHours)).await;
        assert_eq!(c.stale.load(Ordering::SeqCst), 0);
        // Market open: a stale alert and a forced reconnect with the subscription renewed.
        verdict(true);
        until(&c, &mut log, status("reconnected")).await;
        assert_eq!(states(&log), vec!["connected", "stale", "reconnected"]);
        assert!(
            matches!(&log.iter().find(|r| matches!(r, Rec::Status("stale", _))), Some(Rec::Status(_, m)) if m.starts_with("Market feed silent for "))
        );
        assert_eq!(c.stale.load(Ordering::SeqCst), 1);
        assert!(matches!(seen(&mut h).await, Seen::Conn(1, _)));
        assert!(
            matches!(seen(&mut h).await, Seen::Invoke(1, m, _) if m == "SubscribeContractQuotes")
        );
        c.stop();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keepalive_watchdog_rebuilds_a_hub_that_sends_no_frame_at_any_hour() {
        // This hub never pings: with nothing subscribed and no market-hours question asked, the
        // keep-alive watchdog raises a stale alert and reconnects.
        let mut h = hub().await;
        let (c, _) = client_with(&h.url, None, Some(0.2));
        c.clone().start().await.unwrap();
        assert!(matches!(seen(&mut h).await, Seen::Conn(0, _)));
        let mut log = Vec::new();
        until(&c, &mut log, status("reconnected")).await;
        assert_eq!(states(&log), vec!["connected", "stale", "reconnected"]);
        assert!(
            matches!(&log.iter().find(|r| matches!(r, Rec::Status("stale", _))), Some(Rec::Status(_, m)) if m.contains("not even a keep-alive ping"))
        );
        assert!(!log.iter().any(|r| matches!(r, Rec::MarketHours)));
        assert!(c.stale.load(Ordering::SeqCst) >= 1);
        assert!(matches!(seen(&mut h).await, Seen::Conn(1, _)));
        c.stop();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn token_change_rebuilds_with_the_new_token() {
        let mut h = hub().await;
        let (c, _) = client(&h.url, None);
        c.clone().start().await.unwrap();
        let _ = seen(&mut h).await;
        c.token_changed();
        let mut log = Vec::new();
        until(&c, &mut log, status("token_refreshed")).await;
        assert_eq!(
            states(&log),
            vec!["connected", "reconnected", "token_refreshed"]
        );
        assert_eq!(
            seen(&mut h).await,
            Seen::Conn(1, "/hubs/market?access_token=t2".into())
        );
        assert_eq!(c.connects.load(Ordering::SeqCst), 2);
        c.stop();
        c.token_changed(); // after stop: nothing
        until(&c, &mut log, |r| matches!(r, Rec::End)).await;
        assert_eq!(states(&log).last(), Some(&"token_refreshed"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_first_connect_is_an_error_not_a_retry() {
        let h = hub().await;
        h.refuse.store(1, Ordering::SeqCst);
        let (c, tokens) = client(&h.url, None);
        assert!(c
            .clone()
            .start()
            .await
            .unwrap_err()
            .contains("hub connect failed"));
        assert_eq!(tokens.load(Ordering::SeqCst), 1);
        let bad = Arc::new(Client::new(
            Config {
                url: h.url.clone(),
                hub: "Market".into(),
                timeout: Duration::from_secs(5),
                keep_alive: Duration::from_secs(10),
                delays: vec![],
                stale_after_s: None,
                keepalive_stale_s: None,
            },
            Box::new(|| Err("logged out".into())),
            None,
        ));
        let err = Arc::clone(&bad).start().await.unwrap_err();
        assert!(err.contains("no session token (logged out)"), "{err}");
    }
}
