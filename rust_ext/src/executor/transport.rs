//! One HTTP attempt against the gateway and its classification (reqwest over rustls, one pooled
//! client: keep-alive, TCP_NODELAY); the retry/reconcile policy is in `policy.rs`. The answer's
//! classification (`early`, `answered`) is shared with the caller's-thread transport (`direct.rs`).

use std::time::Duration;

use super::models::Envelope;
use crate::common::time::now_ns;

/// What one attempt gave.
#[derive(Debug)]
pub enum Attempt {
    Answer(Envelope),
    Unauthorized,
    Throttled(Option<f64>),
    /// Never reached the server (connect failure): nothing happened.
    Unsent(String),
    /// Sent, answer lost (5xx, timeout, reset): it may have happened.
    Lost(String),
    Status(u16, String),
    BadAnswer(String),
}

pub fn build_client(timeout: Duration, max_idle: usize) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(max_idle)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_keepalive(Duration::from_secs(30))
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .build()
}

/// A Retry-After header's value in seconds (the delay form; a date or junk is no value).
pub fn parse_retry_after(v: &str) -> Option<f64> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

fn retry_after(resp: &reqwest::Response) -> Option<f64> {
    parse_retry_after(
        resp.headers()
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?,
    )
}

/// What a status alone says, before any body is read (401, 429, 5xx); None: read the body.
pub fn early(status: u16, retry_after: impl FnOnce() -> Option<f64>) -> Option<Attempt> {
    match status {
        401 => Some(Attempt::Unauthorized),
        429 => Some(Attempt::Throttled(retry_after())),
        s if s >= 500 => Some(Attempt::Lost(format!("server error (HTTP {s})"))),
        _ => None,
    }
}

/// A whole answer (status and body) that `early` let through.
pub fn answered(status: u16, bytes: &[u8]) -> Attempt {
    if status != 200 {
        return Attempt::Status(
            status,
            String::from_utf8_lossy(bytes).chars().take(500).collect(),
        );
    }
    match serde_json::from_slice::<Envelope>(bytes) {
        Ok(env) => Attempt::Answer(env),
        Err(e) => Attempt::BadAnswer(format!("unreadable answer: {e}")),
    }
}

/// One attempt. `sent_ns`, when still 0, gets the wall-clock time (ns since the epoch) at which the
/// request, built and its body encoded, is handed to the connection (hyper writes it from there on
/// this worker): the end of the bot's tick -> order span (`CallResult::sent_ns`).
pub async fn attempt(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &[u8],
    sent_ns: &mut i64,
) -> Attempt {
    let request = client
        .post(url)
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/json")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_vec())
        .build();
    let sent = match request {
        Ok(request) => {
            if *sent_ns == 0 {
                *sent_ns = now_ns();
            }
            client.execute(request).await
        }
        Err(e) => Err(e),
    };
    let resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_connect() => return Attempt::Unsent(format!("could not connect ({e})")),
        Err(e) if e.is_timeout() => return Attempt::Lost("no answer in time".into()),
        Err(e) => return Attempt::Lost(format!("connection dropped ({e})")),
    };
    let status = resp.status().as_u16();
    if let Some(a) = early(status, || retry_after(&resp)) {
        return a;
    }
    match resp.bytes().await {
        Ok(bytes) => answered(status, &bytes),
        Err(e) if e.is_timeout() => Attempt::Lost("no answer in time".into()),
        Err(e) => Attempt::Lost(format!("connection dropped ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::test_server::{answer, serve};

    async fn one(status: u16, extra: &str, body: &str) -> Attempt {
        let server = serve(vec![answer(status, extra, body)]);
        let client = build_client(Duration::from_secs(5), 1).unwrap();
        let mut sent = 0;
        let got = attempt(&client, &server.url, "tok", br#"{"a":1}"#, &mut sent).await;
        assert!(sent > 0);
        let (head, sent) = server.seen.lock().unwrap().remove(0);
        assert!(head
            .to_ascii_lowercase()
            .contains("authorization: bearer tok"));
        assert_eq!(sent, r#"{"a":1}"#);
        got
    }

    #[tokio::test]
    async fn every_kind_of_answer_is_classified() {
        let ok = one(200, "", r#"{"success":true,"errorCode":0,"orderId":5}"#).await;
        assert!(matches!(ok, Attempt::Answer(e) if e.success && e.order_id == Some(5)));
        assert!(matches!(one(401, "", "").await, Attempt::Unauthorized));
        assert!(matches!(
            one(429, "Retry-After: 2\r\n", "").await,
            Attempt::Throttled(Some(s)) if s == 2.0
        ));
        assert!(matches!(one(429, "", "").await, Attempt::Throttled(None)));
        assert!(matches!(one(503, "", "").await, Attempt::Lost(m) if m.contains("503")));
        assert!(matches!(one(404, "", "gone").await, Attempt::Status(404, t) if t == "gone"));
        assert!(matches!(
            one(200, "", "{not json").await,
            Attempt::BadAnswer(_)
        ));
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let client = build_client(Duration::from_secs(5), 1).unwrap();
        let unsent = attempt(&client, &url, "t", b"{}", &mut 0).await;
        assert!(matches!(unsent, Attempt::Unsent(_)), "{unsent:?}");
    }
}
