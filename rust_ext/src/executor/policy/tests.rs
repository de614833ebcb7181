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
