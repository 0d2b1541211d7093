//! # qjob — QEMU 7.2's background-job lifecycle, deterministic and sans-I/O
//!
//! `qjob` reimplements the job layer of QEMU 7.2 as seen through QMP: the
//! 11 statuses and 7 verbs of `job.json`, pause and resume with drained
//! sections, soft and hard cancel, transactions, auto-finalize and
//! auto-dismiss, error policies, progress, speed limits, and the exact
//! stream of QMP events and error texts. Jobs run simulated workloads
//! (backup, mirror, commit, stream, create, amend, snapshots) on a simulated
//! block layer, on a virtual clock the caller drives.
//!
//! The crate does no I/O, reads no clock, starts no thread and keeps no
//! global state: the same calls give the same results, byte for byte.
//!
//! ```
//! use qjob::JobManager;
//!
//! let mut m = JobManager::with_default_world();
//! let reply = m.execute(r#"{"execute": "blockdev-backup", "arguments":
//!     {"job-id": "b0", "device": "src", "target": "dst", "sync": "full", "speed": 1}}"#);
//! assert_eq!(reply, r#"{"return":{}}"#);
//! m.settle();
//! // At 1 byte/s the backup holds after its first 1 MiB chunk.
//! assert_eq!(m.query_jobs()[0].current_progress, 1 << 20);
//! m.job_pause("b0").unwrap();
//! assert_eq!(m.job_pause("b0").unwrap_err().desc, "Job is already paused");
//! m.job_cancel("b0").unwrap();
//! m.settle();
//! let names: Vec<_> = m.drain_events().iter().map(|e| e.kind.data()["status"].to_string()).collect();
//! assert!(names.ends_with(&["\"paused\"".into(), "\"running\"".into(), "\"aborting\"".into(),
//!                           "null".into(), "\"concluded\"".into(), "\"null\"".into()]));
//! assert!(m.query_jobs().is_empty());
//! ```
//!
//! Where to find each concept of SPEC.md:
//!
//! | concept | module |
//! |---|---|
//! | statuses, verbs, the two tables, QAPI enums | [`model`] |
//! | the manager, job registry, event queue, status changes, verb refusals | `manager` |
//! | one job's fields; slot references | `job`; `slab` |
//! | coroutine engine: start, enter, pause points, sleeps, yields | `coroutine` |
//! | main loop (bottom halves), virtual time | `mainloop` |
//! | timers (one table, keyed by job and kind) | `timers` |
//! | drained sections, graph changes (filters) | `drain` |
//! | pause and resume | `pause` |
//! | cancel | `cancel` |
//! | job transactions, completion, finalization | `txn` |
//! | block-job speed, error policy, ready | `blockjob` |
//! | rate limiter | [`ratelimit`] |
//! | events, their fields (the visitor), the list of kinds | [`event`] ([`for_each_event_kind!`]) |
//! | job drivers: the interface and its context | `driver` |
//! | simulated workloads (backup, mirror, stream/commit, one-shot jobs) | `workload` |
//! | host-driven jobs | `host` ([`JobHandle`], [`HostAction`]) |
//! | typed verbs and queries | `commands` |
//! | option types of the creation commands, their defaults | `options` ([`BackupOptions`], …; [`qmp::option_defaults`]) |
//! | job creation, per job type | `create` |
//! | the QMP `transaction` command | `actions` ([`TransactionAction`]) |
//! | dirty bitmaps | `bitmap` |
//! | the system emulator's VM: run state, `stop`, `cont` | `vm` ([`RunState`]) |
//! | block nodes (`blockdev-add`, `blockdev-del`) | `nodes` |
//! | BlockBackends and devices (`-drive`, `device_add`) | `drive` |
//! | external snapshots (`blockdev-snapshot`, `-sync`) | `overlay` |
//! | image files: the simulated folder, host files ([`FileAction`]) | `files` |
//! | block permissions (each user of a node, what it takes and shares) | `perm` |
//! | the NBD server and block exports | `export` ([`ExportOptions`]) |
//! | throttle groups, the `throttle` filter | `throttle` ([`ThrottleGroupOptions`]) |
//! | the human monitor's `qemu-io`, guest writes, console output | `hmp` ([`ConsoleOutput`]) |
//! | the QEMU version reproduced: what differs, as data | `profile` ([`QemuVersion`]) |
//! | QMP JSON: framing, command table, argument parsing, typed replies | [`qmp`] ([`qmp::Reply`]) |
//! | snapshot and restore (format, encoding, checks) | `snapshot` ([`SnapshotError`]) |
//! | simulated block layer, block drivers | `block` |
//! | scenario replayer and transcripts | [`scenario`] |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod actions;
mod bitmap;
mod block;
mod blockjob;
mod cancel;
mod commands;
mod coroutine;
mod create;
mod decimal;
mod drain;
mod drive;
mod driver;
pub mod error;
pub mod event;
mod export;
mod files;
mod hmp;
mod host;
mod ids;
mod job;
mod mainloop;
mod manager;
pub mod model;
mod nodes;
mod options;
mod overlay;
mod pause;
mod perm;
mod profile;
pub mod qmp;
pub mod ratelimit;
pub mod scenario;
mod shutdown;
mod slab;
mod snapshot;
mod sort;
mod throttle;
mod timers;
mod txn;
mod vecmap;
mod vm;
mod workload;

pub use actions::TransactionAction;
pub use block::{BlkdebugEvent, ImageFile, InjectError};
pub use commands::{BlockJobInfo, JobInfo};
pub use error::{Error, ErrorClass, Result};
pub use event::{Event, EventField, EventKind, IoOperation};
pub use export::{BlockExportInfo, ExportOptions, NbdServerOptions, SocketAddress};
pub use files::{FileAction, FileRequest, ImageLayer, NewImage};
pub use hmp::{ConsoleOutput, OutputStream};
pub use host::{
    HostAction, HostActionKind, HostDirective, HostErrorAction, HostJobOptions, JobHandle,
    TxnHandle,
};
pub use manager::{DEFAULT_NODE_SIZE, JobManager, SETTLE_LIMIT, TICK_LIMIT};
pub use model::{ErrorAction, IoStatus, JobStatus, JobType, JobVerb, OnError};
pub use nodes::{Backing, ChildRef, NodeInfo, NodeOptions};
pub use options::{
    BackupOptions, BitmapAddOptions, BitmapSource, BitmapSyncMode, CommitOptions, CreateOptions,
    DriveBackupOptions, DriveMirrorOptions, JobOptions, MirrorCopyMode, MirrorOptions,
    NewImageMode, SnapshotSyncOptions, StreamOptions, SyncMode,
};
pub use profile::QemuVersion;
pub use snapshot::{SNAPSHOT_VERSION, SnapshotError};
pub use throttle::{Limit, LimitKind, ThrottleGroupOptions, ThrottleProperty};
pub use vm::{RunState, StatusInfo};
pub use workload::FAILED_IO_NS;

/// The README's examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
