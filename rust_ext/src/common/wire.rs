//! ProjectX wire names used by the Rust side (mirror of `trading/projectx/schema.py`; the one
//! place a wire string lives in Rust, request bodies aside: their field names are spelled by
//! serde in `executor/bodies.rs`).

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
