//! The binaries' clock: the core's virtual time as a function of real time.
//!
//! By default virtual time follows the wall clock (one virtual nanosecond
//! per real nanosecond since the process started), so rate limits and
//! timeouts behave as in QEMU for a harness that waits in real time.
//! `-x-qjob-time scale=N` runs virtual time N times as fast (or slow, for
//! N < 1); `-x-qjob-time manual` stops it: only `x-qjob-advance` and
//! `x-qjob-wait` move it, for deterministic runs. Event timestamps are the
//! wall-clock time at start plus virtual time.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::opts::qemuopts::{self, OptType, Parsed};

/// How virtual time moves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeMode {
    /// Virtual time follows real time, `scale` virtual ns per real ns.
    Real {
        /// Virtual nanoseconds per real nanosecond (1 by default).
        scale: f64,
    },
    /// Virtual time moves only when a client moves it (`x-qjob-advance`,
    /// `x-qjob-wait`).
    Manual,
}

impl Default for TimeMode {
    fn default() -> Self {
        TimeMode::Real { scale: 1.0 }
    }
}

impl TimeMode {
    /// Parses the `x-qjob-time` option: `real` (the default), `manual`, or
    /// `scale=N` (`real,scale=N`), N a positive number.
    pub fn parse(arg: &str) -> Result<TimeMode, String> {
        const DESCS: qemuopts::OptDescs = Some(&[("mode", OptType::Str), ("scale", OptType::Str)]);
        let opts = match qemuopts::parse(arg, Some("mode"), DESCS)? {
            Parsed::Opts(o) => o,
            Parsed::Help => return Err("x-qjob-time takes real, manual or scale=N".into()),
        };
        let scale = match opts.get("scale") {
            None => 1.0,
            Some(s) => match s.parse::<f64>() {
                Ok(f) if f.is_finite() && f > 0.0 => f,
                _ => {
                    return Err(format!(
                        "Parameter 'scale' expects a positive number, not '{s}'"
                    ));
                }
            },
        };
        match opts.get("mode").unwrap_or("real") {
            "real" => Ok(TimeMode::Real { scale }),
            "manual" if opts.get("scale").is_none() => Ok(TimeMode::Manual),
            "manual" => Err("x-qjob-time: 'scale' is for real time only".into()),
            other => Err(format!("x-qjob-time: mode '{other}' is not real or manual")),
        }
    }
}

/// Real time to virtual time.
#[derive(Clone, Debug)]
pub struct Clock {
    mode: TimeMode,
    /// Real instant and virtual time of the last rebase.
    base_real: Instant,
    base_virtual: u64,
    /// Wall-clock ns since the Unix epoch at which virtual time was 0.
    epoch_ns: u64,
}

impl Clock {
    /// A clock whose virtual time is `virtual_now` at this instant.
    pub fn new(mode: TimeMode, virtual_now: u64) -> Clock {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Clock {
            mode,
            base_real: Instant::now(),
            base_virtual: virtual_now,
            epoch_ns: wall.saturating_sub(virtual_now),
        }
    }

    /// The mode.
    pub fn mode(&self) -> TimeMode {
        self.mode
    }

    /// Wall-clock ns since the Unix epoch at which virtual time was 0 (the
    /// base of event timestamps).
    pub fn epoch_ns(&self) -> u64 {
        self.epoch_ns
    }

    /// Where virtual time should be now, never before `current` (the
    /// manager's clock, which clients may move ahead).
    pub fn target(&self, current: u64) -> u64 {
        match self.mode {
            TimeMode::Manual => current,
            TimeMode::Real { scale } => {
                let real = self.base_real.elapsed().as_nanos() as f64;
                let v = self.base_virtual.saturating_add((real * scale) as u64);
                v.max(current)
            }
        }
    }

    /// Real time until virtual time reaches `deadline` (`None` never, in
    /// manual mode), given that it is `current` now.
    pub fn until(&self, deadline: u64, current: u64) -> Option<std::time::Duration> {
        match self.mode {
            TimeMode::Manual => None,
            TimeMode::Real { scale } => {
                let ns = deadline.saturating_sub(current) as f64 / scale;
                Some(std::time::Duration::from_nanos(ns.ceil() as u64))
            }
        }
    }

    /// A client moved virtual time past the real clock's (`x-qjob-advance`,
    /// `x-qjob-wait`): real time now continues from there.
    pub fn rebase_if_ahead(&mut self, current: u64) {
        if current > self.target(0) {
            self.base_real = Instant::now();
            self.base_virtual = current;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option() {
        assert_eq!(TimeMode::parse("real"), Ok(TimeMode::Real { scale: 1.0 }));
        assert_eq!(TimeMode::parse("manual"), Ok(TimeMode::Manual));
        assert_eq!(
            TimeMode::parse("scale=1000"),
            Ok(TimeMode::Real { scale: 1000.0 })
        );
        assert_eq!(
            TimeMode::parse("real,scale=0.5"),
            Ok(TimeMode::Real { scale: 0.5 })
        );
        assert!(TimeMode::parse("scale=0").is_err());
        assert!(TimeMode::parse("manual,scale=2").is_err());
        assert!(TimeMode::parse("fast").is_err());
        assert!(TimeMode::parse("bogus=1").is_err());
    }

    #[test]
    fn manual_time_stands_still() {
        let c = Clock::new(TimeMode::Manual, 5);
        assert_eq!(c.target(5), 5);
        assert_eq!(c.until(100, 5), None);
    }

    #[test]
    fn a_client_moving_time_ahead_rebases() {
        let mut c = Clock::new(TimeMode::Real { scale: 1.0 }, 0);
        let far = 3_600_000_000_000;
        c.rebase_if_ahead(far);
        assert!(c.target(0) >= far);
        assert_eq!(
            c.until(far + 1000, far),
            Some(std::time::Duration::from_nanos(1000))
        );
    }
}
