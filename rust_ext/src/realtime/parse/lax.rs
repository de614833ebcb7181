//! Field readers with the Python twin's (pydantic lax mode) rules for user-hub payloads: absent vs
//! null vs wrong type as `trading/projectx/models.py` reads them.

use crate::common::time::parse_ts;
use crate::realtime::messages::{AccountRec, FillRec, OrderRec, PositionRec};
use serde_json::{Map, Value};

type Obj = Map<String, Value>;
type R<T> = Result<T, String>;

pub fn int(v: &Value) -> R<i64> {
    match v {
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(i);
            }
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
                _ => Err(format!("not an integer: {n}")),
            }
        }
        Value::String(s) => {
            let t = s.trim();
            if let Ok(i) = t.parse::<i64>() {
                return Ok(i);
            }
            match t.parse::<f64>() {
                Ok(f)
                    if f.is_finite()
                        && f.fract() == 0.0
                        && f.abs() < 9.0e15
                        && !t.contains(['e', 'E', 'i', 'n', 'N', 'I']) =>
                {
                    Ok(f as i64)
                }
                _ => Err(format!("not an integer: {t:.40}")),
            }
        }
        _ => Err("not an integer".into()),
    }
}

pub fn price(v: &Value) -> R<f64> {
    let f = match v {
        Value::Number(n) => n.as_f64().ok_or("not a number")?,
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() || t.contains(['i', 'I', 'n', 'N']) {
                return Err(format!("not a price: {t:.40}"));
            }
            t.parse::<f64>()
                .map_err(|_| format!("not a price: {t:.40}"))?
        }
        _ => return Err("price must be a number".into()),
    };
    if f.is_finite() {
        Ok(f)
    } else {
        Err("price must be finite".into())
    }
}

pub fn boolean(v: &Value) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => {
            let f = n.as_f64();
            if f == Some(0.0) {
                Ok(false)
            } else if f == Some(1.0) {
                Ok(true)
            } else {
                Err("not a boolean".into())
            }
        }
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "0" | "off" | "f" | "false" | "n" | "no" => Ok(false),
            "1" | "on" | "t" | "true" | "y" | "yes" => Ok(true),
            _ => Err("not a boolean".into()),
        },
        _ => Err("not a boolean".into()),
    }
}

pub fn string(v: &Value) -> R<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err("not a string".into()),
    }
}

pub fn time(v: &Value) -> R<Option<i64>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => parse_ts(s),
        _ => Err("timestamp must be a string".into()),
    }
}

/// A required field (null is a type error, as for pydantic).
pub fn req<T>(o: &Obj, k: &str, f: impl Fn(&Value) -> R<T>) -> R<T> {
    o.get(k)
        .ok_or_else(|| format!("{k}: required"))
        .and_then(|v| f(v).map_err(|e| format!("{k}: {e}")))
}

/// An optional field: absent or null give None.
pub fn opt<T>(o: &Obj, k: &str, f: impl Fn(&Value) -> R<T>) -> R<Option<T>> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => f(v).map(Some).map_err(|e| format!("{k}: {e}")),
    }
}

/// A field with a default: absent gives the default, null is a type error.
pub fn dflt<T>(o: &Obj, k: &str, d: T, f: impl Fn(&Value) -> R<T>) -> R<T> {
    match o.get(k) {
        None => Ok(d),
        Some(v) => f(v).map_err(|e| format!("{k}: {e}")),
    }
}

fn ts(o: &Obj, k: &str) -> R<Option<i64>> {
    match o.get(k) {
        None => Ok(None),
        Some(v) => time(v).map_err(|e| format!("{k}: {e}")),
    }
}

fn in_range(v: i64, lo: i64, hi: i64, what: &str) -> R<i64> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("unknown {what} {v}"))
    }
}

pub fn order(o: &Obj) -> R<OrderRec> {
    let rec = OrderRec {
        id: req(o, "id", int)?,
        account_id: req(o, "accountId", int)?,
        contract_id: req(o, "contractId", string)?,
        symbol_id: opt(o, "symbolId", string)?,
        creation_timestamp: ts(o, "creationTimestamp")?,
        update_timestamp: ts(o, "updateTimestamp")?,
        status: req(o, "status", int)?,
        kind: req(o, "type", int)?,
        side: req(o, "side", int)?,
        size: req(o, "size", int)?,
        limit_price: opt(o, "limitPrice", price)?,
        stop_price: opt(o, "stopPrice", price)?,
        trail_price: opt(o, "trailPrice", price)?,
        fill_volume: dflt(o, "fillVolume", 0, int)?,
        filled_price: opt(o, "filledPrice", price)?,
        custom_tag: opt(o, "customTag", string)?,
        parent_order_id: opt(o, "parentOrderId", int)?,
        linked_order_id: opt(o, "linkedOrderId", int)?,
    };
    opt(o, "trailDistance", int)?;
    in_range(rec.side, 0, 1, "side")?;
    in_range(rec.kind, 1, 7, "order type")?;
    in_range(rec.status, 0, 8, "order status")?;
    Ok(rec)
}

pub fn position(o: &Obj) -> R<PositionRec> {
    let kind = req(o, "type", int)?;
    let size = req(o, "size", int)?;
    let rec = PositionRec {
        id: req(o, "id", int)?,
        account_id: req(o, "accountId", int)?,
        contract_id: req(o, "contractId", string)?,
        creation_timestamp: ts(o, "creationTimestamp")?,
        kind,
        size,
        average_price: req(o, "averagePrice", price)?,
        closed: size == 0 || kind == 0,
        long: kind != 2,
    };
    opt(o, "contractDisplayName", string)?;
    if !rec.closed {
        in_range(kind, 1, 2, "position type")?;
    }
    Ok(rec)
}

pub fn fill(o: &Obj) -> R<FillRec> {
    let rec = FillRec {
        id: req(o, "id", int)?,
        account_id: req(o, "accountId", int)?,
        contract_id: req(o, "contractId", string)?,
        creation_timestamp: ts(o, "creationTimestamp")?.unwrap_or(i64::MIN),
        price: req(o, "price", price)?,
        profit_and_loss: opt(o, "profitAndLoss", price)?,
        fees: dflt(o, "fees", 0.0, price)?,
        side: req(o, "side", int)?,
        size: req(o, "size", int)?,
        voided: dflt(o, "voided", false, boolean)?,
        order_id: req(o, "orderId", int)?,
    };
    opt(o, "commissions", price)?;
    if rec.creation_timestamp == i64::MIN {
        return Err("creationTimestamp: a fill needs a time".into());
    }
    in_range(rec.side, 0, 1, "side")?;
    Ok(rec)
}

pub fn account(o: &Obj) -> R<AccountRec> {
    Ok(AccountRec {
        id: req(o, "id", int)?,
        name: req(o, "name", string)?,
        balance: req(o, "balance", price)?,
        can_trade: req(o, "canTrade", boolean)?,
        is_visible: dflt(o, "isVisible", true, boolean)?,
        simulated: dflt(o, "simulated", true, boolean)?,
    })
}
