//! A mutation's parts (the path, the JSON body, how to reconcile an unknown outcome), built apart
//! from its sending so the first attempt can be made on the caller's thread (`direct.rs`) and the
//! policy (`policy.rs`) go on from it.

use super::bodies::*;
use super::models::*;
use super::reconcile::Reconcile;
use super::timing::Stopwatch;
use super::transport::Attempt;
use crate::common::time::now_ns;
use crate::common::wire::*;

/// How far back a place's reconciliation looks for its tag.
const PLACE_LOOKBACK_NS: i64 = 60_000_000_000;

/// One state-changing call.
pub struct Mutation {
    pub path: &'static str,
    /// The JSON body's bytes.
    pub body: Vec<u8>,
    pub rec: Reconcile,
}

/// A first attempt made before the policy took the call: its outcome, when its request went out
/// (ns since the epoch, 0 if never) and the call's stopwatch, started before it.
pub struct First {
    pub attempt: Attempt,
    pub sent_ns: i64,
    pub watch: Stopwatch,
}

impl Mutation {
    pub fn place(order: PlaceOrder) -> Self {
        let rec = Reconcile::Place {
            account_id: order.account_id,
            tag: order.custom_tag.clone(),
            since_ns: now_ns() - PLACE_LOOKBACK_NS,
        };
        Mutation {
            path: PATH_ORDER_PLACE,
            body: order.body(),
            rec,
        }
    }

    pub fn modify(
        account_id: i64,
        order_id: i64,
        size: Option<i64>,
        limit_price: Option<f64>,
        stop_price: Option<f64>,
        trail_price: Option<f64>,
    ) -> Self {
        let m = json(&ModifyBody {
            account_id,
            order_id,
            size,
            limit_price,
            stop_price,
            trail_price,
        });
        let rec = Reconcile::Modify {
            account_id,
            order_id,
            size,
            limit: limit_price,
            stop: stop_price,
            trail: trail_price.is_some(),
        };
        Mutation {
            path: PATH_ORDER_MODIFY,
            body: m,
            rec,
        }
    }

    pub fn cancel(account_id: i64, order_id: i64) -> Self {
        Mutation {
            path: PATH_ORDER_CANCEL,
            body: json(&OrderRefBody {
                account_id,
                order_id,
            }),
            rec: Reconcile::Cancel {
                account_id,
                order_id,
            },
        }
    }

    pub fn close(account_id: i64, contract_id: String) -> Self {
        Mutation {
            path: PATH_POSITION_CLOSE,
            body: json(&ClosePositionBody {
                account_id,
                contract_id: &contract_id,
                size: None,
            }),
            rec: Reconcile::Close {
                account_id,
                contract_id,
            },
        }
    }

    pub fn partial_close(account_id: i64, contract_id: String, size: i64) -> Self {
        Mutation {
            path: PATH_POSITION_PARTIAL_CLOSE,
            body: json(&ClosePositionBody {
                account_id,
                contract_id: &contract_id,
                size: Some(size),
            }),
            rec: Reconcile::Nothing,
        }
    }
}
