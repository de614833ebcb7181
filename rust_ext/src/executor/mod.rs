//! The order path: request bodies (`bodies.rs`), models (answers, results), the HTTP transport (reqwest over
//! rustls, one pooled client; `direct.rs` answers plain-HTTP calls on the caller's thread, `here.rs` finishes them), each
//! mutation's parts (`mutation.rs`), the policy (retry, token refresh), reconciliation after a lost
//! answer (by tag, by order, by position) and timing (retry schedule, each call's stopwatch). The
//! awaitable Python class is `python/executor.rs`.

pub mod bodies;
pub mod direct;
pub mod here;
pub mod models;
pub mod mutation;
pub mod policy;
pub mod reconcile;
pub mod timing;
pub mod transport;

#[cfg(test)]
mod test_server;
