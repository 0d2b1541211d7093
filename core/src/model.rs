//! The job model as data: job types, statuses, verbs, and QEMU's two tables.
//!
//! The two tables below are transcribed cell by cell from QEMU 7.2's `job.c`
//! (`JobSTT` and `JobVerbTable`, SPEC.md §2.2 and §2.4). Every status change in
//! the crate goes through [`transition_allowed`], and every user-facing verb
//! refusal is built from [`verb_allowed`]; nothing else decides either question.

use std::fmt;

/// Declares a QAPI enum: the Rust enum, its QAPI spellings, `ALL` in QAPI
/// order, `parse`, `Display`, `FromStr`, and serde as the QAPI spelling
/// (readable forms, e.g. JSON) or as the QAPI index (compact forms), and
/// the binary snapshot's [`Codec`](crate::snapshot::codec::Codec) as the
/// QAPI index. Attributes on the enum and its variants pass through
/// (`#[derive(Default)]` with a `#[default]` variant).
macro_rules! qapi_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        #[allow(dead_code)] // not every enum uses every accessor
        impl $name {
            /// Every value, in QAPI declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The QAPI (wire) spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The QAPI spelling, NUL-terminated (a static C string).
            pub const fn as_c_str(self) -> &'static ::std::ffi::CStr {
                match self {
                    $($name::$variant => {
                        const C: &::std::ffi::CStr =
                            match ::std::ffi::CStr::from_bytes_with_nul(concat!($text, "\0").as_bytes()) {
                                Ok(c) => c,
                                Err(_) => panic!(concat!("a NUL in ", $text)),
                            };
                        C
                    }),+
                }
            }

            /// Position in QAPI declaration order (the QAPI enum value).
            pub const fn index(self) -> usize {
                self as usize
            }

            /// The value with this QAPI spelling.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::model::UnknownName;
            fn from_str(s: &str) -> ::std::result::Result<Self, $crate::model::UnknownName> {
                $name::parse(s).ok_or_else(|| $crate::model::UnknownName(s.to_owned()))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(self.as_str())
                } else {
                    s.serialize_u8(*self as u8)
                }
            }
        }

        impl $crate::snapshot::codec::Codec for $name {
            #[inline]
            fn encode(&self, w: &mut $crate::snapshot::codec::Writer<'_>) {
                w.varint(*self as u64);
            }
            fn decode(r: &mut $crate::snapshot::codec::Reader<'_>) -> Self {
                $name::ALL[r.variant(stringify!($name), $name::ALL.len())]
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                    s.parse().map_err(serde::de::Error::custom)
                } else {
                    let i = u8::deserialize(d)?;
                    $name::ALL.get(usize::from(i)).copied().ok_or_else(|| {
                        serde::de::Error::custom(concat!("no such ", stringify!($name)))
                    })
                }
            }
        }
    };
}
pub(crate) use qapi_enum;

/// A name that is not a value of the enum it was parsed as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName(pub String);

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown name '{}'", self.0)
    }
}

impl std::error::Error for UnknownName {}

qapi_enum! {
    /// Type of a background job (QAPI `JobType`).
    JobType {
        /// `block-commit`.
        Commit = "commit",
        /// `block-stream`.
        Stream = "stream",
        /// `blockdev-mirror` (and active commit, which QEMU also reports as `commit`).
        Mirror = "mirror",
        /// `blockdev-backup`.
        Backup = "backup",
        /// `blockdev-create`.
        Create = "create",
        /// `x-blockdev-amend`.
        Amend = "amend",
        /// `snapshot-load`.
        SnapshotLoad = "snapshot-load",
        /// `snapshot-save`.
        SnapshotSave = "snapshot-save",
        /// `snapshot-delete`.
        SnapshotDelete = "snapshot-delete",
    }
}

impl JobType {
    /// Whether jobs of this type are *block jobs*: they appear in
    /// `query-block-jobs`, answer the `block-job-*` commands and emit the
    /// `BLOCK_JOB_*` events.
    pub const fn is_block_job(self) -> bool {
        matches!(
            self,
            JobType::Commit | JobType::Stream | JobType::Mirror | JobType::Backup
        )
    }
}

qapi_enum! {
    /// The status of a job (QAPI `JobStatus`).
    JobStatus {
        /// Zero value; never visible.
        Undefined = "undefined",
        /// Created, not started.
        Created = "created",
        /// Running.
        Running = "running",
        /// Paused (was running).
        Paused = "paused",
        /// Running and ready to be completed.
        Ready = "ready",
        /// Paused (was ready).
        Standby = "standby",
        /// Work done; waiting for the other members of its transaction.
        Waiting = "waiting",
        /// Every member is done; waiting to be finalized.
        Pending = "pending",
        /// Failing or cancelled; about to conclude with an error.
        Aborting = "aborting",
        /// Finished; visible until dismissed.
        Concluded = "concluded",
        /// Torn down; gone from every query.
        Null = "null",
    }
}

impl JobStatus {
    /// `job_is_ready`: the status is `ready` or `standby`.
    pub const fn is_ready(self) -> bool {
        matches!(self, JobStatus::Ready | JobStatus::Standby)
    }

    /// `job_is_completed`: the job's work is over (waiting and later).
    pub const fn is_completed(self) -> bool {
        matches!(
            self,
            JobStatus::Waiting
                | JobStatus::Pending
                | JobStatus::Aborting
                | JobStatus::Concluded
                | JobStatus::Null
        )
    }
}

qapi_enum! {
    /// A command verb that can be applied to a job (QAPI `JobVerb`).
    JobVerb {
        /// `job-cancel`, `block-job-cancel`.
        Cancel = "cancel",
        /// `job-pause`, `block-job-pause`.
        Pause = "pause",
        /// `job-resume`, `block-job-resume`.
        Resume = "resume",
        /// `block-job-set-speed`.
        SetSpeed = "set-speed",
        /// `job-complete`, `block-job-complete`.
        Complete = "complete",
        /// `job-dismiss`, `block-job-dismiss`.
        Dismiss = "dismiss",
        /// `job-finalize`, `block-job-finalize`.
        Finalize = "finalize",
        /// `block-job-change` (QEMU 8.2 and later: the 10.0 profile only).
        Change = "change",
    }
}

const N_STATUS: usize = 11;
const N_VERB: usize = 8;

/// `JobSTT`: `STATUS_TRANSITIONS[from][to]` is `true` when QEMU allows a job
/// to move from `from` to `to`. Columns and rows in [`JobStatus`] order:
/// U C R P Y S W D X E N.
pub const STATUS_TRANSITIONS: [[bool; N_STATUS]; N_STATUS] = {
    const O: bool = false;
    const I: bool = true;
    [
        //  U  C  R  P  Y  S  W  D  X  E  N
        [O, I, O, O, O, O, O, O, O, O, O], // undefined
        [O, O, I, O, O, O, O, O, I, O, I], // created
        [O, O, O, I, I, O, I, O, I, O, O], // running
        [O, O, I, O, O, O, O, O, O, O, O], // paused
        [O, O, O, O, O, I, I, O, I, O, O], // ready
        [O, O, O, O, I, O, O, O, O, O, O], // standby
        [O, O, O, O, O, O, O, I, I, O, O], // waiting
        [O, O, O, O, O, O, O, O, I, I, O], // pending
        [O, O, O, O, O, O, O, O, I, I, O], // aborting
        [O, O, O, O, O, O, O, O, O, O, I], // concluded
        [O, O, O, O, O, O, O, O, O, O, O], // null
    ]
};

/// `JobVerbTable`: `VERB_PERMISSIONS[verb][status]` is `true` when a user may
/// apply `verb` to a job in `status`, as QEMU 10.0 has it (QEMU 7.2's is the
/// same without the `change` row: [`QemuVersion::verb_allowed`](crate::QemuVersion::verb_allowed)). Rows in [`JobVerb`] order, columns in
/// [`JobStatus`] order: U C R P Y S W D X E N.
pub const VERB_PERMISSIONS: [[bool; N_STATUS]; N_VERB] = {
    const O: bool = false;
    const I: bool = true;
    [
        //  U  C  R  P  Y  S  W  D  X  E  N
        [O, I, I, I, I, I, I, I, O, O, O], // cancel
        [O, I, I, I, I, I, O, O, O, O, O], // pause
        [O, I, I, I, I, I, O, O, O, O, O], // resume
        [O, I, I, I, I, I, O, O, O, O, O], // set-speed
        [O, O, O, O, I, I, O, O, O, O, O], // complete
        [O, O, O, O, O, O, O, O, O, I, O], // dismiss
        [O, O, O, O, O, O, O, I, O, O, O], // finalize
        [O, I, I, I, I, I, O, O, O, O, O], // change
    ]
};

/// Whether QEMU's status transition table allows `from` → `to`.
pub const fn transition_allowed(from: JobStatus, to: JobStatus) -> bool {
    STATUS_TRANSITIONS[from.index()][to.index()]
}

/// Whether QEMU's verb table allows `verb` in `status` (the newest table:
/// `change` is allowed where QEMU 10.0 allows it; a manager asks its
/// version's table, [`QemuVersion::verb_allowed`](crate::QemuVersion::verb_allowed)).
pub const fn verb_allowed(verb: JobVerb, status: JobStatus) -> bool {
    VERB_PERMISSIONS[verb.index()][status.index()]
}

qapi_enum! {
    /// Error-handling policy of a block job (QAPI `BlockdevOnError`).
    #[derive(Default)]
    OnError {
        /// Fail the job (the default).
        #[default]
        Report = "report",
        /// Ignore the error and retry later.
        Ignore = "ignore",
        /// Stop on `ENOSPC`, report anything else.
        Enospc = "enospc",
        /// Pause the job as if the user had paused it.
        Stop = "stop",
        /// Like `enospc` inside the job layer.
        Auto = "auto",
    }
}

impl OnError {
    /// The action QEMU takes for an I/O error with positive errno `errno`
    /// (`block_job_error_action`).
    pub const fn action(self, errno: i32) -> ErrorAction {
        match self {
            OnError::Report => ErrorAction::Report,
            OnError::Ignore => ErrorAction::Ignore,
            OnError::Stop => ErrorAction::Stop,
            OnError::Enospc | OnError::Auto => {
                if errno == ENOSPC {
                    ErrorAction::Stop
                } else {
                    ErrorAction::Report
                }
            }
        }
    }
}

qapi_enum! {
    /// What a block job does about an I/O error (QAPI `BlockErrorAction`).
    ErrorAction {
        /// Fail.
        Report = "report",
        /// Go on.
        Ignore = "ignore",
        /// Pause until the user resumes.
        Stop = "stop",
    }
}

qapi_enum! {
    /// I/O status of a block job (QAPI `BlockDeviceIoStatus`).
    #[derive(Default)]
    IoStatus {
        /// No error.
        #[default]
        Ok = "ok",
        /// An error other than `ENOSPC` stopped the job.
        Failed = "failed",
        /// `ENOSPC` stopped the job.
        Nospace = "nospace",
    }
}

/// `EIO`.
pub const EIO: i32 = 5;
/// `ECANCELED`.
pub const ECANCELED: i32 = 125;
/// `ENOSPC`.
pub const ENOSPC: i32 = 28;
/// `EPERM`.
pub const EPERM: i32 = 1;
/// `EINVAL`.
pub const EINVAL: i32 = 22;
/// `ENOENT`.
pub const ENOENT: i32 = 2;
/// `EEXIST`.
pub const EEXIST: i32 = 17;
/// `ENOTSUP`.
pub const ENOTSUP: i32 = 95;
/// `ENOMEDIUM`.
pub const ENOMEDIUM: i32 = 123;

/// glibc's `strerror` for the errno values a job can end with.
pub fn strerror(errno: i32) -> String {
    let text = match errno {
        1 => "Operation not permitted",
        2 => "No such file or directory",
        5 => "Input/output error",
        12 => "Cannot allocate memory",
        13 => "Permission denied",
        16 => "Device or resource busy",
        17 => "File exists",
        22 => "Invalid argument",
        27 => "File too large",
        28 => "No space left on device",
        30 => "Read-only file system",
        95 => "Operation not supported",
        110 => "Connection timed out",
        123 => "No medium found",
        125 => "Operation canceled",
        _ => return format!("Unknown error {errno}"),
    };
    text.to_owned()
}

/// `id_wellformed`: `^[A-Za-z][A-Za-z0-9._-]*$`.
pub fn id_wellformed(id: &str) -> bool {
    let mut chars = id.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus as S;
    use JobVerb as V;

    /// Every cell of JobSTT, written out as the list of allowed pairs.
    #[test]
    fn transition_table_every_cell() {
        let allowed = [
            (S::Undefined, S::Created),
            (S::Created, S::Running),
            (S::Created, S::Aborting),
            (S::Created, S::Null),
            (S::Running, S::Paused),
            (S::Running, S::Ready),
            (S::Running, S::Waiting),
            (S::Running, S::Aborting),
            (S::Paused, S::Running),
            (S::Ready, S::Standby),
            (S::Ready, S::Waiting),
            (S::Ready, S::Aborting),
            (S::Standby, S::Ready),
            (S::Waiting, S::Pending),
            (S::Waiting, S::Aborting),
            (S::Pending, S::Aborting),
            (S::Pending, S::Concluded),
            (S::Aborting, S::Aborting),
            (S::Aborting, S::Concluded),
            (S::Concluded, S::Null),
        ];
        let mut count = 0;
        for &from in S::ALL {
            for &to in S::ALL {
                let want = allowed.contains(&(from, to));
                assert_eq!(transition_allowed(from, to), want, "{from} -> {to}");
                count += 1;
            }
        }
        assert_eq!(count, 121);
    }

    /// Every cell of JobVerbTable.
    #[test]
    fn verb_table_every_cell() {
        let allowed: &[(V, &[S])] = &[
            (
                V::Cancel,
                &[
                    S::Created,
                    S::Running,
                    S::Paused,
                    S::Ready,
                    S::Standby,
                    S::Waiting,
                    S::Pending,
                ],
            ),
            (
                V::Pause,
                &[S::Created, S::Running, S::Paused, S::Ready, S::Standby],
            ),
            (
                V::Resume,
                &[S::Created, S::Running, S::Paused, S::Ready, S::Standby],
            ),
            (
                V::SetSpeed,
                &[S::Created, S::Running, S::Paused, S::Ready, S::Standby],
            ),
            (V::Complete, &[S::Ready, S::Standby]),
            (V::Dismiss, &[S::Concluded]),
            (V::Finalize, &[S::Pending]),
            (
                V::Change,
                &[S::Created, S::Running, S::Paused, S::Ready, S::Standby],
            ),
        ];
        let mut count = 0;
        for &(verb, statuses) in allowed {
            for &status in S::ALL {
                assert_eq!(
                    verb_allowed(verb, status),
                    statuses.contains(&status),
                    "{verb} in {status}"
                );
                count += 1;
            }
        }
        assert_eq!(count, 88);
    }

    #[test]
    fn qapi_spellings_round_trip() {
        assert_eq!(JobType::ALL.len(), 9);
        assert_eq!(JobStatus::ALL.len(), 11);
        assert_eq!(JobVerb::ALL.len(), 8);
        for t in JobType::ALL {
            assert_eq!(t.as_str().parse::<JobType>().unwrap(), *t);
        }
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>().unwrap(), *s);
        }
        for v in JobVerb::ALL {
            assert_eq!(v.as_str().parse::<JobVerb>().unwrap(), *v);
        }
        assert_eq!(JobVerb::SetSpeed.as_str(), "set-speed");
        assert_eq!(JobType::SnapshotDelete.as_str(), "snapshot-delete");
        assert!("frobnicate".parse::<JobVerb>().is_err());
    }

    /// Every QAPI enum declared through `qapi_enum!` reads back what it
    /// writes: its spelling, and serde in both the readable form (JSON, the
    /// spelling) and the compact one (the binary snapshot, the index).
    #[test]
    fn every_qapi_enum_round_trips() {
        fn check<T>(
            all: &[T],
            spelled: impl Fn(T) -> &'static str,
            c_spelled: impl Fn(T) -> &'static std::ffi::CStr,
        ) where
            T: Copy + fmt::Debug + PartialEq + std::str::FromStr + fmt::Display,
            T: serde::Serialize + serde::de::DeserializeOwned,
        {
            for &v in all {
                assert_eq!(v.to_string(), spelled(v));
                assert_eq!(c_spelled(v).to_str(), Ok(spelled(v)));
                assert_eq!(spelled(v).parse::<T>().ok(), Some(v));
                let json = serde_json::to_string(&v).unwrap();
                assert_eq!(json, format!("\"{}\"", spelled(v)));
                assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
            }
            assert!("no-such-value".parse::<T>().is_err());
        }
        macro_rules! check_each {
            ($($t:ty),+ $(,)?) => { $(check(<$t>::ALL, <$t>::as_str, <$t>::as_c_str);)+ };
        }
        check_each!(
            JobType,
            JobStatus,
            JobVerb,
            OnError,
            ErrorAction,
            IoStatus,
            crate::SyncMode,
            crate::BitmapSyncMode,
            crate::IoOperation,
            crate::BlkdebugEvent,
            crate::block::IoType,
            crate::ErrorClass,
            crate::block::BlockdevDriver,
        );
        assert_eq!(crate::block::BlockdevDriver::ALL.len(), 47);
        assert_eq!(OnError::default(), OnError::Report);
        assert_eq!(IoStatus::default(), IoStatus::Ok);
        assert_eq!(crate::SyncMode::default(), crate::SyncMode::Full);
        assert_eq!(OnError::parse("stop"), Some(OnError::Stop));
        assert_eq!(crate::block::IoType::parse("block-status"), None);
    }

    #[test]
    fn ids() {
        for bad in ["0id", "", "   ", "123", "_id", "-id", ".id", "#id", "a b"] {
            assert!(!id_wellformed(bad), "{bad:?}");
        }
        for good in ["id0", "id1", "id_2", "drive1", "a.b-c_d", "Z"] {
            assert!(id_wellformed(good), "{good:?}");
        }
    }

    #[test]
    fn error_policy_actions() {
        assert_eq!(OnError::Enospc.action(ENOSPC), ErrorAction::Stop);
        assert_eq!(OnError::Enospc.action(EIO), ErrorAction::Report);
        assert_eq!(OnError::Auto.action(ENOSPC), ErrorAction::Stop);
        assert_eq!(OnError::Auto.action(EIO), ErrorAction::Report);
        assert_eq!(OnError::Stop.action(EIO), ErrorAction::Stop);
        assert_eq!(OnError::Ignore.action(EIO), ErrorAction::Ignore);
        assert_eq!(OnError::Report.action(ENOSPC), ErrorAction::Report);
    }
}
