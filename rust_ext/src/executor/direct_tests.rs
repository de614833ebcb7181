//! The caller's-thread transport against a scripted keep-alive server of the test's own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

/// One request's treatment: wait `delay`, write `answer` (raw bytes, possibly in two writes split
/// at `split`), then keep the connection or close it.
#[derive(Clone)]
struct Turn {
    delay: Duration,
    answer: String,
    split: Option<usize>,
    close: bool,
}

fn turn(answer: &str) -> Turn {
    Turn {
        delay: Duration::ZERO,
        answer: answer.to_string(),
        split: None,
        close: false,
    }
}

fn json(status: u16, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
}

struct Script {
    url: String,
    /// Connections accepted.
    accepted: Arc<AtomicUsize>,
    /// Request bodies, in arrival order.
    bodies: Arc<Mutex<Vec<String>>>,
}

fn read_request(sock: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Some(text[end + 4..end + 4 + len].to_string());
            }
        }
    }
}

/// Serves `turns` in order, over as many connections as the client makes.
fn serve(turns: Vec<Turn>) -> Script {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let (a, b) = (accepted.clone(), bodies.clone());
    std::thread::spawn(move || {
        let mut turns = turns.into_iter();
        let mut next = turns.next();
        while next.is_some() {
            let Ok((mut sock, _)) = listener.accept() else {
                return;
            };
            a.fetch_add(1, Ordering::SeqCst);
            while let Some(t) = next.clone() {
                let Some(body) = read_request(&mut sock) else {
                    break; // the client closed this connection: the turn waits for the next one
                };
                b.lock().unwrap().push(body);
                std::thread::sleep(t.delay);
                let bytes = t.answer.as_bytes();
                match t.split {
                    Some(at) => {
                        let _ = sock.write_all(&bytes[..at]);
                        let _ = sock.flush();
                        std::thread::sleep(Duration::from_millis(20));
                        let _ = sock.write_all(&bytes[at..]);
                    }
                    None => {
                        let _ = sock.write_all(bytes);
                    }
                }
                next = turns.next();
                if t.close {
                    break;
                }
            }
        }
    });
    Script {
        url,
        accepted,
        bodies,
    }
}

fn direct(url: &str, budget_ms: u64) -> Arc<Direct> {
    Arc::new(
        Direct::for_base(
            url,
            Duration::from_millis(budget_ms),
            Duration::from_secs(5),
        )
        .unwrap(),
    )
}

fn done(step: Step) -> Attempt {
    match step {
        Step::Done(a) => a,
        Step::Later(_) => panic!("answered later, expected within the budget"),
        Step::NotServed => panic!("not served"),
    }
}

const OK: &str = r#"{"success":true,"errorCode":0,"orderId":7}"#;

#[test]
fn an_answer_within_the_budget_comes_back_on_this_thread_and_the_connection_serves_again() {
    let s = serve(vec![turn(&json(200, "", OK)), turn(&json(200, "", OK))]);
    let d = direct(&s.url, 2_000);
    let mut sent = 0;
    let a = done(d.attempt("/api/Order/place", "tok", br#"{"a":1}"#, &mut sent));
    assert!(matches!(a, Attempt::Answer(e) if e.success && e.order_id == Some(7)));
    assert!(sent > 0);
    let a = done(d.attempt("/api/Order/cancel", "tok", br#"{"b":2}"#, &mut 0));
    assert!(matches!(a, Attempt::Answer(_)));
    assert_eq!(
        s.accepted.load(Ordering::SeqCst),
        1,
        "one keep-alive connection"
    );
    assert_eq!(*s.bodies.lock().unwrap(), vec![r#"{"a":1}"#, r#"{"b":2}"#]);
}

#[test]
fn a_connection_the_server_closed_while_idle_is_replaced_before_the_request() {
    let mut first = turn(&json(200, "", OK));
    first.close = true; // answered, then closed without a Connection: close header
    let s = serve(vec![first, turn(&json(200, "", OK))]);
    let d = direct(&s.url, 2_000);
    assert!(matches!(
        done(d.attempt("/p", "t", b"{}", &mut 0)),
        Attempt::Answer(_)
    ));
    // Until the close is visible on this side.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !d
        .idle
        .lock()
        .unwrap()
        .as_ref()
        .is_some_and(|c| readable(&c.stream, Duration::ZERO))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the server's close never showed"
        );
        std::thread::yield_now();
    }
    // Not an uncertain outcome: a new connection, one request on it.
    assert!(matches!(
        done(d.attempt("/p", "t", b"{}", &mut 0)),
        Attempt::Answer(_)
    ));
    assert_eq!(s.accepted.load(Ordering::SeqCst), 2);
    assert_eq!(s.bodies.lock().unwrap().len(), 2);
}

#[test]
fn an_answer_later_than_the_budget_is_finished_off_this_thread_and_nothing_is_sent_twice() {
    let mut slow = turn(&json(200, "", OK));
    slow.delay = Duration::from_millis(50);
    let s = serve(vec![slow]);
    let d = direct(&s.url, 1);
    let Step::Later(rest) = d.attempt("/p", "t", b"{}", &mut 0) else {
        panic!("expected the answer later");
    };
    let a = std::thread::spawn(rest).join().unwrap();
    assert!(matches!(a, Attempt::Answer(e) if e.order_id == Some(7)));
    assert_eq!(s.bodies.lock().unwrap().len(), 1);
}

#[test]
fn a_chunked_answer_split_across_writes_is_read_whole() {
    let body = r#"{"success":true,"errorCode":0,"orderId":9}"#;
    let chunked = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
        10,
        &body[..10],
        body.len() - 10,
        &body[10..]
    );
    let mut t = turn(&chunked);
    t.split = Some(chunked.len() - 12);
    let s = serve(vec![t]);
    let d = direct(&s.url, 2_000);
    let a = done(d.attempt("/p", "t", b"{}", &mut 0));
    assert!(
        matches!(a, Attempt::Answer(ref e) if e.order_id == Some(9)),
        "{a:?}"
    );
}

#[test]
fn an_interim_answer_before_the_answer_is_passed_over() {
    let hints = format!(
        "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n{}",
        json(200, "", OK)
    );
    let s = serve(vec![turn(&hints)]);
    let d = direct(&s.url, 2_000);
    let a = done(d.attempt("/p", "t", b"{}", &mut 0));
    assert!(
        matches!(a, Attempt::Answer(ref e) if e.order_id == Some(7)),
        "{a:?}"
    );
}

#[test]
fn statuses_are_classified_as_on_the_default_transport() {
    let s = serve(vec![
        turn(&json(401, "", "")),
        turn(&json(429, "Retry-After: 2\r\n", "")),
        turn(&json(503, "", "")),
        turn(&json(404, "", "gone")),
        turn(&json(200, "", "{not json")),
    ]);
    let d = direct(&s.url, 2_000);
    let go = || done(d.attempt("/p", "t", b"{}", &mut 0));
    assert!(matches!(go(), Attempt::Unauthorized));
    assert!(matches!(go(), Attempt::Throttled(Some(x)) if x == 2.0));
    assert!(matches!(go(), Attempt::Lost(m) if m.contains("503")));
    assert!(matches!(go(), Attempt::Status(404, t) if t == "gone"));
    assert!(matches!(go(), Attempt::BadAnswer(_)));
}

#[test]
fn a_connection_dropped_before_the_answer_is_an_unknown_outcome() {
    let mut t = turn("");
    t.close = true;
    let s = serve(vec![t]);
    let d = direct(&s.url, 2_000);
    let a = done(d.attempt("/p", "t", b"{}", &mut 0));
    assert!(matches!(a, Attempt::Lost(_)), "{a:?}");
}

#[test]
fn nothing_listening_is_not_served_and_nothing_is_sent() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let d = direct(&url, 2_000);
    let mut sent = 0;
    assert!(matches!(
        d.attempt("/p", "t", b"{}", &mut sent),
        Step::NotServed
    ));
    assert_eq!(sent, 0);
}

#[test]
fn only_plain_http_gateways_by_address_are_served_and_a_path_prefix_is_kept() {
    let b = Duration::from_millis(1);
    let t = Duration::from_secs(1);
    assert!(Direct::for_base("https://gateway.example.com", b, t).is_none());
    assert!(Direct::for_base("https://127.0.0.1:443", b, t).is_none());
    // A host name would be looked up on the caller's thread: not served.
    assert!(Direct::for_base("http://gateway.example.com:8080", b, t).is_none());
    assert!(Direct::for_base("http://localhost:8080", b, t).is_some());
    assert!(Direct::for_base("http://[::1]:8080", b, t).is_some());
    assert!(Direct::for_base("http://127.0.0.1:80", Duration::ZERO, t).is_none());
    let d = Direct::for_base("http://10.0.0.1/gw/", b, t).unwrap();
    let request = d.request("/p", "t", b"");
    assert!(request.starts_with(b"POST /gw/p HTTP/1.1\r\nHost: 10.0.0.1:80\r\n"));
}

#[test]
fn after_budgets_missed_in_a_row_calls_go_the_default_way_but_for_a_probe() {
    let d = direct("http://127.0.0.1:9", 1);
    d.slow_in_a_row.store(SLOW_IN_A_ROW, Ordering::Relaxed);
    let wanted = (0..PROBE_EVERY * 2).filter(|_| d.wanted()).count();
    assert_eq!(wanted, 2);
    d.slow_in_a_row.store(0, Ordering::Relaxed);
    assert!(d.wanted());
}

#[test]
fn chunk_decoding_handles_trailers_partial_input_and_junk() {
    assert_eq!(
        dechunk(b"3\r\nabc\r\n0\r\n\r\n").unwrap(),
        Some(b"abc".to_vec())
    );
    assert_eq!(
        dechunk(b"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n").unwrap(),
        Some(b"abc".to_vec())
    );
    assert_eq!(dechunk(b"3\r\nab").unwrap(), None);
    assert_eq!(dechunk(b"3\r\nabc\r\n0\r\n").unwrap(), None);
    assert!(dechunk(b"zz\r\n").is_err());
    assert!(dechunk(b"3\r\nabcXY0\r\n\r\n").is_err());
}

#[test]
fn the_request_is_written_as_before_and_lengths_in_decimal() {
    let d = Direct::for_base(
        "http://127.0.0.1:9/gw/",
        Duration::from_millis(2),
        Duration::from_secs(1),
    )
    .unwrap();
    let body = br#"{"accountId":1,"orderId":2}"#;
    let before = format!(
        "POST {}{} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        "/gw", "/api/Order/cancel", "127.0.0.1:9", "tok", body.len()
    );
    let mut expected = before.into_bytes();
    expected.extend_from_slice(body);
    assert_eq!(d.request("/api/Order/cancel", "tok", body), expected);
    for n in [0usize, 1, 9, 10, 99, 100, 4096, 65535, usize::MAX] {
        assert_eq!(decimal(n, &mut [0; 20]), n.to_string().as_bytes());
    }
}

#[test]
fn an_answer_larger_than_the_read_buffer_is_read_whole() {
    let big = format!(
        r#"{{"success":true,"errorCode":0,"errorMessage":"{}"}}"#,
        "x".repeat(3 * READ_BUF)
    );
    let s = serve(vec![turn(&json(200, "", &big)), turn(&json(200, "", OK))]);
    let d = direct(&s.url, 2_000);
    let a = done(d.attempt("/p", "t", b"{}", &mut 0));
    assert!(
        matches!(a, Attempt::Answer(e) if e.error_message.as_ref().map(String::len) == Some(3 * READ_BUF))
    );
    // The connection (and its grown buffer) serves the next call.
    assert!(matches!(
        done(d.attempt("/p", "t", b"{}", &mut 0)),
        Attempt::Answer(_)
    ));
    assert_eq!(s.accepted.load(Ordering::SeqCst), 1);
}

/// An executor on `url` (reqwest's pool on `rt`), for `here::first_here`.
fn executor(rt: &tokio::runtime::Runtime, url: &str) -> Arc<crate::executor::policy::Executor> {
    let _in = rt.enter();
    let schedule = crate::executor::timing::RetrySchedule::from_secs(&[0.001]);
    Arc::new(
        crate::executor::policy::Executor::new(
            url,
            "t".into(),
            None,
            schedule,
            Duration::from_secs(5),
            4,
        )
        .unwrap(),
    )
}

#[test]
fn first_here_answered_within_the_budget_is_the_result_itself() {
    use crate::executor::here::{first_here, Tried};
    use crate::executor::mutation::Mutation;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = serve(vec![turn(&json(200, "", OK))]);
    let ex = executor(&rt, &s.url);
    let Tried::Answered(r) = first_here(&ex, &direct(&s.url, 2_000), Mutation::cancel(1, 2)) else {
        panic!("expected the answer on this thread");
    };
    assert_eq!(
        (r.outcome, r.attempts),
        (crate::executor::models::Outcome::Ok, 1)
    );
    assert!(r.sent_ns > 0);
    assert_eq!(
        *s.bodies.lock().unwrap(),
        vec![r#"{"accountId":1,"orderId":2}"#]
    );
}

#[test]
fn first_here_late_or_unserved_is_finished_by_the_rest_and_sent_once() {
    use crate::executor::here::{first_here, Tried};
    use crate::executor::mutation::Mutation;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut slow = turn(&json(200, "", OK));
    slow.delay = Duration::from_millis(50);
    let s = serve(vec![slow]);
    let ex = executor(&rt, &s.url);
    let Tried::Rest(rest) = first_here(&ex, &direct(&s.url, 1), Mutation::cancel(1, 2)) else {
        panic!("expected the answer later");
    };
    let r = rt.block_on(rest);
    assert_eq!(
        (r.outcome, r.attempts),
        (crate::executor::models::Outcome::Ok, 1)
    );
    assert!(r.sent_ns > 0);
    assert_eq!(s.bodies.lock().unwrap().len(), 1, "sent once");
    // Nothing listening: nothing sent here, the whole call on the runtime (which fails to connect).
    let gone = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", gone.local_addr().unwrap());
    drop(gone);
    let ex = executor(&rt, &url);
    let Tried::Rest(rest) = first_here(&ex, &direct(&url, 2_000), Mutation::cancel(1, 2)) else {
        panic!("nothing listening cannot be answered here");
    };
    assert_ne!(
        rt.block_on(rest).outcome,
        crate::executor::models::Outcome::Ok
    );
}
