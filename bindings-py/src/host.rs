//! Host-driven jobs in Python: `qjob.JobHandle`, `qjob.TxnHandle` and
//! `qjob.HostAction` (read-only), and the `qjob.HostDirective` /
//! `qjob.HostErrorAction` members the host reports return.

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use qjob::{HostAction, HostActionKind, HostDirective, HostErrorAction, JobHandle, TxnHandle};

/// A host job, as `create_host_job` returned it. Stale handles (of jobs that
/// are gone) are refused by the manager, never confused with newer jobs.
#[pyclass(module = "qjob", name = "JobHandle", frozen, eq, hash, from_py_object)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyJobHandle(pub JobHandle);

#[pymethods]
impl PyJobHandle {
    /// A handle from its integer form (`raw`).
    #[new]
    fn new(#[pyo3(from_py_with = crate::args::raw)] raw: u64) -> Self {
        PyJobHandle(JobHandle::from_raw(raw))
    }

    /// The handle as one integer (as the C and WASM bindings pass it).
    #[getter]
    fn raw(&self) -> u64 {
        self.0.to_raw()
    }

    fn __repr__(&self) -> String {
        format!("JobHandle({})", self.0.to_raw())
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let raw = slf.get().0.to_raw();
        Ok((slf.get_type().into_any(), PyTuple::new(slf.py(), [raw])?))
    }
}

/// A job transaction made by `new_transaction()`.
#[pyclass(module = "qjob", name = "TxnHandle", frozen, eq, hash, from_py_object)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyTxnHandle(pub TxnHandle);

#[pymethods]
impl PyTxnHandle {
    /// A handle from its integer form (`raw`).
    #[new]
    fn new(#[pyo3(from_py_with = crate::args::raw)] raw: u64) -> Self {
        PyTxnHandle(TxnHandle::from_raw(raw))
    }

    /// The handle as one integer.
    #[getter]
    fn raw(&self) -> u64 {
        self.0.to_raw()
    }

    fn __repr__(&self) -> String {
        format!("TxnHandle({})", self.0.to_raw())
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let raw = slf.get().0.to_raw();
        Ok((slf.get_type().into_any(), PyTuple::new(slf.py(), [raw])?))
    }
}

/// A request from the core to the host: `kind` is a `qjob.HostActionKind`;
/// `force` is set for `cancel`, `speed` for `set-speed`.
#[pyclass(module = "qjob", name = "HostAction", frozen, eq)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PyHostAction(pub HostAction);

#[pymethods]
impl PyHostAction {
    /// The job the request is for.
    #[getter]
    fn job(&self) -> PyJobHandle {
        PyJobHandle(self.0.job)
    }

    /// What to do (a `qjob.HostActionKind`).
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        member(py, "HostActionKind", self.0.kind.name())
    }

    /// For `cancel`: whether it is a hard cancel; else `None`.
    #[getter]
    fn force(&self) -> Option<bool> {
        match self.0.kind {
            HostActionKind::Cancel { force } => Some(force),
            _ => None,
        }
    }

    /// For `set-speed`: the new limit in bytes/s (0 = unlimited); else `None`.
    #[getter]
    fn speed(&self) -> Option<u64> {
        match self.0.kind {
            HostActionKind::SetSpeed(s) => Some(s),
            _ => None,
        }
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("job", "kind")
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.0.job.hash(&mut h);
        self.0.kind.name().hash(&mut h);
        self.force().hash(&mut h);
        self.speed().hash(&mut h);
        h.finish()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut s = format!(
            "HostAction(job=JobHandle({}), kind={}",
            self.0.job.to_raw(),
            self.kind(py)?.repr()?
        );
        if let Some(f) = self.force() {
            s.push_str(&format!(", force={}", if f { "True" } else { "False" }));
        }
        if let Some(v) = self.speed() {
            s.push_str(&format!(", speed={v}"));
        }
        s.push(')');
        Ok(s)
    }
}

fn member<'py>(py: Python<'py>, class: &str, value: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("qjob._enums")?.getattr(class)?.call1((value,))
}

/// The `qjob.HostDirective` member of a directive.
pub fn directive_obj(py: Python<'_>, d: HostDirective) -> PyResult<Bound<'_, PyAny>> {
    member(py, "HostDirective", d.as_str())
}

/// The `qjob.HostErrorAction` member of an error decision.
pub fn error_action_obj(py: Python<'_>, a: HostErrorAction) -> PyResult<Bound<'_, PyAny>> {
    member(py, "HostErrorAction", a.as_str())
}

/// Adds the host-job classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyJobHandle>()?;
    m.add_class::<PyTxnHandle>()?;
    m.add_class::<PyHostAction>()?;
    Ok(())
}
