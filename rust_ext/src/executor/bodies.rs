//! The request bodies the executor sends (§4), written straight to JSON bytes.
//!
//! The field names live here, spelled by serde's renaming exactly as `trading/projectx/schema.py`
//! spells them; absent optionals are omitted. Each struct's fields are declared in the byte order
//! of their wire names: serialized directly (no `serde_json::Value` in between, no map of owned
//! keys), a body is the same bytes the executor sent when it built a `Value` first (whose map
//! sorts its keys): the tests below check that over generated inputs.

use serde::Serialize;

use super::models::PlaceOrder;
use crate::common::wire::{ORDER_TYPE_LIMIT, ORDER_TYPE_STOP, SIDE_BID};

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
pub struct SearchOrdersBody<'a> {
    pub account_id: i64,
    pub start_timestamp: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosePositionBody<'a> {
    pub account_id: i64,
    pub contract_id: &'a str,
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
pub struct PlaceBody<'a> {
    pub account_id: i64,
    pub contract_id: &'a str,
    pub custom_tag: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<f64>,
    pub side: i64,
    pub size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_loss_bracket: Option<BracketBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub take_profit_bracket: Option<BracketBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_price: Option<f64>,
    #[serde(rename = "type")]
    pub order_type: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifyBody {
    pub account_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<f64>,
    pub order_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_price: Option<f64>,
}

/// A request body as JSON bytes. These structs hold only integers, finite-or-not floats and
/// strings; serde_json writes a non-finite float as null rather than failing, so this never loses
/// a body.
pub fn json<T: Serialize>(req: &T) -> Vec<u8> {
    serde_json::to_vec(req).unwrap_or_default()
}

impl PlaceOrder {
    /// The place body; bracket ticks signed by the side (§10.2: a stop below a buy, above a sell).
    pub fn body(&self) -> Vec<u8> {
        json(&self.wire())
    }

    fn wire(&self) -> PlaceBody<'_> {
        let sign = if self.side == SIDE_BID { 1 } else { -1 };
        PlaceBody {
            account_id: self.account_id,
            contract_id: &self.contract_id,
            order_type: self.order_type,
            side: self.side,
            size: self.size,
            limit_price: self.limit_price,
            stop_price: self.stop_price,
            trail_price: self.trail_price,
            custom_tag: &self.custom_tag,
            stop_loss_bracket: self.stop_loss_ticks.map(|t| BracketBody {
                ticks: -t.abs() * sign,
                order_type: ORDER_TYPE_STOP,
            }),
            take_profit_bracket: self.take_profit_ticks.map(|t| BracketBody {
                ticks: t.abs() * sign,
                order_type: ORDER_TYPE_LIMIT,
            }),
        }
    }
}

#[cfg(test)]
#[path = "bodies_tests.rs"]
mod tests;
