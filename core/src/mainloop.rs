//! The simulated main loop and virtual time: bottom halves and timers run
//! one unit at a time ([`JobManager::step`]), bounded runs of what is ready
//! ([`JobManager::settle`]), and the clock moving from deadline to deadline
//! ([`JobManager::tick`], [`JobManager::run_until`]); inside the core,
//! `AIO_WAIT_WHILE` ([`JobManager::poll_until`]).

use crate::driver::drive;
use crate::manager::{Bh, JobManager, SETTLE_LIMIT, TICK_LIMIT};
use crate::timers::TimerKind;

impl JobManager {
    /// The earliest armed timer, if any: call [`tick`](Self::tick) with it.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timers.next_deadline()
    }

    /// Whether [`step`](Self::step) would do something now.
    pub fn has_ready_work(&self) -> bool {
        !self.bhs.is_empty() || self.timers.next_deadline().is_some_and(|d| d <= self.now)
    }

    /// Runs one unit of ready work: the oldest queued bottom half, else the
    /// earliest due timer. Returns whether more work is ready at the current
    /// virtual time.
    pub fn step(&mut self) -> bool {
        if let Some(bh) = self.bhs.pop_front() {
            match bh {
                Bh::JobExit(j) => self.job_exit(j),
            }
        } else if let Some((j, kind)) = self.timers.pop_due(self.now) {
            match kind {
                TimerKind::Sleep => self.enter(j),
                TimerKind::Driver => {
                    drive!(self, j, |d, cx| d.timer_fired(cx));
                }
            }
        }
        self.has_ready_work()
    }

    /// Runs the work that is ready at the current virtual time (what QEMU's
    /// main loop does between two QMP commands), at most [`SETTLE_LIMIT`]
    /// units: a job that never stops producing work at one instant (an I/O
    /// error ignored forever, as QEMU also loops on it) cannot hang the
    /// caller. Returns the number of units run.
    pub fn settle(&mut self) -> usize {
        let mut n = 0;
        while n < SETTLE_LIMIT && self.has_ready_work() {
            self.step();
            n += 1;
        }
        n
    }

    /// Moves the virtual clock to `now_ns` (never backwards) and runs the
    /// work that is due by then, timer by timer in deadline order (at most
    /// [`TICK_LIMIT`] units; what is left stays ready).
    pub fn tick(&mut self, now_ns: u64) {
        let mut units = 0;
        loop {
            units += self.settle();
            if units >= TICK_LIMIT {
                // Periodic work over a huge span of time: the clock moves on
                // and what is left stays ready for later calls.
                break;
            }
            match self.next_deadline() {
                Some(d) if d <= now_ns && d > self.now => self.now = d,
                _ => break,
            }
        }
        self.now = self.now.max(now_ns);
        self.settle();
    }

    /// [`tick`](Self::tick) to `now() + ns`.
    pub fn advance(&mut self, ns: u64) {
        self.tick(self.now.saturating_add(ns));
    }

    /// Runs ready work and moves virtual time from deadline to deadline until
    /// `done` holds (the clock stays where it held) or the clock would pass
    /// `limit_ns`; then the wait timed out and the clock ends at `limit_ns`,
    /// as after [`tick`](Self::tick)`(limit_ns)`. Returns whether `done`
    /// held. (What the scenario `wait` directive, `x-qjob-wait` and the
    /// bindings' `wait` use.)
    pub fn run_until(&mut self, limit_ns: u64, mut done: impl FnMut(&JobManager) -> bool) -> bool {
        loop {
            self.settle();
            if done(self) {
                return true;
            }
            match self.next_deadline() {
                Some(d) if d > self.now && d <= limit_ns => self.tick(d),
                // Nothing left before the limit, or work still due now after
                // a full settle (a job loops at one instant): the caller has
                // waited the whole time.
                _ => {
                    self.tick(limit_ns);
                    return done(self);
                }
            }
        }
    }

    /// Runs the main loop until `done` holds (QEMU's `AIO_WAIT_WHILE`); if no
    /// work is ready, time jumps to the next timer, as a blocking poll would
    /// wait for it. Gives up when nothing is left to run.
    pub(crate) fn poll_until(&mut self, mut done: impl FnMut(&JobManager) -> bool) {
        let mut guard = 0u32;
        while !done(self) {
            guard += 1;
            if guard > 1_000_000 {
                self.bugs.push("poll_until: no progress".into());
                return;
            }
            if !self.has_ready_work() {
                match self.next_deadline() {
                    Some(d) => self.now = self.now.max(d),
                    None => return,
                }
            }
            self.step();
        }
    }
}
