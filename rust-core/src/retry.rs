//! Retry policy: exponential backoff with jitter, honouring the server's `Retry-After`.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// How operations that are safe to repeat are retried after transient failures (network errors,
/// timeouts, 5xx and 429).
///
/// The delay before retry `n` (0-based) is `initial_delay * multiplier^n`, capped at `max_delay`,
/// then jittered uniformly into its upper half so that many clients do not retry in lockstep. A
/// `Retry-After` from the server raises the delay to at least what the server asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; `0` disables retries.
    pub max_retries: u32,
    /// Delay before the first retry.
    pub initial_delay: Duration,
    /// Upper bound of the computed delay (a server's `Retry-After` may exceed it).
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

/// The longest `Retry-After` honoured; a server asking for more is treated as asking for this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

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

    /// The delay before retry number `retry` (0-based), given the server's hint.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        let base = self.initial_delay.as_secs_f64() * self.multiplier.powi(exponent);
        let capped = base.min(self.max_delay.as_secs_f64());
        let jittered = capped * (0.5 + fastrand::f64() * 0.5);
        let backoff = Duration::try_from_secs_f64(jittered).unwrap_or(self.max_delay);
        match retry_after {
            Some(hint) => backoff.max(hint.min(MAX_RETRY_AFTER)),
            None => backoff,
        }
    }

    /// Runs `attempt` until it succeeds, fails with a non-transient error, or retries run out.
    pub(crate) async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut retry = 0;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(err) if err.is_transient() && retry < self.max_retries => {
                    let hint = err.retry_after_ms().map(Duration::from_millis);
                    tokio::time::sleep(self.delay(retry, hint)).await;
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
    use crate::error::ErrorKind;
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
        let p = fast();
        assert!(p.delay(0, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
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
        let result: Result<()> = fast()
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::new(ErrorKind::Network, "reset"))
            })
            .await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Network);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<()> = fast()
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::new(ErrorKind::NotFound, "gone"))
            })
            .await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn success_after_failures_is_returned() {
        let calls = AtomicU32::new(0);
        let result = fast()
            .run(|| async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(Error::new(ErrorKind::ServerError, "503"))
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(result.unwrap(), 7);
    }
}
