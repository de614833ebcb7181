//! The executor's models: the request bodies it sends (§4), the envelope every answer carries,
//! and what a call gives back (`CallResult`, with its `Outcome`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::wire::{ORDER_TYPE_LIMIT, ORDER_TYPE_STOP, SIDE_BID};

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

impl PlaceOrder {
    pub fn body(&self) -> Value {
        let sign = if self.side == SIDE_BID { 1 } else { -1 };
        body(&PlaceBody {
            account_id: self.account_id,
            contract_id: self.contract_id.clone(),
            order_type: self.order_type,
            side: self.side,
            size: self.size,
            limit_price: self.limit_price,
            stop_price: self.stop_price,
            trail_price: self.trail_price,
            custom_tag: self.custom_tag.clone(),
            stop_loss_bracket: self.stop_loss_ticks.map(|t| BracketBody {
                ticks: -t.abs() * sign,
                order_type: ORDER_TYPE_STOP,
            }),
            take_profit_bracket: self.take_profit_ticks.map(|t| BracketBody {
                ticks: t.abs() * sign,
                order_type: ORDER_TYPE_LIMIT,
            }),
        })
    }
}

// ------------------------------------------------------------------ request bodies (§4)
// The field names of every body the executor sends live here, spelled by serde's camelCase
// renaming exactly as `trading/projectx/schema.py` spells them; absent optionals are omitted.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountBody {
    pub account_id: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRefBody {
    pub account_id: i64,
    pub order_id: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOrdersBody {
    pub account_id: i64,
    pub start_timestamp: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosePositionBody {
    pub account_id: i64,
    pub contract_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

#[derive(Serialize)]
pub struct BracketBody {
    pub ticks: i64,
    #[serde(rename = "type")]
    pub order_type: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceBody {
    pub account_id: i64,
    pub contract_id: String,
    #[serde(rename = "type")]
    pub order_type: i64,
    pub side: i64,
    pub size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_price: Option<f64>,
    pub custom_tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_loss_bracket: Option<BracketBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub take_profit_bracket: Option<BracketBody>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifyBody {
    pub account_id: i64,
    pub order_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_price: Option<f64>,
}

/// A request body as JSON. These structs hold only integers, finite-or-not floats and strings;
/// serde_json maps a non-finite float to null rather than failing, so this never loses a body.
pub fn body<T: Serialize>(req: &T) -> Value {
    serde_json::to_value(req).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_body_uses_the_wire_names_and_omits_absent_optionals() {
        let v = body(&PlaceBody {
            account_id: 465,
            contract_id: "CON.F.US.MNQ.Z25".into(),
            order_type: ORDER_TYPE_STOP,
            side: SIDE_BID,
            size: 1,
            limit_price: None,
            stop_price: Some(21035.25),
            trail_price: None,
            custom_tag: "t1".into(),
            stop_loss_bracket: Some(BracketBody {
                ticks: -40,
                order_type: ORDER_TYPE_STOP,
            }),
            take_profit_bracket: None,
        });
        assert_eq!(
            v,
            serde_json::json!({"accountId": 465, "contractId": "CON.F.US.MNQ.Z25", "type": 4, "side": 0,
                "size": 1, "stopPrice": 21035.25, "customTag": "t1",
                "stopLossBracket": {"ticks": -40, "type": 4}})
        );
    }

    #[test]
    fn small_bodies_use_the_wire_names() {
        assert_eq!(
            body(&OrderRefBody {
                account_id: 1,
                order_id: 2
            }),
            serde_json::json!({"accountId": 1, "orderId": 2})
        );
        assert_eq!(
            body(&ClosePositionBody {
                account_id: 1,
                contract_id: "C".into(),
                size: None
            }),
            serde_json::json!({"accountId": 1, "contractId": "C"})
        );
        assert_eq!(
            body(&SearchOrdersBody {
                account_id: 1,
                start_timestamp: "T".into()
            }),
            serde_json::json!({"accountId": 1, "startTimestamp": "T"})
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

    #[test]
    fn brackets_are_signed_by_side() {
        let mut order = PlaceOrder {
            account_id: 1,
            contract_id: "C".into(),
            order_type: ORDER_TYPE_LIMIT,
            side: SIDE_BID,
            size: 1,
            custom_tag: "t".into(),
            limit_price: Some(10.0),
            stop_price: None,
            trail_price: None,
            stop_loss_ticks: Some(8),
            take_profit_ticks: Some(-16),
        };
        let v = order.body();
        assert_eq!(
            (&v["stopLossBracket"], &v["takeProfitBracket"]),
            (
                &serde_json::json!({"ticks": -8, "type": 4}),
                &serde_json::json!({"ticks": 16, "type": 1})
            )
        );
        order.side = 1;
        let v = order.body();
        assert_eq!(v["stopLossBracket"]["ticks"], 8);
        assert_eq!(v["takeProfitBracket"]["ticks"], -16);
        assert_eq!(Outcome::RateLimited.as_str(), "rate_limited");
    }
}
