//! SignalR JSON hub protocol: record-separator framing (frames may span websocket messages),
//! handshake, pings, completions, and decode of the Gateway events into typed records.
//!
//! Malformed input never panics: a bad frame (truncated, wrong types) or an unknown target is
//! counted, reported through [`Decoded::Skipped`] with a reason, and the stream goes on. In arrays
//! of trades/depth/user items a bad entry is skipped alone (as the Python twin does).

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::wire::*;

/// Splits a byte stream into frames at the record separator; keeps a partial tail.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    /// Append `data` and call `f` on every complete frame (without its separator).
    pub fn feed(&mut self, data: &[u8], mut f: impl FnMut(&[u8])) {
        let mut rest = data;
        if !self.buf.is_empty() {
            match rest.iter().position(|&b| b == RECORD_SEPARATOR) {
                None => {
                    self.buf.extend_from_slice(rest);
                    return;
                }
                Some(i) => {
                    self.buf.extend_from_slice(&rest[..i]);
                    let frame = std::mem::take(&mut self.buf);
                    if !frame.is_empty() {
                        f(&frame);
                    }
                    rest = &rest[i + 1..];
                }
            }
        }
        for part in rest.split_inclusive(|&b| b == RECORD_SEPARATOR) {
            if part.last() == Some(&RECORD_SEPARATOR) {
                if part.len() > 1 {
                    f(&part[..part.len() - 1]);
                }
            } else {
                self.buf.extend_from_slice(part);
            }
        }
    }

    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

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

/// What one frame was.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Handshake(Option<String>),
    Events(Vec<Event>),
    Completion(Option<String>, Option<String>),
    Ping,
    Close(Option<String>),
    Ignored(u8),
    Skipped(String),
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", default)]
    kind: Option<u8>,
    #[serde(borrow, default)]
    target: Option<&'a str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(rename = "invocationId", default)]
    invocation_id: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct QuoteWireB<'a> {
    #[serde(rename = "lastPrice", default)]
    last: Option<f64>,
    #[serde(rename = "bestBid", default)]
    bid: Option<f64>,
    #[serde(rename = "bestAsk", default)]
    ask: Option<f64>,
    #[serde(default)]
    volume: Option<i64>,
    #[serde(rename = "lastUpdated", borrow, default)]
    last_updated: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct TradeWire<'a> {
    price: f64,
    #[serde(borrow, default)]
    timestamp: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "type")]
    kind: i64,
    volume: i64,
}

#[derive(Deserialize)]
struct DepthWire<'a> {
    #[serde(borrow, default)]
    timestamp: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "type")]
    kind: i64,
    price: f64,
    volume: i64,
    #[serde(rename = "currentVolume", default)]
    current_volume: Option<i64>,
}

/// Counters of what was skipped, for logs and health.
#[derive(Debug, Default, Clone)]
pub struct DecodeStats {
    pub frames: u64,
    pub malformed: u64,
    pub unknown_target: u64,
}

/// Decoder of one hub connection (expects the handshake response first).
#[derive(Debug, Default)]
pub struct Decoder {
    handshaken: bool,
    pub stats: DecodeStats,
}

fn first_byte(raw: &RawValue) -> u8 {
    raw.get()
        .bytes()
        .find(|b| !b.is_ascii_whitespace())
        .unwrap_or(b' ')
}

/// Array entries of `raw` (or `raw` itself when it is one object).
fn entries(raw: &RawValue) -> Result<Vec<&RawValue>, String> {
    match first_byte(raw) {
        b'[' => serde_json::from_str::<Vec<&RawValue>>(raw.get()).map_err(|e| e.to_string()),
        b'{' => Ok(vec![raw]),
        _ => Err("expected an array or object".into()),
    }
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode one frame (without separator). Never panics.
    pub fn decode(&mut self, frame: &[u8]) -> Decoded {
        self.stats.frames += 1;
        let frame: Frame<'_> = match serde_json::from_slice(frame) {
            Ok(f) => f,
            Err(e) => {
                self.stats.malformed += 1;
                return Decoded::Skipped(format!("bad frame: {e}"));
            }
        };
        if !self.handshaken && frame.kind.is_none() {
            self.handshaken = true;
            return Decoded::Handshake(frame.error);
        }
        match frame.kind {
            Some(MSG_INVOCATION) => self.invocation(frame.target, frame.arguments),
            Some(MSG_COMPLETION) => Decoded::Completion(frame.invocation_id, frame.error),
            Some(MSG_PING) => Decoded::Ping,
            Some(MSG_CLOSE) => Decoded::Close(frame.error),
            Some(k) => Decoded::Ignored(k),
            None => {
                self.stats.malformed += 1;
                Decoded::Skipped("frame without a type".into())
            }
        }
    }

    fn invocation(&mut self, target: Option<&str>, args: Option<&RawValue>) -> Decoded {
        let (Some(target), Some(args)) = (target, args) else {
            self.stats.malformed += 1;
            return Decoded::Skipped("invocation without target or arguments".into());
        };
        let out = match target {
            EVENT_QUOTE | EVENT_TRADE | EVENT_DEPTH => self.market(target, args),
            EVENT_USER_ORDER | EVENT_USER_POSITION | EVENT_USER_TRADE | EVENT_USER_ACCOUNT => {
                self.user(target, args)
            }
            EVENT_LOGOUT => Ok(vec![Event::Logout]),
            other => {
                self.stats.unknown_target += 1;
                return Decoded::Skipped(format!("unknown target {other:.60}"));
            }
        };
        match out {
            Ok(ev) => Decoded::Events(ev),
            Err(e) => {
                self.stats.malformed += 1;
                Decoded::Skipped(format!("{target}: {e}"))
            }
        }
    }

    fn market(&mut self, target: &str, args: &RawValue) -> Result<Vec<Event>, String> {
        let (cid, payload): (String, &RawValue) = serde_json::from_str(args.get())
            .map_err(|e| format!("expected (contractId, payload): {e}"))?;
        match target {
            EVENT_QUOTE => {
                let q: QuoteWireB<'_> =
                    serde_json::from_str(payload.get()).map_err(|e| e.to_string())?;
                let t1 = q.timestamp.as_deref().map(parse_ts).transpose()?.flatten();
                let t2 = q
                    .last_updated
                    .as_deref()
                    .map(parse_ts)
                    .transpose()?
                    .flatten();
                let ts = t1.or(t2);
                let patch = QuotePatch {
                    last: q.last,
                    bid: q.bid,
                    ask: q.ask,
                    volume: q.volume,
                    ts,
                };
                Ok(vec![Event::Quote(cid, patch)])
            }
            EVENT_TRADE => {
                let mut recs = Vec::new();
                for e in entries(payload)? {
                    match trade(e) {
                        Ok(r) => recs.push(r),
                        Err(_) => self.stats.malformed += 1,
                    }
                }
                Ok(if recs.is_empty() {
                    vec![]
                } else {
                    vec![Event::Trades(cid, recs)]
                })
            }
            _ => {
                let mut recs = Vec::new();
                for e in entries(payload)? {
                    match depth(e) {
                        Ok(r) => recs.push(r),
                        Err(_) => self.stats.malformed += 1,
                    }
                }
                Ok(if recs.is_empty() {
                    vec![]
                } else {
                    vec![Event::Depth(cid, recs)]
                })
            }
        }
    }

    fn user(&mut self, target: &str, args: &RawValue) -> Result<Vec<Event>, String> {
        let args: Vec<&RawValue> = serde_json::from_str(args.get()).map_err(|e| e.to_string())?;
        let Some(first) = args.first() else {
            return Err("no payload".into());
        };
        // As `schema.unwrap_user_events`: one object or an array of objects (anything else fails
        // the whole event); `{action, data}` unwrapped, the action kept when it is an integer.
        let value: serde_json::Value =
            serde_json::from_str(first.get()).map_err(|e| e.to_string())?;
        let items = match value {
            serde_json::Value::Array(v) => v,
            other => vec![other],
        };
        let mut pairs = Vec::with_capacity(items.len());
        for item in items {
            let serde_json::Value::Object(mut obj) = item else {
                return Err("user event: expected an object".into());
            };
            let wrapped = obj.contains_key("action")
                && matches!(obj.get("data"), Some(serde_json::Value::Object(_)));
            if wrapped {
                let action = obj.get("action").and_then(serde_json::Value::as_i64);
                let Some(serde_json::Value::Object(data)) = obj.remove("data") else {
                    continue;
                };
                pairs.push((action, data));
            } else {
                pairs.push((None, obj));
            }
        }
        let mut out = Vec::with_capacity(pairs.len());
        for (action, obj) in pairs {
            let ev = match target {
                EVENT_USER_ORDER => lax::order(&obj).map(|o| Event::Order(action, o)),
                EVENT_USER_POSITION => lax::position(&obj).map(Event::Position),
                EVENT_USER_TRADE => lax::fill(&obj).map(Event::Fill),
                _ => lax::account(&obj).map(Event::Account),
            };
            match ev {
                Ok(e) => out.push(e),
                Err(_) => self.stats.malformed += 1,
            }
        }
        Ok(out)
    }
}

/// Field readers with the Python twin's (pydantic lax mode) rules for user-hub payloads: absent vs
/// null vs wrong type as `trading/projectx/models.py` reads them.
pub mod lax {
    use super::{parse_ts, AccountRec, FillRec, OrderRec, PositionRec};
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
}

fn trade(raw: &RawValue) -> Result<TradeRec, String> {
    let t: TradeWire<'_> = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    let ts = t
        .timestamp
        .as_deref()
        .map(parse_ts)
        .transpose()?
        .flatten()
        .ok_or("a trade print needs a time")?;
    Ok(TradeRec {
        price: t.price,
        ts,
        kind: t.kind,
        volume: t.volume,
    })
}

fn depth(raw: &RawValue) -> Result<DepthRec, String> {
    let d: DepthWire<'_> = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    if !(0..=11).contains(&d.kind) {
        return Err(format!("unknown DomType {}", d.kind));
    }
    Ok(DepthRec {
        ts: d.timestamp.as_deref().map(parse_ts).transpose()?.flatten(),
        kind: d.kind,
        price: d.price,
        volume: d.volume,
        current_volume: d.current_volume,
    })
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &[u8]) -> Result<i64, String> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err("not an ISO-8601 timestamp".into());
    }
    Ok(s.iter().fold(0i64, |a, &b| a * 10 + i64::from(b - b'0')))
}

/// ISO-8601 -> ns since the epoch (UTC), truncated to µs like the Python twin; the `0001-01-01`
/// "N/A" sentinel gives None. Accepts `Z`, `±HH:MM`, no zone (UTC), any fraction length.
pub fn parse_ts(text: &str) -> Result<Option<i64>, String> {
    let b = text.trim().as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(format!("not an ISO-8601 timestamp: {:.40}", text));
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (h, mi, s) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return Err(format!("timestamp out of range: {:.40}", text));
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &b[start..i];
        if frac.is_empty() {
            return Err("empty fraction".into());
        }
        for k in 0..6 {
            micros = micros * 10 + frac.get(k).map_or(0, |&c| i64::from(c - b'0'));
        }
    }
    let offset_s = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), hh1, hh2, b':', mm1, mm2] => {
            let v = num(&[*hh1, *hh2])? * 3600 + num(&[*mm1, *mm2])? * 60;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return Err(format!("bad zone in timestamp: {:.40}", text)),
    };
    if y == 1 {
        return Ok(None);
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset_s;
    Ok(Some(secs * 1_000_000_000 + micros * 1_000))
}

/// decode_burst(data) -> (frames, events, skipped): frame and decode a recorded byte stream and
/// merge its quotes per contract, all in Rust (the decode cost alone, for the benchmark).
#[pyo3::pyfunction]
pub fn decode_burst(py: pyo3::Python<'_>, data: Vec<u8>) -> (u64, u64, u64) {
    py.detach(move || {
        let mut framer = Framer::default();
        let mut decoder = Decoder::new();
        decoder.handshaken = true;
        let mut merged: std::collections::HashMap<String, QuotePatch> =
            std::collections::HashMap::new();
        let (mut events, mut skipped) = (0u64, 0u64);
        framer.feed(&data, |f| match decoder.decode(f) {
            Decoded::Events(ev) => {
                for e in ev {
                    events += 1;
                    if let Event::Quote(cid, p) = e {
                        let q = merged.entry(cid).or_default();
                        q.last = p.last.or(q.last);
                        q.bid = p.bid.or(q.bid);
                        q.ask = p.ask.or(q.ask);
                        q.volume = p.volume.or(q.volume);
                        q.ts = p.ts.or(q.ts);
                    }
                }
            }
            Decoded::Skipped(_) => skipped += 1,
            _ => {}
        });
        (decoder.stats.frames, events, skipped)
    })
}

pub fn register(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
    use pyo3::types::PyModuleMethods;
    m.add_function(pyo3::wrap_pyfunction!(decode_burst, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests;
