//! Throttle groups and the `throttle` filter (QEMU 7.2's
//! `block/throttle-groups.c`, `util/throttle.c`, `block/throttle.c`):
//! `object-add` of a `throttle-group` and `object-del`, the group's leaky
//! buckets on the virtual clock, and what a job waits when its I/O goes
//! through a `throttle` node.
//!
//! A request through a throttle node is let through when the group's
//! buckets allow it, as QEMU lets it through; qjob counts the request's
//! progress when it is issued and makes the job sleep until the group would
//! have let the last one through (QEMU counts each when it is let through; a
//! drained section lets every waiting request through at once, after which
//! both agree).

use serde::{Deserialize, Serialize};

use crate::block::Driver;
use crate::error::{Error, Result};
use crate::manager::JobManager;

/// `THROTTLE_VALUE_MAX`: the largest rate or burst a group takes.
pub const THROTTLE_VALUE_MAX: u64 = 1_000_000_000_000_000;

/// The six buckets of a group, in QEMU's order (`BucketType`).
const BPS_TOTAL: usize = 0;
const BPS_READ: usize = 1;
const BPS_WRITE: usize = 2;
const OPS_TOTAL: usize = 3;
const OPS_READ: usize = 4;
const OPS_WRITE: usize = 5;

/// The names of the buckets in the options (`bps-total`, …).
const BUCKET_NAMES: [&str; 6] = [
    "bps-total",
    "bps-read",
    "bps-write",
    "iops-total",
    "iops-read",
    "iops-write",
];

/// Which part of a bucket an option sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    /// The rate (`bps-total`).
    Avg,
    /// The burst rate (`bps-total-max`).
    Max,
    /// How long a burst may last, in seconds (`bps-total-max-length`).
    BurstLength,
}

/// One option of a throttle group: a bucket's rate, burst rate or burst
/// length, or `iops-size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// A bucket's value: the bucket (0 `bps-total` … 5 `iops-write`, QEMU's
    /// order) and which value.
    Bucket(usize, LimitKind),
    /// `iops-size`.
    IopsSize,
}

impl Limit {
    /// Every option, in the order QAPI's `ThrottleLimits` lists them.
    pub const ALL: [Limit; 19] = {
        let mut all = [Limit::IopsSize; 19];
        // iops-total, -max, -max-length, iops-read…, iops-write…, then the
        // same for bps, then iops-size.
        let order = [
            OPS_TOTAL, OPS_READ, OPS_WRITE, BPS_TOTAL, BPS_READ, BPS_WRITE,
        ];
        let kinds = [LimitKind::Avg, LimitKind::Max, LimitKind::BurstLength];
        let mut i = 0;
        while i < 18 {
            all[i] = Limit::Bucket(order[i / 3], kinds[i % 3]);
            i += 1;
        }
        all
    };

    /// Its name in `ThrottleLimits` (`bps-total-max`, `iops-size`).
    pub fn name(self) -> String {
        match self {
            Limit::Bucket(b, LimitKind::Avg) => BUCKET_NAMES[b].to_owned(),
            Limit::Bucket(b, LimitKind::Max) => format!("{}-max", BUCKET_NAMES[b]),
            Limit::Bucket(b, LimitKind::BurstLength) => format!("{}-max-length", BUCKET_NAMES[b]),
            Limit::IopsSize => "iops-size".into(),
        }
    }
}

/// A throttle group's options as `object-add` sets them, in the order QEMU
/// sets its properties: each entry the `limits` object (its members) or one
/// `x-` option.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThrottleGroupOptions {
    /// The group's ID (its name).
    pub id: String,
    /// The properties, in the order QEMU sets them.
    pub properties: Vec<ThrottleProperty>,
}

/// One property of a throttle group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThrottleProperty {
    /// `limits`: the options given in it.
    Limits(Vec<(Limit, i64)>),
    /// One `x-` option (`x-bps-total`).
    Legacy(Limit, i64),
}

/// One leaky bucket (`LeakyBucket`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Bucket {
    avg: u64,
    max: u64,
    burst_length: u64,
    level: f64,
    burst_level: f64,
}

crate::snapshot::codec::codec_struct!(Bucket {
    avg,
    max,
    burst_length,
    level,
    burst_level
});

impl Bucket {
    /// `throttle_leak_bucket`.
    fn leak(&mut self, delta_ns: u64) {
        let leak = self.avg as f64 * delta_ns as f64 / 1e9;
        self.level = (self.level - leak).max(0.0);
        if self.burst_length > 1 {
            let leak = self.max as f64 * delta_ns as f64 / 1e9;
            self.burst_level = (self.burst_level - leak).max(0.0);
        }
    }

    /// `throttle_compute_wait`: how long a request must wait, in ns.
    fn wait(&self) -> u64 {
        if self.avg == 0 {
            return 0;
        }
        let (bucket, burst_bucket) = if self.max == 0 {
            (self.avg as f64 / 10.0, 0.0)
        } else {
            (
                self.max as f64 * self.burst_length as f64,
                self.max as f64 / 10.0,
            )
        };
        let extra = self.level - bucket;
        if extra > 0.0 {
            return (extra * 1e9 / self.avg as f64) as u64;
        }
        if self.burst_length > 1 {
            let extra = self.burst_level - burst_bucket;
            if extra > 0.0 {
                return (extra * 1e9 / self.max as f64) as u64;
            }
        }
        0
    }

    fn account(&mut self, units: f64) {
        self.level += units;
        if self.burst_length > 1 {
            self.burst_level += units;
        }
    }
}

/// A throttle group: its buckets, and when they last leaked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ThrottleGroup {
    pub name: String,
    buckets: [Bucket; 6],
    op_size: u64,
    last_ns: u64,
}

crate::snapshot::codec::codec_struct!(ThrottleGroup {
    name,
    buckets,
    op_size,
    last_ns
});

impl ThrottleGroup {
    fn new(name: String) -> ThrottleGroup {
        let bucket = Bucket {
            burst_length: 1,
            ..Bucket::default()
        };
        ThrottleGroup {
            name,
            buckets: [bucket; 6],
            op_size: 0,
            last_ns: 0,
        }
    }

    fn set(&mut self, limit: Limit, value: u64) {
        match limit {
            Limit::Bucket(b, LimitKind::Avg) => self.buckets[b].avg = value,
            Limit::Bucket(b, LimitKind::Max) => self.buckets[b].max = value,
            Limit::Bucket(b, LimitKind::BurstLength) => self.buckets[b].burst_length = value,
            Limit::IopsSize => self.op_size = value,
        }
    }

    /// `throttle_is_valid`.
    fn check(&self) -> Result<()> {
        let b = &self.buckets;
        let both = |total: usize, read: usize, write: usize, f: fn(&Bucket) -> u64| {
            f(&b[total]) != 0 && (f(&b[read]) != 0 || f(&b[write]) != 0)
        };
        if both(BPS_TOTAL, BPS_READ, BPS_WRITE, |x| x.avg)
            || both(OPS_TOTAL, OPS_READ, OPS_WRITE, |x| x.avg)
            || both(BPS_TOTAL, BPS_READ, BPS_WRITE, |x| x.max)
            || both(OPS_TOTAL, OPS_READ, OPS_WRITE, |x| x.max)
        {
            return Err(Error::generic(
                "bps/iops/max total values and read/write values cannot be used at the same time",
            ));
        }
        if self.op_size != 0
            && b[OPS_TOTAL].avg == 0
            && b[OPS_READ].avg == 0
            && b[OPS_WRITE].avg == 0
        {
            return Err(Error::generic("iops size requires an iops value to be set"));
        }
        for k in b {
            if k.avg > THROTTLE_VALUE_MAX || k.max > THROTTLE_VALUE_MAX {
                return Err(Error::generic(format!(
                    "bps/iops/max values must be within [0, {THROTTLE_VALUE_MAX}]"
                )));
            }
            if k.burst_length == 0 {
                return Err(Error::generic("the burst length cannot be 0"));
            }
            if k.burst_length > 1 && k.max == 0 {
                return Err(Error::generic("burst length set without burst rate"));
            }
            if k.max != 0 && k.burst_length > THROTTLE_VALUE_MAX / k.max {
                return Err(Error::generic("burst length too high for this burst rate"));
            }
            if k.max != 0 && k.avg == 0 {
                return Err(Error::generic(
                    "bps_max/iops_max require corresponding bps/iops values",
                ));
            }
            if k.max != 0 && k.max < k.avg {
                return Err(Error::generic(
                    "bps_max/iops_max cannot be lower than bps/iops",
                ));
            }
        }
        Ok(())
    }

    /// A request of `size` bytes let through at `at` (not before) once the
    /// buckets allow it (`throttle_group_co_io_limits_intercept`): returns
    /// when it goes through.
    fn dispatch(&mut self, at: u64, is_write: bool, size: u64) -> u64 {
        let at = at.max(self.last_ns);
        self.leak_to(at);
        let checked = if is_write {
            [BPS_TOTAL, OPS_TOTAL, BPS_WRITE, OPS_WRITE]
        } else {
            [BPS_TOTAL, OPS_TOTAL, BPS_READ, OPS_READ]
        };
        let wait = checked
            .iter()
            .map(|&i| self.buckets[i].wait())
            .max()
            .unwrap_or(0);
        let through = at.saturating_add(wait);
        self.leak_to(through);
        let units = if self.op_size != 0 && size > self.op_size {
            size as f64 / self.op_size as f64
        } else {
            1.0
        };
        let (bytes, ops) = if is_write {
            ([BPS_TOTAL, BPS_WRITE], [OPS_TOTAL, OPS_WRITE])
        } else {
            ([BPS_TOTAL, BPS_READ], [OPS_TOTAL, OPS_READ])
        };
        for i in bytes {
            self.buckets[i].account(size as f64);
        }
        for i in ops {
            self.buckets[i].account(units);
        }
        through
    }

    fn leak_to(&mut self, now: u64) {
        if now > self.last_ns {
            let delta = now - self.last_ns;
            for b in &mut self.buckets {
                b.leak(delta);
            }
            self.last_ns = now;
        }
    }
}

/// The throttle groups, and the requests that went through throttle nodes
/// since a job last asked what they cost it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Throttling {
    pub groups: Vec<ThrottleGroup>,
    /// Requests not accounted yet: group, write, bytes.
    pub pending: Vec<(String, bool, u64)>,
}

crate::snapshot::codec::codec_struct!(Throttling { groups, pending });

impl Throttling {
    pub fn group(&self, name: &str) -> Option<&ThrottleGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// When the requests issued at `now` since the last call are all let
    /// through (`now` when none waits).
    pub fn settle(&mut self, now: u64) -> u64 {
        let mut last = now;
        for (name, is_write, size) in std::mem::take(&mut self.pending) {
            if let Some(g) = self.groups.iter_mut().find(|g| g.name == name) {
                last = last.max(g.dispatch(now, is_write, size));
            }
        }
        last
    }
}

impl JobManager {
    /// `object-add` of a `throttle-group`: the properties are set in turn
    /// (each refused as QEMU refuses it), then the ID is taken, then the
    /// limits are checked together.
    pub fn throttle_group_add(&mut self, opts: ThrottleGroupOptions) -> Result<()> {
        if !crate::model::id_wellformed(&opts.id) {
            return Err(Error::invalid_value("id", "an identifier"));
        }
        let mut group = ThrottleGroup::new(opts.id.clone());
        for p in &opts.properties {
            match p {
                ThrottleProperty::Limits(values) => {
                    // throttle_limits_to_config: the burst lengths are
                    // checked in bucket order, after every value is read.
                    for &(limit, v) in values {
                        group.set(limit, v as u64);
                    }
                    for b in [
                        BPS_TOTAL, BPS_READ, BPS_WRITE, OPS_TOTAL, OPS_READ, OPS_WRITE,
                    ] {
                        let limit = Limit::Bucket(b, LimitKind::BurstLength);
                        if let Some(&(_, v)) = values.iter().find(|(l, _)| *l == limit)
                            && v > u32::MAX as i64
                        {
                            return Err(Error::generic(format!(
                                "{} value must be in the range [0, {}]",
                                limit.name(),
                                u32::MAX
                            )));
                        }
                    }
                }
                ThrottleProperty::Legacy(limit, v) => {
                    if *v < 0 {
                        return Err(Error::generic("Property values cannot be negative"));
                    }
                    if matches!(limit, Limit::Bucket(_, LimitKind::BurstLength))
                        && *v > u32::MAX as i64
                    {
                        // QEMU's text lacks a space here.
                        return Err(Error::generic(format!(
                            "x-{} value must be in therange [0, {}]",
                            limit.name(),
                            u32::MAX
                        )));
                    }
                    group.set(*limit, *v as u64);
                }
            }
        }
        if self.graph.throttling.group(&opts.id).is_some() {
            return Err(Error::generic(format!(
                "attempt to add duplicate property '{}' to object (type 'container')",
                opts.id
            )));
        }
        group.check()?;
        group.last_ns = self.now;
        self.graph.throttling.groups.push(group);
        Ok(())
    }

    /// `object-del`: a throttle group no `throttle` node uses goes away.
    pub fn object_del(&mut self, id: &str) -> Result<()> {
        if self.graph.throttling.group(id).is_none() {
            return Err(Error::generic(format!("object '{id}' not found")));
        }
        let in_use = self
            .graph
            .live()
            .any(|(_, n)| matches!(&n.driver, Driver::Throttle { group } if group == id));
        if in_use {
            return Err(Error::generic(format!(
                "object '{id}' is in use, can not be deleted"
            )));
        }
        self.graph.throttling.groups.retain(|g| g.name != id);
        Ok(())
    }

    /// The throttle node's group must exist (`throttle_parse_options`).
    pub(crate) fn check_throttle_group(&self, group: &str) -> Result<()> {
        if self.graph.throttling.group(group).is_none() {
            return Err(Error::generic(format!(
                "Throttle group '{group}' does not exist"
            )));
        }
        Ok(())
    }

    /// How long the job issuing the requests that went through throttle
    /// nodes since the last call must wait for the last of them.
    pub(crate) fn throttle_delay(&mut self) -> u64 {
        let now = self.now;
        self.graph.throttling.settle(now) - now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_listed_in_qapi_order() {
        let names: Vec<String> = Limit::ALL.iter().map(|l| l.name()).collect();
        assert_eq!(names[0], "iops-total");
        assert_eq!(names[2], "iops-total-max-length");
        assert_eq!(names[9], "bps-total");
        assert_eq!(names[18], "iops-size");
    }

    #[test]
    fn a_request_waits_once_the_bucket_is_full() {
        let mut g = ThrottleGroup::new("tg".into());
        g.set(Limit::Bucket(BPS_READ, LimitKind::Avg), 4096);
        g.check().unwrap();
        // The first request goes at once; the bucket then holds 1 MiB and
        // leaks 4096 bytes a second down to a tenth of a second's worth.
        assert_eq!(g.dispatch(0, false, 1 << 20), 0);
        let t = g.dispatch(0, false, 1 << 20);
        assert_eq!(t, ((1048576.0 - 409.6) * 1e9 / 4096.0) as u64);
        // Writes are not limited by a read limit.
        assert_eq!(g.dispatch(t, true, 1 << 20), t);
    }

    #[test]
    fn invalid_combinations_are_refused() {
        let mut g = ThrottleGroup::new("tg".into());
        g.set(Limit::Bucket(BPS_TOTAL, LimitKind::Avg), 1);
        g.set(Limit::Bucket(BPS_READ, LimitKind::Avg), 1);
        assert!(
            g.check()
                .unwrap_err()
                .desc
                .contains("cannot be used at the same time")
        );
        let mut g = ThrottleGroup::new("tg".into());
        g.set(Limit::Bucket(BPS_TOTAL, LimitKind::Max), 1);
        assert!(
            g.check()
                .unwrap_err()
                .desc
                .contains("require corresponding")
        );
    }
}
