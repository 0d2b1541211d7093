//! The core's scenario replayer and transcript tools, for `python -m qjob
//! replay` and for tests: `replay(text)`, `Replayer`, `compare`,
//! `to_sorted_json`; and QEMU's JSON reader (`parse_json`) for the QMP server.

use crate::convert::py_to_value;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;

/// Replays a scenario text on a fresh default world reproducing QEMU `qemu`
/// (`"7.2"` or `"10.0"`) and returns its transcript (byte-identical to
/// `cargo run -p qjob --example replay -- --qemu QEMU`); a line that cannot
/// be understood raises `ValueError("line N: …")`, and so does an unknown
/// `qemu`.
#[pyfunction]
#[pyo3(signature = (text, *, qemu = "7.2"))]
fn replay(py: Python<'_>, text: PyBackedStr, qemu: &str) -> PyResult<String> {
    let qemu = crate::manager::qemu_version(qemu)?;
    py.detach(|| qjob::scenario::replay_version(&text, qemu))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Compares two transcripts as `scenarios/README.md` says (window by window, events per
/// job); returns `None` when they agree, else the first difference.
#[pyfunction]
fn compare(expected: PyBackedStr, actual: PyBackedStr) -> Option<String> {
    qjob::scenario::compare(&expected, &actual).err()
}

/// JSON as Python's `json.dumps(v, sort_keys=True)` writes it (the
/// transcript format).
#[pyfunction]
fn to_sorted_json(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(qjob::scenario::to_sorted_json(&py_to_value(value)?))
}

/// Parses one QMP message with QEMU's JSON rules (single-quoted strings
/// accepted, duplicate keys refused); `ValueError` carries QEMU's
/// `JSON parse error, …` text. (The QMP server reads requests with it.)
#[pyfunction]
fn parse_json<'py>(py: Python<'py>, text: PyBackedStr) -> PyResult<Bound<'py, PyAny>> {
    match qjob::qmp::json::parse(&text) {
        Ok(v) => crate::convert::value_to_py(py, &v),
        Err(desc) => Err(PyValueError::new_err(desc)),
    }
}

/// A scenario replayer fed line by line.
#[pyclass(module = "qjob", name = "Replayer")]
pub struct PyReplayer(qjob::scenario::Replayer);

#[pymethods]
impl PyReplayer {
    /// A replayer over the default world of a manager reproducing QEMU
    /// `qemu` (`"7.2"` or `"10.0"`; `ValueError` for another).
    #[new]
    #[pyo3(signature = (*, qemu = "7.2"))]
    fn new(qemu: &str) -> PyResult<Self> {
        Ok(PyReplayer(qjob::scenario::Replayer::with_version(
            crate::manager::qemu_version(qemu)?,
        )))
    }

    /// Runs one scenario line (comments and blank lines do nothing);
    /// `ValueError` for a line that cannot be understood.
    fn run_line(&mut self, line: PyBackedStr) -> PyResult<()> {
        self.0
            .run_line(&line)
            .map(drop)
            .map_err(PyValueError::new_err)
    }

    /// Runs a whole scenario text.
    fn run(&mut self, text: PyBackedStr) -> PyResult<()> {
        self.0
            .run(&text)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The transcript so far, one item per line, each ending in a newline.
    fn transcript(&self) -> String {
        self.0.transcript()
    }

    /// The transcript lines so far.
    fn lines(&self) -> Vec<String> {
        self.0.lines().to_vec()
    }
}

/// Adds the scenario functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(replay, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(to_sorted_json, m)?)?;
    m.add_function(wrap_pyfunction!(parse_json, m)?)?;
    m.add_class::<PyReplayer>()?;
    Ok(())
}
