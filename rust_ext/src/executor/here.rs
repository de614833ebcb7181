//! A state-changing call whose first attempt is made on the caller's own thread through the
//! direct transport (`direct.rs`), then finished under the policy: shared by the Python binding
//! (`OrderExecutor`, the GIL released around it) and the breakeven fast path (`python/fast_path.rs`,
//! on the event loop's thread that read the quote), so both send at once, with no wake-up of
//! another thread before the request's bytes leave.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::direct::{Direct, Step};
use super::models::CallResult;
use super::mutation::{First, Mutation};
use super::policy::Executor;
use super::timing::Stopwatch;
use super::transport::Attempt;

/// What the first attempt on the caller's thread gave.
pub enum Tried {
    /// Answered within the budget: the call's result.
    Answered(CallResult),
    /// The rest of the call, to run on the runtime: the policy going on from the first attempt's
    /// outcome (a late answer read off the caller's thread first), or the whole call when the
    /// direct transport could not serve it (nothing was sent).
    Rest(BoxFuture<'static, CallResult>),
}

/// `m`'s first attempt through `direct`, made now on this thread (blocking up to its budget).
pub fn first_here(ex: &Arc<Executor>, direct: &Arc<Direct>, m: Mutation) -> Tried {
    let watch = Stopwatch::start();
    let request = ex.with_token(|token| direct.request(m.path, token, &m.body));
    let mut sent_ns = 0i64;
    let step = direct.send(&request, &mut sent_ns);
    direct.count(&step);
    let ex = ex.clone();
    let first = move |attempt| First {
        attempt,
        sent_ns,
        watch,
    };
    match step {
        Step::NotServed => Tried::Rest(async move { ex.mutate(m, None).await }.boxed()),
        Step::Done(Attempt::Answer(env)) => {
            Tried::Answered(Executor::first_answered(env, sent_ns, watch))
        }
        Step::Done(attempt) => {
            Tried::Rest(async move { ex.mutate(m, Some(first(attempt))).await }.boxed())
        }
        Step::Later(rest) => Tried::Rest(
            async move {
                let attempt = tokio::task::spawn_blocking(rest)
                    .await
                    .unwrap_or_else(|e| Attempt::Lost(format!("the answer's reader failed ({e})")));
                ex.mutate(m, Some(first(attempt))).await
            }
            .boxed(),
        ),
    }
}
