//! ProjectX wire names used by the Rust side (mirror of `trading/projectx/schema.py`; the one
//! place a wire string lives in Rust).

pub const RECORD_SEPARATOR: u8 = 0x1e;
pub const HANDSHAKE_REQUEST: &str = "{\"protocol\":\"json\",\"version\":1}\u{1e}";
pub const PING_FRAME: &str = "{\"type\":6}\u{1e}";
pub const HUB_ACCESS_TOKEN_PARAM: &str = "access_token";

pub const MSG_INVOCATION: u8 = 1;
pub const MSG_COMPLETION: u8 = 3;
pub const MSG_PING: u8 = 6;
pub const MSG_CLOSE: u8 = 7;

pub const EVENT_USER_ACCOUNT: &str = "GatewayUserAccount";
pub const EVENT_USER_ORDER: &str = "GatewayUserOrder";
pub const EVENT_USER_POSITION: &str = "GatewayUserPosition";
pub const EVENT_USER_TRADE: &str = "GatewayUserTrade";
pub const EVENT_QUOTE: &str = "GatewayQuote";
pub const EVENT_TRADE: &str = "GatewayTrade";
pub const EVENT_DEPTH: &str = "GatewayDepth";
pub const EVENT_LOGOUT: &str = "GatewayLogout";

// REST paths (api doc §4).
pub const PATH_LOGIN_KEY: &str = "/api/Auth/loginKey";
pub const PATH_ORDER_PLACE: &str = "/api/Order/place";
pub const PATH_ORDER_MODIFY: &str = "/api/Order/modify";
pub const PATH_ORDER_CANCEL: &str = "/api/Order/cancel";
pub const PATH_ORDER_SEARCH: &str = "/api/Order/search";
pub const PATH_POSITION_CLOSE: &str = "/api/Position/closeContract";
pub const PATH_POSITION_PARTIAL_CLOSE: &str = "/api/Position/partialCloseContract";
pub const PATH_ORDER_SEARCH_BY_ID: &str = "/api/Order/searchById";
pub const PATH_POSITION_SEARCH_OPEN: &str = "/api/Position/searchOpen";

// Wire enums used by the executor's policy (api doc §5).
pub const ORDER_TYPE_LIMIT: i64 = 1;
pub const ORDER_TYPE_STOP: i64 = 4;
pub const SIDE_BID: i64 = 0;
pub const STATUS_FILLED: i64 = 2;
pub const STATUS_CANCELLED: i64 = 3;
pub const STATUS_EXPIRED: i64 = 4;
pub const STATUS_REJECTED: i64 = 5;
pub const STATUS_PENDING_CANCELLATION: i64 = 7;
// Per-endpoint error codes the executor produces itself after a reconciliation (§6).
pub const PLACE_ORDER_REJECTED: i64 = 2;
pub const MODIFY_REJECTED: i64 = 3;
pub const CANCEL_REJECTED: i64 = 3;

// ------------------------------------------------------------------ request bodies (§4)
// The field names of every body the executor sends live here, spelled by serde's camelCase
// renaming exactly as `trading/projectx/schema.py` spells them; absent optionals are omitted.

use serde::Serialize;
use serde_json::Value;

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
mod body_tests {
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
}
