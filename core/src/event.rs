//! QMP events with QEMU's names, fields and field order (SPEC.md §8).

use serde::{Deserialize, Serialize};

use crate::model::{ErrorAction, JobStatus, JobType};
use serde_json::{Map, Value, json};
use std::sync::Arc;

crate::model::qapi_enum! {
    /// Which way an I/O went (QAPI `IoOperationType`).
    IoOperation {
        /// A read (source side).
        Read = "read",
        /// A write (target side).
        Write = "write",
    }
}

/// What happened, with the event's data fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// `JOB_STATUS_CHANGE`: a job moved to a different status.
    JobStatusChange {
        /// Job ID.
        id: Arc<str>,
        /// The new status.
        status: JobStatus,
    },
    /// `BLOCK_JOB_READY`: a mirror-like job can now be completed.
    BlockJobReady {
        /// Job type.
        job_type: JobType,
        /// Job ID.
        device: Arc<str>,
        /// Total progress.
        len: u64,
        /// Current progress.
        offset: u64,
        /// Speed limit in bytes/s.
        speed: u64,
    },
    /// `BLOCK_JOB_PENDING`: a job with auto-finalize off waits for `job-finalize`.
    BlockJobPending {
        /// Job type.
        job_type: JobType,
        /// Job ID.
        id: Arc<str>,
    },
    /// `BLOCK_JOB_COMPLETED`: a block job finished (maybe with an error).
    BlockJobCompleted {
        /// Job type.
        job_type: JobType,
        /// Job ID.
        device: Arc<str>,
        /// Total progress.
        len: u64,
        /// Current progress.
        offset: u64,
        /// Speed limit in bytes/s.
        speed: u64,
        /// The error text, when the job failed.
        error: Option<String>,
    },
    /// `BLOCK_JOB_CANCELLED`: a block job was hard-cancelled.
    BlockJobCancelled {
        /// Job type.
        job_type: JobType,
        /// Job ID.
        device: Arc<str>,
        /// Total progress.
        len: u64,
        /// Current progress.
        offset: u64,
        /// Speed limit in bytes/s.
        speed: u64,
    },
    /// `BLOCK_JOB_ERROR`: a block job met an I/O error.
    BlockJobError {
        /// Job ID.
        device: Arc<str>,
        /// Read or write.
        operation: IoOperation,
        /// What the error policy decided.
        action: ErrorAction,
    },
    /// `STOP`: the (simulated) VM stopped (around snapshot jobs).
    Stop,
    /// `RESUME`: the (simulated) VM runs again.
    Resume,
    /// `SHUTDOWN`: a system emulator was asked to quit (`guest: false`,
    /// `reason: host-qmp-quit`).
    Shutdown,
    /// `BLOCK_EXPORT_DELETED`: a block export is gone.
    BlockExportDeleted {
        /// The export's ID.
        id: Arc<str>,
    },
}

/// One event, stamped with the virtual time at which it was emitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Virtual time of emission, in nanoseconds.
    pub timestamp_ns: u64,
    /// The event.
    pub kind: EventKind,
}

/// Calls the macro named `$m` once, with every event kind in
/// [`EventKind::index`] order, each as `Variant = "QMP_NAME" [members]`:
/// the [`EventKind`] variant, its QMP name, and the members its `data` may
/// carry, in QAPI order (`r#type` for `type`; `error` only when set).
///
/// It is the one list of event kinds: [`EventKind::NAMES`],
/// [`EventKind::FIELDS`], [`EventKind::index`] and [`EventKind::name`] are
/// made from it (so a new variant left out of it does not compile), and a
/// binding that needs a type or a conversion per kind (a Python class, a C
/// enum) makes it from it too, so that a new kind is a compile error there
/// rather than a silent gap. The members' values come from
/// [`EventKind::for_each_field`], which a test checks against these lists.
///
/// ```
/// macro_rules! count {
///     ($($variant:ident = $name:literal [$($member:ident),*]),+ $(,)?) => {
///         [$($name),+].len()
///     };
/// }
/// assert_eq!(qjob::for_each_event_kind!(count), qjob::EventKind::NAMES.len());
/// ```
#[macro_export]
macro_rules! for_each_event_kind {
    ($m:ident) => {
        $m! {
            JobStatusChange = "JOB_STATUS_CHANGE" [id, status],
            BlockJobReady = "BLOCK_JOB_READY" [r#type, device, len, offset, speed],
            BlockJobPending = "BLOCK_JOB_PENDING" [r#type, id],
            BlockJobCompleted = "BLOCK_JOB_COMPLETED" [r#type, device, len, offset, speed, error],
            BlockJobCancelled = "BLOCK_JOB_CANCELLED" [r#type, device, len, offset, speed],
            BlockJobError = "BLOCK_JOB_ERROR" [device, operation, action],
            Stop = "STOP" [],
            Resume = "RESUME" [],
            Shutdown = "SHUTDOWN" [guest, reason],
            BlockExportDeleted = "BLOCK_EXPORT_DELETED" [id],
        }
    };
}

/// A member name as written in [`for_each_event_kind!`]'s lists, without
/// the `r#` of a raw identifier.
const fn member_name(ident: &'static str) -> &'static str {
    match ident.as_bytes() {
        [b'r', b'#', rest @ ..] => match std::str::from_utf8(rest) {
            Ok(name) => name,
            Err(_) => ident,
        },
        _ => ident,
    }
}

macro_rules! event_kind_tables {
    ($($variant:ident = $name:literal [$($member:ident),*]),+ $(,)?) => {
        impl EventKind {
            /// Every QMP event name qjob emits, as [`name`](Self::name)
            /// spells them, in [`index`](Self::index) order: what a binding
            /// checks an event name given by its caller against.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The members each kind's `data` may carry, in QAPI order, in
            /// [`index`](Self::index) order (`BLOCK_JOB_COMPLETED`'s
            /// `error` only when the job failed): for a binding's per-kind
            /// field lists (Python's `__match_args__`).
            pub const FIELDS: &'static [&'static [&'static str]] =
                &[$(&[$(member_name(stringify!($member))),*]),+];

            /// The variant's place in [`NAMES`](Self::NAMES): 0 for
            /// `JOB_STATUS_CHANGE` up to 9 for `BLOCK_EXPORT_DELETED` (for a
            /// binding's table of event classes).
            pub const fn index(&self) -> usize {
                enum Kind {
                    $($variant),+
                }
                match self {
                    $(EventKind::$variant { .. } => Kind::$variant as usize),+
                }
            }

            /// The QMP event name, e.g. `JOB_STATUS_CHANGE`.
            pub const fn name(&self) -> &'static str {
                match self {
                    $(EventKind::$variant { .. } => $name),+
                }
            }
        }
    };
}

for_each_event_kind!(event_kind_tables);

/// One member of an event's `data`, typed: what
/// [`EventKind::for_each_field`] hands over. A binding that fills a
/// structure of its own (C's `qjob_event`) matches on it, so that a new
/// member is a compile error there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventField<'a> {
    /// `id`: the job ID.
    Id(&'a str),
    /// `status`: the job's new status.
    Status(JobStatus),
    /// `type`: the job type.
    Type(JobType),
    /// `device`: the job ID (block-job events).
    Device(&'a str),
    /// `len`: total progress.
    Len(u64),
    /// `offset`: current progress.
    Offset(u64),
    /// `speed`: the speed limit in bytes/s.
    Speed(u64),
    /// `error`: the error text of a failed job.
    Error(&'a str),
    /// `operation`: read or write.
    Operation(IoOperation),
    /// `action`: what the error policy decided.
    Action(ErrorAction),
    /// `guest`: whether the guest asked for it (`SHUTDOWN`).
    Guest(bool),
    /// `reason`: why the VM shut down (`SHUTDOWN`), a QAPI name.
    Reason(&'static str),
}

/// How a member's value is written in JSON.
#[derive(Clone, Copy)]
pub(crate) enum Scalar<'a> {
    /// A QAPI name (needs no escaping).
    Name(&'static str),
    /// Any string.
    Str(&'a str),
    /// An integer.
    Num(u64),
    /// A boolean.
    Bool(bool),
}

impl<'a> EventField<'a> {
    /// The member's QMP name (`"id"`, `"type"`, …).
    pub const fn key(&self) -> &'static str {
        match self {
            EventField::Id(_) => "id",
            EventField::Status(_) => "status",
            EventField::Type(_) => "type",
            EventField::Device(_) => "device",
            EventField::Len(_) => "len",
            EventField::Offset(_) => "offset",
            EventField::Speed(_) => "speed",
            EventField::Error(_) => "error",
            EventField::Operation(_) => "operation",
            EventField::Action(_) => "action",
            EventField::Guest(_) => "guest",
            EventField::Reason(_) => "reason",
        }
    }

    /// The member as JSON text wants it, in one match (events are written
    /// on every step of every job): its key, quoted and followed by `:`,
    /// and its value.
    #[inline(always)]
    pub(crate) fn json_member(self) -> (&'static str, Scalar<'a>) {
        match self {
            EventField::Id(s) => ("\"id\":", Scalar::Str(s)),
            EventField::Status(s) => ("\"status\":", Scalar::Name(s.as_str())),
            EventField::Type(t) => ("\"type\":", Scalar::Name(t.as_str())),
            EventField::Device(s) => ("\"device\":", Scalar::Str(s)),
            EventField::Len(n) => ("\"len\":", Scalar::Num(n)),
            EventField::Offset(n) => ("\"offset\":", Scalar::Num(n)),
            EventField::Speed(n) => ("\"speed\":", Scalar::Num(n)),
            EventField::Error(s) => ("\"error\":", Scalar::Str(s)),
            EventField::Operation(o) => ("\"operation\":", Scalar::Name(o.as_str())),
            EventField::Action(a) => ("\"action\":", Scalar::Name(a.as_str())),
            EventField::Guest(b) => ("\"guest\":", Scalar::Bool(b)),
            EventField::Reason(r) => ("\"reason\":", Scalar::Name(r)),
        }
    }

    /// The member's value as JSON.
    pub fn value(self) -> Value {
        match self.json_member().1 {
            Scalar::Name(s) => s.into(),
            Scalar::Str(s) => s.into(),
            Scalar::Num(n) => n.into(),
            Scalar::Bool(b) => b.into(),
        }
    }
}

impl EventKind {
    /// The job this event is about (`id` or `device`; an export's `id` for
    /// `BLOCK_EXPORT_DELETED`); empty for VM events.
    pub fn job_id(&self) -> &str {
        match self {
            EventKind::JobStatusChange { id, .. }
            | EventKind::BlockJobPending { id, .. }
            | EventKind::BlockExportDeleted { id } => id,
            EventKind::BlockJobReady { device, .. }
            | EventKind::BlockJobCompleted { device, .. }
            | EventKind::BlockJobCancelled { device, .. }
            | EventKind::BlockJobError { device, .. } => device,
            EventKind::Stop | EventKind::Resume | EventKind::Shutdown => "",
        }
    }

    /// Whether this is an event named `name` (a QMP event name) about job
    /// `job_id` (its `id` or `device`).
    pub fn is_event_about(&self, name: &str, job_id: &str) -> bool {
        self.name() == name && self.job_id() == job_id
    }

    /// Whether this is the `JOB_STATUS_CHANGE` of job `id` to `status`.
    pub fn is_status_change(&self, id: &str, status: JobStatus) -> bool {
        matches!(self, EventKind::JobStatusChange { id: i, status: s } if **i == *id && *s == status)
    }

    /// The event's `data` object, fields in QAPI order.
    pub fn data(&self) -> Value {
        let mut m = Map::new();
        self.for_each_field(|f| {
            m.insert(f.key().into(), f.value());
        });
        Value::Object(m)
    }

    /// Hands the members of the event's `data` to `f`, typed, in QAPI
    /// order: the one place that knows each event's fields (the JSON forms,
    /// the transcript line, C's `qjob_event` and Python's event attributes
    /// are all made from it).
    #[inline(always)]
    pub fn for_each_field<'a>(&'a self, mut f: impl FnMut(EventField<'a>)) {
        match self {
            EventKind::JobStatusChange { id, status } => {
                f(EventField::Id(id));
                f(EventField::Status(*status));
            }
            EventKind::BlockJobReady {
                job_type,
                device,
                len,
                offset,
                speed,
            }
            | EventKind::BlockJobCancelled {
                job_type,
                device,
                len,
                offset,
                speed,
            }
            | EventKind::BlockJobCompleted {
                job_type,
                device,
                len,
                offset,
                speed,
                ..
            } => {
                f(EventField::Type(*job_type));
                f(EventField::Device(device));
                f(EventField::Len(*len));
                f(EventField::Offset(*offset));
                f(EventField::Speed(*speed));
                if let EventKind::BlockJobCompleted { error: Some(e), .. } = self {
                    f(EventField::Error(e));
                }
            }
            EventKind::BlockJobPending { job_type, id } => {
                f(EventField::Type(*job_type));
                f(EventField::Id(id));
            }
            EventKind::BlockJobError {
                device,
                operation,
                action,
            } => {
                f(EventField::Device(device));
                f(EventField::Operation(*operation));
                f(EventField::Action(*action));
            }
            EventKind::Shutdown => {
                f(EventField::Guest(false));
                f(EventField::Reason("host-qmp-quit"));
            }
            EventKind::BlockExportDeleted { id } => f(EventField::Id(id)),
            EventKind::Stop | EventKind::Resume => {}
        }
    }
}

impl Event {
    /// The whole QMP event message:
    /// `{"timestamp": {"seconds": …, "microseconds": …}, "event": …, "data": …}`.
    pub fn to_qmp(&self) -> Value {
        json!({
            "timestamp": {
                "seconds": self.timestamp_ns / 1_000_000_000,
                "microseconds": (self.timestamp_ns % 1_000_000_000) / 1_000,
            },
            "event": self.kind.name(),
            "data": self.kind.data(),
        })
    }

    /// [`Event::to_qmp`] as a JSON string (compact, as `serde_json` writes
    /// it), written directly without building a [`Value`].
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(128);
        self.write_json(&mut out);
        out
    }

    /// Appends [`Event::to_json`]'s text to `out`.
    ///
    /// Written for speed (events are written on every step of every job,
    /// and a WebAssembly build pays more than a native one for growing a
    /// buffer, for 64-bit division and for copies of a length known only at
    /// run time): one `reserve` of an upper bound of the text, the fixed
    /// text between the timestamp and `data` as one fragment per kind
    /// (copied at one fixed length, then cut), numbers in 32-bit arithmetic
    /// where they fit, and names and job IDs that need no escaping copied
    /// whole.
    pub fn write_json(&self, out: &mut String) {
        // The fixed parts (seconds and microseconds at most 20 and 6
        // digits) and the members' upper bounds.
        let mut bound = TIMESTAMP_HEAD.len() + 20 + MICROSECONDS.len() + 6;
        bound += FRAGMENT_ROOM + "}}".len();
        self.kind.for_each_field(
            #[inline(always)]
            |f| {
                let (key, value) = f.json_member();
                bound += 1 + key.len() + value.json_len_bound();
            },
        );
        out.reserve(bound);
        let (seconds, micros) = split_timestamp(self.timestamp_ns);
        out.push_str(TIMESTAMP_HEAD);
        push_u64(out, seconds);
        out.push_str(MICROSECONDS);
        push_u32(out, micros, 1);
        let (fragment, len) = self.kind.json_event_and_data();
        let at = out.len();
        out.push_str(&fragment[..FRAGMENT_ROOM]);
        out.truncate(at + len);
        let mut first = true;
        // Inlined at each member the visitor hands over, so that each
        // member's key and kind of value are known where it is written.
        self.kind.for_each_field(
            #[inline(always)]
            |f| {
                if !std::mem::take(&mut first) {
                    out.push(',');
                }
                let (key, value) = f.json_member();
                out.push_str(key);
                match value {
                    Scalar::Name(v) => {
                        out.push('"');
                        push_short(out, v);
                        out.push('"');
                    }
                    Scalar::Str(v) => write_json_str(out, v),
                    Scalar::Num(v) => push_u64(out, v),
                    Scalar::Bool(v) => out.push_str(if v { "true" } else { "false" }),
                }
            },
        );
        out.push_str("}}");
    }
}

/// The text of an event up to its timestamp's seconds.
const TIMESTAMP_HEAD: &str = "{\"timestamp\":{\"seconds\":";
/// The text between the timestamp's seconds and its microseconds.
const MICROSECONDS: &str = ",\"microseconds\":";

macro_rules! event_json_fragments {
    ($($variant:ident = $name:literal [$($member:ident),*]),+ $(,)?) => {
        impl EventKind {
            /// The fixed text between an event's timestamp and its `data`
            /// members, one fragment per kind: `},"event":"NAME","data":{`,
            /// followed by spaces to [`FRAGMENT_ROOM`] bytes at least, and the
            /// fragment's own length.
            #[inline(always)]
            fn json_event_and_data(&self) -> (&'static str, usize) {
                match self {
                    $(EventKind::$variant { .. } => {
                        // The fragment, then FRAGMENT_ROOM spaces.
                        const PADDED: &str = concat!(
                            "},\"event\":\"", $name, "\",\"data\":{",
                            "                                                "
                        );
                        const LEN: usize = PADDED.len() - FRAGMENT_ROOM;
                        // The padding is FRAGMENT_ROOM long: the fragment's `{` ends LEN.
                        const _: () = assert!(LEN <= FRAGMENT_ROOM && PADDED.as_bytes()[LEN - 1] == b'{');
                        (PADDED, LEN)
                    })+
                }
            }
        }
    };
}

/// The room the fixed text between an event's timestamp and its `data`
/// members is copied in: the same number of bytes for every kind of event,
/// so that the copy is a few fixed-size moves. A copy whose length is only
/// known at run time is a call into the engine in WebAssembly.
const FRAGMENT_ROOM: usize = 48;

for_each_event_kind!(event_json_fragments);

impl Scalar<'_> {
    /// The most bytes the value's JSON text can take.
    #[inline(always)]
    fn json_len_bound(self) -> usize {
        match self {
            Scalar::Name(v) => v.len() + 2,
            // Every byte escaped as `\u00XX` at worst.
            Scalar::Str(v) => v.len() * 6 + 2,
            Scalar::Num(_) => 20,
            Scalar::Bool(_) => 5,
        }
    }
}

/// A timestamp in nanoseconds as QMP's seconds and microseconds.
///
/// 10^9 is 2^9 · 1953125, so the seconds are `(ns >> 9) / 1953125`: a
/// 32-bit division while `ns >> 9` fits in 32 bits (the first 36 minutes
/// of virtual time), which WebAssembly does with a multiplication where a
/// 64-bit division is a real one.
#[inline(always)]
fn split_timestamp(ns: u64) -> (u64, u32) {
    let seconds = match u32::try_from(ns >> 9) {
        Ok(n) => u64::from(n / 1_953_125),
        Err(_) => ns / 1_000_000_000,
    };
    // Below 10^9: fits in 32 bits.
    let nanos = (ns - seconds * 1_000_000_000) as u32;
    (seconds, nanos / 1_000)
}

/// Appends the decimal digits of `n` (without the formatting machinery:
/// events are written on every step of every job).
///
/// Numbers that fit in 32 bits (timestamps' seconds and microseconds, most
/// offsets) are written with 32-bit arithmetic: WebAssembly has no 64-bit
/// multiply-high, so a 64-bit division by ten costs a real division there.
#[inline(always)]
pub(crate) fn push_u64(out: &mut String, n: u64) {
    match u32::try_from(n) {
        Ok(small) => push_u32(out, small, 1),
        Err(_) => push_u64_wide(out, n),
    }
}

/// [`push_u64`] for numbers above 32 bits: the digits above the last nine,
/// then those nine, zero-padded.
#[inline(never)]
fn push_u64_wide(out: &mut String, n: u64) {
    push_u64(out, n / 1_000_000_000);
    push_u32(out, (n % 1_000_000_000) as u32, 9);
}

/// Appends the decimal digits of `n`, at least `width` of them (leading
/// zeros): a single digit pushed at once, longer numbers into a stack
/// buffer, then each pushed (a few bytes: no UTF-8 validation, no copy
/// call).
#[inline(always)]
fn push_u32(out: &mut String, mut n: u32, width: usize) {
    if n < 10 && width == 1 {
        // The commonest number in events (a timestamp's seconds early on,
        // microseconds at a whole second, an offset or a speed of 0): one
        // push, without the digit buffer.
        out.push(char::from(b'0' + n as u8));
        return;
    }
    let mut buf = [b'0'; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 && buf.len() - i >= width {
            break;
        }
    }
    for &b in &buf[i..] {
        // A no-op (every byte is a digit) that tells the compiler the char
        // is ASCII, so that `push` keeps only its one-byte path: natively the
        // untaken multi-byte path costs nothing, in WebAssembly it made the
        // pause + resume pair 8-11% slower (issue 18, `bench/ab.mjs`).
        out.push(char::from(b.min(b'9')));
    }
}

pub(crate) use crate::qmp::json::push_short;

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it (the
/// one escaper, [`crate::qmp::json::write_text_str`]).
pub(crate) use crate::qmp::json::write_text_str as write_json_str;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_format_writes_them() {
        let mut cases = vec![0, 1, 9, 10, 99, 100, 999_999_999, 1_000_000_000];
        cases.extend([u64::from(u32::MAX), u64::from(u32::MAX) + 1, 1 << 40]);
        cases.extend([
            10_000_000_000_000_000_000,
            1_000_000_000_000_000_007,
            u64::MAX,
        ]);
        for n in cases {
            let mut out = String::from("x");
            push_u64(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    #[test]
    fn timestamps_split_as_division_splits_them() {
        // Both sides of the 32-bit path's end (2^41 ns), and the extremes.
        let edge = 1u64 << 41;
        let mut cases = vec![0, 1, 999, 1_000, 999_999_999, 1_000_000_000, 3_000_004_000];
        cases.extend([edge - 1, edge, edge + 1, edge + 999_999_999, u64::MAX]);
        cases.extend((0..64).map(|k| 1u64 << k));
        for ns in cases {
            assert_eq!(
                split_timestamp(ns),
                (ns / 1_000_000_000, ((ns % 1_000_000_000) / 1_000) as u32),
                "{ns}"
            );
        }
    }

    /// One event of every kind, in index order (`BLOCK_JOB_COMPLETED`
    /// twice: without and with an error).
    fn one_of_each() -> Vec<EventKind> {
        let (t, d) = (JobType::Backup, Arc::<str>::from("j"));
        let completed = |error| EventKind::BlockJobCompleted {
            job_type: t,
            device: d.clone(),
            len: 3,
            offset: 2,
            speed: 1,
            error,
        };
        vec![
            EventKind::JobStatusChange {
                id: d.clone(),
                status: JobStatus::Running,
            },
            EventKind::BlockJobReady {
                job_type: t,
                device: d.clone(),
                len: 0,
                offset: 0,
                speed: 0,
            },
            EventKind::BlockJobPending {
                job_type: t,
                id: d.clone(),
            },
            completed(None),
            completed(Some("Input/output error".into())),
            EventKind::BlockJobCancelled {
                job_type: t,
                device: d.clone(),
                len: 0,
                offset: 0,
                speed: 0,
            },
            EventKind::BlockJobError {
                device: d.clone(),
                operation: IoOperation::Read,
                action: ErrorAction::Report,
            },
            EventKind::Stop,
            EventKind::Resume,
            EventKind::Shutdown,
            EventKind::BlockExportDeleted { id: "e".into() },
        ]
    }

    #[test]
    fn names_are_every_variant_s_name_at_its_index() {
        let kinds = one_of_each();
        let mut seen = vec![false; EventKind::NAMES.len()];
        for k in &kinds {
            assert_eq!(EventKind::NAMES[k.index()], k.name());
            seen[k.index()] = true;
        }
        assert!(
            seen.iter().all(|&s| s),
            "a kind is missing from one_of_each"
        );
        assert_eq!(EventKind::FIELDS.len(), EventKind::NAMES.len());
        assert_eq!(EventKind::NAMES[0], "JOB_STATUS_CHANGE");
        assert_eq!(EventKind::FIELDS[1][0], "type");
    }

    /// The visitor hands over exactly the members `FIELDS` lists for the
    /// kind, in that order (`error` only when set), and `data` is made of
    /// them.
    #[test]
    fn the_visitor_gives_the_listed_members() {
        for k in one_of_each() {
            let mut keys = Vec::new();
            k.for_each_field(|f| keys.push(f.key()));
            let listed = EventKind::FIELDS[k.index()];
            let expected: Vec<&str> = listed
                .iter()
                .copied()
                .filter(|&m| {
                    m != "error"
                        || matches!(&k, EventKind::BlockJobCompleted { error: Some(_), .. })
                })
                .collect();
            assert_eq!(keys, expected, "{}", k.name());
            let data = k.data();
            let data_keys: Vec<&str> = data
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(data_keys, expected);
        }
    }

    #[test]
    fn direct_json_text_equals_the_value_form() {
        let odd: Arc<str> = Arc::from("a\"b\\c\nd\u{1}\u{7f}é\t\u{8}\u{c}\r");
        let kinds = [
            EventKind::JobStatusChange {
                id: odd.clone(),
                status: JobStatus::Running,
            },
            EventKind::BlockJobReady {
                job_type: JobType::Mirror,
                device: odd.clone(),
                len: u64::MAX,
                offset: 0,
                speed: 7,
            },
            EventKind::BlockJobCancelled {
                job_type: JobType::Backup,
                device: "b".into(),
                len: 1,
                offset: 2,
                speed: 3,
            },
            EventKind::BlockJobPending {
                job_type: JobType::Commit,
                id: odd.clone(),
            },
            EventKind::BlockJobCompleted {
                job_type: JobType::Stream,
                device: "s".into(),
                len: 4,
                offset: 4,
                speed: 0,
                error: None,
            },
            EventKind::BlockJobCompleted {
                job_type: JobType::Stream,
                device: "s".into(),
                len: 4,
                offset: 3,
                speed: 0,
                error: Some("Input/output \"error\"".into()),
            },
            EventKind::BlockJobError {
                device: odd,
                operation: IoOperation::Write,
                action: ErrorAction::Stop,
            },
            EventKind::Stop,
            EventKind::Resume,
            EventKind::Shutdown,
            EventKind::BlockExportDeleted { id: "x\"1".into() },
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            let e = Event {
                timestamp_ns: 1_234_567_891_011 * i as u64,
                kind,
            };
            assert_eq!(e.to_json(), e.to_qmp().to_string());
        }
        // QEMU's member order, spelled out.
        let e = Event {
            timestamp_ns: 3_000_004_000,
            kind: EventKind::BlockJobCompleted {
                job_type: JobType::Backup,
                device: "b\"0".into(),
                len: 10,
                offset: 5,
                speed: 0,
                error: Some("Input/output error".into()),
            },
        };
        assert_eq!(
            e.to_json(),
            r#"{"timestamp":{"seconds":3,"microseconds":4},"event":"BLOCK_JOB_COMPLETED","data":{"type":"backup","device":"b\"0","len":10,"offset":5,"speed":0,"error":"Input/output error"}}"#
        );
    }
}
