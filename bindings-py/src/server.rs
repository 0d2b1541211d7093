//! `qjob.QmpSessions` and `qjob.JsonStreamer`: the core's QMP monitors
//! ([`qjob::qmp::server::QmpServer`]) and QEMU's JSON stream
//! ([`qjob::qmp::stream::JsonStreamer`]) for Python. The asyncio server
//! (`qjob.server`) is a socket-and-clock shell around `QmpSessions`; every
//! byte it writes comes from here.

use crate::convert::value_to_py;
use crate::manager::PyJobManager;
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use qjob::qmp::server::{MonitorId, QmpServer, ServerConfig, UnknownMonitor};
use qjob::qmp::stream::JsonStreamer;

fn unknown(e: UnknownMonitor) -> PyErr {
    PyKeyError::new_err(e.to_string())
}

/// QEMU 7.2's QMP monitors over one `JobManager`, sans I/O: bytes in
/// (`handle_input`), bytes out (`poll_transmit`), virtual time in
/// (`handle_timeout`) and out (`poll_timeout`). Monitors are ints. The
/// manager is passed to the methods that run commands; pass the same one
/// every time. An unknown monitor raises `KeyError`.
#[pyclass(module = "qjob", name = "QmpSessions")]
pub struct PyQmpSessions {
    inner: QmpServer,
}

#[pymethods]
impl PyQmpSessions {
    /// Sessions with no monitors. The defaults are the greeting of QEMU
    /// `qemu` (`"7.2"`: 7.2.22 as Debian 12 builds it; `"10.0"`: 10.0.2 as
    /// Debian builds it), `oob` offered, `quit` allowed, epoch 0; `version`
    /// and `package` override the greeting's. Serve a manager made for the
    /// same QEMU. `ValueError` for an unknown `qemu`.
    #[new]
    #[pyo3(signature = (*, version = None, package = None, oob = true, allow_quit = true, epoch_ns = 0, qemu = "7.2"))]
    fn new(
        version: Option<(u32, u32, u32)>,
        package: Option<String>,
        oob: bool,
        allow_quit: bool,
        epoch_ns: u64,
        qemu: &str,
    ) -> PyResult<Self> {
        let d = ServerConfig::for_qemu(crate::manager::qemu_version(qemu)?);
        Ok(PyQmpSessions {
            inner: QmpServer::new(ServerConfig {
                version: version.unwrap_or(d.version),
                package: package.unwrap_or(d.package),
                oob,
                allow_quit,
                epoch_ns,
            }),
        })
    }

    // ------------------------------------------------------------------
    // Getters
    // ------------------------------------------------------------------

    /// The greeting a monitor sends first, as QEMU writes it (no line end).
    #[getter]
    fn greeting(&self) -> String {
        qjob::qmp::wire::to_string(&self.inner.greeting())
    }

    /// The wall-clock time (ns since the Unix epoch) at which virtual time
    /// was 0: event timestamps are this plus their virtual time.
    #[getter]
    fn get_epoch_ns(&self) -> u64 {
        self.inner.config().epoch_ns
    }

    #[setter]
    fn set_epoch_ns(&mut self, epoch_ns: u64) {
        self.inner.set_epoch_ns(epoch_ns);
    }

    /// Whether a client sent `quit`: exit once the output is written.
    #[getter]
    fn exit_requested(&self) -> bool {
        self.inner.exit_requested()
    }

    /// The connected monitors, oldest first.
    fn monitors(&self) -> Vec<u64> {
        self.inner.monitors().map(MonitorId::get).collect()
    }

    /// Whether the monitor negotiated capabilities.
    fn is_negotiated(&self, monitor: u64) -> PyResult<bool> {
        self.inner.is_negotiated(monitor.into()).map_err(unknown)
    }

    /// Whether the monitor enabled `oob`.
    fn oob_enabled(&self, monitor: u64) -> PyResult<bool> {
        self.inner.oob_enabled(monitor.into()).map_err(unknown)
    }

    /// Bytes waiting for `poll_transmit`.
    fn pending_output(&self, monitor: u64) -> PyResult<usize> {
        self.inner.pending_output(monitor.into()).map_err(unknown)
    }

    // ------------------------------------------------------------------
    // Input
    // ------------------------------------------------------------------

    /// A client connected: returns its monitor, greeting queued.
    fn handle_connect(&mut self) -> u64 {
        self.inner.handle_connect().get()
    }

    /// Bytes a client sent: each message they complete is answered.
    fn handle_input(
        &mut self,
        manager: &Bound<'_, PyJobManager>,
        monitor: u64,
        data: &[u8],
    ) -> PyResult<()> {
        let mut m = manager.borrow_mut();
        self.inner
            .handle_input(&mut m.inner, monitor.into(), data)
            .map_err(unknown)
    }

    /// The client's input ended (an unfinished message is dropped); it
    /// still receives events.
    fn handle_eof(&mut self, monitor: u64) -> PyResult<()> {
        self.inner.handle_eof(monitor.into()).map_err(unknown)
    }

    /// The client is gone: its monitor and unsent output are dropped.
    fn handle_disconnect(&mut self, monitor: u64) -> PyResult<()> {
        self.inner
            .handle_disconnect(monitor.into())
            .map_err(unknown)
    }

    /// Virtual time reached `now_ns`: runs what became due, sends its events.
    fn handle_timeout(&mut self, manager: &Bound<'_, PyJobManager>, now_ns: u64) {
        self.inner
            .handle_timeout(&mut manager.borrow_mut().inner, now_ns);
    }

    /// Sends the events the manager has queued (after driving it directly).
    fn handle_manager_events(&mut self, manager: &Bound<'_, PyJobManager>) {
        self.inner
            .handle_manager_events(&mut manager.borrow_mut().inner);
    }

    // ------------------------------------------------------------------
    // Output
    // ------------------------------------------------------------------

    /// Takes the bytes waiting for the client (`None` when there are none,
    /// or the monitor is gone).
    fn poll_transmit<'py>(&mut self, py: Python<'py>, monitor: u64) -> Option<Bound<'py, PyBytes>> {
        self.inner
            .poll_transmit(monitor.into())
            .map(|b| PyBytes::new(py, &b))
    }

    /// When to call `handle_timeout` next (virtual ns), or `None`.
    fn poll_timeout(&self, manager: &Bound<'_, PyJobManager>) -> Option<u64> {
        self.inner.poll_timeout(&manager.borrow().inner)
    }
}

/// QEMU 7.2's JSON message stream: `feed(bytes)` returns the messages it
/// completed, each a value, or a `qjob.GenericError` instance (not raised)
/// carrying QEMU's text for a message QEMU refuses.
#[pyclass(module = "qjob", name = "JsonStreamer")]
pub struct PyJsonStreamer(JsonStreamer);

fn messages<'py>(
    py: Python<'py>,
    out: Vec<qjob::qmp::stream::Message>,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for m in out {
        match m {
            Ok(v) => list.append(value_to_py(py, &v)?)?,
            Err(desc) => {
                let e = crate::pytypes::qmp_error(py, &qjob::Error::generic(desc));
                list.append(e.into_value(py))?;
            }
        }
    }
    Ok(list)
}

#[pymethods]
impl PyJsonStreamer {
    /// A streamer with QEMU's limits.
    #[new]
    fn new() -> Self {
        PyJsonStreamer(JsonStreamer::new())
    }

    /// Reads `data`; returns the messages it completed, oldest first.
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
        messages(py, self.0.feed(data))
    }

    /// Ends the input: what is unfinished is completed or refused.
    fn flush<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        messages(py, self.0.flush())
    }

    /// Forgets the unfinished token and message.
    fn reset(&mut self) {
        self.0.reset();
    }

    /// Whether nothing is buffered.
    #[getter]
    fn is_idle(&self) -> bool {
        self.0.is_idle()
    }
}

/// Adds the classes and QEMU's stream limits to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyQmpSessions>()?;
    m.add_class::<PyJsonStreamer>()?;
    m.add("MAX_TOKEN_SIZE", qjob::qmp::stream::MAX_TOKEN_SIZE)?;
    m.add("MAX_TOKEN_COUNT", qjob::qmp::stream::MAX_TOKEN_COUNT)?;
    m.add("MAX_NESTING", qjob::qmp::stream::MAX_NESTING)?;
    Ok(())
}
