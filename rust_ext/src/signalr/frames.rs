//! SignalR JSON hub protocol frames: what one incoming frame is, and the invocation frame sent.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::common::wire::{MSG_CLOSE, MSG_COMPLETION, MSG_INVOCATION, MSG_PING};

/// One incoming frame. Invocation arguments stay raw JSON (borrowed from the frame) for the hub's
/// own decoder; texts are borrowed unless they hold escapes.
#[derive(Debug, Clone)]
pub enum Message<'a> {
    /// The handshake answer, with its error when the hub refused.
    Handshake(Option<Cow<'a, str>>),
    Invocation {
        target: Option<&'a str>,
        arguments: Option<&'a RawValue>,
    },
    /// A completion: invocation id and error.
    Completion(Option<Cow<'a, str>>, Option<Cow<'a, str>>),
    Ping,
    Close(Option<Cow<'a, str>>),
    /// A frame type this client does not use (stream items, cancels...).
    Ignored(u8),
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", default)]
    kind: Option<u8>,
    #[serde(borrow, default)]
    target: Option<&'a str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(rename = "invocationId", borrow, default)]
    invocation_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error: Option<Cow<'a, str>>,
}

/// Parse one frame (without its separator). Before the handshake answer, a frame without a type
/// is that answer; after it, such a frame is an error, as is bad JSON.
pub fn parse(frame: &[u8], handshaken: bool) -> Result<Message<'_>, String> {
    let f: Frame<'_> = serde_json::from_slice(frame).map_err(|e| format!("bad frame: {e}"))?;
    Ok(match f.kind {
        None if !handshaken => Message::Handshake(f.error),
        None => return Err("frame without a type".into()),
        Some(MSG_INVOCATION) => Message::Invocation {
            target: f.target,
            arguments: f.arguments,
        },
        Some(MSG_COMPLETION) => Message::Completion(f.invocation_id, f.error),
        Some(MSG_PING) => Message::Ping,
        Some(MSG_CLOSE) => Message::Close(f.error),
        Some(k) => Message::Ignored(k),
    })
}

/// The text of an invocation frame, separator included (`args` is the JSON array of arguments).
pub fn invocation(id: &str, target: &str, args: &serde_json::Value) -> String {
    let frame = serde_json::json!({"type": MSG_INVOCATION, "invocationId": id, "target": target, "arguments": args});
    format!("{frame}\u{1e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_error_ping_completion_close() {
        let is = |frame: &[u8], handshaken: bool, want: &str| {
            let got = format!("{:?}", parse(frame, handshaken).unwrap());
            assert_eq!(got, want);
        };
        is(
            br#"{"error":"bad protocol"}"#,
            false,
            r#"Handshake(Some("bad protocol"))"#,
        );
        is(b"{}", false, "Handshake(None)");
        assert!(parse(b"{}", true).is_err());
        is(br#"{"type":6}"#, true, "Ping");
        is(
            br#"{"type":3,"invocationId":"7","result":null}"#,
            true,
            r#"Completion(Some("7"), None)"#,
        );
        is(
            br#"{"type":7,"error":"bye"}"#,
            true,
            r#"Close(Some("bye"))"#,
        );
        is(
            br#"{"type":7,"error":"say \"bye\""}"#,
            true,
            r#"Close(Some("say \"bye\""))"#,
        );
        is(br#"{"type":2}"#, true, "Ignored(2)");
        assert!(parse(b"\xff", true).is_err());
        assert!(parse(br#"{"type":"one"}"#, true).is_err());
    }

    #[test]
    fn invocations_round_trip() {
        let text = invocation("4", "SubscribeContractQuotes", &serde_json::json!(["C"]));
        assert!(text.ends_with('\u{1e}'));
        let Ok(Message::Invocation {
            target: Some(t),
            arguments: Some(a),
        }) = parse(text.trim_end_matches('\u{1e}').as_bytes(), true)
        else {
            panic!("{text}")
        };
        assert_eq!((t, a.get()), ("SubscribeContractQuotes", r#"["C"]"#));
        let v: serde_json::Value = serde_json::from_str(text.trim_end_matches('\u{1e}')).unwrap();
        assert_eq!(v["invocationId"], "4");
    }
}
