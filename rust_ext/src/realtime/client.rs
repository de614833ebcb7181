//! The supervised hub client, the twin of `realtime.py`'s: the access token is read from a token
//! provider at every (re)connect and put in the URL; a lost connection is reported (disconnected)
//! and rebuilt with backoff, every remembered subscription re-invoked before `reconnected` is
//! reported; `token_changed` rebuilds in the background (token_refreshed); the stale-feed watchdog
//! (no event for `stale_after_s` while something is subscribed) asks the consumer whether the
//! market is open (a `Record::MarketHours` answered by `market_hours(open)`, so the predicate runs
//! where the consumer lives), then raises a stale alert and forces a reconnect. The keep-alive
//! watchdog (`keepalive_stale_s`) watches FRAMES instead of events: every frame the hub sends
//! (events, completions, the type 6 pings it sends every few seconds even when nothing happens)
//! touches a second clock; none for that long means a silently stalled socket, at any hour, and is
//! answered the same way (stale alert, forced reconnect) without asking about market hours.
//! Reconnects are serialised by one lock, as in the Python twin; status and log lines are queued
//! as records with the events, in order.
//!
//! Over 500 lines on purpose: connect, loss, rebuild and the watchdogs share one lock, one
//! connection generation and one stop signal; split apart, those invariants would be spread.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::connection::{self, hub_url, Conn, LOST};
use super::handler::Shared;
use super::loop_conn::{LoopConn, Opened};
use super::messages::{HubState, Record, LOG_INFO, LOG_WARNING};

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

/// How a client connects and watches its hub.
pub struct Config {
    /// The hub's http(s) URL (the token goes in its query).
    pub url: String,
    /// The hub's name in status messages ("Market", "User").
    pub hub: String,
    /// Connect, handshake and invocation time limit.
    pub timeout: Duration,
    /// Ping period.
    pub keep_alive: Duration,
    /// Reconnect delays (the last repeats).
    pub delays: Vec<Duration>,
    pub stale_after_s: Option<f64>,
    pub keepalive_stale_s: Option<f64>,
}

/// Reads the current access token (called at every connect).
pub type TokenFn = Box<dyn Fn() -> Result<String, String> + Send + Sync>;

/// A supervised hub client. `Client::new(cfg, token, runtime)`, then `start()`.
pub struct Client {
    shared: Shared,
    cfg: Config,
    runtime: Handle,
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
    /// Plain ws:// hubs are read on the event loop's thread (`read_on_loop`).
    on_loop: AtomicBool,
    /// The last connection made for the loop's thread, until it takes it.
    loop_conn: Mutex<Option<LoopConn>>,
}

impl Client {
    fn status(&self, state: HubState, message: String) {
        self.shared.push(vec![Record::Status(state, message)]);
    }

    fn log(&self, level: i64, message: String) {
        self.shared.push(vec![Record::Log(level, message)]);
    }

    /// The queue, per-contract state and clocks.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    pub fn connected(&self) -> bool {
        self.open_conn().is_some()
    }

    /// Successful connections so far (the first one included).
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::SeqCst)
    }

    /// Stale alerts raised by the watchdogs.
    pub fn stale_alerts(&self) -> u64 {
        self.stale.load(Ordering::SeqCst)
    }

    /// The current connection when it is open.
    fn open_conn(&self) -> Option<Arc<Conn>> {
        self.conn
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .filter(|c| !c.is_closed())
    }

    pub fn is_stopping(&self) -> bool {
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

    /// A client whose background tasks (rebuilds asked from outside the runtime) go to `runtime`.
    pub fn new(cfg: Config, token: TokenFn, runtime: Handle) -> Self {
        let (stop_tx, _) = watch::channel(false);
        Client {
            shared: Shared::default(),
            cfg,
            runtime,
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
            on_loop: AtomicBool::new(false),
            loop_conn: Mutex::new(None),
        }
    }

    /// First connection (no retry: the caller decides), then `connected` and the watchdog.
    pub async fn start(self: Arc<Self>) -> Result<(), String> {
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
        self.status(
            HubState::Connected,
            format!("{} feed connected", self.cfg.hub),
        );
        if self.cfg.stale_after_s.is_some() || self.cfg.keepalive_stale_s.is_some() {
            let handle = tokio::spawn(self.clone().watch());
            if let Ok(mut t) = self.tasks.lock() {
                t.watchdog = Some(handle);
            }
        }
        Ok(())
    }

    /// Remember a subscription (replacing the arguments of the same method and key, in place).
    pub fn remember(&self, method: &str, key: &str, args: &serde_json::Value) {
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
    pub async fn subscribe(
        self: Arc<Self>,
        method: String,
        key: String,
        args: serde_json::Value,
    ) -> Option<String> {
        let conn = self.open_conn()?;
        let err = conn.invoke(&method, &args, self.cfg.timeout).await;
        if err.as_deref().is_some_and(|e| e != LOST) {
            if let Ok(mut subs) = self.subs.lock() {
                subs.retain(|s| !(s.method == method && s.key == key));
            }
        }
        err
    }

    /// Forget a subscription now; the future returned invokes `unmethod` when it was remembered
    /// and we are connected.
    pub fn unsubscribe(
        self: &Arc<Self>,
        method: &str,
        unmethod: String,
        key: &str,
        args: serde_json::Value,
    ) -> impl Future<Output = Option<String>> + Send + 'static {
        let removed = self
            .subs
            .lock()
            .map(|mut subs| {
                let n = subs.len();
                subs.retain(|s| !(s.method == method && s.key == key));
                subs.len() != n
            })
            .unwrap_or(false);
        let me = self.clone();
        async move {
            match me.open_conn() {
                Some(conn) if removed => conn.invoke(&unmethod, &args, me.cfg.timeout).await,
                _ => None,
            }
        }
    }

    /// The answer to a `Record::MarketHours`: is the market open now?
    pub fn market_hours(&self, open: bool) {
        if let Some(tx) = self.verdict.lock().ok().and_then(|mut v| v.take()) {
            let _ = tx.send(open);
        }
    }

    /// A new token was issued: rebuild in the background; reports `token_refreshed` after.
    pub fn token_changed(self: &Arc<Self>) {
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
                    HubState::TokenRefreshed,
                    format!("{} feed reconnected with a fresh token", task.cfg.hub),
                );
            }
        };
        tasks.rebuilder = Some(self.runtime.spawn(job));
    }

    /// Build one connection with the current token and re-invoke every subscription. With
    /// `read_on_loop` and a plain ws:// hub, the socket is left for the event loop's thread to
    /// read (`take_loop_conn`); otherwise a reader task reads it.
    async fn connect_once(self: &Arc<Self>) -> Result<(), String> {
        let token = self.token()?;
        let url = hub_url(&self.cfg.url, &token);
        let conn = if self.on_loop.load(Ordering::SeqCst) && url.starts_with("ws://") {
            let opened = Opened::open(&url, self.cfg.timeout).await?;
            let (sink, socket) = opened.write_half().await?;
            let conn = self.install(sink).await?;
            conn.set_socket(socket);
            if let Ok(mut slot) = self.loop_conn.lock() {
                *slot = Some(LoopConn::new(conn.clone(), opened));
            }
            self.shared.wake_loop();
            conn
        } else {
            let (ws, first) = connection::open(&url, self.cfg.timeout).await?;
            let (sink, rx) = ws.split();
            let conn = self.install(sink).await?;
            let task = tokio::spawn(connection::reader(rx, self.clone(), conn.clone(), first));
            conn.set_reader(task);
            conn
        };
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

    /// The new connection's `Conn` made current, and its writer task started on `sink`.
    async fn install<S>(self: &Arc<Self>, mut sink: S) -> Result<Arc<Conn>, String>
    where
        S: futures_util::Sink<Message> + Unpin + Send + 'static,
    {
        let (tx, out_rx) = mpsc::unbounded_channel::<Message>();
        let gen = self.gen.fetch_add(1, Ordering::SeqCst) + 1;
        let conn = Arc::new(Conn::new(gen, tx));
        {
            let mut slot = self.conn.lock().map_err(|_| "poisoned".to_string())?;
            if self.is_stopping() {
                drop(slot);
                conn.close();
                let _ = tokio::time::timeout(self.cfg.timeout, sink.close()).await;
                return Err("stopped".into());
            }
            *slot = Some(conn.clone());
        }
        tokio::spawn(connection::writer(
            sink,
            out_rx,
            self.cfg.keep_alive,
            self.cfg.keep_alive.max(self.cfg.timeout),
            self.clone(),
            conn.clone(),
        ));
        Ok(conn)
    }

    /// From the next connection on, a plain ws:// hub's socket is read on the event loop's thread.
    pub fn read_on_loop(&self) {
        self.on_loop.store(true, Ordering::SeqCst);
    }

    /// The connection made for the loop's thread to read, once (None when none is waiting).
    pub fn take_loop_conn(&self) -> Option<LoopConn> {
        self.loop_conn.lock().ok().and_then(|mut c| c.take())
    }

    /// Drop the current connection (its late reports are ignored: a new generation).
    fn drop_conn(&self) {
        let conn = self.conn.lock().ok().and_then(|mut c| c.take());
        self.gen.fetch_add(1, Ordering::SeqCst);
        if let Some(conn) = conn {
            conn.shut();
        }
    }

    async fn connect_with_backoff(self: &Arc<Self>, reason: &str) {
        let mut attempt = 0usize;
        while !self.is_stopping() {
            match self.connect_once().await {
                Ok(()) => {
                    self.status(
                        HubState::Reconnected,
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

    pub async fn reconnect(self: &Arc<Self>, reason: &str) {
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
    pub fn lost(self: &Arc<Self>, conn: &Arc<Conn>, reason: String) {
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
            HubState::Disconnected,
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
        // On the runtime's handle: a connection the loop's thread reads is lost outside the runtime.
        tasks.supervisors.push(self.runtime.spawn(async move {
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
            self.shared.push(vec![Record::MarketHours]);
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
        self.status(HubState::Stale, message);
        self.reconnect(&reason).await;
    }

    /// Stop for good: tasks ended, connection closed; the queue ends with `Record::End`.
    pub fn stop(&self) {
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
        self.shared.push(vec![Record::End]);
    }
}

#[cfg(test)]
mod tests;
