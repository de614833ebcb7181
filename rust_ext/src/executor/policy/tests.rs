use super::*;
use crate::executor::test_server::{answer, serve};
use serde_json::json;

fn executor(url: &str, delays: &[f64], refresh: Option<Refresh>) -> Executor {
    let schedule = RetrySchedule::from_secs(delays);
    Executor::new(
        url,
        "t1".into(),
        refresh,
        schedule,
        Duration::from_secs(5),
        2,
    )
    .unwrap()
}

fn order(tag: &str) -> PlaceOrder {
    PlaceOrder {
        account_id: 1,
        contract_id: "C".into(),
        order_type: ORDER_TYPE_LIMIT,
        side: SIDE_BID,
        size: 1,
        custom_tag: tag.into(),
        limit_price: Some(10.0),
        stop_price: None,
        trail_price: None,
        stop_loss_ticks: None,
        take_profit_ticks: None,
    }
}

#[test]
fn reconciliations_judge_what_the_broker_has() {
    let orders = Some(vec![json!({"id": 4, "customTag": "a", "status": 1})]);
    assert_eq!(
        place_found(with_tag(orders.clone(), "a")),
        Found::Done(Some(4))
    );
    assert_eq!(place_found(with_tag(orders, "b")), Found::Absent);
    let refused = Some(vec![json!({"id": 4, "customTag": "a", "status": 5})]);
    assert!(matches!(
        place_found(with_tag(refused, "a")),
        Found::Rejected(PLACE_ORDER_REJECTED, _, Some(4))
    ));
    let rec = Reconcile::Modify {
        account_id: 1,
        order_id: 9,
        size: Some(2),
        limit: Some(10.5),
        stop: None,
        trail: false,
    };
    let as_asked = json!({"size": 2, "limitPrice": 10.5, "status": 1});
    assert_eq!(modify_found(&as_asked, &rec), Found::Done(Some(9)));
    assert_eq!(
        modify_found(&json!({"size": 1, "status": 1}), &rec),
        Found::Absent
    );
    assert_eq!(
        modify_found(&json!({"size": 1, "status": 2}), &rec),
        Found::Rejected(
            MODIFY_REJECTED,
            "the order is already filled".into(),
            Some(9)
        )
    );
    assert_eq!(cancel_found(&json!({"status": 7}), 9), Found::Done(Some(9)));
    assert_eq!(cancel_found(&json!({"status": 1}), 9), Found::Absent);
    assert!(matches!(
        cancel_found(&json!({"status": 4}), 9),
        Found::Rejected(CANCEL_REJECTED, m, _) if m.ends_with("expired")
    ));
    let open = Some(vec![json!({"contractId": "C", "size": 1})]);
    assert!(matches!(close_found(open, "C"), Found::Uncertain(_)));
    let flat = Some(vec![json!({"contractId": "C", "size": 0})]);
    assert_eq!(close_found(flat, "C"), Found::Done(None));
}

#[tokio::test]
async fn a_lost_place_is_found_by_its_tag_not_sent_twice() {
    let search = json!({"success": true, "errorCode": 0, "orders": [{"id": 77, "customTag": "x", "status": 1}]});
    let server = serve(vec![
        answer(503, "", ""),
        answer(200, "", &search.to_string()),
    ]);
    let r = executor(&server.url, &[0.0], None).place(order("x")).await;
    assert_eq!(
        (r.outcome, r.order_id, r.attempts),
        (Outcome::Ok, Some(77), 1)
    );
    let seen = server.seen.lock().unwrap();
    assert!(seen[0].0.starts_with("POST /api/Order/place "));
    assert!(seen[1].0.starts_with("POST /api/Order/search "));
}

#[tokio::test]
async fn a_401_refreshes_the_token_and_sends_again() {
    let ok = json!({"success": true, "errorCode": 0, "orderId": 3}).to_string();
    let server = serve(vec![answer(401, "", ""), answer(200, "", &ok)]);
    let refresh: Refresh = Arc::new(|| Box::pin(async { Ok("t2".to_string()) }));
    let r = executor(&server.url, &[], Some(refresh)).cancel(1, 3).await;
    assert_eq!((r.outcome, r.attempts), (Outcome::Ok, 2));
    let seen = server.seen.lock().unwrap();
    assert!(seen[1].0.to_ascii_lowercase().contains("bearer t2"));
}

#[tokio::test]
async fn throttled_then_spent_is_rate_limited_and_rejection_is_final() {
    let server = serve(vec![answer(429, "Retry-After: 0\r\n", "")]);
    let r = executor(&server.url, &[], None).cancel(1, 3).await;
    assert_eq!(
        (r.outcome, r.retry_after, r.message.as_deref()),
        (Outcome::RateLimited, Some(0.0), Some("rate limited"))
    );
    let no = json!({"success": false, "errorCode": 2, "errorMessage": "no"}).to_string();
    let server = serve(vec![answer(200, "", &no)]);
    let r = executor(&server.url, &[0.0, 0.0], None)
        .place(order("y"))
        .await;
    assert_eq!(
        (r.outcome, r.error_code, r.attempts),
        (Outcome::Rejected, Some(2), 1)
    );
    let server = serve(vec![answer(200, "", &no)]);
    let r = executor(&server.url, &[], None)
        .find_by_tag(1, "y".into(), 0)
        .await;
    assert_eq!(r.outcome, Outcome::Rejected);
}
