//! QMP events as Python objects: a read-only base class `qjob.Event` with
//! one subclass per event (`JobStatusChange`, `BlockJobReady`, …), so that
//! `isinstance` and `match` work on them. Each wraps one core
//! [`qjob::Event`]; names, fields and the QMP form come from the core.

use crate::convert::value_to_py;
use crate::info::repr_fields;
use crate::pytypes::{job_type_obj, status_obj};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::types::PyTuple;
use qjob::{Event, EventKind};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// A QMP event (the base class of every event type), stamped with the
/// virtual time at which the core emitted it.
#[pyclass(module = "qjob", name = "Event", subclass, frozen)]
pub struct PyEvent {
    /// The core event.
    pub inner: Event,
}

impl PyEvent {
    /// The event's fields as `(name, value)` pairs, in QAPI order, with
    /// Python names (`type` for QAPI's `type`).
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Vec<(&'static str, Bound<'py, PyAny>)>> {
        let s = |x: &str| x.into_bound_py_any(py);
        let u = |x: u64| x.into_bound_py_any(py);
        Ok(match &self.inner.kind {
            EventKind::JobStatusChange { id, status } => {
                vec![("id", s(id)?), ("status", status_obj(py, *status)?)]
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
            } => vec![
                ("type", job_type_obj(py, *job_type)?),
                ("device", s(device)?),
                ("len", u(*len)?),
                ("offset", u(*offset)?),
                ("speed", u(*speed)?),
            ],
            EventKind::BlockJobPending { job_type, id } => {
                vec![("type", job_type_obj(py, *job_type)?), ("id", s(id)?)]
            }
            EventKind::BlockJobCompleted {
                job_type,
                device,
                len,
                offset,
                speed,
                error,
            } => vec![
                ("type", job_type_obj(py, *job_type)?),
                ("device", s(device)?),
                ("len", u(*len)?),
                ("offset", u(*offset)?),
                ("speed", u(*speed)?),
                ("error", error.clone().into_bound_py_any(py)?),
            ],
            EventKind::BlockJobError {
                device,
                operation,
                action,
            } => vec![
                ("device", s(device)?),
                ("operation", s(operation.as_str())?),
                ("action", s(action.as_str())?),
            ],
            EventKind::Shutdown => vec![
                ("guest", false.into_bound_py_any(py)?),
                ("reason", s("host-qmp-quit")?),
            ],
            EventKind::BlockExportDeleted { id } => vec![("id", s(id)?)],
            EventKind::Stop | EventKind::Resume => Vec::new(),
        })
    }

    fn field<'py>(slf: &Bound<'py, Self>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        for (k, v) in slf.get().fields(py)? {
            if k == name {
                return Ok(v);
            }
        }
        Err(pyo3::exceptions::PyAttributeError::new_err(name.to_owned()))
    }
}

#[pymethods]
impl PyEvent {
    /// The QMP event name, e.g. `"JOB_STATUS_CHANGE"`.
    #[getter]
    fn name(&self) -> &'static str {
        self.inner.kind.name()
    }

    /// Virtual time of emission, in nanoseconds.
    #[getter]
    fn timestamp_ns(&self) -> u64 {
        self.inner.timestamp_ns
    }

    /// The job the event is about (its `id` or `device`); `None` for the
    /// VM events `STOP` and `RESUME`.
    #[getter]
    fn job_id(&self) -> Option<&str> {
        Some(self.inner.kind.job_id()).filter(|s| !s.is_empty())
    }

    /// The event's `data` object, as QMP sends it.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.inner.kind.data())
    }

    /// The whole QMP message (`timestamp`, `event`, `data`). The timestamp is
    /// `epoch_ns` plus the event's virtual time (QEMU sends wall-clock time;
    /// a server passes the epoch its virtual clock started at).
    #[pyo3(signature = (epoch_ns = 0))]
    fn to_qmp<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = crate::args::epoch_ns)] epoch_ns: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.stamped(epoch_ns).to_qmp())
    }

    /// [`to_qmp`](Self::to_qmp) as compact JSON text.
    #[pyo3(signature = (epoch_ns = 0))]
    fn to_json(&self, #[pyo3(from_py_with = crate::args::epoch_ns)] epoch_ns: u64) -> String {
        self.stamped(epoch_ns).to_json()
    }

    /// The scenario transcript line: `! NAME DATA` (sorted keys).
    fn transcript_line(&self) -> String {
        qjob::scenario::event_line(&self.inner)
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        let eq = match other.cast::<PyEvent>() {
            Ok(o) => o.get().inner == self.inner,
            Err(_) => return py.NotImplemented(),
        };
        match op {
            CompareOp::Eq => eq.into_py_any(py).unwrap_or_else(|_| py.None()),
            CompareOp::Ne => (!eq).into_py_any(py).unwrap_or_else(|_| py.None()),
            _ => py.NotImplemented(),
        }
    }

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.inner.timestamp_ns.hash(&mut h);
        self.inner.kind.name().hash(&mut h);
        self.inner.kind.job_id().hash(&mut h);
        self.inner.kind.data().to_string().hash(&mut h);
        h.finish()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let cls = slf.get_type().name()?.to_string();
        let e = slf.get();
        repr_fields(
            &cls,
            &e.fields(py)?,
            &format!("timestamp_ns={}", e.inner.timestamp_ns),
        )
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let e = &slf.get().inner;
        let restore = py.import("qjob._qjob")?.getattr("_event_from_state")?;
        let state = serde_json::to_string(e)
            .map_err(|x| pyo3::exceptions::PyValueError::new_err(x.to_string()))?;
        Ok((restore, PyTuple::new(py, [state])?))
    }
}

impl PyEvent {
    fn stamped(&self, epoch_ns: u64) -> Event {
        Event {
            timestamp_ns: self.inner.timestamp_ns.saturating_add(epoch_ns),
            kind: self.inner.kind.clone(),
        }
    }
}

macro_rules! event_class {
    ($rust:ident, $py:literal, $doc:literal, [$($pyname:literal : $field:ident => $fname:ident),*]) => {
        #[doc = $doc]
        #[pyclass(module = "qjob", name = $py, extends = PyEvent, frozen)]
        pub struct $rust;

        #[pymethods]
        impl $rust {
            #[classattr]
            fn __match_args__(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
                let names: &[&str] = &[$($pyname),*];
                PyTuple::new(py, names)
            }
            $(
                #[getter($field)]
                fn $fname<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                    PyEvent::field(slf.as_super(), $pyname)
                }
            )*
        }
    };
}

event_class!(
    JobStatusChange,
    "JobStatusChange",
    "`JOB_STATUS_CHANGE`: a job moved to another status.",
    ["id": id => id, "status": status => status]
);
event_class!(
    BlockJobReady,
    "BlockJobReady",
    "`BLOCK_JOB_READY`: a mirror-like job can now be completed.",
    ["type": r#type => job_type, "device": device => device, "len": len => len,
     "offset": offset => offset, "speed": speed => speed]
);
event_class!(
    BlockJobPending,
    "BlockJobPending",
    "`BLOCK_JOB_PENDING`: a job with auto-finalize off waits for `job-finalize`.",
    ["type": r#type => job_type, "id": id => id]
);
event_class!(
    BlockJobCompleted,
    "BlockJobCompleted",
    "`BLOCK_JOB_COMPLETED`: a block job finished (`error` is set when it failed).",
    ["type": r#type => job_type, "device": device => device, "len": len => len,
     "offset": offset => offset, "speed": speed => speed, "error": error => error]
);
event_class!(
    BlockJobCancelled,
    "BlockJobCancelled",
    "`BLOCK_JOB_CANCELLED`: a block job was cancelled.",
    ["type": r#type => job_type, "device": device => device, "len": len => len,
     "offset": offset => offset, "speed": speed => speed]
);
event_class!(
    BlockJobError,
    "BlockJobError",
    "`BLOCK_JOB_ERROR`: a block job met an I/O error (`operation`: read/write; `action`: report/ignore/stop).",
    ["device": device => device, "operation": operation => operation, "action": action => action]
);
event_class!(
    Stop,
    "Stop",
    "`STOP`: the simulated VM stopped (around snapshot jobs).",
    []
);
event_class!(
    Resume,
    "Resume",
    "`RESUME`: the simulated VM runs again.",
    []
);
event_class!(
    Shutdown,
    "Shutdown",
    "`SHUTDOWN`: a system emulator was asked to quit (`guest`: false, `reason`: host-qmp-quit).",
    ["guest": guest => guest, "reason": reason => reason]
);
event_class!(
    BlockExportDeleted,
    "BlockExportDeleted",
    "`BLOCK_EXPORT_DELETED`: a block export is gone.",
    ["id": id => id]
);

/// Wraps a core event in the Python class of its kind.
pub fn event_to_py(py: Python<'_>, e: Event) -> PyResult<Bound<'_, PyAny>> {
    let kind = e.kind.index();
    let base = PyClassInitializer::from(PyEvent { inner: e });
    Ok(match kind {
        0 => Bound::new(py, base.add_subclass(JobStatusChange))?.into_any(),
        1 => Bound::new(py, base.add_subclass(BlockJobReady))?.into_any(),
        2 => Bound::new(py, base.add_subclass(BlockJobPending))?.into_any(),
        3 => Bound::new(py, base.add_subclass(BlockJobCompleted))?.into_any(),
        4 => Bound::new(py, base.add_subclass(BlockJobCancelled))?.into_any(),
        5 => Bound::new(py, base.add_subclass(BlockJobError))?.into_any(),
        6 => Bound::new(py, base.add_subclass(Stop))?.into_any(),
        7 => Bound::new(py, base.add_subclass(Resume))?.into_any(),
        8 => Bound::new(py, base.add_subclass(Shutdown))?.into_any(),
        _ => Bound::new(py, base.add_subclass(BlockExportDeleted))?.into_any(),
    })
}

/// Rebuilds an event from the core's serialized form (what unpickling uses).
#[pyfunction]
fn _event_from_state<'py>(py: Python<'py>, state: &str) -> PyResult<Bound<'py, PyAny>> {
    let e: Event = serde_json::from_str(state)
        .map_err(|x| pyo3::exceptions::PyValueError::new_err(x.to_string()))?;
    event_to_py(py, e)
}

/// Adds the event classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEvent>()?;
    m.add_class::<JobStatusChange>()?;
    m.add_class::<BlockJobReady>()?;
    m.add_class::<BlockJobPending>()?;
    m.add_class::<BlockJobCompleted>()?;
    m.add_class::<BlockJobCancelled>()?;
    m.add_class::<BlockJobError>()?;
    m.add_class::<Stop>()?;
    m.add_class::<Resume>()?;
    m.add_class::<Shutdown>()?;
    m.add_class::<BlockExportDeleted>()?;
    m.add_function(wrap_pyfunction!(_event_from_state, m)?)?;
    Ok(())
}
