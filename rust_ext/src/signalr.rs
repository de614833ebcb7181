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

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRec {
    pub id: i64,
    pub account_id: i64,
    pub contract_id: String,
    #[serde(default)]
    pub symbol_id: Option<String>,
    #[serde(default)]
    pub creation_timestamp: Option<String>,
    #[serde(default)]
    pub update_timestamp: Option<String>,
    pub status: i64,
    #[serde(rename = "type")]
    pub kind: i64,
    pub side: i64,
    pub size: i64,
    #[serde(default)]
    pub limit_price: Option<f64>,
    #[serde(default)]
    pub stop_price: Option<f64>,
    #[serde(default)]
    pub trail_price: Option<f64>,
    #[serde(default)]
    pub fill_volume: Option<i64>,
    #[serde(default)]
    pub filled_price: Option<f64>,
    #[serde(default)]
    pub custom_tag: Option<String>,
    #[serde(default)]
    pub parent_order_id: Option<i64>,
    #[serde(default)]
    pub linked_order_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionRec {
    pub id: i64,
    pub account_id: i64,
    pub contract_id: String,
    #[serde(default)]
    pub creation_timestamp: Option<String>,
    #[serde(rename = "type")]
    pub kind: i64,
    pub size: i64,
    pub average_price: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FillRec {
    pub id: i64,
    pub account_id: i64,
    pub contract_id: String,
    #[serde(default)]
    pub creation_timestamp: Option<String>,
    pub price: f64,
    #[serde(default)]
    pub profit_and_loss: Option<f64>,
    #[serde(default)]
    pub fees: Option<f64>,
    pub side: i64,
    pub size: i64,
    #[serde(default)]
    pub voided: bool,
    pub order_id: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRec {
    pub id: i64,
    pub name: String,
    pub balance: f64,
    pub can_trade: bool,
    #[serde(default)]
    pub is_visible: bool,
    #[serde(default)]
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

#[derive(Deserialize)]
struct Wrapper<'a> {
    #[serde(default)]
    action: Option<i64>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
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
        let mut out = Vec::new();
        for item in entries(first)? {
            let (action, body) = match serde_json::from_str::<Wrapper<'_>>(item.get()) {
                Ok(Wrapper {
                    action: Some(a),
                    data: Some(d),
                }) if first_byte(d) == b'{' => (Some(a), d),
                Ok(_) => (None, item),
                Err(_) => {
                    self.stats.malformed += 1;
                    continue;
                }
            };
            let ev = match target {
                EVENT_USER_ORDER => {
                    serde_json::from_str(body.get()).map(|o| Event::Order(action, o))
                }
                EVENT_USER_POSITION => serde_json::from_str(body.get()).map(Event::Position),
                EVENT_USER_TRADE => serde_json::from_str(body.get()).map(Event::Fill),
                _ => serde_json::from_str(body.get()).map(Event::Account),
            };
            match ev {
                Ok(e) => out.push(e),
                Err(_) => self.stats.malformed += 1,
            }
        }
        Ok(out)
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
