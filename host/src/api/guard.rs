//! Bounds on the work one request can cause: a server-side time limit, cancellation when the
//! client goes away, and the largest page a list query may return.
//!
//! Every REST request runs in a task of its own inside a request scope. The middleware
//! ([`middleware`]) waits for that task, the time limit or the client, whichever comes first:
//! - the handler finished: its response goes out;
//! - the limit passed: the client gets a 503 in Camunda's error shape, and the scope is marked
//!   cancelled;
//! - the client disconnected (hyper drops the request future): the scope is marked cancelled.
//!
//! A cancelled handler stops at its next `.await` (the task is aborted) and, inside synchronous
//! loops over many records, at the next [`check`] (query filters and sorting call it), so no
//! request holds a core after its client has gone or past the limit. A handler that was
//! stopped that way is answered with the 503 even if it returned, since its answer may be
//! missing records. Long polls (`fetchAndLock` with `asyncResponseTimeout`) and the event
//! stream bound their own duration and are exempt from the time limit, not from cancellation.
//! The cockpit's views run under the same guard.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// Request limits (part of [`super::ApiConfig`]).
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Longest a request may run before it is answered 503 and cancelled (`None`: no limit).
    pub timeout: Option<Duration>,
    /// Most rows one list query returns: a larger `maxResults` is refused, and a list without
    /// `maxResults` whose result is larger is refused too (Camunda's `queryMaxResultsLimit`).
    pub max_results: usize,
    /// Bounds on what one request may ask for.
    pub client: ClientLimits,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            timeout: Some(Duration::from_secs(30)),
            max_results: 10_000,
            client: ClientLimits::default(),
        }
    }
}

/// Bounds on what one request may ask the engine to do (the body size bounds the bytes; these
/// bound the work and the stored size). Over a bound the request is refused with a 400
/// `InvalidRequestException` naming the limit, and nothing changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// Most variables one request sets (each map of typed variables counts on its own).
    pub max_variables: usize,
    /// Largest value of one variable, in bytes as sent (a string's UTF-8 length, a JSON
    /// value's serialized length, base64 text for bytes).
    pub max_variable_bytes: usize,
    /// Largest `maxTasks` of one fetchAndLock.
    pub max_fetch_tasks: usize,
    /// Most resources in one deployment.
    pub max_deployment_resources: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            max_variables: 1000,
            max_variable_bytes: 4 * 1024 * 1024,
            max_fetch_tasks: 1000,
            max_deployment_resources: 1000,
        }
    }
}

/// The current request's client limits (the defaults outside a request).
pub fn client_limits() -> ClientLimits {
    SCOPE.try_with(|s| s.client).unwrap_or_default()
}

/// What a running request's handler can ask about its own request.
#[derive(Debug, Clone)]
struct RequestScope {
    cancelled: Arc<AtomicBool>,
    /// Set when [`check`] stopped a loop: the handler's answer may be missing records, so it
    /// must not be sent as a success.
    cut_short: Arc<AtomicBool>,
    /// The time limit, checked by [`check`] itself: a loop must stop at the limit even when
    /// every runtime thread is busy and the middleware cannot run to mark the cancellation.
    deadline: Option<Instant>,
    max_results: usize,
    client: ClientLimits,
}

tokio::task_local! {
    static SCOPE: RequestScope;
}

/// `Err` once the current request was cancelled (client gone or time limit passed); call it in
/// loops over many records. Outside a request (tests, the CLI) it never fails.
pub fn check() -> Result<(), ApiError> {
    let cancelled = SCOPE
        .try_with(|s| {
            let over = s.cancelled.load(Ordering::Relaxed)
                || s.deadline.is_some_and(|d| Instant::now() >= d);
            if over {
                s.cut_short.store(true, Ordering::Relaxed);
            }
            over
        })
        .unwrap_or(false);
    if cancelled {
        // Nobody reads this answer: the client is gone or already has its 503.
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "RestException",
            "The request was cancelled",
            None,
        ))
    } else {
        Ok(())
    }
}

/// The current request's cap on list rows (the default outside a request).
pub fn max_results() -> usize {
    SCOPE
        .try_with(|s| s.max_results)
        .unwrap_or(RequestLimits::default().max_results)
}

/// Marks the scope cancelled and stops the handler's task when the request future is dropped
/// before the handler finished (the client disconnected), or on the time limit.
struct CancelOnDrop {
    cancelled: Arc<AtomicBool>,
    task: tokio::task::AbortHandle,
    done: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.done {
            self.cancelled.store(true, Ordering::Relaxed);
            self.task.abort();
        }
    }
}

/// Whether a path is a long poll or a stream that bounds its own duration (`fetchAndLock` by
/// its `asyncResponseTimeout`, the event stream by its client or the server's stop).
fn is_long_lived(path: &str) -> bool {
    path.ends_with("/external-task/fetchAndLock") || path == "/engine-rest/events"
}

/// The middleware: runs the rest of the stack in a cancellable, time-limited request scope.
pub async fn middleware(
    State(limits): State<RequestLimits>,
    request: Request,
    next: Next,
) -> Response {
    let cancelled = Arc::new(AtomicBool::new(false));
    let cut_short = Arc::new(AtomicBool::new(false));
    let timeout = limits
        .timeout
        .filter(|_| !is_long_lived(request.uri().path()));
    let scope = RequestScope {
        cancelled: cancelled.clone(),
        cut_short: cut_short.clone(),
        deadline: timeout.map(|t| Instant::now() + t),
        max_results: limits.max_results,
        client: limits.client,
    };
    let task = tokio::spawn(SCOPE.scope(scope, next.run(request)));
    let mut guard = CancelOnDrop {
        cancelled,
        task: task.abort_handle(),
        done: false,
    };
    let outcome = match timeout {
        Some(limit) => tokio::time::timeout(limit, task).await,
        None => Ok(task.await),
    };
    let over_limit = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "RestException",
            format!(
                "The request took longer than the server's limit of {} ms and was cancelled; \
                 narrow the query or page it with firstResult/maxResults",
                timeout.map_or(0, |t| t.as_millis())
            ),
            None,
        )
        .into_response()
    };
    match outcome {
        // A handler whose loops were stopped by the deadline computed a partial answer: the
        // client gets the 503, not the partial answer.
        Ok(Ok(_)) if cut_short.load(Ordering::Relaxed) => {
            guard.done = true;
            over_limit()
        }
        Ok(Ok(response)) => {
            guard.done = true;
            response
        }
        Ok(Err(join_error)) => {
            guard.done = true;
            ApiError::internal(format!("request handler failed: {join_error}")).into_response()
        }
        // The guard cancels the handler when it drops here.
        Err(_elapsed) => over_limit(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_polls_and_the_event_stream_have_no_time_limit() {
        assert!(is_long_lived("/engine-rest/external-task/fetchAndLock"));
        assert!(is_long_lived(
            "/engine-rest/engine/default/external-task/fetchAndLock"
        ));
        assert!(is_long_lived("/engine-rest/events"));
        assert!(!is_long_lived("/engine-rest/process-instance"));
        assert!(!is_long_lived("/cockpit/api/overview"));
    }

    #[tokio::test]
    async fn check_fails_only_in_a_cancelled_scope() {
        assert!(check().is_ok());
        let cancelled = Arc::new(AtomicBool::new(false));
        let scope = RequestScope {
            cancelled: cancelled.clone(),
            cut_short: Arc::default(),
            deadline: None,
            max_results: 7,
            client: ClientLimits::default(),
        };
        SCOPE
            .scope(scope, async {
                assert!(check().is_ok());
                assert_eq!(max_results(), 7);
                cancelled.store(true, Ordering::Relaxed);
                assert!(check().is_err());
            })
            .await;
        assert_eq!(max_results(), RequestLimits::default().max_results);
        let past = RequestScope {
            cancelled: Arc::new(AtomicBool::new(false)),
            cut_short: Arc::default(),
            deadline: Some(Instant::now()),
            max_results: 7,
            client: ClientLimits::default(),
        };
        SCOPE.scope(past, async { assert!(check().is_err()) }).await;
    }
}
