//! # qjob-tests — one set of invariants, checked everywhere
//!
//! The pieces that qjob's property tests (`tests/properties.rs`), its
//! exhaustive model check (`modelcheck` binary, [`modelcheck`]) and its
//! fuzz targets (`fuzz/`) share, so that each invariant and each operation
//! is written once:
//!
//! - [`Checker`] ([`checker`]) follows the event stream of one manager and
//!   checks, after every move,
//!   - every status change is one the transition table allows,
//!   - the events agree with `query-jobs` and `query-block-jobs`,
//!   - a grouped transaction never ends half committed,
//!   - job IDs are unique,
//!   - [`JobManager::internal_errors`](qjob::JobManager::internal_errors)
//!     is empty,
//!   - a command is accepted exactly when the verb table allows it,
//!   - every QMP reply is one JSON object, a return or an error,
//!   - a snapshot restores to the same state, in both forms,
//!   - and, at the end of a run, every job can be driven to its end.
//!
//!   Its inputs are plain values (events, listings, outcomes), so a runner
//!   that reads them through another API (the C API in
//!   `fuzz/fuzz_targets/c_api.rs`) checks the same invariants.
//! - [`Command`] and [`Op`] ([`ops`]) are the one alphabet of operations:
//!   user commands on jobs (typed or as QMP), job creations, steps, clock
//!   moves and snapshot round trips. Both derive `arbitrary::Arbitrary`;
//!   [`ops_from_bytes`] decodes a byte string into operations for the fuzz
//!   target `sequences` and the property tests alike, and [`run_sequence`]
//!   runs them in the [`sandbox`] under a [`Checker`].
//!
//! Every check failure is a panic whose message says what broke.

#![deny(missing_docs)]

pub mod checker;
pub mod modelcheck;
pub mod ops;

pub use checker::{Checker, Listed, ListedBlock, Outcome};
pub use ops::{
    Command, IDS, MAX_OPS, NODES, NewJob, Op, POLICIES, ops_from_bytes, run_sequence, sandbox,
};
