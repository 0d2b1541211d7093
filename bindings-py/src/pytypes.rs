//! The Python-side types the extension hands out: the `str` enums of
//! `qjob._enums` and the exceptions of `qjob._errors`, looked up once and
//! cached (the extension never defines its own copy of either).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use qjob::{JobStatus, JobType, JobVerb};

/// The members of the `str` enums, indexed like the core enums' `ALL`.
struct EnumTables {
    status: Vec<Py<PyAny>>,
    job_type: Vec<Py<PyAny>>,
    verb: Vec<Py<PyAny>>,
}

static ENUMS: PyOnceLock<EnumTables> = PyOnceLock::new();

fn members(py: Python<'_>, class: &str, values: &[&str]) -> PyResult<Vec<Py<PyAny>>> {
    let cls = py.import("qjob._enums")?.getattr(class)?;
    values
        .iter()
        .map(|v| cls.call1((*v,)).map(Bound::unbind))
        .collect()
}

fn tables(py: Python<'_>) -> PyResult<&EnumTables> {
    ENUMS.get_or_try_init(py, || {
        Ok(EnumTables {
            status: members(
                py,
                "JobStatus",
                &JobStatus::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>(),
            )?,
            job_type: members(
                py,
                "JobType",
                &JobType::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            )?,
            verb: members(
                py,
                "JobVerb",
                &JobVerb::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            )?,
        })
    })
}

/// The `qjob.JobStatus` member of a status.
pub fn status_obj(py: Python<'_>, s: JobStatus) -> PyResult<Bound<'_, PyAny>> {
    Ok(tables(py)?.status[s.index()].bind(py).clone())
}

/// The `qjob.JobType` member of a job type.
pub fn job_type_obj(py: Python<'_>, t: JobType) -> PyResult<Bound<'_, PyAny>> {
    Ok(tables(py)?.job_type[t.index()].bind(py).clone())
}

/// The `qjob.JobVerb` member of a verb.
pub fn verb_obj(py: Python<'_>, v: JobVerb) -> PyResult<Bound<'_, PyAny>> {
    Ok(tables(py)?.verb[v.index()].bind(py).clone())
}

/// Parses a QAPI enum value given as a `str` (or a member of the `str`
/// enum); `ValueError` names the enum and the value.
pub fn parse_enum<T>(what: &str, s: &str) -> PyResult<T>
where
    T: std::str::FromStr,
{
    s.parse()
        .map_err(|_| PyValueError::new_err(format!("{s:?} is not a valid {what}")))
}

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// A refused command as the matching `qjob.QmpError` subclass
/// (`qjob.GenericError`, `qjob.CommandNotFound`, …).
pub fn qmp_error(py: Python<'_>, e: &qjob::Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let m = ERRORS.get_or_try_init(py, || py.import("qjob._errors").map(Bound::unbind))?;
        let m = m.bind(py);
        let cls = m.call_method1("error_type", (e.class.as_str(),))?;
        Ok(PyErr::from_value(
            cls.call1((e.class.as_str(), e.desc.as_str()))?,
        ))
    };
    build().unwrap_or_else(|err| err)
}

/// `qjob.SnapshotError`: a snapshot that could not be restored.
pub fn snapshot_error(py: Python<'_>, e: &qjob::SnapshotError) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py
            .import("qjob._errors")?
            .getattr("SnapshotError")?
            .cast_into::<PyType>()?;
        Ok(PyErr::from_value(cls.call1((e.to_string(),))?))
    };
    build().unwrap_or_else(|err| err)
}

/// A core result as a Python result: errors become `qjob.QmpError`s.
pub trait IntoPyResult<T> {
    /// Converts the error with [`qmp_error`].
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for qjob::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| qmp_error(py, &e))
    }
}
