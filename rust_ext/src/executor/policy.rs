//! The executor's policy, the same as the Python client's (`trading/projectx/rest.py`):
//! * a mutation whose outcome is unknown (5xx, timeout, reset, unreadable answer) is re-sent only
//!   after a reconciliation shows it did not happen: place looks its customTag up; modify and
//!   cancel read the order; close reads the open positions; partial close cannot be reconciled
//!   (an unknown outcome is reported as such);
//! * waits follow the retry schedule (default 750 ms, 1.5 s, 3 s); a 429 waits at least
//!   Retry-After;
//! * a 401 asks for a fresh token (the `Refresh` callback) and re-sends once when nothing can
//!   have happened;
//! * a broker rejection (HTTP 200, success false) is final.
//!
//! Every call returns a `CallResult` with its outcome and its own duration in ns.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;

use super::bodies::*;
use super::models::*;
pub use super::mutation::{First, Mutation};
use super::reconcile::*;
use super::timing::{RetrySchedule, Stopwatch};
use super::transport::{attempt, build_client, Attempt};
use crate::common::time::format_ts;
use crate::common::wire::*;

/// Asks for a fresh access token (after a 401).
pub type Refresh =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync>;

/// An answer taken as final: success, or the broker's rejection.
fn settled(mut r: CallResult, env: Envelope) -> CallResult {
    if env.success {
        r.order_id = env.order_id;
        r.outcome = Outcome::Ok;
    } else {
        (r.error_code, r.message, r.order_id) =
            (Some(env.error_code), env.error_message, env.order_id);
        r.outcome = Outcome::Rejected;
    }
    r
}

/// The order path against one gateway: a pooled HTTP client, the session token, the retry
/// schedule and a cache of contract ids by symbol.
pub struct Executor {
    client: reqwest::Client,
    base: String,
    token: RwLock<String>,
    schedule: RetrySchedule,
    refresh: Option<Refresh>,
    contracts: Mutex<HashMap<String, String>>,
}

impl Executor {
    /// Build on the current tokio runtime (reqwest's pool lives there). `timeout` bounds each
    /// attempt; `max_idle` keep-alive connections are kept.
    pub fn new(
        base_url: &str,
        token: String,
        refresh: Option<Refresh>,
        schedule: RetrySchedule,
        timeout: Duration,
        max_idle: usize,
    ) -> Result<Self, String> {
        let client = build_client(timeout, max_idle)
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Executor {
            client,
            base: base_url.trim_end_matches('/').to_string(),
            token: RwLock::new(token),
            schedule,
            refresh,
            contracts: Mutex::new(HashMap::new()),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn token(&self) -> String {
        self.token.read().map(|t| t.clone()).unwrap_or_default()
    }

    pub fn set_token(&self, token: String) {
        if let Ok(mut t) = self.token.write() {
            *t = token;
        }
    }

    pub fn cache_contract(&self, symbol: String, contract_id: String) {
        if let Ok(mut c) = self.contracts.lock() {
            c.insert(symbol, contract_id);
        }
    }

    pub fn cached_contract(&self, symbol: &str) -> Option<String> {
        self.contracts.lock().ok()?.get(symbol).cloned()
    }

    async fn refresh_token(&self) -> Result<(), String> {
        let refresh = self
            .refresh
            .as_ref()
            .ok_or("no token refresher configured")?;
        let token = refresh().await?;
        self.set_token(token);
        Ok(())
    }

    pub async fn place(&self, order: PlaceOrder) -> CallResult {
        self.mutate(Mutation::place(order), None).await
    }

    pub async fn modify(
        &self,
        account_id: i64,
        order_id: i64,
        size: Option<i64>,
        limit_price: Option<f64>,
        stop_price: Option<f64>,
        trail_price: Option<f64>,
    ) -> CallResult {
        let m = Mutation::modify(
            account_id,
            order_id,
            size,
            limit_price,
            stop_price,
            trail_price,
        );
        self.mutate(m, None).await
    }

    pub async fn cancel(&self, account_id: i64, order_id: i64) -> CallResult {
        self.mutate(Mutation::cancel(account_id, order_id), None)
            .await
    }

    pub async fn close_position(&self, account_id: i64, contract_id: String) -> CallResult {
        self.mutate(Mutation::close(account_id, contract_id), None)
            .await
    }

    pub async fn partial_close(
        &self,
        account_id: i64,
        contract_id: String,
        size: i64,
    ) -> CallResult {
        let m = Mutation::partial_close(account_id, contract_id, size);
        self.mutate(m, None).await
    }

    /// One read without retries (used by reconciliations).
    async fn read_once(&self, path: &str, body: &[u8]) -> Result<Envelope, String> {
        match attempt(&self.client, &self.url(path), &self.token(), body, &mut 0).await {
            Attempt::Answer(env) if env.success => Ok(env),
            Attempt::Answer(env) => Err(format!("error code {}", env.error_code)),
            other => Err(format!("{other:?}")),
        }
    }

    /// The order `order_id` as the broker has it now.
    async fn read_order(&self, account_id: i64, order_id: i64) -> Result<Value, String> {
        let body = json(&OrderRefBody {
            account_id,
            order_id,
        });
        match self.read_once(PATH_ORDER_SEARCH_BY_ID, &body).await? {
            Envelope { order: Some(o), .. } => Ok(o),
            _ => Err("no order in the answer".into()),
        }
    }

    async fn reconcile(&self, rec: &Reconcile) -> Found {
        let found = match rec {
            Reconcile::Place {
                account_id,
                tag,
                since_ns,
            } => {
                let body = json(&SearchOrdersBody {
                    account_id: *account_id,
                    start_timestamp: &format_ts(*since_ns),
                });
                self.read_once(PATH_ORDER_SEARCH, &body)
                    .await
                    .map(|env| place_found(with_tag(env.orders, tag)))
            }
            Reconcile::Modify {
                account_id,
                order_id,
                ..
            } => self
                .read_order(*account_id, *order_id)
                .await
                .map(|o| modify_found(&o, rec)),
            Reconcile::Cancel {
                account_id,
                order_id,
            } => self
                .read_order(*account_id, *order_id)
                .await
                .map(|o| cancel_found(&o, *order_id)),
            Reconcile::Close {
                account_id,
                contract_id,
            } => {
                let body = json(&AccountBody {
                    account_id: *account_id,
                });
                self.read_once(PATH_POSITION_SEARCH_OPEN, &body)
                    .await
                    .map(|env| close_found(env.positions, contract_id))
            }
            Reconcile::Nothing => Err("cannot be reconciled".into()),
        };
        found.unwrap_or_else(Found::Unknown)
    }

    /// `f` with the current token, borrowed (what a caller's-thread attempt writes), not copied.
    pub fn with_token<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self.token.read() {
            Ok(t) => f(&t),
            Err(_) => f(""),
        }
    }

    /// A first attempt's broker answer, settled without I/O (a first attempt cannot have been
    /// sent before, so nothing is reconciled).
    pub fn first_answered(env: Envelope, sent_ns: i64, watch: Stopwatch) -> CallResult {
        let r = CallResult {
            attempts: 1,
            sent_ns,
            ..CallResult::default()
        };
        let mut r = settled(r, env);
        r.elapsed_ns = watch.elapsed_ns();
        r
    }

    /// A mutation under the policy. `first`: its first attempt, made already (on the caller's
    /// thread, `direct.rs`); the policy goes on from its outcome as if it had made it.
    pub async fn mutate(&self, m: Mutation, first: Option<First>) -> CallResult {
        let Mutation { path, body, rec } = m;
        let watch = first.as_ref().map_or_else(Stopwatch::start, |f| f.watch);
        let mut r = CallResult::default();
        let mut first = first.map(|f| {
            r.sent_ns = f.sent_ns;
            f.attempt
        });
        let done = |mut r: CallResult, outcome: Outcome| {
            r.outcome = outcome;
            r.elapsed_ns = watch.elapsed_ns();
            r
        };
        let (mut step, mut maybe_sent, mut reauthed, mut throttled) = (0usize, false, false, false);
        let mut last: String;
        let url = self.url(path);
        loop {
            let mut wait = 0.0f64;
            r.attempts += 1;
            let this = match first.take() {
                Some(a) => a,
                None => attempt(&self.client, &url, &self.token(), &body, &mut r.sent_ns).await,
            };
            match this {
                Attempt::Answer(env) if env.success || !maybe_sent => {
                    let mut r = settled(r, env);
                    r.elapsed_ns = watch.elapsed_ns();
                    return r;
                }
                Attempt::Answer(env) => {
                    // Rejected after an earlier attempt may have gone through: the broker's
                    // state decides.
                    match self.reconcile(&rec).await {
                        Found::Done(id) => {
                            r.order_id = id;
                            return done(r, Outcome::Ok);
                        }
                        Found::Rejected(code, msg, id) => {
                            (r.error_code, r.message, r.order_id) = (Some(code), Some(msg), id);
                            return done(r, Outcome::Rejected);
                        }
                        _ => return done(settled(r, env), Outcome::Rejected),
                    }
                }
                Attempt::Unauthorized => {
                    if reauthed {
                        r.message = Some(
                            "The broker refused our session even after logging in again".into(),
                        );
                        r.status = Some(401);
                        return done(r, Outcome::Auth);
                    }
                    if let Err(e) = self.refresh_token().await {
                        r.message = Some(e);
                        r.status = Some(401);
                        return done(r, Outcome::Auth);
                    }
                    reauthed = true;
                    last = "session expired".into();
                    if !maybe_sent {
                        continue;
                    }
                }
                Attempt::Throttled(ra) => {
                    last = "rate limited".into();
                    throttled = true;
                    wait = ra.unwrap_or(0.0);
                    r.retry_after = ra;
                }
                Attempt::Unsent(d) => {
                    last = d;
                    throttled = false;
                }
                Attempt::Lost(d) | Attempt::BadAnswer(d) => {
                    maybe_sent = true;
                    last = d;
                }
                Attempt::Status(code, text) => {
                    r.status = Some(code);
                    r.message = Some(text);
                    return done(r, Outcome::HttpStatus);
                }
            }
            loop {
                let Some(pause) = self.schedule.wait(step, wait) else {
                    r.message = Some(last.clone());
                    let outcome = if maybe_sent {
                        Outcome::Uncertain
                    } else if throttled {
                        Outcome::RateLimited
                    } else {
                        Outcome::Transport
                    };
                    return done(r, outcome);
                };
                tokio::time::sleep(pause).await;
                step += 1;
                if !maybe_sent {
                    break;
                }
                match self.reconcile(&rec).await {
                    Found::Unknown(e) if !matches!(rec, Reconcile::Nothing) => {
                        last = format!("{last}; could not check the broker ({e})");
                    }
                    Found::Unknown(_) => {
                        r.message = Some(last.clone());
                        return done(r, Outcome::Uncertain);
                    }
                    Found::Done(id) => {
                        r.order_id = id;
                        return done(r, Outcome::Ok);
                    }
                    Found::Rejected(code, msg, id) => {
                        (r.error_code, r.message, r.order_id) = (Some(code), Some(msg), id);
                        return done(r, Outcome::Rejected);
                    }
                    Found::Uncertain(msg) => {
                        r.message = Some(msg);
                        return done(r, Outcome::Uncertain);
                    }
                    Found::Absent => break,
                }
            }
        }
    }

    /// The order carrying `tag` created since `since_ns` (`order_json` is None when absent).
    pub async fn find_by_tag(&self, account_id: i64, tag: String, since_ns: i64) -> CallResult {
        let watch = Stopwatch::start();
        let body = json(&SearchOrdersBody {
            account_id,
            start_timestamp: &format_ts(since_ns),
        });
        let url = self.url(PATH_ORDER_SEARCH);
        let mut r = CallResult::default();
        let (mut step, mut reauthed) = (0usize, false);
        loop {
            r.attempts += 1;
            let mut wait = 0.0;
            let failure =
                match attempt(&self.client, &url, &self.token(), &body, &mut r.sent_ns).await {
                    Attempt::Answer(env) if env.success => {
                        let hit = with_tag(env.orders, &tag);
                        r.order_id = hit.as_ref().and_then(|o| field_i64(o, "id"));
                        r.order_json = hit.map(|o| o.to_string());
                        r.outcome = Outcome::Ok;
                        break;
                    }
                    Attempt::Answer(env) => {
                        (r.error_code, r.message) = (Some(env.error_code), env.error_message);
                        r.outcome = Outcome::Rejected;
                        break;
                    }
                    Attempt::Unauthorized if !reauthed => {
                        reauthed = true;
                        match self.refresh_token().await {
                            Ok(()) => continue,
                            Err(e) => (Outcome::Auth, e),
                        }
                    }
                    Attempt::Unauthorized => (
                        Outcome::Auth,
                        "session refused after logging in again".to_string(),
                    ),
                    Attempt::Throttled(ra) => {
                        wait = ra.unwrap_or(0.0);
                        r.retry_after = ra;
                        (Outcome::RateLimited, "rate limited".to_string())
                    }
                    Attempt::Unsent(d) | Attempt::Lost(d) => (Outcome::Transport, d),
                    Attempt::BadAnswer(d) => (Outcome::BadAnswer, d),
                    Attempt::Status(code, text) => {
                        r.status = Some(code);
                        (Outcome::HttpStatus, text)
                    }
                };
            let retryable = matches!(failure.0, Outcome::Transport | Outcome::RateLimited);
            let pause = self.schedule.wait(step, wait).filter(|_| retryable);
            let Some(pause) = pause else {
                r.outcome = failure.0;
                r.message = Some(failure.1);
                break;
            };
            tokio::time::sleep(pause).await;
            step += 1;
        }
        r.elapsed_ns = watch.elapsed_ns();
        r
    }
}

#[cfg(test)]
mod tests;
