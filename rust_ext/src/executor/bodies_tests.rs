use super::*;
use crate::executor::models::PlaceOrder;
use serde_json::json;

/// What the executor sent before bodies were written directly: a `Value` built first (its map
/// sorts the keys), then serialized.
fn through_value<T: Serialize>(req: &T) -> Vec<u8> {
    serde_json::to_vec(&serde_json::to_value(req).unwrap()).unwrap()
}

/// A small deterministic generator (xorshift64*): no dependency, the same cases every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }

    fn int(&mut self) -> i64 {
        match self.next() % 4 {
            0 => self.pick(&[0, 1, -1, i64::MAX, i64::MIN, 465, 9057]),
            1 => (self.next() % 1000) as i64 - 500,
            _ => self.next() as i64,
        }
    }

    /// Bracket ticks: any magnitude whose sign can be flipped.
    fn ticks(&mut self) -> i64 {
        self.int().max(-i64::MAX)
    }

    fn float(&mut self) -> f64 {
        match self.next() % 4 {
            0 => self.pick(&[
                0.0,
                -0.0,
                20000.0,
                21035.25,
                0.1,
                1e21,
                1e-7,
                123456789012345680.0,
                f64::MAX,
                f64::MIN_POSITIVE,
                5e-324,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ]),
            1 => (self.next() % 10_000_000) as f64 / 4.0,
            _ => f64::from_bits(self.next()),
        }
    }

    fn text(&mut self) -> String {
        let n = self.next() % 12;
        (0..n)
            .map(|_| match self.next() % 3 {
                0 => char::from(b'a' + (self.next() % 26) as u8),
                1 => self.pick(&[
                    '"', '\\', '/', '\n', '\r', '\t', '\u{0}', '\u{8}', '\u{c}', '\u{1f}',
                    '\u{7f}', 'é', '€', '\u{2028}', '\u{2029}', '𝄞', '\u{fffd}', '-', '.',
                ]),
                _ => char::from_u32((self.next() % 0x11_0000) as u32).unwrap_or('x'),
            })
            .collect()
    }

    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        (self.next() % 2 == 0).then(|| f(self))
    }
}

#[test]
fn every_body_is_the_same_bytes_as_through_a_value() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let order = PlaceOrder {
            account_id: g.int(),
            contract_id: g.text(),
            order_type: g.int(),
            side: g.pick(&[0, 1, 2]),
            size: g.int(),
            custom_tag: g.text(),
            limit_price: g.opt(Gen::float),
            stop_price: g.opt(Gen::float),
            trail_price: g.opt(Gen::float),
            stop_loss_ticks: g.opt(Gen::ticks),
            take_profit_ticks: g.opt(Gen::ticks),
        };
        assert_eq!(order.body(), through_value(&order.wire()), "{order:?}");
        let modify = ModifyBody {
            account_id: g.int(),
            order_id: g.int(),
            size: g.opt(Gen::int),
            limit_price: g.opt(Gen::float),
            stop_price: g.opt(Gen::float),
            trail_price: g.opt(Gen::float),
        };
        assert_eq!(json(&modify), through_value(&modify));
        let contract = g.text();
        let close = ClosePositionBody {
            account_id: g.int(),
            contract_id: &contract,
            size: g.opt(Gen::int),
        };
        assert_eq!(json(&close), through_value(&close));
        let cancel = OrderRefBody {
            account_id: g.int(),
            order_id: g.int(),
        };
        assert_eq!(json(&cancel), through_value(&cancel));
        let search = SearchOrdersBody {
            account_id: g.int(),
            start_timestamp: &contract,
        };
        assert_eq!(json(&search), through_value(&search));
        let account = AccountBody {
            account_id: g.int(),
        };
        assert_eq!(json(&account), through_value(&account));
    }
}

fn value(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn place_body_uses_the_wire_names_and_omits_absent_optionals() {
    let order = PlaceOrder {
        account_id: 465,
        contract_id: "CON.F.US.MNQ.Z25".into(),
        order_type: ORDER_TYPE_STOP,
        side: SIDE_BID,
        size: 1,
        custom_tag: "t1".into(),
        limit_price: None,
        stop_price: Some(21035.25),
        trail_price: None,
        stop_loss_ticks: Some(40),
        take_profit_ticks: None,
    };
    assert_eq!(
        String::from_utf8(order.body()).unwrap(),
        r#"{"accountId":465,"contractId":"CON.F.US.MNQ.Z25","customTag":"t1","side":0,"size":1,"stopLossBracket":{"ticks":-40,"type":4},"stopPrice":21035.25,"type":4}"#
    );
}

#[test]
fn small_bodies_use_the_wire_names() {
    let cancel = OrderRefBody {
        account_id: 1,
        order_id: 2,
    };
    assert_eq!(value(&json(&cancel)), json!({"accountId": 1, "orderId": 2}));
    let close = ClosePositionBody {
        account_id: 1,
        contract_id: "C",
        size: None,
    };
    assert_eq!(
        value(&json(&close)),
        json!({"accountId": 1, "contractId": "C"})
    );
    let search = SearchOrdersBody {
        account_id: 1,
        start_timestamp: "T",
    };
    assert_eq!(
        value(&json(&search)),
        json!({"accountId": 1, "startTimestamp": "T"})
    );
}

#[test]
fn brackets_are_signed_by_side() {
    let mut order = PlaceOrder {
        account_id: 1,
        contract_id: "C".into(),
        order_type: ORDER_TYPE_LIMIT,
        side: SIDE_BID,
        size: 1,
        custom_tag: "t".into(),
        limit_price: Some(10.0),
        stop_price: None,
        trail_price: None,
        stop_loss_ticks: Some(8),
        take_profit_ticks: Some(-16),
    };
    let v = value(&order.body());
    assert_eq!(
        (&v["stopLossBracket"], &v["takeProfitBracket"]),
        (
            &json!({"ticks": -8, "type": 4}),
            &json!({"ticks": 16, "type": 1})
        )
    );
    order.side = 1;
    let v = value(&order.body());
    assert_eq!(v["stopLossBracket"]["ticks"], 8);
    assert_eq!(v["takeProfitBracket"]["ticks"], -16);
}
