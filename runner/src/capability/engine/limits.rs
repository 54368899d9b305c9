//! Every engine call is bounded. Epochs do not interrupt a plugin blocked in
//! a host call, and the task's timeout and Ctrl-C drop the whole call only if
//! the runner gets that far: a stuck engine (a daemon that accepts the
//! connection and never answers) must not hold a task past what it asked for.
//!
//! - Request and answer calls (list, inspect, create, start, pause, kill,
//!   remove, ...) get [`CALL_LIMIT`]: the engine answers them in milliseconds;
//!   a minute means it is stuck. `stop` and `restart` get their grace period
//!   on top.
//! - Streams (archives, image exports, logs, uploads) have no total limit (a
//!   dump may take an hour) but an idle limit, [`STREAM_IDLE_LIMIT`]: no byte
//!   in either direction for that long means the engine stopped.
//! - An exec's output is not idle-limited (a command may be silent for long);
//!   its own `timeout-seconds`, the task's timeout and Ctrl-C bound it, and
//!   each of them kills the command (`containers/exec.rs`).
//! - Captured outputs have size caps (see each call), so no answer grows the
//!   runner's memory without bound.
//!
//! bollard's own client timeout (120 s by default) covers the time to the
//! response headers, which for an upload includes sending the whole body: it
//! is raised to [`CLIENT_TIMEOUT`] so these limits are the ones that apply.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Stream, StreamExt};

use super::backend::EngineError;

pub const CALL_LIMIT: Duration = Duration::from_secs(60);
pub const STREAM_IDLE_LIMIT: Duration = Duration::from_secs(300);
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Runs `call`, failing with `TimedOut` after `limit`.
pub async fn within<T>(
    operation: impl Into<String>,
    limit: Duration,
    call: impl Future<Output = Result<T, EngineError>>,
) -> Result<T, EngineError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(EngineError::TimedOut {
            operation: operation.into(),
            limit,
        }),
    }
}

/// A stream that fails with `TimedOut` when no item arrives for `limit`.
pub fn idle_limited<S, T>(
    operation: String,
    limit: Duration,
    stream: S,
) -> Pin<Box<dyn Stream<Item = Result<T, EngineError>> + Send>>
where
    S: Stream<Item = Result<T, EngineError>> + Send + 'static,
    T: Send + 'static,
{
    Box::pin(IdleLimited {
        inner: Box::pin(stream),
        operation,
        limit,
        timer: Box::pin(tokio::time::sleep(limit)),
        done: false,
    })
}

struct IdleLimited<T> {
    inner: Pin<Box<dyn Stream<Item = Result<T, EngineError>> + Send>>,
    operation: String,
    limit: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    done: bool,
}

impl<T> Stream for IdleLimited<T> {
    type Item = Result<T, EngineError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(item) => {
                let deadline = tokio::time::Instant::now() + self.limit;
                self.timer.as_mut().reset(deadline);
                if item.is_none() {
                    self.done = true;
                }
                Poll::Ready(item)
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    Poll::Ready(Some(Err(EngineError::TimedOut {
                        operation: self.operation.clone(),
                        limit: self.limit,
                    })))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// Activity seen by a call that streams its input (an upload): the call
/// fails when nothing moves for the idle limit.
#[derive(Clone)]
pub struct Activity {
    start: tokio::time::Instant,
    last_millis: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Activity {
    pub fn new() -> Activity {
        Activity {
            start: tokio::time::Instant::now(),
            last_millis: Default::default(),
        }
    }

    /// Something moved.
    pub fn touch(&self) {
        let millis = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis
            .store(millis, std::sync::atomic::Ordering::Relaxed);
    }

    fn idle_until(&self, limit: Duration) -> tokio::time::Instant {
        let last = self.last_millis.load(std::sync::atomic::Ordering::Relaxed);
        self.start + Duration::from_millis(last) + limit
    }
}

impl Default for Activity {
    fn default() -> Self {
        Activity::new()
    }
}

/// Runs `call`, failing with `TimedOut` once `activity` has not moved for `limit`.
pub async fn while_active<T>(
    operation: impl Into<String>,
    limit: Duration,
    activity: Activity,
    call: impl Future<Output = Result<T, EngineError>>,
) -> Result<T, EngineError> {
    tokio::pin!(call);
    loop {
        let deadline = activity.idle_until(limit);
        tokio::select! {
            result = &mut call => return result,
            () = tokio::time::sleep_until(deadline) => {
                if activity.idle_until(limit) <= tokio::time::Instant::now() {
                    return Err(EngineError::TimedOut { operation: operation.into(), limit });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_silent_stream_times_out_and_a_busy_one_does_not() {
        let silent = futures_util::stream::pending::<Result<u8, EngineError>>();
        let mut limited = idle_limited("reading".into(), Duration::from_secs(5), silent);
        assert!(matches!(
            limited.next().await,
            Some(Err(EngineError::TimedOut { .. }))
        ));
        assert!(limited.next().await.is_none());

        let busy = futures_util::stream::iter((0..3).map(Ok::<u8, EngineError>));
        let limited = idle_limited("reading".into(), Duration::from_secs(5), busy);
        let items: Vec<_> = limited.collect().await;
        assert_eq!(items.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn an_upload_times_out_only_when_idle() {
        let activity = Activity::new();
        let busy = {
            let activity = activity.clone();
            async move {
                for _ in 0..10 {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    activity.touch();
                }
                Ok::<_, EngineError>(())
            }
        };
        while_active("uploading", Duration::from_secs(5), activity, busy)
            .await
            .unwrap();
        let stuck = std::future::pending::<Result<(), EngineError>>();
        assert!(
            while_active("uploading", Duration::from_secs(5), Activity::new(), stuck)
                .await
                .is_err()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_call_times_out() {
        let stuck = std::future::pending::<Result<(), EngineError>>();
        let error = within("inspecting", Duration::from_secs(1), stuck)
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), "inspecting did not finish within 1s");
    }
}
