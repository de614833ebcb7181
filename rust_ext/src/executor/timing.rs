//! The executor's timing: the retry schedule (waits between attempts, at least what a 429's
//! Retry-After asked) and each call's own stopwatch.

use std::time::{Duration, Instant};

/// Waits between attempts; when they are spent, the call ends.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl RetrySchedule {
    /// Delays in seconds (finite, non-negative: checked by the caller).
    pub fn from_secs(delays_s: &[f64]) -> Self {
        RetrySchedule {
            delays: delays_s
                .iter()
                .copied()
                .map(Duration::from_secs_f64)
                .collect(),
        }
    }

    /// The wait before retry `step` (from 0): the scheduled delay, at least `at_least_s` (a
    /// Retry-After); None when the schedule is spent.
    pub fn wait(&self, step: usize, at_least_s: f64) -> Option<Duration> {
        let d = self.delays.get(step)?;
        Some(Duration::from_secs_f64(d.as_secs_f64().max(at_least_s)))
    }
}

/// A call's own duration.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }

    pub fn elapsed_ns(&self) -> u64 {
        self.0.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_follow_the_schedule_and_honour_retry_after() {
        let s = RetrySchedule::from_secs(&[0.75, 1.5, 3.0]);
        assert_eq!(s.wait(0, 0.0), Some(Duration::from_millis(750)));
        assert_eq!(s.wait(1, 2.0), Some(Duration::from_secs(2)));
        assert_eq!(s.wait(2, 1.0), Some(Duration::from_secs(3)));
        assert_eq!(s.wait(3, 0.0), None);
        assert_eq!(RetrySchedule::from_secs(&[]).wait(0, 5.0), None);
        let w = Stopwatch::start();
        std::thread::sleep(Duration::from_millis(2));
        assert!(w.elapsed_ns() >= 2_000_000);
    }
}
