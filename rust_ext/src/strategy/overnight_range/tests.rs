//! The Rust overnight range on a hand-built day (the shape of tests/support/scenario_days.py):
//! ONH 20050, ONL 19950, ATR5 8, ATRD 40 on a 0.25 tick, so the entries are 20050.25 / 19949.75
//! with brackets -40 / +320 ticks (and mirrored), as the Python scenario tests work out by hand.

use super::*;
use crate::strategy::{Account, Bars, Columns, Decision, OrderKind};

const MIN: i64 = 60 * NS;
const HOUR: i64 = 60 * MIN;
pub(crate) const CONFIG: &str = r#"{"symbols": ["MNQ"], "quantity": 1, "open_grace_minutes": 5, "offset": "0.25",
 "atr_period": 14, "stop_atr_mult": "1.25", "target_atrd_mult": "2.0", "min_stop_ticks": 4,
 "cancel_opposite_on_fill": true, "breakeven_enabled": true, "breakeven_points": "15",
 "range_filter": false, "range_min": "50", "range_max": "500", "gap_filter": false, "gap_max": "200",
 "volatility_filter": false, "atr5_min": "20", "atr5_max": "200", "daily_loss_filter": false,
 "daily_loss_used_max": "0.75", "data_quality_filter": true, "data_quality_min": "0.90",
 "plausible_range_max": "0.07"}"#;

/// 2025-06-11, New York on EDT (UTC-4): the window opens 22:00 UTC the day before.
fn day(sessions: usize) -> TradingDay {
    let d0 = days_from_civil(2025, 6, 11) * DAY;
    let ws = d0 - 2 * HOUR;
    TradingDay {
        date: (2025, 6, 11),
        window_start: ws,
        window_end: d0 + 13 * HOUR + 30 * MIN,
        rth_open: d0 + 13 * HOUR + 30 * MIN,
        rth_close: d0 + 20 * HOUR,
        flatten: d0 + 19 * HOUR + 55 * MIN,
        sessions_before: (0..sessions as i64)
            .rev()
            .map(|k| (ws - (k + 1) * DAY, ws - (k + 1) * DAY + 23 * HOUR))
            .collect(),
        previous_rth: Some((d0 - DAY + 13 * HOUR + 30 * MIN, d0 - DAY + 20 * HOUR)),
    }
}

fn push(b: &mut Columns, t: i64, o: f64, h: f64, l: f64, c: f64) {
    b.push(t, o, h, l, c);
}

fn bars(d: &TradingDay) -> Bars {
    let base = 20000.0;
    let mut b = Columns::default();
    for &(open, _) in &d.sessions_before {
        push(&mut b, open, base, base, base, base);
        push(&mut b, open + HOUR, base, base + 20.0, base, base);
        push(&mut b, open + 2 * HOUR, base, base, base - 20.0, base);
    }
    let mut t = d.window_start;
    while t < d.window_end {
        let (mut h, mut l) = (base, base);
        if t >= d.window_end - 75 * MIN && (t / MIN) % 5 == 0 {
            (h, l) = (base + 4.0, base - 4.0);
        }
        if t == d.window_start + 8 * HOUR {
            h = 20050.0;
        }
        if t == d.window_start + 9 * HOUR {
            l = 19950.0;
        }
        push(&mut b, t, base, h, l, base);
        t += MIN;
    }
    Bars::of(b)
}

#[derive(Default)]
struct Fake {
    now: i64,
    bars: Bars,
    last: Option<Dec>,
    position: Option<(bool, i64)>,
    orders: Vec<OrderView>,
    placed: Vec<PlaceRequest>,
    cancelled: Vec<i64>,
    modified: Vec<(i64, String)>,
    notices: Vec<Notice>,
}

impl Context for Fake {
    fn now(&mut self) -> i64 {
        self.now
    }
    fn tick_size(&mut self, _: &str) -> Dec {
        Dec::parse("0.25").unwrap()
    }
    fn bars(&mut self, _: &str, start: i64, end: i64) -> Bars {
        self.bars.slice(start, end.min(self.now - MIN + 1))
    }
    fn last_price(&mut self, _: &str) -> Option<Dec> {
        self.last
    }
    fn orders(&mut self) -> Vec<OrderView> {
        self.orders.clone()
    }
    fn position(&mut self, _: &str) -> Option<(bool, i64)> {
        self.position
    }
    fn account(&mut self) -> Account {
        Account {
            daily_pnl: Dec::ZERO,
            daily_loss_limit: Dec::int(1000),
        }
    }
    fn open_minutes(&mut self, start: i64, end: i64) -> i64 {
        (end - start) / MIN
    }
    fn propose(&mut self, r: PlaceRequest) -> Decision {
        let id = self.orders.len() as i64 + 1;
        self.orders.push(OrderView {
            id: Some(id),
            custom_tag: Some(r.custom_tag.clone()),
            parent_id: None,
            kind: r.kind,
            status: "open".into(),
            working: true,
            stop_price: r.stop_price,
            filled_price: None,
        });
        self.placed.push(r);
        Decision {
            approved: true,
            reason: String::new(),
            order_id: Some(id),
        }
    }
    fn cancel(&mut self, order_id: i64) {
        self.cancelled.push(order_id);
        if let Some(o) = self.orders.iter_mut().find(|o| o.id == Some(order_id)) {
            o.status = "cancelled".into();
            o.working = false;
        }
    }
    fn modify_stop(&mut self, order_id: i64, price: Dec) {
        self.modified.push((order_id, price.to_string()));
    }
    fn notify(&mut self, notice: Notice) {
        self.notices.push(notice);
    }
}

fn setup(sessions: usize, now: i64) -> (OvernightRange, Fake, TradingDay) {
    let d = day(sessions);
    let fake = Fake {
        now,
        bars: bars(&d),
        ..Fake::default()
    };
    let s = OvernightRange::new(Config::from_json(CONFIG).unwrap(), Zone::fixed(-4 * HOUR));
    (s, fake, d)
}

fn blocked(s: &OvernightRange) -> Option<String> {
    s.state
        .as_ref()
        .unwrap()
        .symbols
        .get("MNQ")
        .unwrap()
        .blocked
        .clone()
}

#[test]
fn a_long_day_places_both_entries_fills_cancels_the_other_moves_to_breakeven_and_flattens() {
    let d = day(15);
    let (mut s, mut ctx, _) = setup(15, d.rth_open);
    s.on_session_event(&mut ctx, SessionEvent::Open, &d);
    let got: Vec<_> = ctx
        .placed
        .iter()
        .map(|r| {
            (
                r.custom_tag.as_str(),
                r.stop_price.unwrap().to_string(),
                r.bracket,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "overnight_range:MNQ:long:2025-06-11",
                "20050.25".to_string(),
                Some((-40, 320))
            ),
            (
                "overnight_range:MNQ:short:2025-06-11",
                "19949.75".to_string(),
                Some((40, -320))
            ),
        ]
    );
    let levels = &s.state.as_ref().unwrap().symbols.get("MNQ").unwrap().levels;
    assert_eq!(
        levels.get("atr5").cloned().flatten().as_deref(),
        Some("8.000000")
    );
    assert_eq!(
        levels.get("atrd").cloned().flatten().as_deref(),
        Some("40.000000")
    );
    assert!(matches!(
        &ctx.notices[0],
        Notice::RangeCard {
            card: "open",
            blocked: None,
            ..
        }
    ));

    ctx.orders[0].status = "filled".into();
    ctx.orders[0].working = false;
    let entry = ctx.orders[0].clone();
    s.on_fill(&mut ctx, &entry, Dec::parse("20050.25").unwrap(), 1);
    assert_eq!(ctx.cancelled, vec![2]); // entry OCO
    assert!(s.watching("MNQ"));
    ctx.orders.push(OrderView {
        id: Some(3),
        custom_tag: Some("overnight_range:MNQ:long:2025-06-11:sl".into()),
        parent_id: Some(1),
        kind: OrderKind::Stop,
        status: "open".into(),
        working: true,
        stop_price: Dec::parse("20040.25").ok(),
        filled_price: None,
    });
    assert_eq!(s.bar_triggers("MNQ"), vec![(true, 20065.25)]); // the breakeven's 15 points
    s.on_bar(&mut ctx, "MNQ", 20065.0, 20050.0); // 14.75 points: not yet
    assert!(ctx.modified.is_empty());
    s.on_bar(&mut ctx, "MNQ", 20065.25, 20050.0);
    assert_eq!(ctx.modified, vec![(3, "20050.25".to_string())]);
    assert!(!s.watching("MNQ"));
    assert!(s.bar_triggers("MNQ").is_empty());

    ctx.position = Some((true, 1));
    s.on_session_event(&mut ctx, SessionEvent::Flatten, &d);
    let flat = ctx.placed.last().unwrap();
    assert_eq!(
        (flat.side, flat.kind, flat.custom_tag.as_str()),
        (
            Side::Sell,
            OrderKind::Market,
            "overnight_range:MNQ:flatten:2025-06-11"
        )
    );
    assert_eq!(ctx.cancelled, vec![2, 3]);

    let saved = s.on_save();
    assert!(saved.starts_with(
        r#"{"date":"2025-06-11","opened":true,"symbols":{"MNQ":{"levels":{"onh":"20050.00""#
    ));
    let mut again = OvernightRange::new(Config::from_json(CONFIG).unwrap(), Zone::fixed(-4 * HOUR));
    again.on_load(&saved).unwrap();
    assert_eq!(again.on_save(), saved);
}

#[test]
fn no_chase_skips_a_side_the_market_is_already_beyond() {
    let d = day(15);
    let (mut s, mut ctx, _) = setup(15, d.rth_open);
    ctx.last = Dec::parse("20060.0").ok();
    s.on_session_event(&mut ctx, SessionEvent::Open, &d);
    assert_eq!(ctx.placed.len(), 1);
    let buy = s
        .state
        .as_ref()
        .unwrap()
        .symbols
        .get("MNQ")
        .unwrap()
        .sides
        .get("buy")
        .unwrap()
        .clone();
    assert_eq!(buy.status, "skipped");
    assert_eq!(
        buy.note,
        "no chase: last price 20060.0 is already at or beyond the entry 20050.25"
    );
}

#[test]
fn warm_up_and_a_late_start_block_the_day_and_say_why() {
    let d = day(10);
    let (mut s, mut ctx, _) = setup(10, d.rth_open);
    s.on_session_event(&mut ctx, SessionEvent::Open, &d);
    assert!(ctx.placed.is_empty());
    assert_eq!(
        blocked(&s).unwrap(),
        "warm-up: 5 of the 15 daily sessions needed for ATRD are missing; no trade"
    );

    let d = day(15);
    let (mut s, mut ctx, _) = setup(15, d.rth_open + 6 * MIN);
    s.on_session_event(&mut ctx, SessionEvent::Open, &d);
    assert!(ctx.placed.is_empty());
    assert_eq!(
        blocked(&s).unwrap(),
        "started 0:06:00 after the open, past the 5-minute grace"
    );
}

#[test]
fn the_range_filter_writes_its_sentence_as_python_does() {
    let d = day(15);
    let cfg = CONFIG
        .replace(r#""range_filter": false"#, r#""range_filter": true"#)
        .replace(r#""range_max": "500""#, r#""range_max": "80""#);
    let mut s = OvernightRange::new(Config::from_json(&cfg).unwrap(), Zone::fixed(-4 * HOUR));
    let mut ctx = Fake {
        now: d.rth_open,
        bars: bars(&d),
        ..Fake::default()
    };
    s.on_session_event(&mut ctx, SessionEvent::Open, &d);
    assert_eq!(blocked(&s).unwrap(), "range 100.0 points outside [50, 80]");
}

#[test]
fn timedelta_text_matches_python() {
    assert_eq!(timedelta_text(6 * MIN), "0:06:00");
    assert_eq!(
        timedelta_text(DAY + 2 * HOUR + 3 * MIN + 4 * NS),
        "1 day, 2:03:04"
    );
    assert_eq!(timedelta_text(2 * DAY + NS / 2), "2 days, 0:00:00.500000");
}
