//! One HTTP attempt against the gateway and its classification (the transport half of the
//! executor; the retry/reconcile policy is in `executor.rs`).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// The envelope every REST answer carries, plus the payload fields the executor reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub success: bool,
    #[serde(default)]
    pub error_code: i64,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub order_id: Option<i64>,
    #[serde(default)]
    pub orders: Option<Vec<Value>>,
    #[serde(default)]
    pub order: Option<Value>,
    #[serde(default)]
    pub positions: Option<Vec<Value>>,
}

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

fn retry_after(resp: &reqwest::Response) -> Option<f64> {
    let v = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

pub async fn attempt(client: &reqwest::Client, url: &str, token: &str, body: &Value) -> Attempt {
    let sent = client
        .post(url)
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/json")
        .json(body)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_connect() => return Attempt::Unsent(format!("could not connect ({e})")),
        Err(e) if e.is_timeout() => return Attempt::Lost("no answer in time".into()),
        Err(e) => return Attempt::Lost(format!("connection dropped ({e})")),
    };
    let status = resp.status().as_u16();
    match status {
        401 => return Attempt::Unauthorized,
        429 => return Attempt::Throttled(retry_after(&resp)),
        s if s >= 500 => return Attempt::Lost(format!("server error (HTTP {s})")),
        _ => {}
    }
    let bytes = match resp.bytes().await {
        Ok(b) => b,
        Err(e) if e.is_timeout() => return Attempt::Lost("no answer in time".into()),
        Err(e) => return Attempt::Lost(format!("connection dropped ({e})")),
    };
    if status != 200 {
        return Attempt::Status(
            status,
            String::from_utf8_lossy(&bytes).chars().take(500).collect(),
        );
    }
    match serde_json::from_slice::<Envelope>(&bytes) {
        Ok(env) => Attempt::Answer(env),
        Err(e) => Attempt::BadAnswer(format!("unreadable answer: {e}")),
    }
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ns since the epoch -> `2025-07-18T21:00:01.268009+00:00`.
pub fn format_ts(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let micros = ns.rem_euclid(1_000_000_000) / 1000;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps_round_trip() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000000+00:00");
        let ns = 1_752_872_401_268_009_000;
        assert_eq!(format_ts(ns), "2025-07-18T21:00:01.268009+00:00");
        assert_eq!(crate::signalr::parse_ts(&format_ts(ns)), Ok(Some(ns)));
        assert_eq!(
            format_ts(1_709_208_000_000_000_000),
            "2024-02-29T12:00:00.000000+00:00"
        );
    }

    #[test]
    fn envelope_reads_payloads() {
        let e: Envelope = serde_json::from_str(
            r#"{"orderId":9057,"success":false,"errorCode":2,"errorMessage":"no"}"#,
        )
        .unwrap();
        assert_eq!(
            (e.success, e.error_code, e.order_id),
            (false, 2, Some(9057))
        );
        let e: Envelope = serde_json::from_str(
            r#"{"success":true,"errorCode":0,"errorMessage":null,"orders":[{"id":1}]}"#,
        )
        .unwrap();
        assert_eq!(e.orders.unwrap().len(), 1);
    }
}
