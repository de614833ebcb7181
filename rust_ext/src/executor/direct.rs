//! The caller's-thread transport: one HTTP/1.1 attempt on a blocking socket, answered on the
//! thread that asked (the event loop's) when the answer comes within a budget.
//!
//! Why: the default transport (`transport.rs`, reqwest on the shared tokio runtime) costs two
//! cross-thread wake-ups per call (the loop's thread -> the parked tokio worker, the worker -> the
//! loop's selector); on this kind of machine (a VM, two CPUs) waking a sleeping thread costs
//! 100-250 µs, more than the rest of the order path. Here the request is written from the caller's
//! thread and the answer wakes that thread straight from the socket, as a blocking socket would.
//!
//! The price is that the caller's thread is held while it waits: at most `budget`. If the answer
//! has not come by then, the rest of the read (`Step::Later`) is finished off the caller's thread
//! (the executor runs it on tokio's blocking pool) and the call goes on as on the default path:
//! nothing is sent twice or dropped. After `SLOW_IN_A_ROW` answers in a row missed the budget
//! (a gateway farther away than it), calls go the default way at once, and every `PROBE_EVERY`th
//! call tries again.
//!
//! Plain `http://` gateways named by an IP address or localhost only (the simulator, a gateway on
//! the same host or LAN): an `https://` gateway is 20-50 ms away, where no budget worth holding an
//! event loop for is met, and a host name would need a lookup that can hold the loop for seconds;
//! those keep the default transport (`Direct::for_base` gives None).
//!
//! One keep-alive connection is kept. Before a kept connection is used it is polled without
//! waiting: readable means the server closed it (or sent something unasked): it is dropped and a new
//! one made, so a connection closed while idle never costs an uncertain outcome. A connection that
//! cannot be made within the budget serves nothing (`Step::NotServed`: nothing was sent).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::transport::{answered, early, parse_retry_after, Attempt};
use crate::common::time::now_ns;

/// Budget misses in a row after which calls go the default way at once.
const SLOW_IN_A_ROW: u32 = 3;
/// While they do, every this many calls tries the budget again.
const PROBE_EVERY: u32 = 64;
/// How far a read's wait may differ from what is left of its deadline before it is set again.
const SLACK: Duration = Duration::from_micros(200);
/// Largest answer head accepted (the gateway's are a few hundred bytes).
const MAX_HEAD: usize = 64 * 1024;

/// What one try on the caller's thread gave.
pub enum Step {
    /// Nothing was sent (no connection within the budget, a gateway this transport does not
    /// serve): serve the call another way.
    NotServed,
    /// The attempt's outcome, within the budget.
    Done(Attempt),
    /// Sent, the answer not in yet: the rest of the read (blocking, up to the request timeout).
    Later(Box<dyn FnOnce() -> Attempt + Send>),
}

/// A plain-HTTP gateway reached on a blocking socket.
pub struct Direct {
    /// Where it is (resolved once: an IP address or localhost).
    addrs: Vec<SocketAddr>,
    /// The base URL's path ("" or "/prefix"), put before each call's path.
    prefix: String,
    /// The request line's end and the head up to the token, with the Host header (`host:port`);
    /// see `request`.
    host_line: String,
    budget: Duration,
    timeout: Duration,
    idle: Mutex<Option<Conn>>,
    slow_in_a_row: AtomicU32,
    calls: AtomicU32,
    /// Calls answered within the budget, finished later, not served (for the operator's view).
    pub counts: [AtomicU64; 3],
}

/// The answer's head, as far as this transport needs it.
struct Head {
    status: u16,
    body: Body,
    close: bool,
    retry_after: Option<f64>,
}

enum Body {
    Length(usize),
    Chunked,
    UntilClose,
}

/// A connection and its read buffer, zeroed once when the connection is made and reused by every
/// answer read on it (no buffer to allocate or clear per call).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// The read buffer's first size (the gateway's answers are a few hundred bytes); it grows for a
/// larger answer.
const READ_BUF: usize = 8192;

/// A request sent on `conn`, its answer being read into `conn.buf` (its first `filled` bytes).
struct Reading {
    conn: Conn,
    filled: usize,
    /// The socket's receive timeout as set now.
    timeout: Duration,
    /// The request's own deadline (the executor's timeout).
    deadline: Instant,
}

impl Direct {
    /// For a plain `http://host[:port][/prefix]` base URL; None for anything else.
    pub fn for_base(base: &str, budget: Duration, timeout: Duration) -> Option<Direct> {
        let rest = base.strip_prefix("http://")?;
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || budget.is_zero() {
            return None;
        }
        let authority = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        // An address, or localhost: resolved here once, never by a name lookup on the caller's
        // thread (a slow resolver would hold the event loop).
        let host = authority.rsplit_once(':').map_or("", |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.parse::<std::net::IpAddr>().is_err() && !host.eq_ignore_ascii_case("localhost") {
            return None;
        }
        let addrs: Vec<SocketAddr> = authority.to_socket_addrs().ok()?.collect();
        if addrs.is_empty() {
            return None;
        }
        Some(Direct {
            addrs,
            host_line: format!(" HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer "),
            prefix: prefix.to_string(),
            budget,
            timeout,
            idle: Mutex::new(None),
            slow_in_a_row: AtomicU32::new(0),
            calls: AtomicU32::new(0),
            counts: Default::default(),
        })
    }

    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// Should this call try the caller's thread (see the module notes)?
    pub fn wanted(&self) -> bool {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        self.slow_in_a_row.load(Ordering::Relaxed) < SLOW_IN_A_ROW || n % PROBE_EVERY == 0
    }

    /// One attempt: POST `body` (JSON) to `path`. `sent_ns`, when 0, gets the wall-clock time the
    /// request is handed to the socket.
    pub fn attempt(
        self: &Arc<Self>,
        path: &str,
        token: &str,
        body: &[u8],
        sent_ns: &mut i64,
    ) -> Step {
        self.send(&self.request(path, token, body), sent_ns)
    }

    /// The request's bytes: POST `body` (JSON) to `path` with `token`.
    pub fn request(&self, path: &str, token: &str, body: &[u8]) -> Vec<u8> {
        const TAIL: &[u8] =
            b"\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: ";
        let mut digits = [0u8; 20];
        let length = decimal(body.len(), &mut digits);
        let parts: [&[u8]; 9] = [
            b"POST ",
            self.prefix.as_bytes(),
            path.as_bytes(),
            self.host_line.as_bytes(),
            token.as_bytes(),
            TAIL,
            length,
            b"\r\n\r\n",
            body,
        ];
        let mut request = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            request.extend_from_slice(p);
        }
        request
    }

    /// One attempt with the request's bytes (`request`).
    pub fn send(self: &Arc<Self>, request: &[u8], sent_ns: &mut i64) -> Step {
        let start = Instant::now();
        let kept = self.take_idle();
        let (mut conn, reused) = match kept {
            Some(c) => (c, true),
            None => match self.connect(self.budget) {
                Some(c) => (c, false),
                None => return Step::NotServed,
            },
        };
        if *sent_ns == 0 {
            *sent_ns = now_ns();
        }
        if let Err(e) = conn.stream.write_all(request) {
            // A kept connection the server dropped between the check and the write: it read
            // nothing of this request. Once more on a new one.
            if !reused {
                return Step::Done(Attempt::Lost(format!("connection dropped ({e})")));
            }
            match self.connect(self.budget) {
                Some(c) => conn = c,
                None => return Step::NotServed,
            }
            if let Err(e) = conn.stream.write_all(request) {
                return Step::Done(Attempt::Lost(format!("connection dropped ({e})")));
            }
        }
        let mut reading = Reading {
            conn,
            filled: 0,
            timeout: self.budget,
            deadline: start + self.timeout,
        };
        match reading.answer(start + self.budget) {
            Some(result) => {
                self.slow_in_a_row.store(0, Ordering::Relaxed);
                Step::Done(self.finish(reading, result))
            }
            None => {
                self.slow_in_a_row.fetch_add(1, Ordering::Relaxed);
                let me = self.clone();
                Step::Later(Box::new(move || {
                    let deadline = reading.deadline;
                    match reading.answer(deadline) {
                        Some(result) => me.finish(reading, result),
                        None => Attempt::Lost("no answer in time".into()),
                    }
                }))
            }
        }
    }

    /// Count how an attempt went (`counts`).
    pub fn count(&self, step: &Step) {
        let k = match step {
            Step::Done(_) => 0,
            Step::Later(_) => 1,
            Step::NotServed => 2,
        };
        self.counts[k].fetch_add(1, Ordering::Relaxed);
    }

    /// The attempt from a read's result; the connection kept when it can serve again.
    fn finish(&self, reading: Reading, result: Result<(Head, Vec<u8>), String>) -> Attempt {
        match result {
            Ok((head, bytes)) => {
                if !head.close && !matches!(head.body, Body::UntilClose) {
                    let ready = reading.timeout == self.budget
                        || reading
                            .conn
                            .stream
                            .set_read_timeout(Some(self.budget))
                            .is_ok();
                    if ready {
                        self.keep(reading.conn);
                    }
                }
                let retry_after = head.retry_after;
                early(head.status, || retry_after).unwrap_or_else(|| answered(head.status, &bytes))
            }
            Err(e) => Attempt::Lost(e),
        }
    }

    fn take_idle(&self) -> Option<Conn> {
        let conn = self.idle.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        // Readable while idle: closed by the server (or junk): not usable.
        (!readable(&conn.stream, Duration::ZERO)).then_some(conn)
    }

    fn keep(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.is_none() {
            *idle = Some(conn);
        }
    }

    fn connect(&self, within: Duration) -> Option<Conn> {
        let stream = self
            .addrs
            .iter()
            .find_map(|a| TcpStream::connect_timeout(a, within).ok())?;
        stream.set_nodelay(true).ok()?;
        stream.set_read_timeout(Some(self.budget)).ok()?;
        Some(Conn {
            stream,
            buf: vec![0; READ_BUF],
        })
    }
}

impl Reading {
    /// Read until the answer is whole (Some(Ok)), the connection fails (Some(Err): sent, the
    /// answer lost) or `until` passes (None: still readable later).
    fn answer(&mut self, until: Instant) -> Option<Result<(Head, Vec<u8>), String>> {
        loop {
            if self.filled > 0 {
                if let Some(done) = complete(&self.conn.buf[..self.filled]) {
                    return Some(done);
                }
            }
            let now = Instant::now();
            let until = until.min(self.deadline);
            if now >= until {
                return if until >= self.deadline {
                    Some(Err("no answer in time".into()))
                } else {
                    None
                };
            }
            // The socket's receive timeout bounds each read: the budget from the start (set once
            // per connection); changed (a syscall) only when what is left differs from it by more
            // than `SLACK`: a late answer's wait, or one that comes in pieces.
            let wait = until - now;
            if self.timeout.abs_diff(wait) > SLACK {
                if let Err(e) = self
                    .conn
                    .stream
                    .set_read_timeout(Some(wait.max(Duration::from_micros(1))))
                {
                    return Some(Err(format!("connection unusable ({e})")));
                }
                self.timeout = wait;
            }
            let buf = &mut self.conn.buf;
            if self.filled == buf.len() {
                buf.resize(buf.len().max(READ_BUF) * 2, 0);
            }
            match self.conn.stream.read(&mut buf[self.filled..]) {
                Ok(0) => {
                    let got = &buf[..self.filled];
                    return Some(match parse_head(got) {
                        Ok(Some((head, at))) if matches!(head.body, Body::UntilClose) => {
                            Ok((head, got[at..].to_vec()))
                        }
                        _ => Err("connection closed before the answer".into()),
                    });
                }
                Ok(n) => self.filled += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::WouldBlock | ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Some(Err(format!("connection dropped ({e})"))),
            }
        }
    }
}

/// Wait up to `within` for `stream` to be readable (data, a close or an error).
fn readable(stream: &TcpStream, within: Duration) -> bool {
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: within.as_secs() as libc::time_t,
        tv_nsec: within.subsec_nanos() as libc::c_long,
    };
    // SAFETY: one valid pollfd for the call's duration, a valid timespec, no signal mask.
    let n = unsafe { libc::ppoll(&mut fd, 1, &ts, std::ptr::null()) };
    n > 0 && fd.revents != 0
}

/// The whole answer in `buf`, if it is there (an error for an answer that cannot be read). Interim
/// answers (1xx: nothing asked for one, but a server may send 103 Early Hints) are passed over.
fn complete(mut buf: &[u8]) -> Option<Result<(Head, Vec<u8>), String>> {
    let (head, at) = loop {
        match parse_head(buf) {
            Ok(Some((h, at))) if (100..200).contains(&h.status) => buf = &buf[at..],
            Ok(Some(h)) => break h,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        }
    };
    let rest = &buf[at..];
    match head.body {
        Body::Length(n) if rest.len() >= n => Some(Ok((head, rest[..n].to_vec()))),
        Body::Length(_) | Body::UntilClose => None,
        Body::Chunked => match dechunk(rest) {
            Ok(Some(body)) => Some(Ok((head, body))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        },
    }
}

/// The answer's head and where its body starts; None while incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let mut resp = httparse::Response::new(&mut headers);
    let at = match resp.parse(buf) {
        Ok(httparse::Status::Complete(at)) => at,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err("unreadable answer: head too large".into())
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("unreadable answer: {e}")),
    };
    let status = resp.code.unwrap_or(0);
    let mut head = Head {
        status,
        body: Body::UntilClose,
        close: resp.version == Some(0),
        retry_after: None,
    };
    // A header's value is read as text only for the headers this transport looks at.
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let value = text(h.value);
            let n = value
                .parse::<usize>()
                .map_err(|_| format!("unreadable answer: Content-Length {value:?}"))?;
            if !matches!(head.body, Body::Chunked) {
                head.body = Body::Length(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if text(h.value).to_ascii_lowercase().ends_with("chunked") {
                head.body = Body::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            head.close = text(h.value).eq_ignore_ascii_case("close");
        } else if h.name.eq_ignore_ascii_case("retry-after") {
            head.retry_after = parse_retry_after(text(h.value));
        }
    }
    // No body by definition.
    if status == 204 || status == 304 || (100..200).contains(&status) {
        head.body = Body::Length(0);
    }
    Ok(Some((head, at)))
}

fn text(v: &[u8]) -> &str {
    std::str::from_utf8(v).unwrap_or("").trim()
}

/// `n` in decimal ASCII, written into the end of `out`.
fn decimal(mut n: usize, out: &mut [u8; 20]) -> &[u8] {
    let mut at = out.len();
    loop {
        at -= 1;
        out[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &out[at..];
        }
    }
}

/// A chunked body decoded, once its last chunk (and trailers) are in; None while incomplete.
fn dechunk(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let (start, size) = match httparse::parse_chunk_size(data) {
            Ok(httparse::Status::Complete(x)) => x,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err("unreadable answer: bad chunk size".into()),
        };
        let size = usize::try_from(size).map_err(|_| "unreadable answer: chunk too large")?;
        data = &data[start..];
        if size == 0 {
            // Trailers (ignored) end with an empty line.
            let mut rest = data;
            loop {
                match rest.iter().position(|b| *b == b'\n') {
                    None => return Ok(None),
                    Some(0) => return Ok(Some(body)),
                    Some(1) if rest[0] == b'\r' => return Ok(Some(body)),
                    Some(i) => rest = &rest[i + 1..],
                }
            }
        }
        if data.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&data[..size]);
        if &data[size..size + 2] != b"\r\n" {
            return Err("unreadable answer: bad chunk end".into());
        }
        data = &data[size + 2..];
    }
}

#[cfg(test)]
#[path = "direct_tests.rs"]
mod tests;
