use super::*;
use crate::realtime::messages::Event;

const QUOTE_FULL: &str = include_str!("../../../../tests/data/projectx/hub/quote_full.json");
const QUOTE_PARTIAL: &str = include_str!("../../../../tests/data/projectx/hub/quote_partial.json");
const TRADE_ARRAY: &str = include_str!("../../../../tests/data/projectx/hub/trade_array.json");
const DEPTH_ARRAY: &str = include_str!("../../../../tests/data/projectx/hub/depth_array.json");
const ORDER_FLAT: &str = include_str!("../../../../tests/data/projectx/hub/user_order_flat.json");
const ORDER_WRAPPED: &str =
    include_str!("../../../../tests/data/projectx/hub/user_order_wrapped.json");
const POSITION: &str = include_str!("../../../../tests/data/projectx/hub/user_position.json");
const FILL: &str = include_str!("../../../../tests/data/projectx/hub/user_trade.json");
const ACCOUNT: &str = include_str!("../../../../tests/data/projectx/hub/user_account.json");

fn ready() -> Decoder {
    let mut d = Decoder::new();
    assert_eq!(d.decode(b"{}"), Decoded::Handshake(None));
    d
}

fn events(d: &mut Decoder, json: &str) -> Vec<Event> {
    match d.decode(json.as_bytes()) {
        Decoded::Events(e) => e,
        other => panic!("not events: {other:?}"),
    }
}

#[test]
fn handshake_error_ping_completion_close() {
    let mut d = Decoder::new();
    assert_eq!(
        d.decode(br#"{"error":"bad protocol"}"#),
        Decoded::Handshake(Some("bad protocol".into()))
    );
    assert_eq!(d.decode(br#"{"type":6}"#), Decoded::Ping);
    assert_eq!(
        d.decode(br#"{"type":3,"invocationId":"7","result":null}"#),
        Decoded::Completion(Some("7".into()), None)
    );
    assert_eq!(
        d.decode(br#"{"type":7,"error":"bye"}"#),
        Decoded::Close(Some("bye".into()))
    );
    assert_eq!(d.decode(br#"{"type":2}"#), Decoded::Ignored(2));
}

#[test]
fn decodes_canonical_market_payloads() {
    let mut d = ready();
    let ev = events(&mut d, QUOTE_FULL);
    let Event::Quote(cid, q) = &ev[0] else {
        panic!()
    };
    assert_eq!(cid, "CON.F.US.EP.U25");
    assert_eq!(
        (q.last, q.bid, q.ask, q.volume),
        (Some(6335.25), Some(6335.0), Some(6335.25), Some(123456))
    );
    assert_eq!(q.ts, Some(1_752_872_401_268_009_000));
    let ev = events(&mut d, QUOTE_PARTIAL);
    let Event::Quote(_, q) = &ev[0] else { panic!() };
    assert_eq!(
        (q.last, q.volume, q.ts),
        (None, None, Some(1_752_872_401_500_000_000))
    );
    let ev = events(&mut d, TRADE_ARRAY);
    let Event::Trades(_, t) = &ev[0] else {
        panic!()
    };
    assert_eq!(t.len(), 2);
    assert_eq!((t[1].price, t[1].kind, t[1].volume), (6335.0, 1, 1));
    assert_eq!(t[1].ts, 1_752_872_401_301_234_000); // 7-digit fraction truncated to µs
    let ev = events(&mut d, DEPTH_ARRAY);
    let Event::Depth(_, levels) = &ev[0] else {
        panic!()
    };
    assert_eq!(levels.len(), 3);
    assert_eq!(levels[2].ts, None); // 0001-01-01 sentinel
    assert_eq!(levels[0].current_volume, Some(12));
}

#[test]
fn trade_as_single_object_is_accepted() {
    let mut d = ready();
    let ev = events(
        &mut d,
        r#"{"type":1,"target":"GatewayTrade","arguments":["C",{"price":1.5,"timestamp":"2025-01-01T00:00:00Z","type":0,"volume":3}]}"#,
    );
    assert!(matches!(&ev[0], Event::Trades(c, t) if c == "C" && t.len() == 1));
}

#[test]
fn decodes_canonical_user_payloads() {
    let mut d = ready();
    let flat = events(&mut d, ORDER_FLAT);
    let wrapped = events(&mut d, ORDER_WRAPPED);
    let (Event::Order(None, a), Event::Order(Some(1), b)) = (&flat[0], &wrapped[0]) else {
        panic!("{flat:?} {wrapped:?}")
    };
    assert_eq!(a, b);
    assert_eq!(
        (a.id, a.limit_price, a.custom_tag.as_deref()),
        (9056, Some(23000.25), Some("strat-1"))
    );
    let Event::Position(p) = &events(&mut d, POSITION)[0] else {
        panic!()
    };
    assert_eq!((p.kind, p.size, p.average_price), (1, 2, 23001.5));
    assert!(!p.closed && p.long);
    let Event::Fill(f) = &events(&mut d, FILL)[0] else {
        panic!()
    };
    assert_eq!((f.order_id, f.profit_and_loss, f.fees), (9056, None, 0.37));
    let Event::Account(a) = &events(&mut d, ACCOUNT)[0] else {
        panic!()
    };
    assert_eq!((a.id, a.can_trade, a.simulated), (465, true, true));
}

#[test]
fn malformed_frames_are_skipped_never_panic() {
    let mut d = ready();
    let bad: &[&[u8]] = &[
        b"{\"type\":1,\"target\":\"GatewayQuote\",\"argu",
        b"\xff\xfe",
        b"[]",
        br#"{"type":1,"target":"GatewayQuote","arguments":["C",{"bestBid":"x"}]}"#,
        br#"{"type":1,"target":"GatewayQuote","arguments":[42,{}]}"#,
        br#"{"type":1,"target":"GatewayQuote","arguments":["C",{"timestamp":"yesterday"}]}"#,
        br#"{"type":1,"target":"GatewayTrade","arguments":["C",7]}"#,
        br#"{"type":1,"target":"GatewayUserOrder","arguments":[]}"#,
        br#"{"type":1,"target":"NoSuchEvent","arguments":[1]}"#,
        br#"{"type":1,"arguments":[1]}"#,
        br#"{"type":"one"}"#,
        br#"{"nothing":true}"#,
    ];
    for frame in bad {
        assert!(
            matches!(d.decode(frame), Decoded::Skipped(_)),
            "{:?}",
            String::from_utf8_lossy(frame)
        );
    }
    assert_eq!(d.stats.unknown_target, 1);
    // Bad entries inside arrays are skipped alone.
    let ev = events(
        &mut d,
        r#"{"type":1,"target":"GatewayTrade","arguments":["C",[{"price":"x"},{"price":2.0,"timestamp":"2025-01-01T00:00:00Z","type":1,"volume":1},{"price":3.0,"type":1,"volume":1}]]}"#,
    );
    assert!(matches!(&ev[0], Event::Trades(_, t) if t.len() == 1 && t[0].price == 2.0));
    let ev = events(
        &mut d,
        r#"{"type":1,"target":"GatewayUserOrder","arguments":[[{"id":"x"},{"action":2,"data":5}]]}"#,
    );
    assert!(ev.is_empty());
    let ev = events(
        &mut d,
        r#"{"type":1,"target":"GatewayDepth","arguments":["C",[{"type":99,"price":1,"volume":1}]]}"#,
    );
    assert!(ev.is_empty());
}

fn user(d: &mut Decoder, target: &str, arg: &str) -> Vec<Event> {
    events(
        d,
        &format!(r#"{{"type":1,"target":"{target}","arguments":[{arg}]}}"#),
    )
}

#[test]
fn user_items_follow_the_python_models() {
    let mut d = ready();
    // Lax numbers and booleans as pydantic reads them; defaults for absent fields.
    let ev = user(
        &mut d,
        EVENT_USER_ACCOUNT,
        r#"{"id":"7","name":"A","balance":"12.5","canTrade":"yes"}"#,
    );
    let Event::Account(a) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (a.id, a.balance, a.can_trade, a.is_visible, a.simulated),
        (7, 12.5, true, true, true)
    );
    // null where a default exists is an error; absent is the default.
    let base = r#""id":1,"accountId":2,"contractId":"C","status":1,"type":1,"side":0,"size":1"#;
    assert!(user(
        &mut d,
        EVENT_USER_ORDER,
        &format!(r#"{{{base},"fillVolume":null}}"#)
    )
    .is_empty());
    let ev = user(&mut d, EVENT_USER_ORDER, &format!("{{{base}}}"));
    assert!(
        matches!(&ev[0], Event::Order(None, o) if o.fill_volume == 0 && o.creation_timestamp.is_none())
    );
    // Unknown enums, bad times and wrong types skip the item alone.
    for bad in [
        r#""type":0"#,
        r#""side":2"#,
        r#""status":9"#,
        r#""creationTimestamp":"yesterday""#,
        r#""creationTimestamp":17"#,
        r#""limitPrice":true"#,
        r#""customTag":5"#,
        r#""size":1.5"#,
    ] {
        let frame = format!(r#"[{{{base},{bad}}},{{{base}}}]"#);
        let before = d.stats.malformed;
        assert_eq!(user(&mut d, EVENT_USER_ORDER, &frame).len(), 1, "{bad}");
        assert_eq!(d.stats.malformed, before + 1, "{bad}");
    }
    // The wrapper's action is kept only when it is an integer; null data is no wrapper.
    let ev = user(
        &mut d,
        EVENT_USER_ORDER,
        &format!(r#"[{{"action":true,"data":{{{base}}}}},{{"action":3,"data":{{{base}}}}}]"#),
    );
    assert!(matches!(
        (&ev[0], &ev[1]),
        (Event::Order(None, _), Event::Order(Some(3), _))
    ));
    // A non-object item fails the whole event (as `unwrap_user_events`).
    assert!(matches!(
        d.decode(
            format!(r#"{{"type":1,"target":"GatewayUserOrder","arguments":[[{{{base}}},5]]}}"#)
                .as_bytes()
        ),
        Decoded::Skipped(_)
    ));
    // Positions: size 0 or type 0 is flat (side from the type); otherwise the type must be 1 or 2.
    let pos = r#""id":1,"accountId":2,"contractId":"C","averagePrice":10"#;
    let ev = user(
        &mut d,
        EVENT_USER_POSITION,
        &format!(r#"{{{pos},"type":2,"size":0}}"#),
    );
    assert!(matches!(&ev[0], Event::Position(p) if p.closed && !p.long));
    let ev = user(
        &mut d,
        EVENT_USER_POSITION,
        &format!(r#"{{{pos},"type":7,"size":0}}"#),
    );
    assert!(matches!(&ev[0], Event::Position(p) if p.closed && p.long));
    assert!(user(
        &mut d,
        EVENT_USER_POSITION,
        &format!(r#"{{{pos},"type":7,"size":1}}"#)
    )
    .is_empty());
    // A fill needs a time (the 0001 sentinel is none).
    let fill = r#""id":1,"accountId":2,"contractId":"C","price":1,"side":1,"size":1,"orderId":3"#;
    assert!(user(&mut d, EVENT_USER_TRADE, &format!("{{{fill}}}")).is_empty());
    assert!(user(
        &mut d,
        EVENT_USER_TRADE,
        &format!(r#"{{{fill},"creationTimestamp":"0001-01-01T00:00:00"}}"#)
    )
    .is_empty());
    let ev = user(
        &mut d,
        EVENT_USER_TRADE,
        &format!(r#"{{{fill},"creationTimestamp":"2025-01-01T00:00:00Z","fees":"0.5"}}"#),
    );
    assert!(matches!(&ev[0], Event::Fill(f) if f.fees == 0.5 && !f.voided));
}

#[test]
fn truncated_user_frames_never_panic() {
    let mut d = ready();
    let full = include_str!("../../../../tests/data/projectx/hub/user_order_wrapped.json");
    for cut in 0..full.len() {
        let _ = d.decode(&full.as_bytes()[..cut]);
    }
    for junk in [
        r#"{"type":1,"target":"GatewayUserTrade","arguments":[null]}"#,
        r#"{"type":1,"target":"GatewayUserTrade","arguments":[[]]}"#,
        r#"{"type":1,"target":"GatewayUserAccount","arguments":[{"id":1e400}]}"#,
        r#"{"type":1,"target":"GatewayUserPosition","arguments":[{"action":1,"data":[]}]}"#,
        r#"{"type":1,"target":"GatewayUserOrder","arguments":[{"id":"99999999999999999999999"}]}"#,
    ] {
        let _ = d.decode(junk.as_bytes());
    }
}

#[test]
fn decode_burst_counts_frames_events_and_skips() {
    let quote = QUOTE_FULL.trim();
    let data = format!("{quote}\u{1e}{quote}\u{1e}{{\"type\":1}}\u{1e}{{\"type\":6}}\u{1e}");
    assert_eq!(decode_burst(data.as_bytes()), (4, 2, 1));
}

/// The general path alone (the one-pass quote path skipped), for comparison.
fn general(d: &mut Decoder, frame: &str) -> Decoded {
    match frames::parse(frame.as_bytes(), true) {
        Ok(Message::Invocation { target, arguments }) => d.invocation(target, arguments),
        Ok(_) => panic!("not an invocation: {frame}"),
        Err(e) => Decoded::Skipped(e),
    }
}

#[test]
fn a_quote_frame_reads_the_same_in_one_pass_as_in_three() {
    let frames = [
        QUOTE_FULL.trim().to_string(),
        QUOTE_PARTIAL.trim().to_string(),
        // fields in another order, an escape in the contract id, unknown fields, an invocation id
        r#"{"arguments":["CON.F.US.\u004dNQ.H26",{"bestBid":1.25,"x":[1,{"y":2}],"timestamp":"2026-01-02T15:00:00Z"}],"invocationId":"4","target":"GatewayQuote","type":1}"#.into(),
        r#"{"type":1,"target":"GatewayQuote","arguments":["A",{"lastUpdated":"2026-01-02T15:00:00.5+00:00","volume":3}]}"#.into(),
    ];
    for frame in &frames {
        let mut fast = ready();
        let mut slow = ready();
        let one = fast.quote_frame(frame.as_bytes());
        assert!(one.is_some(), "not read in one pass: {frame}");
        assert_eq!(one.unwrap(), general(&mut slow, frame), "{frame}");
    }
    // Odd ones take the general path, which says what is wrong (and counts it).
    for frame in [
        r#"{"type":1,"target":"GatewayQuote","arguments":["A",{"lastPrice":"not a price"}]}"#,
        r#"{"type":1,"target":"GatewayQuote","arguments":["A"]}"#,
        r#"{"type":1,"target":"GatewayQuote","arguments":["A",{},3]}"#,
        r#"{"type":1,"target":"GatewayQuote","arguments":["A",{"timestamp":"yesterday"}]}"#,
        r#"{"type":1,"target":"GatewayTrade","arguments":["A",{"note":"GatewayQuote"}]}"#,
    ] {
        let mut d = ready();
        assert_eq!(d.quote_frame(frame.as_bytes()), None, "{frame}");
        assert_eq!(
            d.decode(frame.as_bytes()),
            general(&mut ready(), frame),
            "{frame}"
        );
    }
}
