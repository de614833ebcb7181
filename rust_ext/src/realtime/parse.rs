//! Decode of the ProjectX Gateway hub events carried in SignalR invocations into typed messages
//! (`messages.rs`), with the Python models' validation rules for user events.
//!
//! Malformed input never panics: a bad frame (truncated, wrong types) or an unknown target is
//! counted, reported through [`Decoded::Skipped`] with a reason, and the stream goes on. In arrays
//! of trades/depth/user items a bad entry is skipped alone (as the Python twin does).

use serde::Deserialize;
use serde_json::value::RawValue;

use super::messages::{DepthRec, Event, QuotePatch, QuoteState, TradeRec};
use crate::common::time::parse_ts;
use crate::common::wire::*;
use crate::signalr::frames::{self, Message};
use crate::signalr::framing::Framer;

pub mod lax;

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

/// A GatewayQuote invocation read in one pass (the hot frame: one per quote).
#[derive(Deserialize)]
struct QuoteFrame<'a> {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(borrow)]
    target: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    arguments: (std::borrow::Cow<'a, str>, QuoteWireB<'a>),
}

/// The text every GatewayQuote frame holds (its target), looked for before the one-pass read.
const QUOTE_TARGET: &[u8] = b"\"GatewayQuote\"";

fn quote_patch(q: QuoteWireB<'_>) -> Result<QuotePatch, String> {
    let t1 = q.timestamp.as_deref().map(parse_ts).transpose()?.flatten();
    let t2 = q
        .last_updated
        .as_deref()
        .map(parse_ts)
        .transpose()?
        .flatten();
    Ok(QuotePatch {
        last: q.last,
        bid: q.bid,
        ask: q.ask,
        volume: q.volume,
        ts: t1.or(t2),
    })
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

    /// A decoder for a connection whose handshake is done (`signalr::handshake`).
    pub fn after_handshake() -> Self {
        Decoder {
            handshaken: true,
            ..Self::default()
        }
    }

    /// Decode one frame (without separator). Never panics.
    pub fn decode(&mut self, frame: &[u8]) -> Decoded {
        self.stats.frames += 1;
        if let Some(quote) = self.quote_frame(frame) {
            return quote;
        }
        let msg = match frames::parse(frame, self.handshaken) {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed += 1;
                return Decoded::Skipped(e);
            }
        };
        match msg {
            Message::Handshake(err) => {
                self.handshaken = true;
                Decoded::Handshake(err.map(Into::into))
            }
            Message::Invocation { target, arguments } => self.invocation(target, arguments),
            Message::Completion(id, err) => {
                Decoded::Completion(id.map(Into::into), err.map(Into::into))
            }
            Message::Ping => Decoded::Ping,
            Message::Close(err) => Decoded::Close(err.map(Into::into)),
            Message::Ignored(k) => Decoded::Ignored(k),
        }
    }

    /// A well-formed GatewayQuote invocation in one typed pass (frame, arguments and payload at
    /// once, rather than three); anything else (or anything odd) takes the general path, which
    /// says what is wrong with it.
    fn quote_frame(&mut self, frame: &[u8]) -> Option<Decoded> {
        let quote = |w: &[u8]| w[0] == b'"' && w == QUOTE_TARGET;
        if !self.handshaken || !frame.windows(QUOTE_TARGET.len()).any(quote) {
            return None;
        }
        let f: QuoteFrame<'_> = serde_json::from_slice(frame).ok()?;
        if f.kind != MSG_INVOCATION || f.target != EVENT_QUOTE {
            return None;
        }
        let (cid, q) = f.arguments;
        let patch = quote_patch(q).ok()?;
        Some(Decoded::Events(vec![Event::Quote(cid.into_owned(), patch)]))
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
                Ok(vec![Event::Quote(cid, quote_patch(q)?)])
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

/// Frame and decode a recorded byte stream and merge its quotes per contract, all in Rust:
/// `(frames, events, skipped)` (the decode cost alone, for the benchmark).
pub fn decode_burst(data: &[u8]) -> (u64, u64, u64) {
    let mut framer = Framer::default();
    let mut decoder = Decoder::after_handshake();
    let mut merged: std::collections::HashMap<String, QuoteState> =
        std::collections::HashMap::new();
    let (mut events, mut skipped) = (0u64, 0u64);
    framer.feed(data, |f| match decoder.decode(f) {
        Decoded::Events(ev) => {
            for e in ev {
                events += 1;
                if let Event::Quote(cid, p) = e {
                    merged.entry(cid).or_default().merge(p);
                }
            }
        }
        Decoded::Skipped(_) => skipped += 1,
        _ => {}
    });
    (decoder.stats.frames, events, skipped)
}

#[cfg(test)]
mod tests;
