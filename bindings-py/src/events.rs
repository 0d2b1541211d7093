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
use qjob::{Event, EventField, EventKind};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// A QMP event (the base class of every event type), stamped with the
/// virtual time at which the core emitted it.
#[pyclass(module = "qjob", name = "Event", subclass, frozen)]
pub struct PyEvent {
    /// The core event.
    pub inner: Event,
}

/// A member of an event's `data` as a Python value: the `str` enum member
/// for a status or job type, `int`, or `str`.
fn field_to_py<'py>(py: Python<'py>, f: EventField<'_>) -> PyResult<Bound<'py, PyAny>> {
    match f {
        EventField::Id(s) | EventField::Device(s) | EventField::Error(s) => s.into_bound_py_any(py),
        EventField::Status(s) => status_obj(py, s),
        EventField::Type(t) => job_type_obj(py, t),
        EventField::Len(n) | EventField::Offset(n) | EventField::Speed(n) => {
            n.into_bound_py_any(py)
        }
        EventField::Operation(o) => o.as_str().into_bound_py_any(py),
        EventField::Action(a) => a.as_str().into_bound_py_any(py),
    }
}

impl PyEvent {
    /// The event's fields as `(name, value)` pairs: every member the core
    /// lists for its kind (`EventKind::FIELDS`), in QAPI order, with the
    /// value the core's field visitor gives, `None` for a member the event
    /// does not carry (`error` of a job that succeeded).
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Vec<(&'static str, Bound<'py, PyAny>)>> {
        let mut given = Vec::new();
        self.inner.kind.for_each_field(|f| given.push(f));
        EventKind::FIELDS[self.inner.kind.index()]
            .iter()
            .map(|&name| {
                let value = match given.iter().find(|f| f.key() == name) {
                    Some(&f) => field_to_py(py, f)?,
                    None => py.None().into_bound(py),
                };
                Ok((name, value))
            })
            .collect()
    }

    /// One field, by name (`None` when the event does not carry it).
    fn field<'py>(slf: &Bound<'py, Self>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let mut found = None;
        slf.get().inner.kind.for_each_field(|f| {
            if f.key() == name {
                found = Some(field_to_py(py, f));
            }
        });
        found.unwrap_or_else(|| Ok(py.None().into_bound(py)))
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

/// One Python class per event kind, made from the core's list of kinds
/// (`for_each_event_kind!`): a subclass of `qjob.Event` named after the
/// core's variant, whose attributes are the members of the event's `data`
/// (read through the core's field visitor) and whose `__match_args__` lists
/// them in QAPI order; and [`event_to_py`], which wraps a core event in the
/// class of its kind.
macro_rules! py_event_classes {
    ($($variant:ident = $name:literal [$($member:ident),*]),+ $(,)?) => {
        $(
            #[doc = concat!(
                "`", $name, "`: its attributes are the members of the event's `data`."
            )]
            #[pyclass(module = "qjob", extends = PyEvent, frozen)]
            pub struct $variant;

            #[pymethods]
            impl $variant {
                #[classattr]
                fn __match_args__(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
                    let kind = EventKind::NAMES.iter().position(|n| *n == $name);
                    PyTuple::new(py, kind.map_or(&[][..], |k| EventKind::FIELDS[k]))
                }
                $(
                    #[getter($member)]
                    fn $member<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                        PyEvent::field(slf.as_super(), stringify!($member).trim_start_matches("r#"))
                    }
                )*
            }
        )+

        /// Wraps a core event in the Python class of its kind.
        pub fn event_to_py(py: Python<'_>, e: Event) -> PyResult<Bound<'_, PyAny>> {
            enum Kind { $($variant),+ }
            let kind = match &e.kind { $(EventKind::$variant { .. } => Kind::$variant),+ };
            let base = PyClassInitializer::from(PyEvent { inner: e });
            Ok(match kind {
                $(Kind::$variant => Bound::new(py, base.add_subclass($variant))?.into_any()),+
            })
        }

        /// Adds the class of every event kind to the module.
        fn register_kinds(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $(m.add_class::<$variant>()?;)+
            Ok(())
        }
    };
}

qjob::for_each_event_kind!(py_event_classes);

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
    register_kinds(m)?;
    m.add_function(wrap_pyfunction!(_event_from_state, m)?)?;
    Ok(())
}
