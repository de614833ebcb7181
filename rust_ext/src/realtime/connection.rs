//! One websocket connection to a hub (tokio-tungstenite): open it and do the handshake, a writer
//! task (outgoing frames and keep-alive pings, every send time-limited), a reader task that frames,
//! decodes and queues what comes in, and invocations that wait for their completion.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::client::Client;
use super::handler::Shared;
use super::messages::Record;
use super::parse::{Decoded, Decoder};
use crate::common::time::now_ns;
use crate::common::wire::{HANDSHAKE_REQUEST, HUB_ACCESS_TOKEN_PARAM, PING_FRAME};
use crate::signalr::frames;
use crate::signalr::framing::Framer;
use crate::signalr::handshake::Handshake;

/// What an invocation resolves to when no completion came (connection lost, time-out).
pub const LOST: &str = "lost";

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One websocket connection: its writer channel and the invocations waiting for a completion.
pub struct Conn {
    /// The client's connection generation it was made in (late reports of older ones are ignored).
    pub gen: u64,
    closed: AtomicBool,
    acks: Mutex<HashMap<String, oneshot::Sender<Option<String>>>>,
    next_id: AtomicU64,
    tx: mpsc::UnboundedSender<Message>,
    /// The reader task: aborted when we drop the connection (a stalled socket never wakes it).
    reader: Mutex<Option<JoinHandle<()>>>,
    /// The socket, when the event loop's thread reads it (`loop_conn`): shut down when we drop the
    /// connection, so that reader sees the end at once, even of a stalled socket.
    socket: Mutex<Option<std::net::TcpStream>>,
}

impl Conn {
    /// A connection whose outgoing frames go to `tx` (the writer task's channel).
    pub fn new(gen: u64, tx: mpsc::UnboundedSender<Message>) -> Self {
        Conn {
            gen,
            closed: AtomicBool::new(false),
            acks: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            tx,
            reader: Mutex::new(None),
            socket: Mutex::new(None),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Mark closed (once): every waiting invocation resolves as lost. True the first time.
    pub fn close(&self) -> bool {
        if self.closed.swap(true, Ordering::SeqCst) {
            return false;
        }
        if let Ok(mut acks) = self.acks.lock() {
            acks.clear(); // dropping the senders resolves every waiting invoke as lost
        }
        let _ = self.tx.send(Message::Close(None));
        true
    }

    pub fn set_reader(&self, task: JoinHandle<()>) {
        if let Ok(mut r) = self.reader.lock() {
            *r = Some(task);
        }
    }

    pub fn set_socket(&self, socket: std::net::TcpStream) {
        if let Ok(mut s) = self.socket.lock() {
            *s = Some(socket);
        }
    }

    /// Answer a websocket ping (through the writer task).
    pub fn pong(&self, payload: tokio_tungstenite::tungstenite::Bytes) {
        let _ = self.tx.send(Message::Pong(payload));
    }

    /// Close, and end the reader (it may be waiting on a stalled socket): the reader task is
    /// aborted; a socket the loop's thread reads is shut down, which that reader sees as its end.
    pub fn shut(&self) {
        self.close();
        if let Some(task) = self.reader.lock().ok().and_then(|mut r| r.take()) {
            task.abort();
        }
        if let Some(socket) = self.socket.lock().ok().and_then(|mut s| s.take()) {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }

    /// The completion of invocation `id` came, with the hub's error if any.
    fn complete(&self, id: &str, err: Option<String>) {
        if let Some(tx) = self.acks.lock().ok().and_then(|mut a| a.remove(id)) {
            let _ = tx.send(err);
        }
    }

    /// Invoke a hub method (`args` is the JSON array of arguments): None on completion, the hub's
    /// error text, or `LOST` when no completion comes in `timeout`.
    pub async fn invoke(
        &self,
        target: &str,
        args: &serde_json::Value,
        timeout: Duration,
    ) -> Option<String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let (ack_tx, ack_rx) = oneshot::channel();
        if let Ok(mut acks) = self.acks.lock() {
            acks.insert(id.clone(), ack_tx);
        }
        let sent = !self.is_closed()
            && self
                .tx
                .send(Message::Text(frames::invocation(&id, target, args).into()))
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
/// The consumer is woken, and with `wake_loop` also an event loop that takes its batches on its
/// own thread (not needed when that thread is the one reading).
pub fn handle(
    data: &[u8],
    shared: &Shared,
    conn: &Conn,
    framer: &mut Framer,
    decoder: &mut Decoder,
    wake_loop: bool,
) -> Option<String> {
    let seen = now_ns(); // the frame is off the socket: before any framing or decoding
    let mut recs = Vec::new();
    let before = decoder.stats.malformed;
    let mut close: Option<String> = None;
    let mut events = false;
    let mut frames = 0u64;
    let mut after = Vec::new();
    let queued;
    {
        let mut st = shared.state();
        framer.feed(data, |frame| {
            frames += 1; // any frame, pings included: the keep-alive watchdog's clock
            match decoder.decode(frame) {
                Decoded::Events(ev) => {
                    events = true;
                    st.handler.absorb(ev, &mut recs)
                }
                Decoded::Completion(Some(id), err) => conn.complete(&id, err),
                Decoded::Close(err) => {
                    close = Some(err.unwrap_or_else(|| "closed by the hub".into()))
                }
                _ => {}
            }
        });
        // Bad frames and bad items inside arrays, counted alike (unknown targets are not).
        let malformed = decoder.stats.malformed - before;
        if malformed > 0 {
            recs.push(Record::Malformed(malformed));
        }
        // Before the records are queued: the consumer cannot see a quote the hook has not.
        shared.tell_hook(&recs, seen, &mut after);
        if !recs.is_empty() && st.seen_ns == 0 {
            st.seen_ns = seen;
        }
        queued = !recs.is_empty();
        st.queue.extend(recs);
    }
    if frames > 0 {
        shared.touch_frame(frames);
    }
    if events {
        shared.touch();
    }
    shared.notify.notify_one();
    if wake_loop && queued {
        shared.wake_loop();
    }
    for run in after {
        run();
    }
    close
}

/// One websocket message from the hub (either reader's): data framed, decoded and queued
/// (`handle`), a ping answered through the writer; the reason when the connection ends.
pub fn message(
    msg: Message,
    shared: &Shared,
    conn: &Conn,
    framer: &mut Framer,
    decoder: &mut Decoder,
    wake_loop: bool,
) -> Option<String> {
    match msg {
        Message::Text(t) => handle(t.as_bytes(), shared, conn, framer, decoder, wake_loop),
        Message::Binary(b) => handle(&b, shared, conn, framer, decoder, wake_loop),
        Message::Ping(p) => {
            conn.pong(p);
            None
        }
        Message::Close(_) => Some("closed by the hub".to_string()),
        _ => None,
    }
}

/// The reader task: `first` is what came after the handshake answer.
pub async fn reader<S>(mut rx: S, client: Arc<Client>, conn: Arc<Conn>, first: Vec<u8>)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut framer = Framer::default();
    let mut decoder = Decoder::after_handshake();
    let shared = client.shared();
    let mut close = if first.is_empty() {
        None
    } else {
        handle(&first, shared, &conn, &mut framer, &mut decoder, true)
    };
    let reason = loop {
        if let Some(reason) = close {
            break reason;
        }
        close = match rx.next().await {
            None => break "connection closed".to_string(),
            Some(Err(e)) => break format!("connection error: {e}"),
            Some(Ok(msg)) => message(msg, shared, &conn, &mut framer, &mut decoder, true),
        };
    };
    client.lost(&conn, reason);
}

/// The writer task: frames from the connection's channel, and a ping every `keep_alive`. A peer
/// that stops reading must not hold it forever: every send has a time limit (`limit`).
pub async fn writer<S>(
    mut sink: S,
    mut out_rx: mpsc::UnboundedReceiver<Message>,
    keep_alive: Duration,
    limit: Duration,
    client: Arc<Client>,
    conn: Arc<Conn>,
) where
    S: futures_util::Sink<Message> + Unpin,
{
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

/// Open the websocket and do the SignalR handshake; what came after the answer is returned for
/// the reader.
pub async fn open(url: &str, timeout: Duration) -> Result<(Ws, Vec<u8>), String> {
    let (mut ws, _) = tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url))
        .await
        .map_err(|_| "hub connect timed out".to_string())?
        .map_err(|e| format!("hub connect failed: {e}"))?;
    ws.send(Message::Text(HANDSHAKE_REQUEST.into()))
        .await
        .map_err(|e| format!("handshake send failed: {e}"))?;
    let mut handshake = Handshake::default();
    loop {
        let msg = tokio::time::timeout(timeout, ws.next())
            .await
            .map_err(|_| "no handshake answer in time".to_string())?;
        let answer = match msg {
            Some(Ok(Message::Text(t))) => handshake.feed(t.as_bytes()),
            Some(Ok(Message::Binary(b))) => handshake.feed(&b),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("handshake failed: {e}")),
            None => return Err("closed during the handshake".into()),
        };
        if let Some(rest) = answer {
            return Ok((ws, rest?));
        }
    }
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

    fn conn() -> (Arc<Conn>, mpsc::UnboundedReceiver<Message>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Arc::new(Conn::new(1, tx)), rx)
    }

    #[test]
    fn handle_routes_completions_counts_malformed_and_never_panics() {
        let shared = Shared::default();
        let (c, _rx) = conn();
        let (ack_tx, mut ack_rx) = oneshot::channel();
        c.acks.lock().unwrap().insert("7".into(), ack_tx);
        let mut framer = Framer::default();
        let mut decoder = Decoder::new();
        let mut feed = |data: &[u8]| handle(data, &shared, &c, &mut framer, &mut decoder, true);
        assert_eq!(feed(b"{}\x1e"), None); // handshake
        assert_eq!(
            feed(b"{\"type\":3,\"invocationId\":\"7\",\"error\":\"no\"}\x1e"),
            None
        );
        assert_eq!(ack_rx.try_recv(), Ok(Some("no".into())));
        // Truncated, wrong types, unknown targets, a split frame: skipped or buffered, never a panic.
        assert_eq!(
            feed(b"{\"type\":1,\"target\":\"GatewayQuote\",\"argu\x1e"),
            None
        );
        assert_eq!(
            feed(b"{\"type\":1,\"target\":\"Nope\",\"arguments\":[1]}\x1e"),
            None
        );
        assert_eq!(feed(b"{\"type\":1,\"target\":\"GatewayUserOrder\",\"arguments\":[[{\"id\":\"x\"}]]}\x1e"), None);
        assert_eq!(
            feed(b"{\"type\":1,\"target\":\"GatewayUserAccount\",\"argum"),
            None
        );
        assert_eq!(
            feed(b"ents\":[{\"id\":1,\"name\":\"A\",\"balance\":1,\"canTrade\":true}]}\x1e"),
            None
        );
        assert_eq!(
            feed(b"{\"type\":7,\"error\":\"bye\"}\x1e"),
            Some("bye".into())
        );
        let queue = std::mem::take(&mut shared.state().queue);
        let bad: u64 = queue
            .iter()
            .map(|r| if let Record::Malformed(n) = r { *n } else { 0 })
            .sum();
        assert_eq!(bad, 2);
        assert!(queue
            .iter()
            .any(|r| matches!(r, Record::Account(a) if a.id == 1)));
    }

    #[tokio::test]
    async fn a_batch_carries_when_its_oldest_frame_came_off_the_socket() {
        let shared = Shared::default();
        let (c, _rx) = conn();
        let mut framer = Framer::default();
        let mut decoder = Decoder::new();
        let mut feed = |data: &[u8]| handle(data, &shared, &c, &mut framer, &mut decoder, true);
        let quote =
            b"{\"type\":1,\"target\":\"GatewayQuote\",\"arguments\":[\"A\",{\"bestBid\":1}]}\x1e";
        feed(b"{}\x1e"); // the handshake: nothing queued, no stamp
        assert_eq!(shared.state().seen_ns, 0);
        let before = now_ns();
        feed(quote);
        let first = shared.state().seen_ns;
        assert!(first >= before, "{first} < {before}");
        feed(quote); // a later frame of the same batch keeps the oldest stamp
        let (batch, seen) = shared.next_batch_seen().await;
        assert_eq!((batch.len(), seen), (2, first));
        assert_eq!(shared.state().seen_ns, 0); // taken with the batch
    }

    #[test]
    fn every_frame_touches_the_frame_clock_only_events_the_event_clock() {
        let shared = Shared::default();
        let (c, _rx) = conn();
        let mut framer = Framer::default();
        let mut decoder = Decoder::new();
        let clocks = Shared::clocks;
        let mut feed = |data: &[u8]| handle(data, &shared, &c, &mut framer, &mut decoder, true);
        assert_eq!(feed(b"{}\x1e"), None); // handshake
        assert_eq!(feed(b"{\"type\":6}\x1e"), None); // a keep-alive ping
        let (n, frame, event) = clocks(&shared);
        assert_eq!((n, event), (2, 0));
        assert!(frame > 0);
        // Two pings and half a completion: two frames now, the rest when it is whole.
        assert_eq!(feed(b"{\"type\":6}\x1e{\"type\":6}\x1e{\"type\":3,"), None);
        let (n, later, event) = clocks(&shared);
        assert_eq!((n, event), (4, 0));
        assert!(later >= frame);
        assert_eq!(feed(b"\"invocationId\":\"9\"}\x1e"), None);
        assert_eq!(clocks(&shared).0, 5);
        assert_eq!(clocks(&shared).2, 0); // pings and completions are not events
        assert_eq!(
            feed(b"{\"type\":1,\"target\":\"GatewayUserAccount\",\"arguments\":[{\"id\":1,\"name\":\"A\",\"balance\":1,\"canTrade\":true}]}\x1e"),
            None
        );
        let (n, frame, event) = clocks(&shared);
        assert_eq!(n, 6);
        assert!(event > 0 && frame >= later);
        // Nothing framed (a partial frame): no clock moves.
        assert_eq!(feed(b"{\"type\":"), None);
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
}
