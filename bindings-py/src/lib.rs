//! `qjob._qjob`: the compiled part of qjob's Python package.
//!
//! A thin translation of the `qjob` crate, as y-crdt's pyo3 binding is of
//! `yrs`: every behaviour lives in the core; this crate converts types
//! (Python dicts ⇄ JSON values, core enums ⇄ the `str` enums of
//! `qjob._enums`), errors (core [`qjob::Error`] → `qjob.QmpError`
//! subclasses) and ownership. The pure-Python layer (`python/qjob/`) adds
//! what Python does better: the enums and exceptions, the asyncio QMP server,
//! the pytest plugin and `python -m qjob`.
//!
//! | Python | Rust |
//! |---|---|
//! | `JobManager` | [`manager::PyJobManager`] over [`qjob::JobManager`] |
//! | `JobInfo`, `BlockJobInfo` | [`info`] |
//! | `Event` and one subclass per QMP event | [`events`] |
//! | host-driven jobs (`JobHandle`, `HostAction`, …) | [`host`] |
//! | `replay`, `Replayer`, `compare` | [`scenario`] |
//! | `QmpSessions`, `JsonStreamer` | [`server`] over [`qjob::qmp::server`] |

#![deny(missing_docs)]

pub mod args;
pub mod convert;
pub mod events;
pub mod host;
pub mod info;
pub mod manager;
pub mod pytypes;
pub mod scenario;
pub mod server;

use pyo3::prelude::*;

/// The QAPI spellings of every value of a core enum, in its order.
fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|&v| name(v)).collect()
}

/// The extension module `qjob._qjob`.
#[pymodule]
fn _qjob(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "JOB_STATUSES",
        names(qjob::JobStatus::ALL, qjob::JobStatus::as_str),
    )?;
    m.add(
        "JOB_TYPES",
        names(qjob::JobType::ALL, qjob::JobType::as_str),
    )?;
    m.add(
        "JOB_VERBS",
        names(qjob::JobVerb::ALL, qjob::JobVerb::as_str),
    )?;
    m.add("EVENT_NAMES", qjob::EventKind::NAMES.to_vec())?;
    m.add(
        "ERROR_CLASSES",
        names(qjob::ErrorClass::ALL, qjob::ErrorClass::as_str),
    )?;
    m.add("COMMANDS", qjob::qmp::COMMANDS.to_vec())?;
    m.add("WAIT_LIMIT_NS", qjob::scenario::WAIT_LIMIT_NS)?;
    m.add("DEFAULT_NODE_SIZE", qjob::DEFAULT_NODE_SIZE)?;
    m.add_class::<manager::PyJobManager>()?;
    m.add_function(wrap_pyfunction!(manager::_option_defaults, m)?)?;
    m.add_class::<info::PyJobInfo>()?;
    m.add_class::<info::PyBlockJobInfo>()?;
    events::register(m)?;
    host::register(m)?;
    scenario::register(m)?;
    server::register(m)?;
    Ok(())
}
