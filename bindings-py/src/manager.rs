//! `qjob.JobManager`: the core [`JobManager`] as a Python class.
//!
//! Its methods fall in the core's four groups: getters (`now`,
//! `query_jobs()`, …), commands (typed, one per QMP command, raising
//! `qjob.QmpError`; and `execute` for QMP dicts, which returns the error
//! instead), time and work (`step`, `settle`, `tick`, `advance`, `wait`),
//! and output (`events()`, `poll_action()`).

use crate::args;
use crate::convert::{py_to_map, py_to_value, value_to_py};
use crate::events::event_to_py;
use crate::host::{PyHostAction, PyJobHandle, PyTxnHandle, directive_obj, error_action_obj};
use crate::info::{PyBlockJobInfo, PyJobInfo};
use crate::pytypes::{IntoPyResult, parse_enum, snapshot_error};
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use qjob::{
    BackupOptions, BitmapSyncMode, CommitOptions, Error, EventKind, HostJobOptions, ImageFile,
    IoOperation, JobManager, JobOptions, JobStatus, JobType, JobVerb, MirrorCopyMode,
    MirrorOptions, OnError, QemuVersion, StreamOptions, SyncMode,
};

/// A `qemu=` argument: `"7.2"` or `"10.0"`.
pub(crate) fn qemu_version(s: &str) -> PyResult<QemuVersion> {
    parse_enum::<QemuVersion>("QEMU version (\"7.2\" or \"10.0\")", s)
}
use serde_json::{Map, Value, json};

/// QEMU 7.2's job layer, deterministic and sans-I/O (see the module docs).
#[pyclass(module = "qjob", name = "JobManager")]
pub struct PyJobManager {
    /// The core manager.
    pub inner: JobManager,
}

fn sync_mode(s: &str) -> qjob::Result<SyncMode> {
    SyncMode::parse(s).ok_or_else(|| Error::bad_enum_value("sync", s))
}

fn on_error(name: &str, s: &str) -> qjob::Result<OnError> {
    OnError::parse(s).ok_or_else(|| Error::bad_enum_value(name, s))
}

/// The core's defaults of the keyword arguments of `backup`, `mirror`,
/// `commit`, `stream` (its QMP commands' defaults, `qjob::qmp::option_defaults`,
/// with `_` for `-`) and `create_host_job` (`HostJobOptions::default()`), by
/// method and argument name: the values their signatures (and the stubs)
/// must give, which the tests check.
#[pyfunction]
pub fn _option_defaults<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    let qmp = qjob::qmp::option_defaults();
    let mut out = Map::new();
    for (method, command) in [
        ("backup", "blockdev-backup"),
        ("mirror", "blockdev-mirror"),
        ("commit", "block-commit"),
        ("stream", "block-stream"),
    ] {
        let args: Map<String, Value> = qmp[command]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.replace('-', "_"), v.clone()))
            .collect();
        out.insert(method.into(), Value::Object(args));
    }
    let h = HostJobOptions::default();
    out.insert(
        "create_host_job".into(),
        json!({
            "job_type": h.job_type.as_str(),
            "auto_finalize": h.auto_finalize,
            "auto_dismiss": h.auto_dismiss,
            "speed": h.speed,
            "on_source_error": h.on_source_error.as_str(),
            "on_target_error": h.on_target_error.as_str(),
            "transaction": h.transaction.map(|t| t.to_raw()),
            "completable": h.completable,
            "prepare": h.prepare,
        }),
    );
    value_to_py(py, &Value::Object(out))
}

fn job_options(
    job_id: Option<String>,
    speed: i64,
    auto_finalize: bool,
    auto_dismiss: bool,
) -> JobOptions {
    JobOptions {
        job_id,
        speed,
        auto_finalize,
        auto_dismiss,
    }
}

/// For `wait` and `wait_event`: refuses an ID the manager does not know (no
/// such job now, and no queued event about one), which is most likely a typo
/// that would otherwise wait in vain or count as `null`. The manager keeps no
/// history: a job that is gone, with its events taken, is unknown too.
fn check_known(m: &JobManager, id: &str, missing_ok: bool, hint: &str) -> PyResult<()> {
    let known = m.job_info(id).is_some()
        || (!id.is_empty() && m.queued_events().any(|e| e.kind.job_id() == id));
    if known || missing_ok {
        return Ok(());
    }
    Err(PyKeyError::new_err(format!(
        "no job '{id}' (none exists, and no queued event is about one): {hint}"
    )))
}

impl PyJobManager {
    fn wrap(inner: JobManager) -> Self {
        PyJobManager { inner }
    }

    fn call(&mut self, py: Python<'_>, name: &str, args: Map<String, Value>) -> PyResult<Value> {
        self.inner.dispatch(name, &args).py(py)
    }

    fn call_unit(&mut self, py: Python<'_>, name: &str, args: Value) -> PyResult<()> {
        let Value::Object(args) = args else {
            unreachable!("arguments are built as objects")
        };
        self.call(py, name, args).map(drop)
    }
}

#[pymethods]
impl PyJobManager {
    // ------------------------------------------------------------------
    // Construction and snapshots
    // ------------------------------------------------------------------

    /// A manager over the default world: four 64 MiB `null-co` nodes `src`,
    /// `dst`, `src2`, `dst2`. With `machine=True` the VM-only commands
    /// (`snapshot-save`, …) exist, as in `qemu-system-*`. `qemu` is the QEMU
    /// reproduced: `"7.2"` (the default) or `"10.0"`.
    #[new]
    #[pyo3(signature = (*, machine = false, qemu = "7.2"))]
    fn new(machine: bool, qemu: &str) -> PyResult<Self> {
        let mut m = JobManager::with_default_world_version(qemu_version(qemu)?);
        m.set_machine(machine);
        Ok(Self::wrap(m))
    }

    /// A manager with no nodes at all (add them with `blockdev_add`).
    #[staticmethod]
    #[pyo3(signature = (*, machine = false, qemu = "7.2"))]
    fn empty(machine: bool, qemu: &str) -> PyResult<Self> {
        let mut m = JobManager::with_version(qemu_version(qemu)?);
        m.set_machine(machine);
        Ok(Self::wrap(m))
    }

    /// The QEMU this manager reproduces: `"7.2"` or `"10.0"`.
    #[getter]
    fn qemu(&self) -> &'static str {
        self.inner.version().as_str()
    }

    /// `block-job-change` (QEMU 10.0 only): a mirror's `copy_mode`,
    /// `"background"` to `"write-blocking"`.
    fn block_job_change(&mut self, py: Python<'_>, id: &str, copy_mode: &str) -> PyResult<()> {
        let mode = parse_enum::<MirrorCopyMode>("MirrorCopyMode", copy_mode)?;
        self.inner.block_job_change(id, mode).py(py)
    }

    /// The whole manager as a compact, versioned binary snapshot.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_snapshot_bytes())
    }

    /// Restores a manager from [`to_bytes`](Self::to_bytes); raises
    /// `qjob.SnapshotError` for anything else.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        JobManager::from_snapshot_bytes(data)
            .map(Self::wrap)
            .map_err(|e| snapshot_error(py, &e))
    }

    /// The whole manager as a versioned JSON snapshot.
    fn to_json(&self) -> String {
        self.inner.to_snapshot_json()
    }

    /// Restores a manager from [`to_json`](Self::to_json).
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        JobManager::from_snapshot_json(text)
            .map(Self::wrap)
            .map_err(|e| snapshot_error(py, &e))
    }

    /// An independent copy (jobs, nodes, clock, queued events and actions).
    fn clone(&self) -> Self {
        Self::wrap(self.inner.clone())
    }

    fn __copy__(&self) -> Self {
        self.clone()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        self.clone()
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let restore = slf.get_type().getattr("from_bytes")?;
        let data = slf.borrow().to_bytes(py);
        Ok((restore, PyTuple::new(py, [data])?))
    }

    fn __repr__(&self) -> String {
        format!(
            "<qjob.JobManager now_ns={} jobs={} queued_events={}>",
            self.inner.now(),
            self.inner.job_count(),
            self.inner.pending_events()
        )
    }

    /// Makes the VM-only commands available (or not).
    fn set_machine(&mut self, machine: bool) {
        self.inner.set_machine(machine);
    }

    /// Adds an image file to the simulated folder (the scenario `image`
    /// directive): `format` is `"qcow2"` or `"raw"`, `data` lists the
    /// `(offset, length)` extents written with data.
    #[pyo3(signature = (file, format, size, *, backing = None, data = Vec::new()))]
    fn add_image(
        &mut self,
        file: &str,
        format: String,
        #[pyo3(from_py_with = args::size)] size: u64,
        backing: Option<String>,
        #[pyo3(from_py_with = args::data)] data: Vec<(u64, u64)>,
    ) {
        self.inner.add_image(
            file,
            ImageFile {
                format,
                size,
                backing,
                data,
                ..Default::default()
            },
        );
    }

    /// Whether a node with this name exists.
    fn has_node(&self, name: &str) -> bool {
        self.inner.has_node(name)
    }

    // ------------------------------------------------------------------
    // QMP
    // ------------------------------------------------------------------

    /// Executes one QMP command given as a dict and returns the reply dict:
    /// `{"return": …}` or `{"error": {"class": …, "desc": …}}`, with the
    /// request's `id` echoed. Errors are returned, not raised (a value
    /// that is not JSON data raises `TypeError`).
    fn execute<'py>(
        &mut self,
        py: Python<'py>,
        cmd: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = py_to_value(cmd)?;
        let reply = self.inner.execute_value(&v);
        value_to_py(py, &reply)
    }

    /// Executes one QMP message given as JSON text; returns the reply as
    /// JSON text. Malformed JSON gets QEMU's `JSON parse error, …` reply.
    fn execute_json(&mut self, request: &str) -> String {
        self.inner.execute(request)
    }

    /// Runs one command by name with its arguments and returns its `return`
    /// value; a refusal raises the matching `qjob.QmpError`.
    #[pyo3(signature = (name, arguments = None))]
    fn command<'py>(
        &mut self,
        py: Python<'py>,
        name: &str,
        arguments: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = match arguments {
            Some(a) => py_to_map(a, "arguments")?,
            None => Map::new(),
        };
        let v = self.call(py, name, args)?;
        value_to_py(py, &v)
    }

    // ------------------------------------------------------------------
    // job-* and block-job-* verbs
    // ------------------------------------------------------------------

    /// `job-pause`.
    fn job_pause(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_pause(id).py(py)
    }

    /// `job-resume`.
    fn job_resume(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_resume(id).py(py)
    }

    /// `job-cancel` (always a hard cancel).
    fn job_cancel(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_cancel(id).py(py)
    }

    /// `job-complete`.
    fn job_complete(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_complete(id).py(py)
    }

    /// `job-finalize`.
    fn job_finalize(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_finalize(id).py(py)
    }

    /// `job-dismiss`.
    fn job_dismiss(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_dismiss(id).py(py)
    }

    /// `block-job-pause`.
    fn block_job_pause(&mut self, py: Python<'_>, device: &str) -> PyResult<()> {
        self.inner.block_job_pause(device).py(py)
    }

    /// `block-job-resume`.
    fn block_job_resume(&mut self, py: Python<'_>, device: &str) -> PyResult<()> {
        self.inner.block_job_resume(device).py(py)
    }

    /// `block-job-cancel`: soft unless `force` (refused for a user-paused
    /// job without `force`).
    #[pyo3(signature = (device, force = false))]
    fn block_job_cancel(&mut self, py: Python<'_>, device: &str, force: bool) -> PyResult<()> {
        self.inner.block_job_cancel(device, force).py(py)
    }

    /// `block-job-complete`.
    fn block_job_complete(&mut self, py: Python<'_>, device: &str) -> PyResult<()> {
        self.inner.block_job_complete(device).py(py)
    }

    /// `block-job-finalize`.
    fn block_job_finalize(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.block_job_finalize(id).py(py)
    }

    /// `block-job-dismiss`.
    fn block_job_dismiss(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.block_job_dismiss(id).py(py)
    }

    /// `block-job-set-speed` (bytes/s, 0 = unlimited).
    fn block_job_set_speed(
        &mut self,
        py: Python<'_>,
        device: &str,
        #[pyo3(from_py_with = args::speed)] speed: i64,
    ) -> PyResult<()> {
        self.inner.block_job_set_speed(device, speed).py(py)
    }

    /// Pauses a job (`job-pause`).
    fn pause(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_pause(id).py(py)
    }

    /// Resumes a job (`job-resume`).
    fn resume(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_resume(id).py(py)
    }

    /// Cancels a job: `force=True` is `job-cancel` (a hard cancel, any job
    /// type); `force=False` is `block-job-cancel` without force (a soft
    /// cancel: a ready mirror completes; refused for a user-paused job).
    #[pyo3(signature = (id, force = false))]
    fn cancel(&mut self, py: Python<'_>, id: &str, force: bool) -> PyResult<()> {
        if force {
            self.inner.job_cancel(id).py(py)
        } else {
            self.inner.block_job_cancel(id, false).py(py)
        }
    }

    /// Completes a ready mirror or active commit (`job-complete`).
    fn complete(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_complete(id).py(py)
    }

    /// Finalizes a pending job's transaction (`job-finalize`).
    fn finalize(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_finalize(id).py(py)
    }

    /// Dismisses a concluded job (`job-dismiss`).
    fn dismiss(&mut self, py: Python<'_>, id: &str) -> PyResult<()> {
        self.inner.job_dismiss(id).py(py)
    }

    /// Sets a block job's speed limit (`block-job-set-speed`).
    fn set_speed(
        &mut self,
        py: Python<'_>,
        id: &str,
        #[pyo3(from_py_with = args::speed)] speed: i64,
    ) -> PyResult<()> {
        self.inner.block_job_set_speed(id, speed).py(py)
    }

    // ------------------------------------------------------------------
    // Queries
    // ------------------------------------------------------------------

    /// `query-jobs`: every job with an ID, newest first.
    fn query_jobs(&self) -> Vec<PyJobInfo> {
        self.inner.query_jobs().into_iter().map(PyJobInfo).collect()
    }

    /// `query-block-jobs`: every block job, newest first.
    fn query_block_jobs(&self) -> Vec<PyBlockJobInfo> {
        self.inner
            .query_block_jobs()
            .into_iter()
            .map(PyBlockJobInfo)
            .collect()
    }

    /// The `query-jobs` entry of one job, or `None`.
    fn job_info(&self, id: &str) -> Option<PyJobInfo> {
        self.inner.job_info(id).map(PyJobInfo)
    }

    /// Whether the verb table allows `verb` on job `id` now (`None`: no such job).
    fn verb_allowed(&self, id: &str, verb: &str) -> PyResult<Option<bool>> {
        let verb = parse_enum::<JobVerb>("JobVerb", verb)?;
        Ok(self.inner.verb_allowed(id, verb))
    }

    // ------------------------------------------------------------------
    // Job creation
    // ------------------------------------------------------------------

    /// `blockdev-backup`: copies `device` to `target`.
    #[pyo3(signature = (job_id, device, target, *, sync = "full", speed = 0,
                        auto_finalize = true, auto_dismiss = true,
                        on_source_error = "report", on_target_error = "report",
                        compress = false, bitmap = None, bitmap_mode = None))]
    #[allow(clippy::too_many_arguments)]
    fn backup(
        &mut self,
        py: Python<'_>,
        job_id: Option<String>,
        device: String,
        target: String,
        sync: &str,
        #[pyo3(from_py_with = args::speed)] speed: i64,
        auto_finalize: bool,
        auto_dismiss: bool,
        on_source_error: &str,
        on_target_error: &str,
        compress: bool,
        bitmap: Option<String>,
        bitmap_mode: Option<&str>,
    ) -> PyResult<()> {
        let opts = (|| {
            let bitmap_mode = bitmap_mode
                .map(|m| {
                    BitmapSyncMode::parse(m).ok_or_else(|| Error::bad_enum_value("bitmap-mode", m))
                })
                .transpose()?;
            Ok(BackupOptions {
                job: job_options(job_id, speed, auto_finalize, auto_dismiss),
                device,
                target,
                sync: sync_mode(sync)?,
                bitmap,
                bitmap_mode,
                compress,
                on_source_error: on_error("on-source-error", on_source_error)?,
                on_target_error: on_error("on-target-error", on_target_error)?,
                ..BackupOptions::default()
            })
        })()
        .py(py)?;
        self.inner.blockdev_backup(opts).py(py)
    }

    /// `blockdev-mirror`: mirrors `device` to `target` until completed.
    #[pyo3(signature = (job_id, device, target, *, sync = "full", speed = 0,
                        auto_finalize = true, auto_dismiss = true,
                        on_source_error = "report", on_target_error = "report",
                        granularity = 0, buf_size = 0, copy_mode = "background"))]
    #[allow(clippy::too_many_arguments)]
    fn mirror(
        &mut self,
        py: Python<'_>,
        job_id: Option<String>,
        device: String,
        target: String,
        sync: &str,
        #[pyo3(from_py_with = args::speed)] speed: i64,
        auto_finalize: bool,
        auto_dismiss: bool,
        on_source_error: &str,
        on_target_error: &str,
        #[pyo3(from_py_with = args::granularity)] granularity: u64,
        #[pyo3(from_py_with = args::buf_size)] buf_size: i64,
        copy_mode: &str,
    ) -> PyResult<()> {
        let copy_mode = parse_enum::<MirrorCopyMode>("MirrorCopyMode", copy_mode)?;
        let opts = (|| {
            Ok(MirrorOptions {
                job: job_options(job_id, speed, auto_finalize, auto_dismiss),
                device,
                target,
                sync: sync_mode(sync)?,
                granularity,
                buf_size,
                on_source_error: on_error("on-source-error", on_source_error)?,
                on_target_error: on_error("on-target-error", on_target_error)?,
                copy_mode,
                ..MirrorOptions::default()
            })
        })()
        .py(py)?;
        self.inner.blockdev_mirror(opts).py(py)
    }

    /// `block-commit`: commits `top_node` (default: `device`, an active
    /// commit) into `base_node` (default: the bottom of the chain).
    #[pyo3(signature = (job_id, device, *, top_node = None, base_node = None, speed = 0,
                        auto_finalize = true, auto_dismiss = true, on_error = "report"))]
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        py: Python<'_>,
        job_id: Option<String>,
        device: String,
        top_node: Option<String>,
        base_node: Option<String>,
        #[pyo3(from_py_with = args::speed)] speed: i64,
        auto_finalize: bool,
        auto_dismiss: bool,
        on_error: &str,
    ) -> PyResult<()> {
        let policy = self::on_error("on-error", on_error).py(py)?;
        self.inner
            .block_commit(CommitOptions {
                job: job_options(job_id, speed, auto_finalize, auto_dismiss),
                device,
                top_node,
                base_node,
                on_error: policy,
                ..CommitOptions::default()
            })
            .py(py)
    }

    /// `block-stream`: copies the backing chain (above `base_node`) into `device`.
    #[pyo3(signature = (job_id, device, *, base_node = None, speed = 0,
                        auto_finalize = true, auto_dismiss = true, on_error = "report"))]
    #[allow(clippy::too_many_arguments)]
    fn stream(
        &mut self,
        py: Python<'_>,
        job_id: Option<String>,
        device: String,
        base_node: Option<String>,
        #[pyo3(from_py_with = args::speed)] speed: i64,
        auto_finalize: bool,
        auto_dismiss: bool,
        on_error: &str,
    ) -> PyResult<()> {
        let policy = self::on_error("on-error", on_error).py(py)?;
        self.inner
            .block_stream(StreamOptions {
                job: job_options(job_id, speed, auto_finalize, auto_dismiss),
                device,
                base_node,
                on_error: policy,
                ..StreamOptions::default()
            })
            .py(py)
    }

    /// `transaction`: `actions` are QMP action dicts
    /// (`{"type": "blockdev-backup", "data": {…}}`, see
    /// `qjob.backup_action`); `grouped` sets `completion-mode: grouped`.
    #[pyo3(signature = (actions, *, grouped = false))]
    fn transaction(
        &mut self,
        py: Python<'_>,
        actions: &Bound<'_, PyAny>,
        grouped: bool,
    ) -> PyResult<()> {
        let mut args = Map::new();
        args.insert("actions".into(), py_to_value(actions)?);
        if grouped {
            args.insert("properties".into(), json!({"completion-mode": "grouped"}));
        }
        self.call(py, "transaction", args).map(drop)
    }

    /// `blockdev-add` with QMP options (`{"driver": "null-co", "node-name": …}`).
    fn blockdev_add(&mut self, py: Python<'_>, options: &Bound<'_, PyAny>) -> PyResult<()> {
        let args = py_to_map(options, "options")?;
        self.call(py, "blockdev-add", args).map(drop)
    }

    /// `blockdev-del`.
    fn blockdev_del(&mut self, py: Python<'_>, node_name: &str) -> PyResult<()> {
        self.inner.blockdev_del(node_name).py(py)
    }

    /// `blockdev-create` with QMP options (`{"driver": "file", …}`).
    fn blockdev_create(
        &mut self,
        py: Python<'_>,
        job_id: &str,
        options: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let options = py_to_value(options)?;
        self.call_unit(
            py,
            "blockdev-create",
            json!({"job-id": job_id, "options": options}),
        )
    }

    /// `x-blockdev-amend` with QMP options (`{"driver": "qcow2", …}`).
    #[pyo3(signature = (job_id, node_name, options, *, force = None))]
    fn blockdev_amend(
        &mut self,
        py: Python<'_>,
        job_id: &str,
        node_name: &str,
        options: &Bound<'_, PyAny>,
        force: Option<bool>,
    ) -> PyResult<()> {
        let mut args = json!({"job-id": job_id, "node-name": node_name,
                              "options": py_to_value(options)?});
        if let Some(f) = force {
            args["force"] = f.into();
        }
        self.call_unit(py, "x-blockdev-amend", args)
    }

    /// `snapshot-save` (needs `machine=True`).
    fn snapshot_save(
        &mut self,
        py: Python<'_>,
        job_id: &str,
        tag: &str,
        vmstate: &str,
        #[pyo3(from_py_with = args::devices)] devices: Vec<String>,
    ) -> PyResult<()> {
        self.inner
            .snapshot_save(job_id, tag, vmstate, devices)
            .py(py)
    }

    /// `snapshot-load` (needs `machine=True`).
    fn snapshot_load(
        &mut self,
        py: Python<'_>,
        job_id: &str,
        tag: &str,
        vmstate: &str,
        #[pyo3(from_py_with = args::devices)] devices: Vec<String>,
    ) -> PyResult<()> {
        self.inner
            .snapshot_load(job_id, tag, vmstate, devices)
            .py(py)
    }

    /// `snapshot-delete` (needs `machine=True`).
    fn snapshot_delete(
        &mut self,
        py: Python<'_>,
        job_id: &str,
        tag: &str,
        #[pyo3(from_py_with = args::devices)] devices: Vec<String>,
    ) -> PyResult<()> {
        self.inner.snapshot_delete(job_id, tag, devices).py(py)
    }

    // ------------------------------------------------------------------
    // Time and work
    // ------------------------------------------------------------------

    /// The virtual clock, in nanoseconds.
    #[getter]
    fn now(&self) -> u64 {
        self.inner.now()
    }

    /// The earliest armed timer (pass it to `tick`), or `None`.
    #[getter]
    fn next_deadline(&self) -> Option<u64> {
        self.inner.next_deadline()
    }

    /// Whether `step()` would do something now.
    #[getter]
    fn has_ready_work(&self) -> bool {
        self.inner.has_ready_work()
    }

    /// Number of jobs that exist (internal ones included).
    #[getter]
    fn job_count(&self) -> usize {
        self.inner.job_count()
    }

    /// Internal errors seen (always empty unless qjob has a bug).
    #[getter]
    fn internal_errors(&self) -> Vec<String> {
        self.inner.internal_errors().to_vec()
    }

    /// Runs one unit of ready work; returns whether more is ready.
    fn step(&mut self) -> bool {
        self.inner.step()
    }

    /// Runs all work ready at the current virtual time; returns the number
    /// of units run.
    fn settle(&mut self) -> usize {
        self.inner.settle()
    }

    /// Moves the clock to `now_ns` (never backwards) and runs what is due.
    fn tick(&mut self, #[pyo3(from_py_with = args::now_ns)] now_ns: u64) {
        self.inner.tick(now_ns);
    }

    /// `tick(now + ns)`.
    fn advance(&mut self, #[pyo3(from_py_with = args::ns)] ns: u64) {
        self.inner.advance(ns);
    }

    /// Runs virtual time until job `id` is in `status` — it is now, or a
    /// `JOB_STATUS_CHANGE` to it is among the queued events (those not yet
    /// taken by `events()`) — or until `timeout_ns` of virtual time pass
    /// (the clock then ends at the timeout). Returns whether the status was
    /// reached. A job the manager does not know (none with this ID, and no
    /// queued event about one) raises `KeyError`, unless `missing_ok`: then
    /// it counts as `null`.
    #[pyo3(signature = (id, status, timeout_ns = qjob::scenario::WAIT_LIMIT_NS, *, missing_ok = false))]
    fn wait(
        &mut self,
        id: &str,
        status: &str,
        #[pyo3(from_py_with = args::timeout_ns)] timeout_ns: u64,
        missing_ok: bool,
    ) -> PyResult<bool> {
        let status = parse_enum::<JobStatus>("JobStatus", status)?;
        check_known(
            &self.inner,
            id,
            missing_ok,
            "pass missing_ok=True to count a missing job as null",
        )?;
        let limit = self.inner.now().saturating_add(timeout_ns);
        Ok(self
            .inner
            .run_until(limit, |m| m.status_reached(id, status)))
    }

    /// Runs virtual time until an event `name` (one of `qjob.EVENT_NAMES`;
    /// another raises `ValueError`) about job `id` is among the queued
    /// events, or until `timeout_ns` pass (the clock then ends at the
    /// timeout). Returns whether it came. A job the manager does not know
    /// raises `KeyError`, as for `wait`, unless `missing_ok`.
    #[pyo3(signature = (name, id, timeout_ns = qjob::scenario::WAIT_LIMIT_NS, *, missing_ok = false))]
    fn wait_event(
        &mut self,
        name: &str,
        id: &str,
        #[pyo3(from_py_with = args::timeout_ns)] timeout_ns: u64,
        missing_ok: bool,
    ) -> PyResult<bool> {
        if !EventKind::NAMES.contains(&name) {
            return Err(PyValueError::new_err(format!(
                "'{name}' is not an event qjob emits (qjob.EVENT_NAMES: {})",
                EventKind::NAMES.join(", ")
            )));
        }
        check_known(
            &self.inner,
            id,
            missing_ok,
            "pass missing_ok=True to wait anyway",
        )?;
        let limit = self.inner.now().saturating_add(timeout_ns);
        Ok(self.inner.run_until(limit, |m| m.event_queued(name, id)))
    }

    // ------------------------------------------------------------------
    // Output
    // ------------------------------------------------------------------

    /// Takes every queued event, oldest first.
    fn events<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        while let Some(e) = self.inner.poll_event() {
            list.append(event_to_py(py, e)?)?;
        }
        Ok(list)
    }

    /// Takes the oldest queued event, or `None`.
    fn poll_event<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .poll_event()
            .map(|e| event_to_py(py, e))
            .transpose()
    }

    /// The queued events, oldest first, without taking them.
    fn queued_events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for e in self.inner.queued_events() {
            list.append(event_to_py(py, e.clone())?)?;
        }
        Ok(list)
    }

    /// Number of queued events.
    #[getter]
    fn pending_events(&self) -> usize {
        self.inner.pending_events()
    }

    // ------------------------------------------------------------------
    // Host-driven jobs
    // ------------------------------------------------------------------

    /// A new job transaction for host jobs (`transaction=` of
    /// `create_host_job`).
    fn new_transaction(&mut self) -> PyTxnHandle {
        PyTxnHandle(self.inner.new_transaction())
    }

    /// A `transaction` whose jobs join the transaction `txn` from
    /// `new_transaction()` (where host jobs may be members too), as
    /// `completion-mode: grouped` does. `actions` is a list of QMP action
    /// dicts, as for `transaction`. QEMU's refusals (invalid actions, their
    /// argument errors, a refused action, a stale or failed transaction)
    /// raise `qjob.QmpError`; `actions` that is not a list raises
    /// `TypeError`, a value that is not JSON data `TypeError` or `ValueError`.
    fn transaction_in(
        &mut self,
        py: Python<'_>,
        txn: PyTxnHandle,
        actions: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let actions = match py_to_value(actions)? {
            a @ Value::Array(_) => a,
            _ => {
                return Err(PyTypeError::new_err(
                    "actions must be a list of transaction action dicts",
                ));
            }
        };
        let list =
            qjob::qmp::parse_transaction_actions_in(&actions, self.inner.version()).py(py)?;
        self.inner.transaction_in(list, txn.0).py(py)
    }

    /// Creates and starts a job whose work the host (the caller) does; its
    /// first action (`poll_action()`) is `start`. `id=None` makes an
    /// internal job. Refused as QEMU refuses a job.
    #[pyo3(signature = (id, job_type = "backup", *, auto_finalize = true, auto_dismiss = true,
                        speed = 0, on_source_error = "report", on_target_error = "report",
                        transaction = None, completable = false, prepare = false))]
    #[allow(clippy::too_many_arguments)]
    fn create_host_job(
        &mut self,
        py: Python<'_>,
        id: Option<String>,
        job_type: &str,
        auto_finalize: bool,
        auto_dismiss: bool,
        #[pyo3(from_py_with = args::speed)] speed: i64,
        on_source_error: &str,
        on_target_error: &str,
        transaction: Option<PyTxnHandle>,
        completable: bool,
        prepare: bool,
    ) -> PyResult<PyJobHandle> {
        let opts = HostJobOptions {
            id,
            job_type: parse_enum::<JobType>("JobType", job_type)?,
            auto_finalize,
            auto_dismiss,
            speed,
            on_source_error: on_error("on-source-error", on_source_error).py(py)?,
            on_target_error: on_error("on-target-error", on_target_error).py(py)?,
            transaction: transaction.map(|t| t.0),
            completable,
            prepare,
        };
        self.inner.create_host_job(opts).py(py).map(PyJobHandle)
    }

    /// The handle of the job with this ID, or `None`.
    fn job_handle(&self, id: &str) -> Option<PyJobHandle> {
        self.inner.job_handle(id).map(PyJobHandle)
    }

    /// Takes the oldest request for the host, or `None`.
    fn poll_action(&mut self) -> Option<PyHostAction> {
        self.inner.poll_action().map(PyHostAction)
    }

    /// Takes every queued host request, oldest first.
    fn actions(&mut self) -> Vec<PyHostAction> {
        std::iter::from_fn(|| self.inner.poll_action())
            .map(PyHostAction)
            .collect()
    }

    /// Number of queued host requests.
    #[getter]
    fn pending_actions(&self) -> usize {
        self.inner.pending_actions()
    }

    /// The host's job made progress: `current` of `total`.
    fn host_progress(
        &mut self,
        py: Python<'_>,
        job: PyJobHandle,
        #[pyo3(from_py_with = args::current)] current: u64,
        #[pyo3(from_py_with = args::total)] total: u64,
    ) -> PyResult<()> {
        self.inner.host_progress(job.0, current, total).py(py)
    }

    /// The host's job reached a pause point; returns a `qjob.HostDirective`.
    fn host_pause_point<'py>(
        &mut self,
        py: Python<'py>,
        job: PyJobHandle,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.inner.host_pause_point(job.0).py(py)?;
        directive_obj(py, d)
    }

    /// The host's job sleeps until virtual time `until_ns`; returns a
    /// `qjob.HostDirective`.
    fn host_sleep<'py>(
        &mut self,
        py: Python<'py>,
        job: PyJobHandle,
        #[pyo3(from_py_with = args::until_ns)] until_ns: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.inner.host_sleep(job.0, until_ns).py(py)?;
        directive_obj(py, d)
    }

    /// The host's job met an I/O error (`operation`: `"read"` or
    /// `"write"`, positive `errno`); returns a `qjob.HostErrorAction`.
    fn host_io_error<'py>(
        &mut self,
        py: Python<'py>,
        job: PyJobHandle,
        operation: &str,
        #[pyo3(from_py_with = args::errno)] errno: i32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let op = parse_enum::<IoOperation>("IoOperation (read, write)", operation)?;
        let a = self.inner.host_io_error(job.0, op, errno).py(py)?;
        error_action_obj(py, a)
    }

    /// The host's completable job is in sync (running → ready).
    fn host_ready(&mut self, py: Python<'_>, job: PyJobHandle) -> PyResult<()> {
        self.inner.host_ready(job.0).py(py)
    }

    /// The host's run ended: `ret` is 0 or a negative errno, `error` an
    /// optional error text.
    #[pyo3(signature = (job, ret = 0, error = None))]
    fn host_run_finished(
        &mut self,
        py: Python<'_>,
        job: PyJobHandle,
        #[pyo3(from_py_with = args::ret)] ret: i32,
        error: Option<String>,
    ) -> PyResult<()> {
        self.inner.host_run_finished(job.0, ret, error).py(py)
    }

    /// The result of the host's `prepare` step (0 or a negative errno).
    #[pyo3(signature = (job, ret = 0))]
    fn host_prepare_done(
        &mut self,
        py: Python<'_>,
        job: PyJobHandle,
        #[pyo3(from_py_with = args::ret)] ret: i32,
    ) -> PyResult<()> {
        self.inner.host_prepare_done(job.0, ret).py(py)
    }

    /// How long (virtual ns) the host's job must wait after `bytes` of work
    /// (QEMU's rate limiter at the job's speed).
    fn host_rate_delay(
        &mut self,
        py: Python<'_>,
        job: PyJobHandle,
        #[pyo3(from_py_with = args::bytes)] bytes: u64,
    ) -> PyResult<u64> {
        self.inner.host_rate_delay(job.0, bytes).py(py)
    }

    /// Whether the host's completable job was asked to complete.
    fn host_should_complete(&self, py: Python<'_>, job: PyJobHandle) -> PyResult<bool> {
        self.inner.host_should_complete(job.0).py(py)
    }
}
