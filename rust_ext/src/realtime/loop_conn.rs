//! A hub connection whose socket the event loop's own thread reads (plain `ws://` hubs only: the
//! simulator, a hub on the same host or LAN). The tokio reader's way costs two wake-ups between
//! threads per batch (the tokio worker woken by the socket, then the loop woken by the worker);
//! here the loop is woken by the socket itself (`loop.add_reader`) and Rust frames, decodes and
//! queues on that thread (`python/realtime/on_loop.rs`), exactly as the tokio reader does.
//!
//! * `open`: TCP connect, the WebSocket upgrade and the SignalR handshake on a blocking socket
//!   (tungstenite's own client handshake, on tokio's blocking pool), then the socket is made
//!   non-blocking. tungstenite keeps whatever came after the handshake in its read buffer, so
//!   nothing that came early is lost: the loop reads through the same `WebSocket`.
//! * Writing stays with the connection's writer task (pings, invocations, pongs, close), on a
//!   duplicate of the socket wrapped by tokio-tungstenite, registered with tokio for writing only
//!   (`write_only`: arriving frames must not wake tokio's reactor) and never read. The loop side never
//!   writes: the pong or close reply tungstenite makes while reading goes nowhere (`ReadSide`);
//!   the reader answers a ping through the writer instead, and a close ends the connection.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::HandshakeError;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocket};
use tokio_tungstenite::tungstenite::{self, Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::connection::{handle, message, Conn};
use super::handler::Shared;
use super::parse::Decoder;
use super::write_only::WriteOnly;
use crate::common::wire::HANDSHAKE_REQUEST;
use crate::signalr::framing::Framer;
use crate::signalr::handshake::Handshake;

/// Messages handled per call before the loop gets its turn again (`Step::More`).
const MESSAGES_PER_TURN: usize = 512;

/// The loop's side of the socket: it reads; it writes only during the handshake, then every write
/// is dropped (the writer task owns the writing).
pub struct ReadSide {
    sock: TcpStream,
    writes: bool,
}

impl Read for ReadSide {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.sock).read(buf)
    }
}

impl Write for ReadSide {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.writes {
            (&self.sock).write(buf)
        } else {
            Ok(buf.len())
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.writes {
            (&self.sock).flush()
        } else {
            Ok(())
        }
    }
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// TCP connect to `url`'s host (every address it resolves to, in turn) within `timeout` each.
fn connect(url: &str, timeout: Duration) -> Result<TcpStream, String> {
    let uri: tungstenite::http::Uri = url
        .parse()
        .map_err(|e| format!("hub connect failed: bad URL ({e})"))?;
    if uri.scheme_str() != Some("ws") {
        return Err("hub connect failed: not a plain ws:// URL".into());
    }
    let host = uri
        .host()
        .ok_or("hub connect failed: the URL has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("hub connect failed: {e}"))?;
    let mut last = "no address".to_string();
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(sock) => return Ok(sock),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!("hub connect failed: {last}"))
}

/// Blocking: connect, upgrade and do the SignalR handshake, each read and write within
/// `timeout`; the socket is left non-blocking, read side only. What came after the handshake
/// answer in its message is returned for the reader (the rest is in tungstenite's buffer).
fn open_blocking(url: &str, timeout: Duration) -> Result<(WebSocket<ReadSide>, Vec<u8>), String> {
    let sock = connect(url, timeout)?;
    let setup = |s: &TcpStream| -> io::Result<()> {
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))
    };
    setup(&sock).map_err(|e| format!("hub connect failed: {e}"))?;
    let request = url
        .into_client_request()
        .map_err(|e| format!("hub connect failed: {e}"))?;
    let side = ReadSide { sock, writes: true };
    let (mut ws, _) = tungstenite::client::client(request, side).map_err(|e| match e {
        HandshakeError::Interrupted(_) => "hub connect timed out".to_string(),
        HandshakeError::Failure(WsError::Io(e)) if timed_out(&e) => {
            "hub connect timed out".to_string()
        }
        HandshakeError::Failure(e) => format!("hub connect failed: {e}"),
    })?;
    ws.send(Message::Text(HANDSHAKE_REQUEST.into()))
        .map_err(|e| format!("handshake send failed: {e}"))?;
    let mut handshake = Handshake::default();
    let rest = loop {
        let answer = match ws.read() {
            Ok(Message::Text(t)) => handshake.feed(t.as_bytes()),
            Ok(Message::Binary(b)) => handshake.feed(&b),
            Ok(Message::Close(_)) => return Err("closed during the handshake".into()),
            Ok(_) => continue,
            Err(WsError::Io(e)) if timed_out(&e) => {
                return Err("no handshake answer in time".into())
            }
            Err(e) => return Err(format!("handshake failed: {e}")),
        };
        if let Some(rest) = answer {
            break rest?;
        }
    };
    let side = ws.get_mut();
    side.writes = false;
    let reading = |s: &TcpStream| -> io::Result<()> {
        s.set_read_timeout(None)?;
        s.set_nonblocking(true)
    };
    reading(&side.sock).map_err(|e| format!("hub connect failed: {e}"))?;
    Ok((ws, rest))
}

/// A connection opened for the loop's thread to read: hand it to `LoopConn::new` once its `Conn`
/// is made.
pub struct Opened {
    ws: WebSocket<ReadSide>,
    first: Vec<u8>,
}

/// The tokio-tungstenite stream the writer task writes through (on a duplicate of the socket,
/// registered for writing only: `write_only`), and a second duplicate for `Conn::set_socket`
/// (shut down to end the reader).
pub type WriteHalf = WebSocketStream<WriteOnly>;

impl Opened {
    /// `open_blocking` on tokio's blocking pool.
    pub async fn open(url: &str, timeout: Duration) -> Result<Self, String> {
        let url = url.to_string();
        let (ws, first) = tokio::task::spawn_blocking(move || open_blocking(&url, timeout))
            .await
            .map_err(|e| format!("hub connect failed: {e}"))??;
        Ok(Opened { ws, first })
    }

    /// The writer's stream and the socket to shut down; must run inside the runtime.
    pub async fn write_half(&self) -> Result<(WriteHalf, TcpStream), String> {
        let dup = || self.ws.get_ref().sock.try_clone();
        let (w, shut) = (dup(), dup());
        let (w, shut) = match (w, shut) {
            (Ok(w), Ok(s)) => (w, s),
            (Err(e), _) | (_, Err(e)) => return Err(format!("hub connect failed: {e}")),
        };
        let w = WriteOnly::new(w).map_err(|e| format!("hub connect failed: {e}"))?;
        Ok((
            WebSocketStream::from_raw_socket(w, Role::Client, None).await,
            shut,
        ))
    }
}

/// What a turn of reading ended with.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Everything the socket had is handled: wait until it is readable again.
    Drained,
    /// `MESSAGES_PER_TURN` handled and more may be buffered: call again after the loop's turn.
    More,
    /// The connection ended (why); the client is told by the caller.
    Ended(String),
}

/// The connection the loop's thread reads.
pub struct LoopConn {
    pub conn: Arc<Conn>,
    ws: WebSocket<ReadSide>,
    first: Vec<u8>,
    framer: Framer,
    decoder: Decoder,
}

impl LoopConn {
    pub fn new(conn: Arc<Conn>, opened: Opened) -> Self {
        LoopConn {
            conn,
            ws: opened.ws,
            first: opened.first,
            framer: Framer::default(),
            decoder: Decoder::after_handshake(),
        }
    }

    /// The descriptor the loop watches for reading.
    pub fn fd(&self) -> RawFd {
        self.ws.get_ref().sock.as_raw_fd()
    }

    /// Read and handle what the socket has now (non-blocking), queueing records on `shared`.
    pub fn read_ready(&mut self, shared: &Shared) -> Step {
        if self.conn.is_closed() {
            return Step::Ended("connection closed".into());
        }
        if !self.first.is_empty() {
            let first = std::mem::take(&mut self.first);
            let (framer, decoder) = (&mut self.framer, &mut self.decoder);
            if let Some(reason) = handle(&first, shared, &self.conn, framer, decoder, false) {
                return Step::Ended(reason);
            }
        }
        for _ in 0..MESSAGES_PER_TURN {
            let closed = match self.ws.read() {
                Ok(msg) => {
                    let (framer, decoder) = (&mut self.framer, &mut self.decoder);
                    message(msg, shared, &self.conn, framer, decoder, false)
                }
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Step::Drained
                }
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => None,
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                    Some("connection closed".to_string())
                }
                Err(e) => Some(format!("connection error: {e}")),
            };
            if let Some(reason) = closed {
                return Step::Ended(reason);
            }
        }
        Step::More
    }
}

#[cfg(test)]
#[path = "loop_conn_tests.rs"]
mod tests;
