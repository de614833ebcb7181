//! The order path: models (request bodies, answers, results), the HTTP transport (reqwest over
//! rustls, one pooled client), the policy (retry, reconcile by tag, token refresh) and timing
//! (retry schedule, each call's stopwatch). The awaitable Python class is `python/executor.rs`.

pub mod models;
pub mod policy;
pub mod timing;
pub mod transport;

#[cfg(test)]
mod test_server;
