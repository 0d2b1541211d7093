//! `qjob.JobInfo` and `qjob.BlockJobInfo`: read-only, comparable, hashable
//! views of the core's `query-jobs` / `query-block-jobs` entries.

use crate::args;
use crate::convert::value_to_py;
use crate::pytypes::{job_type_obj, parse_enum, status_obj};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use qjob::{BlockJobInfo, IoStatus, JobInfo, JobStatus, JobType};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// `Name(field=repr(value), …)`.
pub(crate) fn repr_fields(
    name: &str,
    fields: &[(&str, Bound<'_, PyAny>)],
    extra: &str,
) -> PyResult<String> {
    let mut s = format!("{name}(");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(k);
        s.push('=');
        s.push_str(&v.repr()?.to_string());
    }
    if !extra.is_empty() {
        if !fields.is_empty() {
            s.push_str(", ");
        }
        s.push_str(extra);
    }
    s.push(')');
    Ok(s)
}

/// One `query-jobs` entry (QAPI `JobInfo`), read-only.
#[pyclass(module = "qjob", name = "JobInfo", frozen)]
#[derive(Clone)]
pub struct PyJobInfo(pub JobInfo);

#[pymethods]
impl PyJobInfo {
    /// Builds an entry (to compare query results against).
    #[new]
    #[pyo3(signature = (id, r#type, status, current_progress = 0, total_progress = 0, error = None))]
    fn new(
        id: String,
        r#type: String,
        status: String,
        #[pyo3(from_py_with = args::current_progress)] current_progress: u64,
        #[pyo3(from_py_with = args::total_progress)] total_progress: u64,
        error: Option<String>,
    ) -> PyResult<Self> {
        Ok(PyJobInfo(JobInfo {
            id,
            job_type: parse_enum::<JobType>("JobType", &r#type)?,
            status: parse_enum::<JobStatus>("JobStatus", &status)?,
            current_progress,
            total_progress,
            error,
        }))
    }

    /// The job ID.
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }

    /// The job type.
    #[getter(r#type)]
    fn job_type<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        job_type_obj(py, self.0.job_type)
    }

    /// The status.
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        status_obj(py, self.0.status)
    }

    /// Progress made so far.
    #[getter]
    fn current_progress(&self) -> u64 {
        self.0.current_progress
    }

    /// Estimated progress at the end.
    #[getter]
    fn total_progress(&self) -> u64 {
        self.0.total_progress
    }

    /// The error text, once the job has failed.
    #[getter]
    fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// The QMP `JobInfo` object as a dict.
    fn to_qmp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.0.to_json())
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("id", "type", "status")
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyJobInfo>().is_ok_and(|o| o.get().0 == self.0)
    }

    fn __hash__(&self) -> u64 {
        hash_of(&self.0)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_fields("JobInfo", &self.fields(py)?, "")
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        reduce(slf.get_type(), slf.get().fields(slf.py())?)
    }
}

impl PyJobInfo {
    /// The fields as `(name, value)` pairs, in the constructor's order.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Vec<(&'static str, Bound<'py, PyAny>)>> {
        let i = &self.0;
        Ok(vec![
            ("id", i.id.clone().into_bound_py_any(py)?),
            ("type", job_type_obj(py, i.job_type)?),
            ("status", status_obj(py, i.status)?),
            (
                "current_progress",
                i.current_progress.into_bound_py_any(py)?,
            ),
            ("total_progress", i.total_progress.into_bound_py_any(py)?),
            ("error", i.error.clone().into_bound_py_any(py)?),
        ])
    }
}

/// A hash of a core value, for `__hash__` (consistent with `__eq__`, which
/// compares the core values).
fn hash_of(v: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// `__reduce__` of an info: its class, called again with its fields'
/// values (in the constructor's order).
fn reduce<'py>(
    cls: Bound<'py, pyo3::types::PyType>,
    fields: Vec<(&'static str, Bound<'py, PyAny>)>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
    let args = PyTuple::new(cls.py(), fields.into_iter().map(|(_, v)| v))?;
    Ok((cls.into_any(), args))
}

/// One `query-block-jobs` entry (QAPI `BlockJobInfo`), read-only.
#[pyclass(module = "qjob", name = "BlockJobInfo", frozen)]
#[derive(Clone)]
pub struct PyBlockJobInfo(pub BlockJobInfo);

#[pymethods]
impl PyBlockJobInfo {
    /// Builds an entry (to compare query results against).
    #[new]
    #[pyo3(signature = (r#type, device, len, offset, busy, paused, speed, io_status, ready,
                        status, auto_finalize = true, auto_dismiss = true, error = None,
                        actively_synced = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        r#type: String,
        device: String,
        #[pyo3(from_py_with = args::len)] len: u64,
        #[pyo3(from_py_with = args::offset)] offset: u64,
        busy: bool,
        paused: bool,
        #[pyo3(from_py_with = args::speed_u64)] speed: u64,
        io_status: String,
        ready: bool,
        status: String,
        auto_finalize: bool,
        auto_dismiss: bool,
        error: Option<String>,
        actively_synced: Option<bool>,
    ) -> PyResult<Self> {
        Ok(PyBlockJobInfo(BlockJobInfo {
            job_type: parse_enum::<JobType>("JobType", &r#type)?,
            device,
            len,
            offset,
            busy,
            paused,
            speed,
            io_status: parse_enum::<IoStatus>("io-status", &io_status)?,
            ready,
            status: parse_enum::<JobStatus>("JobStatus", &status)?,
            auto_finalize,
            auto_dismiss,
            error,
            actively_synced,
        }))
    }

    /// The job type.
    #[getter(r#type)]
    fn job_type<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        job_type_obj(py, self.0.job_type)
    }

    /// The job ID.
    #[getter]
    fn device(&self) -> &str {
        &self.0.device
    }

    /// Total progress.
    #[getter]
    fn len(&self) -> u64 {
        self.0.len
    }

    /// Current progress.
    #[getter]
    fn offset(&self) -> u64 {
        self.0.offset
    }

    /// Whether the job's coroutine is running right now.
    #[getter]
    fn busy(&self) -> bool {
        self.0.busy
    }

    /// Whether a pause is requested (user or internal).
    #[getter]
    fn paused(&self) -> bool {
        self.0.paused
    }

    /// Speed limit in bytes per second (0: unlimited).
    #[getter]
    fn speed(&self) -> u64 {
        self.0.speed
    }

    /// I/O status: `"ok"`, `"failed"` or `"nospace"`.
    #[getter]
    fn io_status(&self) -> &'static str {
        self.0.io_status.as_str()
    }

    /// Whether the status is `ready` or `standby`.
    #[getter]
    fn ready(&self) -> bool {
        self.0.ready
    }

    /// The status.
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        status_obj(py, self.0.status)
    }

    /// Finalize automatically.
    #[getter]
    fn auto_finalize(&self) -> bool {
        self.0.auto_finalize
    }

    /// Dismiss automatically.
    #[getter]
    fn auto_dismiss(&self) -> bool {
        self.0.auto_dismiss
    }

    /// The error text, when the job's return value is an error.
    #[getter]
    fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// `actively-synced` (QEMU 10.0, mirror jobs only; else `None`).
    #[getter]
    fn actively_synced(&self) -> Option<bool> {
        self.0.actively_synced
    }

    /// The QMP `BlockJobInfo` object as a dict.
    fn to_qmp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.0.to_json())
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("type", "device", "status")
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyBlockJobInfo>()
            .is_ok_and(|o| o.get().0 == self.0)
    }

    fn __hash__(&self) -> u64 {
        hash_of(&self.0)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_fields("BlockJobInfo", &self.fields(py)?, "")
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        reduce(slf.get_type(), slf.get().fields(slf.py())?)
    }
}

impl PyBlockJobInfo {
    /// The fields as `(name, value)` pairs, in the constructor's order.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Vec<(&'static str, Bound<'py, PyAny>)>> {
        let i = &self.0;
        Ok(vec![
            ("type", job_type_obj(py, i.job_type)?),
            ("device", i.device.clone().into_bound_py_any(py)?),
            ("len", i.len.into_bound_py_any(py)?),
            ("offset", i.offset.into_bound_py_any(py)?),
            ("busy", i.busy.into_bound_py_any(py)?),
            ("paused", i.paused.into_bound_py_any(py)?),
            ("speed", i.speed.into_bound_py_any(py)?),
            ("io_status", i.io_status.as_str().into_bound_py_any(py)?),
            ("ready", i.ready.into_bound_py_any(py)?),
            ("status", status_obj(py, i.status)?),
            ("auto_finalize", i.auto_finalize.into_bound_py_any(py)?),
            ("auto_dismiss", i.auto_dismiss.into_bound_py_any(py)?),
            ("error", i.error.clone().into_bound_py_any(py)?),
        ]
        .into_iter()
        .chain(
            i.actively_synced
                .map(|s| PyResult::Ok(("actively_synced", s.into_bound_py_any(py)?)))
                .transpose()?,
        )
        .collect())
    }
}
