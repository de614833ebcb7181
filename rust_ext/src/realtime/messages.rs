//! The ProjectX hub messages: what the decoder makes of an event (`Event`, partial quotes as
//! sent), the merged quote kept per contract, and what the client hands its consumer (`Record`).

/// A quote update as sent (often partial). Times are ns since the epoch (µs precision, UTC).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuotePatch {
    pub last: Option<f64>,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub volume: Option<i64>,
    pub ts: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TradeRec {
    pub price: f64,
    pub ts: i64,
    pub kind: i64,
    pub volume: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DepthRec {
    pub ts: Option<i64>,
    pub kind: i64,
    pub price: f64,
    pub volume: i64,
    pub current_volume: Option<i64>,
}

/// A GatewayUserOrder item, validated like the Python twin's `OrderModel` + `convert.order_from_wire`
/// (enums checked, pydantic's lax coercions for numbers/booleans, times as ns since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRec {
    pub id: i64,
    pub account_id: i64,
    pub contract_id: String,
    pub symbol_id: Option<String>,
    pub creation_timestamp: Option<i64>,
    pub update_timestamp: Option<i64>,
    pub status: i64,
    pub kind: i64,
    pub side: i64,
    pub size: i64,
    pub limit_price: Option<f64>,
    pub stop_price: Option<f64>,
    pub trail_price: Option<f64>,
    pub fill_volume: i64,
    pub filled_price: Option<f64>,
    pub custom_tag: Option<String>,
    pub parent_order_id: Option<i64>,
    pub linked_order_id: Option<i64>,
}

/// A GatewayUserPosition item (`PositionModel`). `closed` when size is 0 or the type is 0 (flat);
/// `long` is the side (a flat position keeps what its type said: short only for type 2).
#[derive(Debug, Clone, PartialEq)]
pub struct PositionRec {
    pub id: i64,
    pub account_id: i64,
    pub contract_id: String,
    pub creation_timestamp: Option<i64>,
    pub kind: i64,
    pub size: i64,
    pub average_price: f64,
    pub closed: bool,
    pub long: bool,
}

/// A GatewayUserTrade item (`TradeModel`); a fill needs a time.
#[derive(Debug, Clone, PartialEq)]
pub struct FillRec {
    pub id: i64,
    pub account_id: i64,
    pub contract_id: String,
    pub creation_timestamp: i64,
    pub price: f64,
    pub profit_and_loss: Option<f64>,
    pub fees: f64,
    pub side: i64,
    pub size: i64,
    pub voided: bool,
    pub order_id: i64,
}

/// A GatewayUserAccount item (`AccountModel`; isVisible and simulated default to true).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRec {
    pub id: i64,
    pub name: String,
    pub balance: f64,
    pub can_trade: bool,
    pub is_visible: bool,
    pub simulated: bool,
}

/// One decoded hub event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Quote(String, QuotePatch),
    Trades(String, Vec<TradeRec>),
    Depth(String, Vec<DepthRec>),
    Order(Option<i64>, OrderRec),
    Position(PositionRec),
    Fill(FillRec),
    Account(AccountRec),
    Logout,
}

/// The quote of one contract as merged so far (each update patches the fields it carries).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QuoteState {
    pub last: Option<f64>,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub volume: Option<i64>,
    pub ts: Option<i64>,
}

impl QuoteState {
    /// Apply an update: the fields it carries replace the held ones.
    pub fn merge(&mut self, p: QuotePatch) {
        self.last = p.last.or(self.last);
        self.bid = p.bid.or(self.bid);
        self.ask = p.ask.or(self.ask);
        self.volume = p.volume.or(self.volume);
        self.ts = p.ts.or(self.ts);
    }
}

/// A `trading.streaming.StreamState` value the client reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubState {
    Connected,
    Disconnected,
    Reconnected,
    TokenRefreshed,
    Stale,
}

impl HubState {
    /// The `StreamState` value.
    pub fn as_str(self) -> &'static str {
        match self {
            HubState::Connected => "connected",
            HubState::Disconnected => "disconnected",
            HubState::Reconnected => "reconnected",
            HubState::TokenRefreshed => "token_refreshed",
            HubState::Stale => "stale",
        }
    }
}

/// Log levels as in Python's `logging`.
pub const LOG_INFO: i64 = 20;
pub const LOG_WARNING: i64 = 30;

/// What the client queues for its consumer, in order.
#[derive(Debug)]
pub enum Record {
    /// The contract's quote after merging an update.
    Quote(String, QuoteState),
    Trades(String, Vec<TradeRec>),
    Depth(String, Vec<DepthRec>),
    /// An order with its wrapper's action, when the event had one.
    Order(Option<i64>, Box<OrderRec>),
    Position(PositionRec),
    Fill(FillRec),
    Account(AccountRec),
    Logout,
    /// Bad frames and bad items inside arrays since the last count.
    Malformed(u64),
    /// A connection state change and the trader-facing message.
    Status(HubState, String),
    /// A log line for Python's logger (level as in `logging`).
    Log(i64, String),
    /// The watchdog found the feed silent: is the market open? (answered through the client).
    MarketHours,
    /// The client stopped: the last record.
    End,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_update_patches_only_the_fields_it_carries() {
        let mut q = QuoteState::default();
        q.merge(QuotePatch {
            last: Some(1.0),
            bid: Some(0.75),
            ask: Some(1.25),
            volume: Some(10),
            ts: Some(5),
        });
        q.merge(QuotePatch {
            bid: Some(1.0),
            ts: Some(6),
            ..QuotePatch::default()
        });
        assert_eq!(
            q,
            QuoteState {
                last: Some(1.0),
                bid: Some(1.0),
                ask: Some(1.25),
                volume: Some(10),
                ts: Some(6),
            }
        );
        assert_eq!(HubState::TokenRefreshed.as_str(), "token_refreshed");
    }
}
