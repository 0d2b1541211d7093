//! The typed command API: one function per `job-*` / `block-job-*` command,
//! typed job creation (`blockdev-backup`, `blockdev-mirror`) and the queries.
//!
//! Each command does what the same QMP command does (the core's typed
//! methods) and returns `QJOB_OK`, or `QJOB_QMP_ERROR` with QEMU's class and
//! text in the manager's last error.

use crate::ffi::{Fail, c_str, checked, opt_c_str, require, write_out};
use crate::manager::qjob_manager;
use crate::types::{
    qjob_io_status, qjob_job_type, qjob_on_error, qjob_result, qjob_status, qjob_sync_mode,
    qjob_verb,
};
use qjob_core::{BackupOptions, JobManager, JobOptions, MirrorOptions};
use std::ffi::{CString, c_char};

/// Runs a typed verb taking one job ID.
///
/// # Safety
/// As for [`with_manager`](crate::manager::with_manager); `id` NULL or
/// NUL-terminated.
unsafe fn verb(
    m: *mut qjob_manager,
    id: *const c_char,
    arg: &str,
    f: impl FnOnce(&mut JobManager, &str) -> qjob_core::Result<()>,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or NUL-terminated, by the caller's contract.
        let id = unsafe { c_str(id, arg) }?;
        f(&mut w.core, id)?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// `job-pause`: pauses the job `id` (a user pause, nested: each one needs
/// its own resume).
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`
/// (`Job not found`, or the verb table refuses it, e.g. `Job 'x' in state
/// 'concluded' cannot accept command verb 'pause'`).
///
/// # Safety
/// `m` must be NULL or a live manager; `id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_job_pause(m: *mut qjob_manager, id: *const c_char) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, id, "id", |c, id| c.job_pause(id)) }
}

/// `job-resume`: lifts one user pause of the job `id`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`
/// (`Job not found`, `Can't resume a job that was not paused`, verb table).
///
/// # Safety
/// `m` must be NULL or a live manager; `id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_job_resume(m: *mut qjob_manager, id: *const c_char) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, id, "id", |c, id| c.job_resume(id)) }
}

/// `job-cancel`: cancels the job `id` (a ready mirror is cancelled, not
/// completed, as QEMU's `job-cancel` does).
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`.
///
/// # Safety
/// `m` must be NULL or a live manager; `id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_job_cancel(m: *mut qjob_manager, id: *const c_char) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, id, "id", |c, id| c.job_cancel(id)) }
}

/// `job-complete`: completes a ready (or standby) job `id`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`.
///
/// # Safety
/// `m` must be NULL or a live manager; `id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_job_complete(m: *mut qjob_manager, id: *const c_char) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, id, "id", |c, id| c.job_complete(id)) }
}

/// `job-finalize`: finalizes a pending job `id` (and its transaction).
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`.
///
/// # Safety
/// `m` must be NULL or a live manager; `id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_job_finalize(m: *mut qjob_manager, id: *const c_char) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, id, "id", |c, id| c.job_finalize(id)) }
}

/// `job-dismiss`: dismisses a concluded job `id`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`.
///
/// # Safety
/// `m` must be NULL or a live manager; `id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_job_dismiss(m: *mut qjob_manager, id: *const c_char) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, id, "id", |c, id| c.job_dismiss(id)) }
}

/// `block-job-pause`: like `qjob_job_pause()` for the block job `device`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`
/// (class `DeviceNotActive`: `Block job 'x' not found`; verb table).
///
/// # Safety
/// `m` must be NULL or a live manager; `device` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_block_job_pause(
    m: *mut qjob_manager,
    device: *const c_char,
) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, device, "device", |c, d| c.block_job_pause(d)) }
}

/// `block-job-resume`: like `qjob_job_resume()` for the block job `device`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`.
///
/// # Safety
/// `m` must be NULL or a live manager; `device` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_block_job_resume(
    m: *mut qjob_manager,
    device: *const c_char,
) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, device, "device", |c, d| c.block_job_resume(d)) }
}

/// `block-job-cancel`: cancels the block job `device`. Without `force`, a
/// ready mirror completes instead (soft cancel) and a paused job refuses.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`.
///
/// # Safety
/// `m` must be NULL or a live manager; `device` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_block_job_cancel(
    m: *mut qjob_manager,
    device: *const c_char,
    force: bool,
) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, device, "device", |c, d| c.block_job_cancel(d, force)) }
}

/// `block-job-complete`: like `qjob_job_complete()` for the block job `device`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`.
///
/// # Safety
/// `m` must be NULL or a live manager; `device` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_block_job_complete(
    m: *mut qjob_manager,
    device: *const c_char,
) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, device, "device", |c, d| c.block_job_complete(d)) }
}

/// `block-job-finalize`: like `qjob_job_finalize()` for the block job `id`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`.
///
/// # Safety
/// `m` must be NULL or a live manager; `id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_block_job_finalize(
    m: *mut qjob_manager,
    id: *const c_char,
) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, id, "id", |c, id| c.block_job_finalize(id)) }
}

/// `block-job-dismiss`: like `qjob_job_dismiss()` for the block job `id`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`.
///
/// # Safety
/// `m` must be NULL or a live manager; `id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_block_job_dismiss(
    m: *mut qjob_manager,
    id: *const c_char,
) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, id, "id", |c, id| c.block_job_dismiss(id)) }
}

/// `block-job-set-speed`: sets the speed limit of the block job `device`,
/// in bytes per second (0: unlimited). Takes effect at once, as in QEMU.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`
/// (a negative speed: `Parameter 'speed' expects a non-negative value`).
///
/// # Safety
/// `m` must be NULL or a live manager; `device` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_block_job_set_speed(
    m: *mut qjob_manager,
    device: *const c_char,
    speed: i64,
) -> qjob_result {
    // SAFETY: the caller's contract is verb's.
    unsafe { verb(m, device, "device", |c, d| c.block_job_set_speed(d, speed)) }
}

/// Whether the verb table allows `verb` (a `qjob_verb` value) on the job
/// `id` right now; the answer in `*allowed`. For user interfaces: the
/// commands check the same table.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_INVALID_ARGUMENT`
/// (not a `qjob_verb`), `QJOB_NOT_FOUND` (no job `id`).
///
/// # Safety
/// `m` must be NULL or a live manager; `id` NULL or NUL-terminated;
/// `allowed` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_verb_allowed(
    m: *mut qjob_manager,
    id: *const c_char,
    verb: u32,
    allowed: *mut bool,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or NUL-terminated, by the caller's contract.
        let id = unsafe { c_str(id, "id") }?;
        let verb = qjob_verb::from_u32(verb, "verb")?;
        let a = w
            .core
            .verb_allowed(id, verb.into())
            .ok_or_else(|| Fail::new(qjob_result::QJOB_NOT_FOUND, format!("no job '{id}'")))?;
        // SAFETY: NULL or writable, by the caller's contract.
        unsafe { write_out(allowed, "allowed", a) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// Options common to the block-job creation commands.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct qjob_job_options {
    /// Job ID (NUL-terminated), or NULL for none (which QEMU refuses for
    /// nodes without a device name: `Invalid job ID ''`).
    pub job_id: *const c_char,
    /// Initial speed limit, bytes per second (0: unlimited).
    pub speed: i64,
    /// Finalize automatically (QEMU's default: true).
    pub auto_finalize: bool,
    /// Dismiss automatically (QEMU's default: true).
    pub auto_dismiss: bool,
}

impl qjob_job_options {
    /// The core's defaults (`JobOptions::default()`): no ID (NULL).
    fn defaults() -> qjob_job_options {
        let d = JobOptions::default();
        qjob_job_options {
            job_id: std::ptr::null(),
            speed: d.speed,
            auto_finalize: d.auto_finalize,
            auto_dismiss: d.auto_dismiss,
        }
    }

    /// The core's options.
    ///
    /// # Safety
    /// `job_id` NULL or NUL-terminated.
    unsafe fn to_core(self) -> Result<JobOptions, Fail> {
        Ok(JobOptions {
            // SAFETY: NULL or NUL-terminated, by the caller's contract.
            job_id: unsafe { opt_c_str(self.job_id, "job.job_id") }?.map(str::to_owned),
            speed: self.speed,
            auto_finalize: self.auto_finalize,
            auto_dismiss: self.auto_dismiss,
        })
    }
}

/// Arguments of `blockdev-backup`. Initialise with
/// `qjob_backup_options_init()`, then set the fields you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct qjob_backup_options {
    /// ID, speed, auto-finalize, auto-dismiss.
    pub job: qjob_job_options,
    /// Source node name. Required.
    pub device: *const c_char,
    /// Target node name. Required.
    pub target: *const c_char,
    /// A `qjob_sync_mode` value (default `QJOB_SYNC_MODE_FULL`).
    pub sync: u32,
    /// Dirty bitmap name, or NULL.
    pub bitmap: *const c_char,
    /// Compress the target.
    pub compress: bool,
    /// A `qjob_on_error` value for read errors (default `QJOB_ON_ERROR_REPORT`).
    pub on_source_error: u32,
    /// A `qjob_on_error` value for write errors (default `QJOB_ON_ERROR_REPORT`).
    pub on_target_error: u32,
}

/// Arguments of `blockdev-mirror`. Initialise with
/// `qjob_mirror_options_init()`, then set the fields you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct qjob_mirror_options {
    /// ID, speed, auto-finalize, auto-dismiss.
    pub job: qjob_job_options,
    /// Source node name (a root node). Required.
    pub device: *const c_char,
    /// Target node name. Required.
    pub target: *const c_char,
    /// A `qjob_sync_mode` value (default `QJOB_SYNC_MODE_FULL`).
    pub sync: u32,
    /// Dirty-bitmap granularity in bytes (0: default).
    pub granularity: u64,
    /// Buffer size in bytes (0: default 16 MiB).
    pub buf_size: i64,
    /// A `qjob_on_error` value for read errors.
    pub on_source_error: u32,
    /// A `qjob_on_error` value for write errors.
    pub on_target_error: u32,
}

impl qjob_backup_options {
    /// The core's defaults (`BackupOptions::default()`), with NULL device
    /// and target (required) and no bitmap.
    fn defaults() -> qjob_backup_options {
        let d = BackupOptions::default();
        qjob_backup_options {
            job: qjob_job_options::defaults(),
            device: std::ptr::null(),
            target: std::ptr::null(),
            sync: qjob_sync_mode::raw(d.sync),
            bitmap: std::ptr::null(),
            compress: d.compress,
            on_source_error: qjob_on_error::raw(d.on_source_error),
            on_target_error: qjob_on_error::raw(d.on_target_error),
        }
    }

    /// The core's options (the core's defaults for what C cannot set).
    ///
    /// # Safety
    /// The struct's strings NULL or NUL-terminated.
    unsafe fn to_core(self) -> Result<BackupOptions, Fail> {
        Ok(BackupOptions {
            // SAFETY: the struct's strings are NULL or NUL-terminated.
            job: unsafe { self.job.to_core() }?,
            // SAFETY: as above.
            device: unsafe { c_str(self.device, "device") }?.to_owned(),
            // SAFETY: as above.
            target: unsafe { c_str(self.target, "target") }?.to_owned(),
            sync: qjob_sync_mode::parse(self.sync, "sync")?,
            // SAFETY: as above.
            bitmap: unsafe { opt_c_str(self.bitmap, "bitmap") }?.map(str::to_owned),
            compress: self.compress,
            on_source_error: qjob_on_error::parse(self.on_source_error, "on_source_error")?,
            on_target_error: qjob_on_error::parse(self.on_target_error, "on_target_error")?,
            ..BackupOptions::default()
        })
    }
}

impl qjob_mirror_options {
    /// The core's defaults (`MirrorOptions::default()`), with NULL device
    /// and target (required).
    fn defaults() -> qjob_mirror_options {
        let d = MirrorOptions::default();
        qjob_mirror_options {
            job: qjob_job_options::defaults(),
            device: std::ptr::null(),
            target: std::ptr::null(),
            sync: qjob_sync_mode::raw(d.sync),
            granularity: d.granularity,
            buf_size: d.buf_size,
            on_source_error: qjob_on_error::raw(d.on_source_error),
            on_target_error: qjob_on_error::raw(d.on_target_error),
        }
    }

    /// The core's options (the core's defaults for what C cannot set).
    ///
    /// # Safety
    /// The struct's strings NULL or NUL-terminated.
    unsafe fn to_core(self) -> Result<MirrorOptions, Fail> {
        Ok(MirrorOptions {
            // SAFETY: the struct's strings are NULL or NUL-terminated.
            job: unsafe { self.job.to_core() }?,
            // SAFETY: as above.
            device: unsafe { c_str(self.device, "device") }?.to_owned(),
            // SAFETY: as above.
            target: unsafe { c_str(self.target, "target") }?.to_owned(),
            sync: qjob_sync_mode::parse(self.sync, "sync")?,
            granularity: self.granularity,
            buf_size: self.buf_size,
            on_source_error: qjob_on_error::parse(self.on_source_error, "on_source_error")?,
            on_target_error: qjob_on_error::parse(self.on_target_error, "on_target_error")?,
            ..MirrorOptions::default()
        })
    }
}

/// Fills `*options` with the core's defaults, QEMU's: no ID, speed 0,
/// auto-finalize and auto-dismiss on, sync full, no bitmap, no compression,
/// `report` policies, NULL device and target.
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `options` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_backup_options_init(
    options: *mut qjob_backup_options,
) -> qjob_result {
    // SAFETY: NULL or writable, by the caller's contract.
    unsafe { init(options, qjob_backup_options::defaults) }
}

/// Fills `*options` with the core's defaults (as
/// `qjob_backup_options_init()`; granularity and buffer size 0 mean QEMU's
/// defaults).
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `options` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_mirror_options_init(
    options: *mut qjob_mirror_options,
) -> qjob_result {
    // SAFETY: NULL or writable, by the caller's contract.
    unsafe { init(options, qjob_mirror_options::defaults) }
}

/// Writes `defaults()` to `*options`: the body of every `*_options_init`.
///
/// # Safety
/// `options` must be NULL or writable.
pub(crate) unsafe fn init<T>(options: *mut T, defaults: impl FnOnce() -> T) -> qjob_result {
    ffi_boundary!(qjob_result::QJOB_PANIC, {
        // SAFETY: NULL or writable, by the caller's contract.
        match unsafe { write_out(options, "options", defaults()) } {
            Ok(()) => qjob_result::QJOB_OK,
            Err(e) => e.code,
        }
    })
}

/// `blockdev-backup`: creates and starts a backup job, as the QMP command
/// does (drained sections and all; see the events it queues).
///
/// Errors: `QJOB_NULL_ARGUMENT` (options, device or target), `QJOB_INVALID_UTF8`,
/// `QJOB_INVALID_ARGUMENT` (an enum field out of range), `QJOB_QMP_ERROR`
/// (QEMU's refusals: unknown node, ID in use, …).
///
/// # Safety
/// `m` must be NULL or a live manager; `options` NULL or a valid struct whose
/// strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_blockdev_backup(
    m: *mut qjob_manager,
    options: *const qjob_backup_options,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or valid, by the caller's contract.
        let o = unsafe { checked(options, "options") }?;
        // SAFETY: the struct's strings are NULL or NUL-terminated.
        let opts = unsafe { o.to_core() }?;
        w.core.blockdev_backup(opts)?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// `blockdev-mirror`: creates and starts a mirror job.
///
/// Errors: as `qjob_blockdev_backup()`.
///
/// # Safety
/// `m` must be NULL or a live manager; `options` NULL or a valid struct whose
/// strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_blockdev_mirror(
    m: *mut qjob_manager,
    options: *const qjob_mirror_options,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or valid, by the caller's contract.
        let o = unsafe { checked(options, "options") }?;
        // SAFETY: the struct's strings are NULL or NUL-terminated.
        let opts = unsafe { o.to_core() }?;
        w.core.blockdev_mirror(opts)?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// One entry of `query-jobs` (QAPI `JobInfo`). Its strings are borrowed
/// from the manager.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct qjob_job_info {
    /// The job ID.
    pub id: *const c_char,
    /// The job type.
    pub job_type: qjob_job_type,
    /// The status.
    pub status: qjob_status,
    /// Progress made so far.
    pub current_progress: u64,
    /// Estimated progress at the end.
    pub total_progress: u64,
    /// The error text once the job has failed, else NULL.
    pub error: *const c_char,
}

/// One entry of `query-block-jobs` (QAPI `BlockJobInfo`). Its strings are
/// borrowed from the manager.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct qjob_block_job_info {
    /// The job type.
    pub job_type: qjob_job_type,
    /// The job ID.
    pub device: *const c_char,
    /// Total progress.
    pub len: u64,
    /// Current progress.
    pub offset: u64,
    /// Whether the job's coroutine is running right now.
    pub busy: bool,
    /// Whether a pause is requested (user or internal).
    pub paused: bool,
    /// Speed limit in bytes per second (0: unlimited).
    pub speed: u64,
    /// I/O status.
    pub io_status: qjob_io_status,
    /// Whether the status is ready or standby.
    pub ready: bool,
    /// The status.
    pub status: qjob_status,
    /// Finalize automatically.
    pub auto_finalize: bool,
    /// Dismiss automatically.
    pub auto_dismiss: bool,
    /// The error text when the job's return value is an error, else NULL.
    pub error: *const c_char,
}

/// Keeps `s` alive in the manager's lent strings and returns its pointer.
fn keep(strings: &mut Vec<CString>, s: &str) -> *const c_char {
    let c = crate::ffi::c_string(s);
    let p = c.as_ptr();
    // Moving the CString into the Vec does not move its heap buffer.
    strings.push(c);
    p
}

/// `query-jobs`: every job with an ID, newest first. `*jobs` points to
/// `*count` entries (NULL when there are none).
///
/// Borrowed: the array and its strings are valid until the next non-const
/// call on `m`.
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `m` must be NULL or a live manager; `jobs` and `count` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_query_jobs(
    m: *mut qjob_manager,
    jobs: *mut *const qjob_job_info,
    count: *mut usize,
) -> qjob_result {
    manager_call!(m, |w| {
        require(jobs.cast_const(), "jobs")?;
        require(count.cast_const(), "count")?;
        let lent = &mut w.lent;
        lent.strings.clear();
        lent.jobs.clear();
        for j in w.core.query_jobs() {
            let info = qjob_job_info {
                id: keep(&mut lent.strings, &j.id),
                job_type: j.job_type.into(),
                status: j.status.into(),
                current_progress: j.current_progress,
                total_progress: j.total_progress,
                error: j
                    .error
                    .as_deref()
                    .map_or(std::ptr::null(), |e| keep(&mut lent.strings, e)),
            };
            lent.jobs.push(info);
        }
        let p = if lent.jobs.is_empty() {
            std::ptr::null()
        } else {
            lent.jobs.as_ptr()
        };
        // SAFETY: both checked non-NULL; writable by the contract.
        unsafe { write_out(jobs, "jobs", p) }?;
        // SAFETY: as above.
        unsafe { write_out(count, "count", lent.jobs.len()) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// `query-block-jobs`: every block job with an ID, newest first. `*jobs`
/// points to `*count` entries (NULL when there are none).
///
/// Borrowed: the array and its strings are valid until the next non-const
/// call on `m`.
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `m` must be NULL or a live manager; `jobs` and `count` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_query_block_jobs(
    m: *mut qjob_manager,
    jobs: *mut *const qjob_block_job_info,
    count: *mut usize,
) -> qjob_result {
    manager_call!(m, |w| {
        require(jobs.cast_const(), "jobs")?;
        require(count.cast_const(), "count")?;
        let lent = &mut w.lent;
        lent.strings.clear();
        lent.block_jobs.clear();
        for j in w.core.query_block_jobs() {
            let info = qjob_block_job_info {
                job_type: j.job_type.into(),
                device: keep(&mut lent.strings, &j.device),
                len: j.len,
                offset: j.offset,
                busy: j.busy,
                paused: j.paused,
                speed: j.speed,
                io_status: j.io_status.into(),
                ready: j.ready,
                status: j.status.into(),
                auto_finalize: j.auto_finalize,
                auto_dismiss: j.auto_dismiss,
                error: j
                    .error
                    .as_deref()
                    .map_or(std::ptr::null(), |e| keep(&mut lent.strings, e)),
            };
            lent.block_jobs.push(info);
        }
        let p = if lent.block_jobs.is_empty() {
            std::ptr::null()
        } else {
            lent.block_jobs.as_ptr()
        };
        // SAFETY: both checked non-NULL; writable by the contract.
        unsafe { write_out(jobs, "jobs", p) }?;
        // SAFETY: as above.
        unsafe { write_out(count, "count", lent.block_jobs.len()) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `*_options_init` gives the core's defaults: read back into the
    /// core's options (with the required nodes set), they are its
    /// `Default`, field for field.
    #[test]
    fn options_init_gives_the_core_defaults() {
        let mut b = qjob_backup_options::defaults();
        // SAFETY: `b` is writable.
        let r = unsafe { qjob_backup_options_init(&mut b) };
        assert_eq!(r, qjob_result::QJOB_OK);
        (b.device, b.target) = (c"src".as_ptr(), c"dst".as_ptr());
        let expected = BackupOptions {
            device: "src".into(),
            target: "dst".into(),
            ..BackupOptions::default()
        };
        // SAFETY: the strings are NUL-terminated or NULL.
        assert_eq!(unsafe { b.to_core() }.ok(), Some(expected));

        let mut m = qjob_mirror_options::defaults();
        // SAFETY: `m` is writable.
        let r = unsafe { qjob_mirror_options_init(&mut m) };
        assert_eq!(r, qjob_result::QJOB_OK);
        (m.device, m.target) = (c"src".as_ptr(), c"dst".as_ptr());
        let expected = MirrorOptions {
            device: "src".into(),
            target: "dst".into(),
            ..MirrorOptions::default()
        };
        // SAFETY: as above.
        assert_eq!(unsafe { m.to_core() }.ok(), Some(expected));

        let mut h = crate::host::qjob_host_job_options {
            has_transaction: true,
            ..crate::host::qjob_host_job_options::defaults()
        };
        // SAFETY: `h` is writable.
        let r = unsafe { crate::host::qjob_host_job_options_init(&mut h) };
        assert_eq!(r, qjob_result::QJOB_OK);
        // SAFETY: as above.
        let back = unsafe { h.to_core() }.ok();
        assert_eq!(back, Some(qjob_core::HostJobOptions::default()));

        // SAFETY: NULL is refused, not written.
        let r = unsafe { qjob_backup_options_init(std::ptr::null_mut()) };
        assert_eq!(r, qjob_result::QJOB_NULL_ARGUMENT);
    }
}
