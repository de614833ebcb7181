//! The executor's models: the envelope every answer carries, an order to place and what a call
//! gives back (`CallResult`, with its `Outcome`). The request bodies it sends (§4) are in
//! `bodies.rs`.

use serde::Deserialize;
use serde_json::Value;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    Ok,
    /// The broker answered no (HTTP 200, success false), or a reconciliation found it refused.
    Rejected,
    /// A mutation may or may not have happened (answer lost, could not be checked).
    Uncertain,
    /// Never reached the broker (nothing happened).
    Transport,
    RateLimited,
    Auth,
    /// An HTTP status other than 200, 401, 429 and 5xx.
    HttpStatus,
    /// An answer that could not be read (reads only; a mutation's is uncertain).
    BadAnswer,
}

impl Outcome {
    /// The name Python reads (`trading.execution` maps it to an exception).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejected => "rejected",
            Outcome::Uncertain => "uncertain",
            Outcome::Transport => "transport",
            Outcome::RateLimited => "rate_limited",
            Outcome::Auth => "auth",
            Outcome::HttpStatus => "http_status",
            Outcome::BadAnswer => "bad_answer",
        }
    }
}

/// What one executor call gave, with its own duration in ns and the attempts it took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallResult {
    pub outcome: Outcome,
    pub order_id: Option<i64>,
    pub error_code: Option<i64>,
    pub message: Option<String>,
    pub retry_after: Option<f64>,
    pub status: Option<u16>,
    /// The order found (`find_by_tag`), as the broker's JSON.
    pub order_json: Option<String>,
    pub elapsed_ns: u64,
    pub attempts: u32,
    /// Wall-clock ns since the epoch when the first attempt's request was handed to the connection
    /// (0: never sent).
    pub sent_ns: i64,
}

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

/// An order to place: wire ints for type and side; bracket ticks are magnitudes, signed here
/// (§10.2: a stop below a buy, above a sell).
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceOrder {
    pub account_id: i64,
    pub contract_id: String,
    pub order_type: i64,
    pub side: i64,
    pub size: i64,
    pub custom_tag: String,
    pub limit_price: Option<f64>,
    pub stop_price: Option<f64>,
    pub trail_price: Option<f64>,
    pub stop_loss_ticks: Option<i64>,
    pub take_profit_ticks: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn outcome_names() {
        assert_eq!(Outcome::RateLimited.as_str(), "rate_limited");
    }
}
