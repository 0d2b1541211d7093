//! (c) The C API (bindings-c's `extern "C"` functions, compiled in as an
//! rlib) with hostile arguments: NULL pointers everywhere one may be NULL,
//! strings of arbitrary bytes (bad UTF-8, unknown IDs), out-of-range enum
//! values, arbitrary host-job handles, reports out of order, corrupt and
//! truncated snapshots, arbitrary clock values. Within the API's contract
//! (pointers NULL or valid), no call may panic (`QJOB_PANIC`), return a code
//! outside `qjob_result`, or hand back an invalid string.
//!
//! Besides, `qjob_tests::Checker` follows what the C API shows of the
//! lifecycle (every event popped, in its struct or its JSON form) and checks
//! its invariants on it: table transitions, for host jobs too; events agree
//! with `qjob_query_jobs`/`qjob_query_block_jobs` whenever no event is
//! queued (`Call::Check` pops them all); unique IDs; each job command
//! accepted exactly when the verb table allows it, and `qjob_verb_allowed`
//! the table's answer.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qjob::JobStatus;
use qjob_c::*;
use qjob_tests::{Checker, Command, Listed, ListedBlock, Outcome};
use std::ffi::{CStr, CString, c_char};
use std::ptr::{null, null_mut};

#[derive(Arbitrary, Debug)]
enum Str {
    Null,
    Known(u8),
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Call {
    Verb {
        which: u8,
        id: Str,
        extra: i64,
    },
    VerbAllowed {
        id: Str,
        verb: u32,
        null_out: bool,
    },
    Backup {
        id: Str,
        dev: Str,
        target: Str,
        sync: u32,
        speed: i64,
        src_err: u32,
        tgt_err: u32,
        af: bool,
        ad: bool,
        bitmap: Str,
        null_opts: bool,
    },
    Mirror {
        id: Str,
        dev: Str,
        target: Str,
        sync: u32,
        speed: i64,
        gran: u64,
        buf: i64,
        af: bool,
        ad: bool,
    },
    Execute {
        json: Vec<u8>,
        null_reply: bool,
    },
    JsonSorted {
        json: Vec<u8>,
    },
    Step {
        null_out: bool,
    },
    Settle,
    Tick(u32),
    Advance(u32),
    NextDeadline {
        null_out: bool,
    },
    Query {
        block: bool,
        null_out: bool,
    },
    PollEvent {
        json: bool,
        null_out: bool,
    },
    NewTxn,
    HostJob {
        id: Str,
        job_type: u32,
        speed: i64,
        txn: Option<u8>,
        completable: bool,
        prepare: bool,
        src_err: u32,
        af: bool,
        ad: bool,
    },
    HandleOf {
        id: Str,
    },
    PollAction,
    Host {
        which: u8,
        handle: Handle,
        a: u64,
        b: u64,
        err: i32,
        msg: Str,
    },
    Snapshot {
        json: bool,
        corrupt: Option<(u16, u8)>,
        truncate: Option<u16>,
    },
    Restore {
        bytes: Vec<u8>,
        json: bool,
    },
    Names(u32),
    LastError,
    SetMachine(bool),
    AddImage {
        file: Str,
        format: Str,
        size: u64,
        backing: Str,
        extents: Vec<(u64, u64)>,
    },
    /// Pops every queued event into the checker and checks the listings.
    Check,
}

#[derive(Arbitrary, Debug)]
enum Handle {
    Known(u8),
    Raw(u64),
}

const IDS: [&str; 5] = ["j0", "j1", "src", "dst", ""];

struct Strs(Vec<CString>);

impl Strs {
    fn get(&mut self, s: &Str) -> *const c_char {
        let c = match s {
            Str::Null => return null(),
            Str::Known(i) => CString::new(IDS[*i as usize % IDS.len()]).unwrap(),
            Str::Bytes(b) => {
                CString::new(b.iter().copied().filter(|&x| x != 0).collect::<Vec<_>>()).unwrap()
            }
        };
        self.0.push(c);
        self.0.last().unwrap().as_ptr()
    }
}

fn ok(r: qjob_result) {
    assert!(r != qjob_result::QJOB_PANIC, "the C API panicked");
}

unsafe fn check_string(p: *const c_char) {
    if !p.is_null() {
        // SAFETY: strings the API hands out are NUL-terminated.
        let s = unsafe { CStr::from_ptr(p) };
        assert!(
            s.to_str().is_ok(),
            "the C API returned a string that is not UTF-8"
        );
    }
}

/// The command `qjob_…` function number `which` runs, if it is one.
fn command(which: u8, extra: i64) -> Option<Command> {
    Some(match which % 14 {
        0 => Command::Pause,
        1 => Command::Resume,
        2 => Command::Cancel,
        3 => Command::Complete,
        4 => Command::Finalize,
        5 => Command::Dismiss,
        6 => Command::BlockPause,
        7 => Command::BlockResume,
        8 if extra & 1 == 1 => Command::ForceCancel,
        8 => Command::SoftCancel,
        9 => Command::BlockComplete,
        10 => Command::BlockFinalize,
        11 => Command::BlockDismiss,
        12 => Command::SetSpeed(extra),
        _ => return None,
    })
}

/// Runs `cmd` on job `id` through the C API.
unsafe fn run_c(m: *mut qjob_manager, cmd: Command, id: *const c_char) -> qjob_result {
    // SAFETY: the caller's contract (m a live manager, id NULL or a string).
    unsafe {
        match cmd {
            Command::Pause => qjob_job_pause(m, id),
            Command::Resume => qjob_job_resume(m, id),
            Command::Cancel => qjob_job_cancel(m, id),
            Command::Complete => qjob_job_complete(m, id),
            Command::Finalize => qjob_job_finalize(m, id),
            Command::Dismiss => qjob_job_dismiss(m, id),
            Command::BlockPause => qjob_block_job_pause(m, id),
            Command::BlockResume => qjob_block_job_resume(m, id),
            Command::SoftCancel => qjob_block_job_cancel(m, id, false),
            Command::ForceCancel => qjob_block_job_cancel(m, id, true),
            Command::BlockComplete => qjob_block_job_complete(m, id),
            Command::BlockFinalize => qjob_block_job_finalize(m, id),
            Command::BlockDismiss => qjob_block_job_dismiss(m, id),
            Command::SetSpeed(s) => qjob_block_job_set_speed(m, id, s),
        }
    }
}

/// Runs `cmd` on job `id` through the C API and, for an ID that is
/// UTF-8, checks the outcome against the verb table
/// (`Checker::check_verdict`, with `qjob_verb_allowed` as the API's answer).
unsafe fn checked_command(m: *mut qjob_manager, cmd: Command, id: *const c_char) {
    // SAFETY (whole block): m is live, id NULL or a string.
    unsafe {
        let name = if id.is_null() {
            None
        } else {
            CStr::from_ptr(id).to_str().ok()
        };
        // A block-job-* command finds only block jobs.
        let listed = if cmd.is_block() {
            query_block_jobs(m)
                .into_iter()
                .map(|(id, status, _)| (id, status))
                .collect()
        } else {
            query_jobs(m)
        };
        let before = name.and_then(|n| listed.into_iter().find(|j| j.0 == n).map(|j| j.1));
        let mut allowed = false;
        let verb = cmd.verb().index() as u32;
        let reported = if qjob_verb_allowed(m, id, verb, &mut allowed) == qjob_result::QJOB_OK {
            Some(allowed)
        } else {
            None
        };
        let r = run_c(m, cmd, id);
        ok(r);
        if let Some(n) = name {
            let outcome = if r == qjob_result::QJOB_OK {
                Ok(())
            } else {
                Err(text(qjob_last_error_desc(m)))
            };
            Checker::check_verdict(cmd, n, before, reported, outcome);
        }
    }
}

/// A string the API lent, as `&str` (checked UTF-8 by `check_string`).
unsafe fn text<'a>(p: *const c_char) -> &'a str {
    // SAFETY: the caller's contract (p a NUL-terminated string the API lent).
    unsafe { CStr::from_ptr(p) }.to_str().expect("UTF-8")
}

/// Follows one event popped in its struct form.
unsafe fn follow(c: &mut Checker, e: &qjob_event) {
    // SAFETY: the caller's contract (e popped by qjob_poll_event just now).
    let id = unsafe { text(e.job_id) };
    match e.kind {
        qjob_event_kind::JobStatusChange => c.status_changed(id, e.status.into()),
        qjob_event_kind::BlockJobCompleted if e.error.is_null() => c.ended(id, Outcome::Ok),
        qjob_event_kind::BlockJobCompleted => c.ended(id, Outcome::Failed),
        qjob_event_kind::BlockJobCancelled => c.ended(id, Outcome::Cancelled),
        _ => {}
    }
}

/// `query-jobs` through the C API: (ID, status) per job.
unsafe fn query_jobs(m: *mut qjob_manager) -> Vec<(String, JobStatus)> {
    let mut p: *const qjob_job_info = null();
    let mut n = 0usize;
    // SAFETY: m is live; the entries stay valid until the next call on m.
    unsafe {
        assert_eq!(qjob_query_jobs(m, &mut p, &mut n), qjob_result::QJOB_OK);
        (0..n)
            .map(|i| {
                let j = &*p.add(i);
                check_string(j.id);
                (text(j.id).to_owned(), j.status.into())
            })
            .collect()
    }
}

/// `query-block-jobs` through the C API: (ID, status, ready) per job.
unsafe fn query_block_jobs(m: *mut qjob_manager) -> Vec<(String, JobStatus, bool)> {
    let mut p: *const qjob_block_job_info = null();
    let mut n = 0usize;
    // SAFETY: m is live; the entries stay valid until the next call on m.
    unsafe {
        assert_eq!(
            qjob_query_block_jobs(m, &mut p, &mut n),
            qjob_result::QJOB_OK
        );
        (0..n)
            .map(|i| {
                let b = &*p.add(i);
                check_string(b.device);
                (text(b.device).to_owned(), b.status.into(), b.ready)
            })
            .collect()
    }
}

/// Pops every queued event into `c` and checks the listings against it.
unsafe fn check_all(m: *mut qjob_manager, c: &mut Checker) {
    // SAFETY (whole block): m is live; each entry is read before the next
    // call on m.
    unsafe {
        let mut e: qjob_event = std::mem::zeroed();
        while qjob_poll_event(m, &mut e) == qjob_result::QJOB_OK {
            follow(c, &e);
        }
        let jobs = query_jobs(m);
        let block = query_block_jobs(m);
        let jobs: Vec<Listed<'_>> = jobs
            .iter()
            .map(|(id, status)| Listed {
                id,
                status: *status,
            })
            .collect();
        let block: Vec<ListedBlock<'_>> = block
            .iter()
            .map(|(device, status, ready)| ListedBlock {
                device,
                status: *status,
                ready: *ready,
            })
            .collect();
        c.check_lists(&jobs, &block);
    }
}

fuzz_target!(|calls: Vec<Call>| {
    let m = qjob_manager_new();
    assert!(!m.is_null());
    let mut strs = Strs(Vec::new());
    let mut handles: Vec<u64> = Vec::new();
    let mut txns: Vec<u64> = Vec::new();
    // None once a restore of foreign bytes succeeded: the checker cannot
    // follow a state it did not see arise.
    let mut checker = Some(Checker::new());
    // SAFETY (whole block): every pointer passed is NULL, points at a live
    // local, or is one the API returned; this is the contract of qjob.h.
    unsafe {
        for call in calls.into_iter().take(100) {
            strs.0.clear();
            match call {
                Call::Verb { which, id, extra } => {
                    let id = strs.get(&id);
                    match command(which, extra) {
                        Some(cmd) => checked_command(m, cmd, id),
                        None => ok(qjob_job_pause(null_mut(), id)),
                    }
                }
                Call::VerbAllowed { id, verb, null_out } => {
                    let id = strs.get(&id);
                    let mut a = false;
                    ok(qjob_verb_allowed(
                        m,
                        id,
                        verb,
                        if null_out { null_mut() } else { &mut a },
                    ));
                }
                Call::Backup {
                    id,
                    dev,
                    target,
                    sync,
                    speed,
                    src_err,
                    tgt_err,
                    af,
                    ad,
                    bitmap,
                    null_opts,
                } => {
                    let mut o: qjob_backup_options = std::mem::zeroed();
                    ok(qjob_backup_options_init(&mut o));
                    o.job.job_id = strs.get(&id);
                    o.job.speed = speed;
                    o.job.auto_finalize = af;
                    o.job.auto_dismiss = ad;
                    o.device = strs.get(&dev);
                    o.target = strs.get(&target);
                    o.sync = sync % 8;
                    o.bitmap = strs.get(&bitmap);
                    o.on_source_error = src_err % 8;
                    o.on_target_error = tgt_err;
                    ok(qjob_blockdev_backup(m, if null_opts { null() } else { &o }));
                }
                Call::Mirror {
                    id,
                    dev,
                    target,
                    sync,
                    speed,
                    gran,
                    buf,
                    af,
                    ad,
                } => {
                    let mut o: qjob_mirror_options = std::mem::zeroed();
                    ok(qjob_mirror_options_init(&mut o));
                    o.job.job_id = strs.get(&id);
                    o.job.speed = speed;
                    o.job.auto_finalize = af;
                    o.job.auto_dismiss = ad;
                    o.device = strs.get(&dev);
                    o.target = strs.get(&target);
                    o.sync = sync % 8;
                    o.granularity = gran;
                    o.buf_size = buf;
                    ok(qjob_blockdev_mirror(m, &o));
                }
                Call::Execute { json, null_reply } => {
                    let mut reply: *mut c_char = null_mut();
                    let r = qjob_execute(
                        m,
                        json.as_ptr().cast(),
                        json.len(),
                        if null_reply { null_mut() } else { &mut reply },
                    );
                    ok(r);
                    check_string(reply);
                    // A reply (return or error) exactly on QJOB_OK / QJOB_QMP_ERROR.
                    assert_eq!(
                        matches!(r, qjob_result::QJOB_OK | qjob_result::QJOB_QMP_ERROR),
                        !reply.is_null(),
                        "{r:?}"
                    );
                    if r == qjob_result::QJOB_OK {
                        assert!(CStr::from_ptr(reply).to_bytes().starts_with(b"{\"return\""));
                    }
                    qjob_string_free(reply);
                }
                Call::JsonSorted { json } => {
                    let mut out: *mut c_char = null_mut();
                    ok(qjob_json_sorted(json.as_ptr().cast(), json.len(), &mut out));
                    check_string(out);
                    qjob_string_free(out);
                }
                Call::Step { null_out } => {
                    let mut more = false;
                    ok(qjob_step(m, if null_out { null_mut() } else { &mut more }));
                }
                Call::Settle => {
                    let mut n = 0usize;
                    ok(qjob_settle(m, &mut n));
                }
                Call::Tick(t) => ok(qjob_tick(m, qjob_now(m).saturating_add(u64::from(t)))),
                Call::Advance(t) => ok(qjob_advance(m, u64::from(t))),
                Call::NextDeadline { null_out } => {
                    let mut d = 0u64;
                    ok(qjob_next_deadline(
                        m,
                        if null_out { null_mut() } else { &mut d },
                    ));
                    let _ = qjob_has_ready_work(m);
                }
                Call::Query { block, null_out } => {
                    let mut n = 0usize;
                    if block {
                        let mut p: *const qjob_block_job_info = null();
                        ok(qjob_query_block_jobs(
                            m,
                            if null_out { null_mut() } else { &mut p },
                            &mut n,
                        ));
                        for i in 0..if p.is_null() { 0 } else { n } {
                            check_string((*p.add(i)).device);
                        }
                    } else {
                        let mut p: *const qjob_job_info = null();
                        ok(qjob_query_jobs(
                            m,
                            &mut p,
                            if null_out { null_mut() } else { &mut n },
                        ));
                        if !p.is_null() && !null_out {
                            for i in 0..n {
                                let j = &*p.add(i);
                                check_string(j.id);
                                check_string(j.error);
                            }
                            Checker::check_unique(
                                (0..n).map(|i| text((*p.add(i)).id)),
                                "qjob_query_jobs",
                            );
                        }
                    }
                }
                Call::PollEvent { json, null_out } => {
                    if json {
                        let mut s: *mut c_char = null_mut();
                        ok(qjob_poll_event_json(
                            m,
                            if null_out { null_mut() } else { &mut s },
                        ));
                        check_string(s);
                        if let (false, Some(c)) = (s.is_null(), checker.as_mut()) {
                            c.follow_json(text(s));
                        }
                        qjob_string_free(s);
                    } else {
                        let mut e: qjob_event = std::mem::zeroed();
                        let r = qjob_poll_event(m, if null_out { null_mut() } else { &mut e });
                        ok(r);
                        if r == qjob_result::QJOB_OK {
                            check_string(e.name);
                            check_string(e.job_id);
                            if let Some(c) = checker.as_mut() {
                                follow(c, &e);
                            }
                        }
                    }
                    let _ = qjob_pending_events(m);
                }
                Call::NewTxn => {
                    let mut t = 0u64;
                    if qjob_new_transaction(m, &mut t) == qjob_result::QJOB_OK {
                        txns.push(t);
                    }
                }
                Call::HostJob {
                    id,
                    job_type,
                    speed,
                    txn,
                    completable,
                    prepare,
                    src_err,
                    af,
                    ad,
                } => {
                    let mut o: qjob_host_job_options = std::mem::zeroed();
                    ok(qjob_host_job_options_init(&mut o));
                    o.id = strs.get(&id);
                    o.job_type = job_type % 12;
                    o.speed = speed;
                    o.auto_finalize = af;
                    o.auto_dismiss = ad;
                    o.on_source_error = src_err % 7;
                    o.completable = completable;
                    o.prepare = prepare;
                    if let Some(t) = txn {
                        o.has_transaction = true;
                        o.transaction = txns
                            .get(t as usize % (txns.len() + 1))
                            .copied()
                            .unwrap_or(u64::from(t));
                    }
                    let mut h = 0u64;
                    let r = qjob_create_host_job(m, &o, &mut h);
                    ok(r);
                    if r == qjob_result::QJOB_OK {
                        handles.push(h);
                    }
                }
                Call::HandleOf { id } => {
                    let id = strs.get(&id);
                    let mut h = 0u64;
                    ok(qjob_job_handle_of(m, id, &mut h));
                }
                Call::PollAction => {
                    let mut a: qjob_action = std::mem::zeroed();
                    ok(qjob_poll_action(m, &mut a));
                    let _ = qjob_pending_actions(m);
                }
                Call::Host {
                    which,
                    handle,
                    a,
                    b,
                    err,
                    msg,
                } => {
                    let h = match handle {
                        Handle::Known(i) => handles
                            .get(i as usize % (handles.len() + 1))
                            .copied()
                            .unwrap_or(0),
                        Handle::Raw(r) => r,
                    };
                    let mut dir = qjob_host_directive::Continue;
                    let r = match which % 9 {
                        0 => qjob_host_progress(m, h, a, b),
                        1 => qjob_host_pause_point(m, h, &mut dir),
                        2 => qjob_host_sleep(m, h, a, &mut dir),
                        3 => {
                            let mut act = qjob_host_error_action::Retry;
                            qjob_host_io_error(m, h, (b % 4) as u32, err, &mut act)
                        }
                        4 => qjob_host_ready(m, h),
                        5 => {
                            let msg = strs.get(&msg);
                            qjob_host_run_finished(m, h, err, msg)
                        }
                        6 => qjob_host_prepare_done(m, h, err),
                        7 => {
                            let mut d = 0u64;
                            qjob_host_rate_delay(m, h, a, &mut d)
                        }
                        _ => {
                            let mut c = false;
                            qjob_host_should_complete(m, h, &mut c)
                        }
                    };
                    ok(r);
                }
                Call::Snapshot {
                    json,
                    corrupt,
                    truncate,
                } => {
                    if json {
                        let mut s: *mut c_char = null_mut();
                        ok(qjob_snapshot_json(m, &mut s));
                        assert!(!s.is_null());
                        let mut v = CStr::from_ptr(s).to_bytes().to_vec();
                        qjob_string_free(s);
                        if let Some((at, x)) = corrupt {
                            let at = at as usize % v.len();
                            v[at] ^= x;
                        }
                        if let Some(t) = truncate {
                            v.truncate(t as usize);
                        }
                        ok(qjob_restore_json(m, v.as_ptr().cast(), v.len()));
                    } else {
                        let mut p: *mut u8 = null_mut();
                        let mut n = 0usize;
                        ok(qjob_snapshot(m, &mut p, &mut n));
                        assert!(!p.is_null());
                        let mut v = std::slice::from_raw_parts(p, n).to_vec();
                        qjob_bytes_free(p, n);
                        if let Some((at, x)) = corrupt {
                            let at = at as usize % v.len();
                            v[at] ^= x;
                        }
                        if let Some(t) = truncate {
                            v.truncate(t as usize);
                        }
                        ok(qjob_restore(m, v.as_ptr(), v.len()));
                    }
                }
                Call::Restore { bytes, json } => {
                    let r = if json {
                        qjob_restore_json(m, bytes.as_ptr().cast(), bytes.len())
                    } else {
                        qjob_restore(m, bytes.as_ptr(), bytes.len())
                    };
                    ok(r);
                    if r == qjob_result::QJOB_OK {
                        checker = None;
                    }
                }
                Call::Names(v) => {
                    check_string(qjob_result_name(v));
                    check_string(qjob_status_name(v));
                    check_string(qjob_job_type_name(v));
                    check_string(qjob_verb_name(v));
                    check_string(qjob_error_class_name(v));
                }
                Call::LastError => {
                    let _ = qjob_last_error_code(m);
                    let _ = qjob_last_error_class(m);
                    check_string(qjob_last_error_class_name(m));
                    check_string(qjob_last_error_desc(m));
                    check_string(qjob_last_error_desc(null()));
                    let _ = qjob_now(null());
                }
                Call::SetMachine(b) => ok(qjob_set_machine(m, b)),
                Call::AddImage {
                    file,
                    format,
                    size,
                    backing,
                    extents,
                } => {
                    let ext: Vec<qjob_extent> = extents
                        .iter()
                        .take(8)
                        .map(|&(offset, length)| qjob_extent { offset, length })
                        .collect();
                    let img = qjob_image {
                        file: strs.get(&file),
                        format: strs.get(&format),
                        size,
                        backing: strs.get(&backing),
                        data: if ext.is_empty() { null() } else { ext.as_ptr() },
                        data_len: ext.len(),
                    };
                    ok(qjob_add_image(m, &img));
                }
                Call::Check => {
                    if let Some(c) = checker.as_mut() {
                        check_all(m, c);
                    }
                }
            }
            assert!(
                qjob_last_error_code(m) != qjob_result::QJOB_PANIC,
                "manager poisoned"
            );
            if let (0, Some(c)) = (qjob_pending_events(m), checker.as_mut()) {
                check_all(m, c);
            }
        }
        qjob_manager_free(m);
        qjob_manager_free(null_mut());
        qjob_string_free(null_mut());
        qjob_bytes_free(null_mut(), 0);
    }
});
