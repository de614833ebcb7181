use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

use super::*;
use crate::realtime::messages::Record;

const QUOTE: &str =
    "{\"type\":1,\"target\":\"GatewayQuote\",\"arguments\":[\"A\",{\"lastPrice\":1}]}\x1e";

type Script = Box<dyn FnOnce(&mut WebSocket<TcpStream>) + Send>;

/// A hub on a thread: accepts one connection, reads the SignalR handshake request, runs `script`
/// (which answers it or not), then keeps the socket open until the client goes.
fn hub(script: Script) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(sock).unwrap();
        let request = ws.read().unwrap();
        assert!(request.to_text().unwrap().contains("\"protocol\":\"json\""));
        script(&mut ws);
        while ws.read().is_ok() {}
    });
    format!("ws://127.0.0.1:{port}/hubs/market?access_token=t")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Opened, with its `Conn` (the writer's channel kept by the test) and the socket to shut.
fn open(url: &str) -> (LoopConn, mpsc::UnboundedReceiver<Message>, TcpStream) {
    let rt = runtime();
    let (opened, socket) = rt.block_on(async {
        let opened = Opened::open(url, Duration::from_secs(5)).await.unwrap();
        let (_w, socket) = opened.write_half().await.unwrap();
        (opened, socket)
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let conn = Arc::new(Conn::new(1, tx));
    (LoopConn::new(conn, opened), rx, socket)
}

/// Wait (up to 5 s) until `fd` is readable, as the loop's selector would.
fn readable(fd: RawFd) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    assert_eq!(unsafe { libc::poll(&mut p, 1, 5000) }, 1, "never readable");
}

fn quotes(shared: &Shared) -> usize {
    let queue = &shared.state().queue;
    queue
        .iter()
        .filter(|r| matches!(r, Record::Quote(..)))
        .count()
}

/// Read turns until `done` holds or the connection ends: the first at once (as the loop does when
/// it takes a new connection: what came early may be buffered already), each next one when the
/// socket is readable.
fn read_until(c: &mut LoopConn, shared: &Shared, done: impl Fn(&Shared) -> bool) -> Step {
    loop {
        if let Step::Ended(reason) = c.read_ready(shared) {
            return Step::Ended(reason);
        }
        if done(shared) {
            return Step::Drained;
        }
        readable(c.fd());
    }
}

#[test]
fn what_came_with_the_handshake_answer_is_read_first() {
    let url = hub(Box::new(|ws| {
        // The answer and a quote in one message, a second quote right behind it: both may sit in
        // the client's buffers before the loop reads the socket at all.
        ws.write(Message::Text(format!("{{}}\x1e{QUOTE}").into()))
            .unwrap();
        ws.write(Message::Text(QUOTE.into())).unwrap();
        ws.flush().unwrap();
    }));
    let (mut c, _rx, _s) = open(&url);
    let shared = Shared::default();
    assert_eq!(
        read_until(&mut c, &shared, |s| quotes(s) == 2),
        Step::Drained
    );
    assert_eq!(shared.take_batch().map(|(b, _)| b.len()), Some(2));
}

#[test]
fn a_ping_is_answered_through_the_writer_and_a_close_ends_the_connection() {
    let url = hub(Box::new(|ws| {
        ws.send(Message::Text("{}\x1e".into())).unwrap();
        ws.send(Message::Ping(vec![7u8, 8].into())).unwrap();
        ws.send(Message::Close(None)).unwrap();
    }));
    let (mut c, mut rx, _s) = open(&url);
    let shared = Shared::default();
    let end = read_until(&mut c, &shared, |_| false);
    assert_eq!(end, Step::Ended("closed by the hub".into()));
    match rx.try_recv() {
        Ok(Message::Pong(p)) => assert_eq!(&p[..], &[7, 8]),
        other => panic!("no pong: {other:?}"),
    }
}

#[test]
fn a_shut_connection_ends_its_reader_even_when_the_hub_is_silent() {
    let url = hub(Box::new(|ws| {
        ws.send(Message::Text("{}\x1e".into())).unwrap();
    }));
    let (mut c, _rx, socket) = open(&url);
    let shared = Shared::default();
    assert_eq!(c.read_ready(&shared), Step::Drained);
    c.conn.set_socket(socket);
    c.conn.shut();
    // The socket is readable at once (its end), and the reader stops whatever it reads.
    readable(c.fd());
    assert!(matches!(c.read_ready(&shared), Step::Ended(_)));
}

#[test]
fn the_end_of_the_socket_ends_the_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(sock).unwrap();
        ws.read().unwrap();
        ws.send(Message::Text("{}\x1e".into())).unwrap();
        // Dropped without a close handshake.
    });
    let (mut c, _rx, _s) = open(&format!("ws://127.0.0.1:{port}/h"));
    let shared = Shared::default();
    assert!(matches!(
        read_until(&mut c, &shared, |_| false),
        Step::Ended(_)
    ));
}

#[test]
fn a_long_burst_yields_to_the_loop_between_turns() {
    let n = MESSAGES_PER_TURN + 88;
    let (go, went) = std::sync::mpsc::channel::<()>();
    let url = hub(Box::new(move |ws| {
        ws.send(Message::Text("{}\x1e".into())).unwrap();
        went.recv().unwrap(); // the burst only once the client has finished its handshake
        for _ in 0..n {
            ws.write(Message::Text(QUOTE.into())).unwrap();
        }
        ws.flush().unwrap();
    }));
    let (mut c, _rx, _s) = open(&url);
    let shared = Shared::default();
    assert_eq!(c.read_ready(&shared), Step::Drained);
    go.send(()).unwrap();
    // Wait until the whole burst is in the socket, then one turn handles MESSAGES_PER_TURN only.
    let frame = 2 + QUOTE.len();
    loop {
        readable(c.fd());
        let mut waiting: libc::c_int = 0;
        unsafe { libc::ioctl(c.fd(), libc::FIONREAD, &mut waiting) };
        if waiting as usize >= n * frame {
            break;
        }
        std::thread::yield_now();
    }
    assert_eq!(c.read_ready(&shared), Step::More);
    assert_eq!(quotes(&shared), MESSAGES_PER_TURN);
    assert_eq!(c.read_ready(&shared), Step::Drained);
    assert_eq!(quotes(&shared), n);
}

#[test]
fn a_refused_or_silent_handshake_and_other_schemes_fail_clearly() {
    let rt = runtime();
    let refused = hub(Box::new(|ws| {
        ws.send(Message::Text("{\"error\":\"no\"}\x1e".into()))
            .unwrap();
    }));
    let silent = hub(Box::new(|_ws| {}));
    rt.block_on(async {
        let err = |r: Result<Opened, String>| r.err().unwrap_or_default();
        let e = err(Opened::open(&refused, Duration::from_secs(5)).await);
        assert!(e.contains("refused the handshake: no"), "{e}");
        let e = err(Opened::open(&silent, Duration::from_millis(200)).await);
        assert_eq!(e, "no handshake answer in time");
        let e = err(Opened::open("wss://127.0.0.1:1/h", Duration::from_secs(1)).await);
        assert!(e.contains("not a plain ws:// URL"), "{e}");
        let e = err(Opened::open("ws://127.0.0.1:1/h", Duration::from_secs(1)).await);
        assert!(e.starts_with("hub connect failed"), "{e}");
    });
}

/// Voluntary context switches so far of this process's threads named `name` (Linux's /proc): how
/// often they went to sleep, and so were woken.
#[cfg(target_os = "linux")]
fn switches(name: &str) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if let Some(n) = line.strip_prefix("voluntary_ctxt_switches:") {
                total += n.trim().parse::<u64>().unwrap();
            }
        }
    }
    total
}

#[cfg(target_os = "linux")]
#[test]
fn arriving_frames_wake_the_loop_only_not_tokio_and_the_writer_still_writes() {
    use futures_util::SinkExt;

    enum Cmd {
        Quote,
        Listen,
    }
    const N: u64 = 200;
    const NAME: &str = "wo-probe";
    let (cmd, cmds) = std::sync::mpsc::channel::<Cmd>();
    let (heard_tx, heard) = std::sync::mpsc::channel::<String>();
    let url = hub(Box::new(move |ws| {
        ws.send(Message::Text("{}\x1e".into())).unwrap();
        for c in cmds {
            match c {
                Cmd::Quote => ws.send(Message::Text(QUOTE.into())).unwrap(),
                Cmd::Listen => {
                    let m = ws.read().unwrap();
                    heard_tx.send(m.into_text().unwrap().to_string()).unwrap();
                }
            }
        }
    }));
    // One worker, parked in the reactor while idle, as the bot's runtime's workers are.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(NAME)
        .enable_all()
        .build()
        .unwrap();
    let opened = rt
        .block_on(Opened::open(&url, Duration::from_secs(5)))
        .unwrap();
    let (mut sink, _socket) = rt.block_on(opened.write_half()).unwrap();
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut c = LoopConn::new(Arc::new(Conn::new(1, tx)), opened);
    let shared = Shared::default();
    assert_eq!(c.read_ready(&shared), Step::Drained);
    // N quotes one at a time, each read by this thread (the loop's) before the next is sent; the
    // tokio threads' wake-ups meanwhile.
    let quotes_one_by_one = |c: &mut LoopConn| {
        let before = switches(NAME);
        for _ in 0..N {
            cmd.send(Cmd::Quote).unwrap();
            read_until(c, &shared, |s| quotes(s) == 1);
            shared.take_batch();
        }
        switches(NAME) - before
    };
    let quiet = quotes_one_by_one(&mut c);
    // The control: the same socket also registered for reading, as `tokio::net::TcpStream` would
    // (the writer's end before `write_only`): the probe sees the reactor woken per message.
    let dup = c.ws.get_ref().sock.try_clone().unwrap();
    let reads = {
        let _in = rt.enter();
        tokio::net::TcpStream::from_std(dup).unwrap()
    };
    let noisy = quotes_one_by_one(&mut c);
    drop(reads);
    assert!(
        noisy >= N / 2,
        "the control woke tokio {noisy} times for {N} quotes"
    );
    assert!(
        quiet <= N / 10,
        "tokio was woken {quiet} times for {N} quotes it never reads (control: {noisy})"
    );
    // The writer's end writes.
    rt.block_on(sink.send(Message::Text("{\"type\":6}\x1e".into())))
        .unwrap();
    cmd.send(Cmd::Listen).unwrap();
    let got = heard.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(got, "{\"type\":6}\x1e");
}
