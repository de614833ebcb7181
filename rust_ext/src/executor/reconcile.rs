//! Reconciliation: after a mutation's answer was lost, what the broker has now says whether it
//! happened (place: the order with its customTag; modify and cancel: the order; close: the open
//! positions). Pure judgments over the broker's JSON; the reads are in `policy.rs`.

use serde_json::Value;

use crate::common::wire::*;

/// How to find out whether a mutation with an unknown outcome happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Reconcile {
    Place {
        account_id: i64,
        tag: String,
        since_ns: i64,
    },
    Modify {
        account_id: i64,
        order_id: i64,
        size: Option<i64>,
        limit: Option<f64>,
        stop: Option<f64>,
        trail: bool,
    },
    Cancel {
        account_id: i64,
        order_id: i64,
    },
    Close {
        account_id: i64,
        contract_id: String,
    },
    Nothing,
}

/// What a reconciliation found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Done(Option<i64>),
    Rejected(i64, String, Option<i64>),
    Absent,
    Unknown(String),
    Uncertain(String),
}

fn status_name(s: i64) -> &'static str {
    match s {
        STATUS_FILLED => "filled",
        STATUS_CANCELLED => "cancelled",
        STATUS_EXPIRED => "expired",
        STATUS_REJECTED => "rejected",
        _ => "settled",
    }
}

pub fn field_i64(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// The order carrying `tag` among `orders`.
pub fn with_tag(orders: Option<Vec<Value>>, tag: &str) -> Option<Value> {
    orders
        .unwrap_or_default()
        .into_iter()
        .find(|o| o.get("customTag").and_then(Value::as_str) == Some(tag))
}

/// A place whose answer was lost, judged by the order found with its tag (if any).
pub fn place_found(hit: Option<Value>) -> Found {
    match hit {
        None => Found::Absent,
        Some(o) if field_i64(&o, "status") == Some(STATUS_REJECTED) => Found::Rejected(
            PLACE_ORDER_REJECTED,
            "rejected (found by its tag after the answer was lost)".into(),
            field_i64(&o, "id"),
        ),
        Some(o) => Found::Done(field_i64(&o, "id")),
    }
}

/// A modify whose answer was lost, judged by the order as it is now.
pub fn modify_found(order: &Value, rec: &Reconcile) -> Found {
    let Reconcile::Modify {
        order_id,
        size,
        limit,
        stop,
        trail,
        ..
    } = rec
    else {
        return Found::Unknown("not a modify".into());
    };
    let same_f = |key: &str, want: &Option<f64>| {
        want.is_none() || order.get(key).and_then(Value::as_f64) == *want
    };
    if (size.is_none() || field_i64(order, "size") == *size)
        && same_f("limitPrice", limit)
        && same_f("stopPrice", stop)
        && !trail
    {
        return Found::Done(Some(*order_id));
    }
    match field_i64(order, "status") {
        Some(s @ (STATUS_FILLED | STATUS_CANCELLED | STATUS_EXPIRED | STATUS_REJECTED)) => {
            Found::Rejected(
                MODIFY_REJECTED,
                format!("the order is already {}", status_name(s)),
                Some(*order_id),
            )
        }
        _ => Found::Absent,
    }
}

/// A cancel whose answer was lost, judged by the order as it is now.
pub fn cancel_found(order: &Value, order_id: i64) -> Found {
    match field_i64(order, "status") {
        Some(STATUS_CANCELLED | STATUS_PENDING_CANCELLATION) => Found::Done(Some(order_id)),
        Some(s @ (STATUS_FILLED | STATUS_EXPIRED | STATUS_REJECTED)) => Found::Rejected(
            CANCEL_REJECTED,
            format!("the order is already {}", status_name(s)),
            Some(order_id),
        ),
        _ => Found::Absent,
    }
}

/// A close whose answer was lost, judged by the open positions.
pub fn close_found(positions: Option<Vec<Value>>, contract_id: &str) -> Found {
    let open = positions.unwrap_or_default().iter().any(|p| {
        p.get("contractId").and_then(Value::as_str) == Some(contract_id)
            && field_i64(p, "size").unwrap_or(0) != 0
    });
    if open {
        Found::Uncertain(format!("{contract_id} is still open after a lost answer"))
    } else {
        Found::Done(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reconciliations_judge_what_the_broker_has() {
        let orders = Some(vec![json!({"id": 4, "customTag": "a", "status": 1})]);
        assert_eq!(
            place_found(with_tag(orders.clone(), "a")),
            Found::Done(Some(4))
        );
        assert_eq!(place_found(with_tag(orders, "b")), Found::Absent);
        let refused = Some(vec![json!({"id": 4, "customTag": "a", "status": 5})]);
        assert!(matches!(
            place_found(with_tag(refused, "a")),
            Found::Rejected(PLACE_ORDER_REJECTED, _, Some(4))
        ));
        let rec = Reconcile::Modify {
            account_id: 1,
            order_id: 9,
            size: Some(2),
            limit: Some(10.5),
            stop: None,
            trail: false,
        };
        let as_asked = json!({"size": 2, "limitPrice": 10.5, "status": 1});
        assert_eq!(modify_found(&as_asked, &rec), Found::Done(Some(9)));
        assert_eq!(
            modify_found(&json!({"size": 1, "status": 1}), &rec),
            Found::Absent
        );
        assert_eq!(
            modify_found(&json!({"size": 1, "status": 2}), &rec),
            Found::Rejected(
                MODIFY_REJECTED,
                "the order is already filled".into(),
                Some(9)
            )
        );
        assert_eq!(cancel_found(&json!({"status": 7}), 9), Found::Done(Some(9)));
        assert_eq!(cancel_found(&json!({"status": 1}), 9), Found::Absent);
        assert!(matches!(
            cancel_found(&json!({"status": 4}), 9),
            Found::Rejected(CANCEL_REJECTED, m, _) if m.ends_with("expired")
        ));
        let open = Some(vec![json!({"contractId": "C", "size": 1})]);
        assert!(matches!(close_found(open, "C"), Found::Uncertain(_)));
        let flat = Some(vec![json!({"contractId": "C", "size": 0})]);
        assert_eq!(close_found(flat, "C"), Found::Done(None));
    }
}
