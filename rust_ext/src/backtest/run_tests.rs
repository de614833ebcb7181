//! The loop on a hand-built day with a scripted strategy and a host that approves everything (the
//! parity with the Python loop, on every scenario day and random ones, is proven from Python:
//! tests/unit/backtest/test_native_loop.py).

use super::*;

const T0: i64 = 1_000 * MINUTE; // the RTH open of the test day

/// Places one buy stop at the open (bracket -4 / +8 ticks), records the fills it hears of.
#[derive(Default)]
struct Scripted {
    fills: Vec<(Option<String>, String)>,
    updates: Vec<String>,
}

impl Strategy for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn on_session_event(&mut self, ctx: &mut dyn Context, event: SessionEvent, _: &TradingDay) {
        if event == SessionEvent::Open {
            let d = ctx.propose(PlaceRequest {
                symbol: "MNQ".into(),
                side: Side::Buy,
                kind: OrderKind::Stop,
                size: 1,
                custom_tag: "entry".into(),
                stop_price: Some(Dec::parse("101.00").unwrap()),
                bracket: Some((-4, 8)),
                reason: "breakout".into(),
            });
            assert!(d.approved && d.order_id == Some(1));
        }
    }
    fn on_bar(&mut self, _: &mut dyn Context, _: &str, _: f64, _: f64) {}
    fn on_quote(&mut self, _: &mut dyn Context, _: &str, _: Option<Dec>) {}
    fn on_order_update(&mut self, _: &mut dyn Context, order: &OrderView) {
        self.updates
            .push(format!("{:?} {}", order.custom_tag, order.status));
    }
    fn on_fill(&mut self, _: &mut dyn Context, order: &OrderView, price: Dec, _: i64) {
        self.fills
            .push((order.custom_tag.clone(), price.to_string()));
    }
    fn on_save(&self) -> String {
        "{}".into()
    }
    fn on_load(&mut self, _: &str) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Default)]
struct Approve {
    marks: usize,
}

impl Host for Approve {
    fn check(&mut self, _: &Request, _: &Exposure, _: i64) -> (bool, String, RiskGuard) {
        (true, String::new(), RiskGuard::default())
    }
    fn mark(&mut self, _: &Exposure, _: i64) -> (Vec<String>, RiskGuard) {
        self.marks += 1;
        (vec![], RiskGuard::default())
    }
    fn open_minutes(&mut self, start: i64, end: i64) -> i64 {
        (end - start) / MINUTE
    }
    fn failed(&self) -> bool {
        false
    }
}

fn day() -> Day {
    Day {
        trading: TradingDay {
            date: (1970, 1, 1),
            window_start: 0,
            window_end: T0,
            rth_open: T0,
            rth_close: T0 + 10 * MINUTE,
            flatten: T0 + 9 * MINUTE,
            sessions_before: vec![],
            previous_rth: None,
        },
        events: vec![(T0, SessionEvent::Open)],
        minutes: vec![],
    }
}

#[test]
fn an_entry_fills_at_the_worse_of_stop_and_open_and_its_take_profit_closes_the_trade() {
    let mut cols = Columns::default();
    cols.push(T0 - MINUTE, 100.0, 100.0, 100.0, 100.0); // before the open: not replayed
    cols.push(T0, 100.0, 100.5, 99.5, 100.0);
    cols.push(T0 + MINUTE, 101.5, 102.0, 101.0, 101.75); // gaps over the stop: fills at the open 101.5
    cols.push(T0 + 2 * MINUTE, 101.75, 103.75, 101.5, 103.0); // TP 103.50 traded through
    let lane = Lane {
        symbol: "MNQ".into(),
        contract_id: "CON.F.US.MNQ".into(),
        money: Money {
            tick: Dec::parse("0.25").unwrap(),
            tick_value: Dec::parse("0.50").unwrap(),
        },
        bars: Arc::new(cols),
    };
    let days = [day()];
    let settings = Settings {
        starting_balance: Dec::parse("50000").unwrap(),
        fees_per_side: Dec::parse("0.37").unwrap(),
        rules: FillRules::default(),
        daily_loss_limit: Dec::int(1000),
    };
    let mut host = Approve::default();
    let mut run = Run::new(
        Scripted::default(),
        vec![lane],
        &days,
        settings,
        &mut host,
        None,
    );
    run.run();
    let out = &run.world.out;
    let fills: Vec<(i64, String, String)> = out
        .fills
        .iter()
        .map(|f| (f.time, f.tag.clone(), f.price.to_string()))
        .collect();
    assert_eq!(
        fills,
        vec![
            (T0 + MINUTE, "entry".into(), "101.50".into()),
            (T0 + 2 * MINUTE, "entry:tp".into(), "103.50".into()),
        ]
    );
    let actions: Vec<&str> = out.orders.iter().map(|o| o.action).collect();
    assert_eq!(
        actions,
        [
            "placed",
            "filled",
            "placed",
            "placed",
            "filled",
            "cancelled"
        ]
    );
    let t = &out.trades[0];
    assert_eq!(
        (t.ticks, t.pnl.to_string(), t.fees.to_string()),
        (8, "4.00".into(), "0.74".into())
    );
    assert_eq!(run.world.ledger.balance().to_string(), "50003.26");
    assert_eq!(
        out.equity,
        vec![(T0 + 2 * MINUTE, Dec::parse("50003.26").unwrap())]
    );
    assert_eq!(run.strategy.fills.len(), 2);
    assert_eq!(run.strategy.updates, ["Some(\"entry:sl\") cancelled"]);
    drop(run);
    assert_eq!(host.marks, 3); // each fill, and the first bar mark (the guard's day is unknown)
}
