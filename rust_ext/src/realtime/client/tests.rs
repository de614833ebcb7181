//! The supervised client against a minimal SignalR hub on a local socket.

use super::*;

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
                            let _ = seen_tx.send(Seen::Invoke(idx, target, v["arguments"].clone()));
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
    let token: TokenFn = Box::new(move || Ok(format!("t{}", c.fetch_add(1, Ordering::SeqCst) + 1)));
    let cfg = Config {
        url: url.to_string(),
        hub: "Market".into(),
        timeout: Duration::from_secs(5),
        keep_alive: Duration::from_secs(10),
        delays: vec![Duration::from_millis(10), Duration::from_millis(20)],
        stale_after_s,
        keepalive_stale_s,
    };
    (Arc::new(Client::new(cfg, token, Handle::current())), calls)
}

const GUARD: Duration = Duration::from_secs(10); // against hanging only

/// Take records until one matches `pred`; every record taken is appended to `log`.
async fn until(c: &Client, log: &mut Vec<Record>, pred: impl Fn(&Record) -> bool) {
    let wait = async {
        loop {
            let batch = c.shared.next_batch().await;
            let hit = batch.iter().any(&pred);
            log.extend(batch);
            if hit {
                return;
            }
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

fn status(state: HubState) -> impl Fn(&Record) -> bool {
    move |r| matches!(r, Record::Status(s, _) if *s == state)
}

fn states(log: &[Record]) -> Vec<&'static str> {
    log.iter()
        .filter_map(|r| {
            if let Record::Status(s, _) = r {
                Some(s.as_str())
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
    until(&c, &mut log, status(HubState::Reconnected)).await;
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
        .filter(|r| matches!(r, Record::Log(LOG_WARNING, m) if m.contains("(attempt ")))
        .count();
    assert_eq!(attempts, 2);
    assert_eq!(c.connects.load(Ordering::SeqCst), 2);
    assert!(c.connected());
    c.stop();
    until(&c, &mut log, |r| matches!(r, Record::End)).await;
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
    until(&c, &mut log, |r| matches!(r, Record::MarketHours)).await;
    verdict(false);
    until(&c, &mut log, |r| matches!(r, Record::MarketHours)).await;
    assert_eq!(c.stale.load(Ordering::SeqCst), 0);
    // Market open: a stale alert and a forced reconnect with the subscription renewed.
    verdict(true);
    until(&c, &mut log, status(HubState::Reconnected)).await;
    assert_eq!(states(&log), vec!["connected", "stale", "reconnected"]);
    assert!(
        matches!(&log.iter().find(|r| matches!(r, Record::Status(HubState::Stale, _))), Some(Record::Status(_, m)) if m.starts_with("Market feed silent for "))
    );
    assert_eq!(c.stale.load(Ordering::SeqCst), 1);
    assert!(matches!(seen(&mut h).await, Seen::Conn(1, _)));
    assert!(matches!(seen(&mut h).await, Seen::Invoke(1, m, _) if m == "SubscribeContractQuotes"));
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
    until(&c, &mut log, status(HubState::Reconnected)).await;
    assert_eq!(states(&log), vec!["connected", "stale", "reconnected"]);
    assert!(
        matches!(&log.iter().find(|r| matches!(r, Record::Status(HubState::Stale, _))), Some(Record::Status(_, m)) if m.contains("not even a keep-alive ping"))
    );
    assert!(!log.iter().any(|r| matches!(r, Record::MarketHours)));
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
    until(&c, &mut log, status(HubState::TokenRefreshed)).await;
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
    until(&c, &mut log, |r| matches!(r, Record::End)).await;
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
        Handle::current(),
    ));
    let err = Arc::clone(&bad).start().await.unwrap_err();
    assert!(err.contains("no session token (logged out)"), "{err}");
}
