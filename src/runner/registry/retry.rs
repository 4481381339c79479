//! Bounded retries with exponential backoff, for what a registry answers when it is busy or
//! briefly gone: 429, 5xx, and dropped connections.

use std::time::Duration;

/// How many times a request is tried and how long to wait between tries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before try `attempt + 1` (attempt counts from 1): doubling, capped, with up to
    /// a quarter of jitter so parallel clients do not retry in step; a server's `Retry-After`
    /// is honoured up to the cap.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let doubled = self
            .first_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let base = retry_after.unwrap_or(doubled).min(self.max_delay);
        let jitter = base.mul_f64(fastrand::f64() * 0.25);
        (base + jitter).min(self.max_delay)
    }
}

/// Whether an HTTP status is worth another try.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status) && status != 501
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_stay_capped() {
        let policy = RetryPolicy {
            attempts: 10,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let first = policy.delay(1, None);
        assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(125));
        let third = policy.delay(3, None);
        assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(500));
        assert!(policy.delay(30, None) <= Duration::from_secs(1));
        assert!(policy.delay(1, Some(Duration::from_secs(60))) <= Duration::from_secs(1));
    }

    #[test]
    fn only_transient_statuses_are_retried() {
        for status in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200, 400, 401, 403, 404, 409, 501] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }
}
