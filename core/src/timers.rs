//! The timer table: every timer of every job, owned in one place and keyed
//! by (job, kind), as quinn-proto's `TimerTable` owns a connection's timers.
//!
//! A job has at most one timer of each [`TimerKind`]. Armed timers wait in
//! one queue ordered by deadline, then by arming order (QEMU's timer list
//! fires equal deadlines in the order they were armed), so the main loop
//! finds the next one in constant time among a million sleeping jobs.
//! Stopping a timer leaves its queue entry behind: an entry is live while
//! the table still records its sequence number for its (job, kind), dead
//! entries are dropped when they reach the top, and the queue is compacted
//! when most of it is dead. The entry at the top is always live.

use crate::slab::{JobRef, Slot};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Which timer of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum TimerKind {
    /// The job coroutine's sleep timer (`job_sleep_ns`).
    Sleep,
    /// The driver's own timer (backup's block-copy call, sleeping on its
    /// rate limiter while the job coroutine waits for the call).
    Driver,
}

crate::snapshot::codec::codec_enum!(TimerKind { Sleep, Driver });

impl TimerKind {
    const fn slot(self) -> usize {
        match self {
            TimerKind::Sleep => 0,
            TimerKind::Driver => 1,
        }
    }
}

/// The top bit of a queue entry's key: the kind; the rest: the job's slot.
const DRIVER_BIT: u32 = 1 << 31;

/// A queue entry: deadline, arming sequence number, key.
type Entry = (u64, u32, u32);

fn key(j: JobRef, kind: TimerKind) -> u32 {
    debug_assert!(j.index() < DRIVER_BIT);
    match kind {
        TimerKind::Sleep => j.index(),
        TimerKind::Driver => j.index() | DRIVER_BIT,
    }
}

fn unkey(key: u32) -> (JobRef, TimerKind) {
    let kind = if key & DRIVER_BIT == 0 {
        TimerKind::Sleep
    } else {
        TimerKind::Driver
    };
    (JobRef::at(key & !DRIVER_BIT), kind)
}

/// Every armed timer of the manager.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct TimerTable {
    /// Armed timers, earliest first (dead entries among them, see above).
    queue: BinaryHeap<Reverse<Entry>>,
    /// For each job slot, the sequence number of its armed timer of each
    /// kind (0: not armed).
    armed: Vec<[u32; 2]>,
    /// Entries of `queue` that are dead.
    stale: usize,
    /// The last sequence number given out.
    seq: u32,
}

crate::snapshot::codec::codec_struct!(TimerTable {
    queue,
    armed,
    stale,
    seq
});

impl TimerTable {
    /// Arms the timer `kind` of job `j` for `deadline`, replacing the one
    /// armed before.
    pub fn arm(&mut self, j: JobRef, kind: TimerKind, deadline: u64) {
        self.stop(j, kind);
        if self.seq == u32::MAX {
            self.renumber();
        }
        self.seq += 1;
        let slot = j.index() as usize;
        if slot >= self.armed.len() {
            self.armed.resize(slot + 1, [0; 2]);
        }
        self.armed[slot][kind.slot()] = self.seq;
        self.queue.push(Reverse((deadline, self.seq, key(j, kind))));
    }

    /// Stops the timer `kind` of job `j`; returns whether it was armed.
    pub fn stop(&mut self, j: JobRef, kind: TimerKind) -> bool {
        let Some(rec) = self.armed.get_mut(j.index() as usize) else {
            return false;
        };
        if std::mem::take(&mut rec[kind.slot()]) == 0 {
            return false;
        }
        self.stale += 1;
        self.prune();
        true
    }

    /// Stops every timer of job `j` (it is freed).
    pub fn stop_all(&mut self, j: JobRef) {
        self.stop(j, TimerKind::Sleep);
        self.stop(j, TimerKind::Driver);
    }

    /// Whether the timer `kind` of job `j` is armed.
    pub fn is_armed(&self, j: JobRef, kind: TimerKind) -> bool {
        self.armed
            .get(j.index() as usize)
            .is_some_and(|rec| rec[kind.slot()] != 0)
    }

    /// The earliest deadline of an armed timer.
    pub fn next_deadline(&self) -> Option<u64> {
        self.queue.peek().map(|t| t.0.0)
    }

    /// Takes the earliest armed timer if it is due at `now` (its deadline is
    /// not after `now`): it is no longer armed.
    pub fn pop_due(&mut self, now: u64) -> Option<(JobRef, TimerKind)> {
        let &Reverse((deadline, _, key)) = self.queue.peek()?;
        if deadline > now {
            return None;
        }
        self.queue.pop();
        let (j, kind) = unkey(key);
        self.armed[j.index() as usize][kind.slot()] = 0;
        self.prune();
        Some((j, kind))
    }

    /// Whether a queue entry is the timer its (job, kind) has armed.
    fn live(&self, (_, seq, key): Entry) -> bool {
        let (j, kind) = unkey(key);
        self.armed
            .get(j.index() as usize)
            .is_some_and(|rec| rec[kind.slot()] == seq)
    }

    /// Drops dead entries from the top of the queue, and compacts the queue
    /// when most of it is dead.
    fn prune(&mut self) {
        while let Some(&Reverse(t)) = self.queue.peek() {
            if self.live(t) {
                break;
            }
            self.queue.pop();
            self.stale -= 1;
        }
        if self.stale > 64 && self.stale * 2 > self.queue.len() {
            self.compact();
        }
    }

    /// Keeps only the live entries.
    fn compact(&mut self) {
        let all = std::mem::take(&mut self.queue).into_vec();
        let live: Vec<_> = all.into_iter().filter(|t| self.live(t.0)).collect();
        self.queue = BinaryHeap::from(live);
        self.stale = 0;
    }

    /// The sequence numbers ran out: the live timers are numbered again
    /// from 1 in the order they fire, so that arming order among equal
    /// deadlines holds and no dead entry can pass for a live one.
    fn renumber(&mut self) {
        self.compact();
        let mut live = std::mem::take(&mut self.queue).into_sorted_vec();
        live.reverse(); // earliest first
        for (i, Reverse((_, seq, key))) in live.iter_mut().enumerate() {
            *seq = i as u32 + 1;
            let (j, kind) = unkey(*key);
            self.armed[j.index() as usize][kind.slot()] = *seq;
        }
        self.seq = live.len() as u32;
        self.queue = BinaryHeap::from(live);
    }

    /// Checks a restored table: the dead entries are counted right, no
    /// number is ahead of the counter, and every armed timer belongs to a
    /// live job and waits in the queue once.
    pub fn validate(&self, job_alive: impl Fn(JobRef) -> bool) -> Result<(), String> {
        let mut queued = 0;
        for t in &self.queue {
            if t.0.1 > self.seq {
                return Err("a timer is numbered ahead of the table".into());
            }
            if self.live(t.0) {
                queued += 1;
            }
        }
        if self.queue.len() - queued != self.stale {
            return Err("timer bookkeeping does not add up".into());
        }
        let mut armed = 0;
        for (slot, rec) in self.armed.iter().enumerate() {
            for &seq in rec.iter().filter(|&&s| s != 0) {
                if seq > self.seq || !job_alive(JobRef::at(slot as u32)) {
                    return Err(format!("a timer is armed for job {slot}, which is gone"));
                }
                armed += 1;
            }
        }
        if armed != queued {
            return Err("an armed timer is not queued once".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(i: u32) -> JobRef {
        JobRef::at(i)
    }

    fn fire_all(t: &mut TimerTable) -> Vec<(u32, TimerKind)> {
        std::iter::from_fn(|| t.pop_due(u64::MAX))
            .map(|(j, k)| (j.index(), k))
            .collect()
    }

    #[test]
    fn deadline_order_then_arming_order() {
        let mut t = TimerTable::default();
        t.arm(j(3), TimerKind::Sleep, 20);
        t.arm(j(1), TimerKind::Driver, 10);
        t.arm(j(2), TimerKind::Sleep, 10);
        t.arm(j(1), TimerKind::Sleep, 10);
        assert_eq!(t.next_deadline(), Some(10));
        assert_eq!(t.pop_due(9), None);
        assert!(t.is_armed(j(1), TimerKind::Driver));
        assert_eq!(t.pop_due(10), Some((j(1), TimerKind::Driver)));
        assert!(!t.is_armed(j(1), TimerKind::Driver));
        assert_eq!(
            fire_all(&mut t),
            [
                (2, TimerKind::Sleep),
                (1, TimerKind::Sleep),
                (3, TimerKind::Sleep)
            ]
        );
        assert!(t.validate(|_| true).is_ok());
    }

    #[test]
    fn stopped_and_rearmed_timers_fire_once() {
        let mut t = TimerTable::default();
        t.arm(j(0), TimerKind::Sleep, 5);
        t.arm(j(1), TimerKind::Sleep, 7);
        t.arm(j(0), TimerKind::Sleep, 9); // replaces the first
        assert!(t.stop(j(1), TimerKind::Sleep));
        assert!(!t.stop(j(1), TimerKind::Sleep));
        assert_eq!(t.next_deadline(), Some(9), "the top is always live");
        assert!(t.validate(|_| true).is_ok());
        assert_eq!(fire_all(&mut t), [(0, TimerKind::Sleep)]);
        // Many stopped timers are compacted away.
        for i in 0..200 {
            t.arm(j(i), TimerKind::Sleep, 1000 - u64::from(i));
        }
        for i in 0..150 {
            t.stop(j(i), TimerKind::Sleep);
        }
        assert!(t.queue.len() < 200);
        assert!(t.validate(|_| true).is_ok());
        assert_eq!(fire_all(&mut t).len(), 50);
    }

    #[test]
    fn numbers_running_out_keep_the_order() {
        let mut t = TimerTable {
            seq: u32::MAX - 2,
            ..TimerTable::default()
        };
        for i in 0..6 {
            t.arm(j(i), TimerKind::Sleep, 10);
        }
        t.arm(j(9), TimerKind::Sleep, 5);
        t.stop(j(2), TimerKind::Sleep);
        assert!(t.seq < 10, "renumbered");
        assert!(t.validate(|_| true).is_ok());
        let order: Vec<u32> = fire_all(&mut t).into_iter().map(|x| x.0).collect();
        assert_eq!(order, [9, 0, 1, 3, 4, 5]);
    }

    #[test]
    fn a_timer_of_a_gone_job_is_refused() {
        let mut t = TimerTable::default();
        t.arm(j(4), TimerKind::Driver, 1);
        assert!(t.validate(|x| x != j(4)).is_err());
        t.stale += 1;
        assert!(t.validate(|_| true).is_err());
    }
}
