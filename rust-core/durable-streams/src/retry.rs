//! Retry policy: exponential backoff with jitter, honouring the server's `Retry-After`.

use std::future::Future;
use std::time::Duration;

use crate::client::MAX_TIMEOUT;
use crate::error::{Error, Result};

/// How operations that are safe to repeat are retried after transient failures (network errors,
/// timeouts, 5xx and 429).
///
/// The delay before retry `n` (0-based) is `initial_delay * multiplier^n`, capped at `max_delay`,
/// then jittered uniformly into its upper half so that many clients do not retry in lockstep. A
/// `Retry-After` from the server raises the delay to what the server asked for, but never above
/// `max_delay`: a server answering `Retry-After: 3600` cannot make an operation sleep for an
/// hour (with the default policy it waits 30 s, then retries).
///
/// [`RetryPolicy::validate`] (called when a client is built) requires `initial_delay <=
/// max_delay <= 24 h` and `multiplier >= 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; `0` disables retries.
    pub max_retries: u32,
    /// Delay before the first retry.
    pub initial_delay: Duration,
    /// Upper bound of every delay, including one a server's `Retry-After` asks for; at most
    /// 24 hours.
    pub max_delay: Duration,
    /// Growth factor between consecutive delays; at least 1.
    pub multiplier: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
        }
    }
}

/// When a plain append ([`crate::Stream::append`] and friends) is repeated after a transient
/// failure. Idempotent producers always retry: the server deduplicates their batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AppendRetry {
    /// Sent once: at-most-once. The caller sees every failure and decides.
    #[default]
    Never,
    /// Repeated only when the server cannot have stored it: the connection could not be
    /// established, or the server answered 429 or 503 (it refused the request). Still
    /// at-most-once.
    WhenNotStored,
    /// Repeated after every transient failure, including a connection dropped or timed out after
    /// the request was sent and any 5xx: at-least-once. A retry may store the data a second time
    /// when the first attempt was stored but its answer lost; use an idempotent producer for
    /// exactly-once.
    AtLeastOnce,
}

impl AppendRetry {
    /// Whether a plain append that failed with `error` may be sent again under this setting.
    pub fn allows(self, error: &Error) -> bool {
        match self {
            AppendRetry::Never => false,
            AppendRetry::WhenNotStored => {
                error.detail().not_sent || matches!(error.status(), Some(429 | 503))
            }
            AppendRetry::AtLeastOnce => error.is_transient(),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Checks the policy, naming the first invalid field.
    pub fn validate(&self) -> Result<()> {
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return Err(Error::invalid_argument(
                "multiplier",
                format!("must be a finite number >= 1, got {}", self.multiplier),
            ));
        }
        if self.max_delay > MAX_TIMEOUT {
            return Err(Error::invalid_argument(
                "max_delay",
                format!("must be at most 24 hours, got {:?}", self.max_delay),
            ));
        }
        if self.max_delay < self.initial_delay {
            return Err(Error::invalid_argument(
                "max_delay",
                format!(
                    "must be at least initial_delay ({:?}), got {:?}",
                    self.initial_delay, self.max_delay
                ),
            ));
        }
        Ok(())
    }

    /// The delay before retry number `retry` (0-based), given the server's hint (honoured up to
    /// `max_delay`).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        let base = self.initial_delay.as_secs_f64() * self.multiplier.powi(exponent);
        let capped = base.min(self.max_delay.as_secs_f64());
        let jittered = capped * (0.5 + fastrand::f64() * 0.5);
        let backoff = Duration::try_from_secs_f64(jittered).unwrap_or(self.max_delay);
        match retry_after {
            Some(hint) => backoff.max(hint.min(self.max_delay)),
            None => backoff,
        }
    }

    /// Runs `attempt` until it succeeds, fails with an error `retryable` rejects, or retries
    /// run out. `on_retry(retry, backoff, error)` hears of each retry before its backoff.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        retryable: impl Fn(&Error) -> bool,
        mut on_retry: impl FnMut(u32, Duration, &Error),
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut retry = 0;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(err) if retryable(&err) && retry < self.max_retries => {
                    let hint = err.retry_after_ms().map(Duration::from_millis);
                    let backoff = self.delay(retry, hint);
                    on_retry(retry, backoff, &err);
                    tokio::time::sleep(backoff).await;
                    retry += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorDetail, ErrorKind};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            multiplier: 2.0,
        }
    }

    #[test]
    fn delay_grows_and_stays_within_bounds() {
        let p = RetryPolicy {
            max_retries: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            multiplier: 2.0,
        };
        for _ in 0..100 {
            let d0 = p.delay(0, None);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d3 = p.delay(3, None);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
            let d9 = p.delay(9, None);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1));
        }
    }

    #[test]
    fn retry_after_raises_the_delay() {
        let p = RetryPolicy {
            max_delay: Duration::from_secs(5),
            ..fast()
        };
        assert!(p.delay(0, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
    }

    #[test]
    fn retry_after_is_capped_by_max_delay() {
        let p = RetryPolicy {
            max_delay: Duration::from_millis(200),
            ..RetryPolicy::default()
        };
        for retry in [0, 1, 10] {
            let d = p.delay(retry, Some(Duration::from_secs(3600)));
            assert!(d <= Duration::from_millis(200), "{d:?}");
        }
        // The default policy waits its 30 s maximum, not the hour asked for.
        let d = RetryPolicy::default().delay(0, Some(Duration::from_secs(3600)));
        assert_eq!(d, Duration::from_secs(30));
    }

    #[test]
    fn huge_exponents_do_not_overflow() {
        let p = RetryPolicy::default();
        assert!(p.delay(u32::MAX, None) <= p.max_delay);
    }

    #[test]
    fn validate_names_the_bad_field() {
        let mut p = fast();
        p.multiplier = 0.5;
        assert!(
            p.validate()
                .unwrap_err()
                .message()
                .starts_with("multiplier")
        );
        let mut p = fast();
        p.max_delay = Duration::ZERO;
        assert!(p.validate().unwrap_err().message().starts_with("max_delay"));
        let mut p = fast();
        p.max_delay = Duration::from_secs(365 * 24 * 3600);
        assert!(p.validate().unwrap_err().message().starts_with("max_delay"));
    }

    #[test]
    fn parses_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[tokio::test]
    async fn transient_errors_are_retried_up_to_the_limit() {
        let calls = AtomicU32::new(0);
        let mut heard = Vec::new();
        let result: Result<()> = fast()
            .run(
                Error::is_transient,
                |retry, _, _| heard.push(retry),
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(Error::new(ErrorKind::Network, "reset"))
                },
            )
            .await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Network);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(heard, [0, 1, 2], "each retry is reported once, before it");
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<()> = fast()
            .run(
                Error::is_transient,
                |_, _, _| {},
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(Error::new(ErrorKind::NotFound, "gone"))
                },
            )
            .await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn success_after_failures_is_returned() {
        let calls = AtomicU32::new(0);
        let result = fast()
            .run(
                Error::is_transient,
                |_, _, _| {},
                || async {
                    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                        Err(Error::new(ErrorKind::ServerError, "503"))
                    } else {
                        Ok(7)
                    }
                },
            )
            .await;
        assert_eq!(result.unwrap(), 7);
    }

    #[test]
    fn append_retry_settings_decide_which_failures_repeat() {
        let refused =
            Error::new(ErrorKind::Network, "connection refused").with_detail(ErrorDetail {
                not_sent: true,
                ..ErrorDetail::default()
            });
        let dropped = Error::new(ErrorKind::Network, "connection reset");
        let unavailable = Error::new(ErrorKind::ServerError, "busy").with_status(503);
        let throttled = Error::new(ErrorKind::RateLimited, "slow down").with_status(429);
        let internal = Error::new(ErrorKind::ServerError, "boom").with_status(500);
        let conflict = Error::new(ErrorKind::Conflict, "no").with_status(409);
        let all = [
            &refused,
            &dropped,
            &unavailable,
            &throttled,
            &internal,
            &conflict,
        ];
        let allowed = |setting: AppendRetry| all.map(|e| setting.allows(e));
        assert_eq!(allowed(AppendRetry::Never), [false; 6]);
        assert_eq!(
            allowed(AppendRetry::WhenNotStored),
            [true, false, true, true, false, false]
        );
        assert_eq!(
            allowed(AppendRetry::AtLeastOnce),
            [true, true, true, true, true, false]
        );
    }
}
