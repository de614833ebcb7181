//! The armed table and its crossing rule, on the Rust overnight range with a filled long (entry
//! 20050.25, breakeven 15 points: the level 20065.25) and a filled short (entry 19949.75: 19934.75).

use super::*;
use crate::bars::zone::Zone;
use crate::strategy::json::text;
use crate::strategy::overnight_range::config::Config;
use crate::strategy::overnight_range::state::{DayState, SideState};
use crate::strategy::overnight_range::tests::CONFIG;
use crate::strategy::OrderKind;

fn side(side: &str, entry: &str, order_id: i64) -> SideState {
    SideState {
        side: side.into(),
        tag: format!("overnight_range:MNQ:{side}:2025-06-11"),
        level: entry.into(),
        stop_ticks: -40,
        target_ticks: 320,
        status: "filled".into(),
        note: String::new(),
        order_id: Some(order_id),
        fill_price: Some(entry.into()),
        breakeven_done: false,
        exit_price: None,
    }
}

/// The core with the given filled sides.
fn core(sides: &[SideState]) -> Arc<Mutex<OvernightRange>> {
    let mut s = OvernightRange::new(Config::from_json(CONFIG).unwrap(), Zone::fixed(0));
    let mut st = DayState::new("2025-06-11".into());
    st.opened = true;
    for ss in sides {
        st.symbols
            .setdefault("MNQ")
            .sides
            .insert(&ss.side, ss.clone());
    }
    s.on_load(&text(&st)).unwrap();
    Arc::new(Mutex::new(s))
}

fn stop_leg(id: i64, parent: i64) -> OrderView {
    OrderView {
        id: Some(id),
        custom_tag: None,
        parent_id: Some(parent),
        kind: OrderKind::Stop,
        status: "open".into(),
        working: true,
        stop_price: Some(Dec::int(20000)),
        filled_price: None,
    }
}

fn armed(core: &Arc<Mutex<OvernightRange>>, orders: Vec<OrderView>) -> Armed {
    Armed {
        symbol: "MNQ".into(),
        triggers: core.lock().unwrap().bar_triggers("MNQ"),
        orders,
        core: core.clone(),
    }
}

fn done(core: &Arc<Mutex<OvernightRange>>, key: &str) -> bool {
    let c = core.lock().unwrap();
    c.state
        .as_ref()
        .unwrap()
        .symbols
        .get("MNQ")
        .unwrap()
        .sides
        .get(key)
        .unwrap()
        .breakeven_done
}

#[test]
fn a_buy_crosses_at_or_above_its_level_a_sell_at_or_below() {
    let t = [(true, 20065.25)];
    assert!(!crosses(&t, 20065.0));
    assert!(crosses(&t, 20065.25) && crosses(&t, 20070.0));
    let t = [(false, 19934.75)];
    assert!(!crosses(&t, 19935.0));
    assert!(crosses(&t, 19934.75) && crosses(&t, 19900.0));
    assert!(!crosses(&[], 1.0));
    let both = [(true, 20065.25), (false, 19934.75)];
    assert!(crosses(&both, 20066.0) && crosses(&both, 19930.0) && !crosses(&both, 20000.0));
}

#[test]
fn a_crossing_quote_moves_the_stop_once_through_the_cores_own_state() {
    let c = core(&[side("buy", "20050.25", 7)]);
    let table = ArmedTable::default();
    table.set_open(true);
    table.arm("CON.MNQ", armed(&c, vec![stop_leg(8, 7)]));
    assert_eq!(table.triggers("CON.MNQ"), vec![(true, 20065.25)]);

    assert!(table.fire("CON.MNQ", 20065.0).is_empty()); // short of the level: nothing, still armed
    assert!(!done(&c, "buy"));
    assert_eq!(table.fired.load(Ordering::Relaxed), 0);

    assert_eq!(table.unrecorded(), 0);
    let moves = table.fire("CON.MNQ", 20065.25);
    assert_eq!(moves, vec![(8, Dec::parse("20050.25").unwrap())]);
    assert!(done(&c, "buy")); // the core's state, as its Python handler will find it
    assert_eq!(table.unrecorded(), 1); // counted before that state could be read
    table.recorded(1);
    table.recorded(1); // more than made: stays at 0
    assert_eq!(table.unrecorded(), 0);
    assert!(table.triggers("CON.MNQ").is_empty()); // disarmed
    assert!(table.fire("CON.MNQ", 20070.0).is_empty());

    // armed again from a stale view: the core has the breakeven done and does nothing
    table.arm(
        "CON.MNQ",
        Armed {
            symbol: "MNQ".into(),
            triggers: vec![(true, 20065.25)],
            orders: vec![stop_leg(8, 7)],
            core: c.clone(),
        },
    );
    assert!(table.fire("CON.MNQ", 20070.0).is_empty());
    assert!(c.lock().unwrap().bar_triggers("MNQ").is_empty());
}

#[test]
fn a_closed_gate_an_unknown_contract_and_no_stop_leg_do_nothing() {
    let c = core(&[side("sell", "19949.75", 3)]);
    let table = ArmedTable::default();
    table.arm("CON.MNQ", armed(&c, vec![stop_leg(4, 3)]));
    assert!(table.fire("CON.MNQ", 19900.0).is_empty()); // the gate is closed
    table.set_open(true);
    assert!(table.fire("CON.MES", 19900.0).is_empty());
    assert!(!done(&c, "sell"));

    table.arm("CON.MNQ", armed(&c, vec![stop_leg(4, 99)])); // the stop of another entry
    assert!(table.fire("CON.MNQ", 19934.75).is_empty());
    assert!(!done(&c, "sell"));
    assert!(table.triggers("CON.MNQ").is_empty()); // left to the next handler call to arm again

    table.arm("CON.MNQ", armed(&c, vec![stop_leg(4, 3)]));
    assert_eq!(
        table.fire("CON.MNQ", 19934.75),
        vec![(4, Dec::parse("19949.75").unwrap())]
    );
    assert!(done(&c, "sell"));
}

#[test]
fn arming_no_triggers_disarms() {
    let c = core(&[]);
    let table = ArmedTable::default();
    table.arm(
        "CON.MNQ",
        Armed {
            symbol: "MNQ".into(),
            triggers: vec![(true, 1.0)],
            orders: vec![],
            core: c.clone(),
        },
    );
    assert_eq!(table.triggers("CON.MNQ").len(), 1);
    table.arm("CON.MNQ", armed(&c, vec![]));
    assert!(table.triggers("CON.MNQ").is_empty());
}

#[test]
fn two_racing_quotes_move_each_stop_once() {
    let c = core(&[side("buy", "20050.25", 7)]);
    let table = Arc::new(ArmedTable::default());
    table.set_open(true);
    let runs: Vec<_> = (0..8)
        .map(|_| {
            let (table, c) = (table.clone(), c.clone());
            std::thread::spawn(move || {
                table.arm("CON.MNQ", armed(&c, vec![stop_leg(8, 7)]));
                table.fire("CON.MNQ", 20070.0).len()
            })
        })
        .collect();
    let moved: usize = runs.into_iter().map(|r| r.join().unwrap()).sum();
    assert_eq!(moved, 1);
    assert_eq!(table.unrecorded(), 1);
}

#[test]
fn a_move_is_counted_unrecorded_by_the_time_its_state_is_readable() {
    // A reader that takes the core's lock and finds the breakeven done must also find the move counted.
    for _ in 0..200 {
        let c = core(&[side("buy", "20050.25", 7)]);
        let table = Arc::new(ArmedTable::default());
        table.set_open(true);
        table.arm("CON.MNQ", armed(&c, vec![stop_leg(8, 7)]));
        let firing = {
            let table = table.clone();
            std::thread::spawn(move || table.fire("CON.MNQ", 20070.0).len())
        };
        loop {
            let seen_done = done(&c, "buy");
            if seen_done {
                assert_eq!(table.unrecorded(), 1);
                break;
            }
            if firing.is_finished() {
                break;
            }
        }
        assert_eq!(firing.join().unwrap(), 1);
        assert_eq!(table.unrecorded(), 1);
    }
}
