//! (c) The C API (bindings-c's `extern "C"` functions, compiled in as an
//! rlib) with hostile arguments: NULL pointers everywhere one may be NULL,
//! strings of arbitrary bytes (bad UTF-8, unknown IDs), out-of-range enum
//! values, arbitrary host-job handles, reports out of order, corrupt and
//! truncated snapshots, arbitrary clock values. Within the API's contract
//! (pointers NULL or valid), no call may panic (`QJOB_PANIC`), return a code
//! outside `qjob_result`, or hand back an invalid string.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qjob_c::*;
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

fuzz_target!(|calls: Vec<Call>| {
    let m = qjob_manager_new();
    assert!(!m.is_null());
    let mut strs = Strs(Vec::new());
    let mut handles: Vec<u64> = Vec::new();
    let mut txns: Vec<u64> = Vec::new();
    // SAFETY (whole block): every pointer passed is NULL, points at a live
    // local, or is one the API returned; this is the contract of qjob.h.
    unsafe {
        for call in calls.into_iter().take(100) {
            strs.0.clear();
            match call {
                Call::Verb { which, id, extra } => {
                    let id = strs.get(&id);
                    let r = match which % 14 {
                        0 => qjob_job_pause(m, id),
                        1 => qjob_job_resume(m, id),
                        2 => qjob_job_cancel(m, id),
                        3 => qjob_job_complete(m, id),
                        4 => qjob_job_finalize(m, id),
                        5 => qjob_job_dismiss(m, id),
                        6 => qjob_block_job_pause(m, id),
                        7 => qjob_block_job_resume(m, id),
                        8 => qjob_block_job_cancel(m, id, extra & 1 == 1),
                        9 => qjob_block_job_complete(m, id),
                        10 => qjob_block_job_finalize(m, id),
                        11 => qjob_block_job_dismiss(m, id),
                        12 => qjob_block_job_set_speed(m, id, extra),
                        _ => qjob_job_pause(null_mut(), id),
                    };
                    ok(r);
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
                            let mut seen = std::collections::BTreeSet::new();
                            for i in 0..n {
                                let j = &*p.add(i);
                                check_string(j.id);
                                check_string(j.error);
                                assert!(
                                    seen.insert(CStr::from_ptr(j.id).to_owned()),
                                    "duplicate ID"
                                );
                            }
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
                        qjob_string_free(s);
                    } else {
                        let mut e: qjob_event = std::mem::zeroed();
                        let r = qjob_poll_event(m, if null_out { null_mut() } else { &mut e });
                        ok(r);
                        if r == qjob_result::QJOB_OK {
                            check_string(e.name);
                            check_string(e.job_id);
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
                    if json {
                        ok(qjob_restore_json(m, bytes.as_ptr().cast(), bytes.len()));
                    } else {
                        ok(qjob_restore(m, bytes.as_ptr(), bytes.len()));
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
            }
            assert!(
                qjob_last_error_code(m) != qjob_result::QJOB_PANIC,
                "manager poisoned"
            );
        }
        qjob_manager_free(m);
        qjob_manager_free(null_mut());
        qjob_string_free(null_mut());
        qjob_bytes_free(null_mut(), 0);
    }
});
