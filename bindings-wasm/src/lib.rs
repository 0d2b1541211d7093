//! # qjob-wasm — QEMU 7.2's job lifecycle for JavaScript
//!
//! A thin wasm-bindgen translation of the `qjob` core: every behaviour lives
//! in the core, this crate converts values (JSON values ⇄ plain JS objects
//! as JSON text: one `JSON.stringify` or `JSON.parse` per crossing, keeping
//! key order; events stay core events until drained), errors (a thrown
//! `QmpError` with QEMU's `class` and text) and numbers (virtual nanoseconds
//! are JS numbers).
//!
//! Exports:
//! - [`JsJobManager`] (`JobManager` in JS): QMP `execute`, a typed method per
//!   command, the virtual clock, events, snapshots, the named nodes, and the
//!   scenario replayer for the simulator; and host-driven jobs
//!   (`createHostJob`, `pollAction`, the `host*` reports: see the `host`
//!   module), whose handles are `BigInt`s;
//! - [`JsReplayer`] (`Replayer`) and [`replay`]: the core scenario replayer;
//! - the model as data: [`statuses`], [`verbs`], [`job_types`],
//!   [`block_job_types`], [`enums`], [`status_transitions`], [`verb_table`],
//!   and the options' defaults ([`option_defaults`], `hostJobDefaults`).
//!
//! Every argument is checked (`convert`): a malformed one is a `TypeError`
//! naming it. A panic (a bug in qjob) is recorded by a panic hook; the
//! package's entry points (`js/node.mjs`, `js/web.mjs`) turn the trap that
//! follows into an `Error` carrying its message ([`take_panic_message`]).
//!
//! Hand-written TypeScript types are in `js/qjob.d.ts`.

#![deny(missing_docs)]

mod convert;
mod host;
pub mod session;
#[cfg(feature = "bench")]
mod workloads;

use convert::{
    array_of, boolean, boolean_or, bytes, count, from_js, json_to_js, object, options,
    safe_integer, to_js, type_error, unit, verb,
};
use qjob::model::{JobStatus, JobType, JobVerb, STATUS_TRANSITIONS, VERB_PERMISSIONS};
use qjob::{OnError, SyncMode};
use serde_json::{Map, Value};
use session::Session;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

/// The browser's module allocates with talc (feature `talc`, set by
/// `build.sh` for the size-optimised build): smaller than dlmalloc.
#[cfg(all(
    feature = "talc",
    not(target_feature = "atomics"),
    target_family = "wasm"
))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

// ----------------------------------------------------------------------
// Panics
// ----------------------------------------------------------------------

thread_local! {
    /// The message of the last panic, until the entry points take it.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs when the module is instantiated: installs the panic hook that keeps
/// the panic's message. With `panic=abort` the module then traps (a
/// `WebAssembly.RuntimeError`, "unreachable"), which cannot carry text; the
/// entry points catch it and throw an `Error` with this message instead.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        let text = info.to_string().replacen(":\n", ": ", 1);
        PANIC.with(|p| *p.borrow_mut() = Some(format!("qjob {text}")));
    }));
}

/// The message of the last panic inside the module (`qjob panicked at
/// FILE:LINE:COL: MESSAGE`), once: for the entry points, which turn the
/// trap into an `Error`. `undefined` when nothing panicked.
#[wasm_bindgen(js_name = takePanicMessage)]
pub fn take_panic_message() -> Option<String> {
    PANIC.with(|p| p.borrow_mut().take())
}

/// Panics with `message`: only in debug builds of the module, so that the
/// tests can check what a panic looks like from JavaScript (no input of a
/// release build can panic on purpose).
#[cfg(debug_assertions)]
#[wasm_bindgen(js_name = debugPanic)]
pub fn debug_panic(message: JsValue) {
    panic!("{}", message.as_string().unwrap_or_default());
}

// ----------------------------------------------------------------------
// JobManager
// ----------------------------------------------------------------------

/// `JobManager` in JS: one simulated QEMU 7.2 (jobs, block nodes, virtual
/// clock). Methods, as in the core:
/// - commands: [`execute`](Self::execute) (QMP object in, reply object out),
///   [`execute_json`](Self::execute_json) (text), and one typed method per
///   command that returns its `return` value or throws a `QmpError`;
/// - getters: queries, [`verb_allowed`](Self::verb_allowed), the named
///   nodes, machine mode, the clock;
/// - time and work: [`step`](Self::step), [`settle`](Self::settle),
///   [`tick`](Self::tick), [`advance`](Self::advance);
/// - output: [`poll_event`](Self::poll_event) /
///   [`drain_events`](Self::drain_events) (QMP event objects), the
///   transcript.
///
/// Every argument is checked before the core is called: a malformed one
/// is a `TypeError` naming it, and nothing changes.
#[wasm_bindgen(js_name = JobManager)]
pub struct JsJobManager {
    s: Session,
}

/// The keys of the constructor's options object.
const MANAGER_OPTIONS: &[&str] = &["world", "transcript", "qemu"];

impl JsJobManager {
    /// Runs a creation or node command (they all return `{}`) with its QMP
    /// arguments object.
    fn dispatch(&mut self, name: &str, args: &JsValue) -> Result<(), JsValue> {
        let args = object(args, "args")?;
        unit(self.s.with(|m| m.dispatch(name, &args).map(drop)))
    }

    /// Runs a typed verb on the job named `id`.
    fn verb(
        &mut self,
        id: &str,
        f: impl FnOnce(&mut qjob::JobManager, &str) -> qjob::Result<()>,
    ) -> Result<(), JsValue> {
        unit(self.s.with(|m| f(m, id)))
    }
}

#[wasm_bindgen(js_class = JobManager)]
impl JsJobManager {
    /// A manager over the default world (`src`, `dst`, `src2`, `dst2`:
    /// 64 MiB `null-co` nodes), or an empty one with `{world: "empty"}`.
    /// `{transcript: true}` keeps the transcript (off by default, so that a
    /// long-running user accumulates nothing). An unknown option is a
    /// `TypeError`.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<JsJobManager, JsValue> {
        let mut default_world = true;
        let mut transcript = false;
        let mut qemu = qjob::QemuVersion::V7_2;
        options(&opts, "JobManager option", MANAGER_OPTIONS, |name, v| {
            match name {
                "qemu" => qemu = qemu_option(&v)?,
                "transcript" => transcript = boolean(&v, "transcript")?,
                "world" => match v.as_string().as_deref() {
                    Some("default") => default_world = true,
                    Some("empty") => default_world = false,
                    _ => return Err(type_error("world must be \"default\" or \"empty\"")),
                },
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let mut s = Session::with_version(default_world, qemu);
        s.set_recording(transcript);
        Ok(JsJobManager { s })
    }

    /// Executes one QMP message (`{execute, arguments?, id?}`) and returns
    /// the reply object (`{return}` or `{error: {class, desc}}`, with `id`).
    /// Never throws for QMP errors; throws a `TypeError` when `command` is
    /// not an object, or holds a value JSON cannot.
    pub fn execute(&mut self, command: JsValue) -> Result<JsValue, JsValue> {
        let v = Value::Object(object(&command, "command")?);
        Ok(to_js(&self.s.execute_value(&v)))
    }

    /// Executes one QMP message given as JSON text; returns the reply text.
    #[wasm_bindgen(js_name = executeJson)]
    pub fn execute_json(&mut self, text: &str) -> String {
        self.s.execute_json(text)
    }

    // --- job-* verbs -----------------------------------------------------

    /// `job-pause`.
    #[wasm_bindgen(js_name = jobPause)]
    pub fn job_pause(&mut self, id: &str) -> Result<(), JsValue> {
        self.verb(id, |m, id| m.job_pause(id))
    }
    /// `job-resume`.
    #[wasm_bindgen(js_name = jobResume)]
    pub fn job_resume(&mut self, id: &str) -> Result<(), JsValue> {
        self.verb(id, |m, id| m.job_resume(id))
    }
    /// `job-cancel` (always a hard cancel).
    #[wasm_bindgen(js_name = jobCancel)]
    pub fn job_cancel(&mut self, id: &str) -> Result<(), JsValue> {
        self.verb(id, |m, id| m.job_cancel(id))
    }
    /// `job-complete`.
    #[wasm_bindgen(js_name = jobComplete)]
    pub fn job_complete(&mut self, id: &str) -> Result<(), JsValue> {
        self.verb(id, |m, id| m.job_complete(id))
    }
    /// `job-finalize`.
    #[wasm_bindgen(js_name = jobFinalize)]
    pub fn job_finalize(&mut self, id: &str) -> Result<(), JsValue> {
        self.verb(id, |m, id| m.job_finalize(id))
    }
    /// `job-dismiss`.
    #[wasm_bindgen(js_name = jobDismiss)]
    pub fn job_dismiss(&mut self, id: &str) -> Result<(), JsValue> {
        self.verb(id, |m, id| m.job_dismiss(id))
    }

    // --- block-job-* verbs -----------------------------------------------

    /// `block-job-pause`.
    #[wasm_bindgen(js_name = blockJobPause)]
    pub fn block_job_pause(&mut self, device: &str) -> Result<(), JsValue> {
        self.verb(device, |m, d| m.block_job_pause(d))
    }
    /// `block-job-resume`.
    #[wasm_bindgen(js_name = blockJobResume)]
    pub fn block_job_resume(&mut self, device: &str) -> Result<(), JsValue> {
        self.verb(device, |m, d| m.block_job_resume(d))
    }
    /// `block-job-cancel`; `force` defaults to false (a soft cancel, which
    /// completes a ready mirror).
    #[wasm_bindgen(js_name = blockJobCancel)]
    pub fn block_job_cancel(&mut self, device: &str, force: JsValue) -> Result<(), JsValue> {
        let force = boolean_or(&force, "force", false)?;
        self.verb(device, |m, d| m.block_job_cancel(d, force))
    }
    /// `block-job-complete`.
    #[wasm_bindgen(js_name = blockJobComplete)]
    pub fn block_job_complete(&mut self, device: &str) -> Result<(), JsValue> {
        self.verb(device, |m, d| m.block_job_complete(d))
    }
    /// `block-job-finalize`.
    #[wasm_bindgen(js_name = blockJobFinalize)]
    pub fn block_job_finalize(&mut self, id: &str) -> Result<(), JsValue> {
        self.verb(id, |m, id| m.block_job_finalize(id))
    }
    /// `block-job-dismiss`.
    #[wasm_bindgen(js_name = blockJobDismiss)]
    pub fn block_job_dismiss(&mut self, id: &str) -> Result<(), JsValue> {
        self.verb(id, |m, id| m.block_job_dismiss(id))
    }
    /// `block-job-set-speed` (bytes per second, a safe integer; 0 is
    /// unlimited; QEMU refuses a negative one).
    #[wasm_bindgen(js_name = blockJobSetSpeed)]
    pub fn block_job_set_speed(&mut self, device: &str, speed: JsValue) -> Result<(), JsValue> {
        let speed = safe_integer(&speed, "speed")?;
        self.verb(device, |m, d| m.block_job_set_speed(d, speed))
    }

    // --- creation and nodes (QMP arguments objects) ----------------------

    /// `blockdev-backup` with QMP's arguments.
    #[wasm_bindgen(js_name = blockdevBackup)]
    pub fn blockdev_backup(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("blockdev-backup", &args)
    }
    /// `blockdev-mirror`.
    #[wasm_bindgen(js_name = blockdevMirror)]
    pub fn blockdev_mirror(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("blockdev-mirror", &args)
    }
    /// `block-commit`.
    #[wasm_bindgen(js_name = blockCommit)]
    pub fn block_commit(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("block-commit", &args)
    }
    /// `block-stream`.
    #[wasm_bindgen(js_name = blockStream)]
    pub fn block_stream(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("block-stream", &args)
    }
    /// `blockdev-create`.
    #[wasm_bindgen(js_name = blockdevCreate)]
    pub fn blockdev_create(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("blockdev-create", &args)
    }
    /// `x-blockdev-amend`.
    #[wasm_bindgen(js_name = xBlockdevAmend)]
    pub fn x_blockdev_amend(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("x-blockdev-amend", &args)
    }
    /// `snapshot-save` (machine mode only, see [`set_machine`](Self::set_machine)).
    #[wasm_bindgen(js_name = snapshotSave)]
    pub fn snapshot_save(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("snapshot-save", &args)
    }
    /// `snapshot-load` (machine mode only).
    #[wasm_bindgen(js_name = snapshotLoad)]
    pub fn snapshot_load(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("snapshot-load", &args)
    }
    /// `snapshot-delete` (machine mode only).
    #[wasm_bindgen(js_name = snapshotDelete)]
    pub fn snapshot_delete(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("snapshot-delete", &args)
    }
    /// `transaction` (`{actions, properties?: {"completion-mode"}}`).
    pub fn transaction(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("transaction", &args)
    }
    /// `blockdev-add`.
    #[wasm_bindgen(js_name = blockdevAdd)]
    pub fn blockdev_add(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("blockdev-add", &args)
    }
    /// `blockdev-del` (`{"node-name"}`).
    #[wasm_bindgen(js_name = blockdevDel)]
    pub fn blockdev_del(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("blockdev-del", &args)
    }
    /// `block-dirty-bitmap-add` (`{node, name, granularity?, persistent?, disabled?}`).
    #[wasm_bindgen(js_name = blockDirtyBitmapAdd)]
    pub fn block_dirty_bitmap_add(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("block-dirty-bitmap-add", &args)
    }
    /// `block-dirty-bitmap-remove` (`{node, name}`).
    #[wasm_bindgen(js_name = blockDirtyBitmapRemove)]
    pub fn block_dirty_bitmap_remove(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("block-dirty-bitmap-remove", &args)
    }
    /// `block-dirty-bitmap-clear` (`{node, name}`).
    #[wasm_bindgen(js_name = blockDirtyBitmapClear)]
    pub fn block_dirty_bitmap_clear(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("block-dirty-bitmap-clear", &args)
    }
    /// `block-dirty-bitmap-enable` (`{node, name}`).
    #[wasm_bindgen(js_name = blockDirtyBitmapEnable)]
    pub fn block_dirty_bitmap_enable(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("block-dirty-bitmap-enable", &args)
    }
    /// `block-dirty-bitmap-disable` (`{node, name}`).
    #[wasm_bindgen(js_name = blockDirtyBitmapDisable)]
    pub fn block_dirty_bitmap_disable(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("block-dirty-bitmap-disable", &args)
    }
    /// `block-dirty-bitmap-merge` (`{node, target, bitmaps}`: each a name or `{node, name}`).
    #[wasm_bindgen(js_name = blockDirtyBitmapMerge)]
    pub fn block_dirty_bitmap_merge(&mut self, args: JsValue) -> Result<(), JsValue> {
        self.dispatch("block-dirty-bitmap-merge", &args)
    }
    /// Adds an image file to the simulated working directory, as the
    /// scenario `image` directive does (`{format, size, backing?, data?}`);
    /// a malformed image is a `TypeError` with the directive's message.
    #[wasm_bindgen(js_name = addImage)]
    pub fn add_image(&mut self, file: &str, image: JsValue) -> Result<(), JsValue> {
        let mut o = Map::new();
        o.insert("file".into(), file.into());
        o.extend(object(&image, "image")?);
        let mut line = Map::new();
        line.insert("image".into(), Value::Object(o));
        self.s
            .run_scenario_line(&qjob::qmp::json::to_text(&Value::Object(line)))
            .map(drop)
            .map_err(|e| type_error(&e))
    }
    /// Machine mode: the VM-only `snapshot-*` commands exist (as with
    /// `qemu-system-*`; the storage daemon lacks them).
    #[wasm_bindgen(js_name = setMachine)]
    pub fn set_machine(&mut self, machine: JsValue) -> Result<(), JsValue> {
        let on = boolean(&machine, "machine")?;
        self.s.with(|m| m.set_machine(on));
        Ok(())
    }

    // --- queries ---------------------------------------------------------

    /// `query-jobs`: every job, newest first (QMP `JobInfo` objects).
    #[wasm_bindgen(js_name = queryJobs)]
    pub fn query_jobs(&self) -> JsValue {
        array_of(self.s.manager().query_jobs().iter().map(|j| j.to_json()))
    }
    /// `query-block-jobs` (QMP `BlockJobInfo` objects).
    #[wasm_bindgen(js_name = queryBlockJobs)]
    pub fn query_block_jobs(&self) -> JsValue {
        array_of(
            self.s
                .manager()
                .query_block_jobs()
                .iter()
                .map(|j| j.to_json()),
        )
    }
    /// Whether the verb table allows `verb` (`"pause"`, `"set-speed"`, …) on
    /// job `id` now; `undefined` when there is no such job.
    #[wasm_bindgen(js_name = verbAllowed)]
    pub fn verb_allowed(&self, id: &str, verb_name: &str) -> Result<Option<bool>, JsValue> {
        Ok(self.s.manager().verb_allowed(id, verb(verb_name)?))
    }
    /// The refusal text of `verb` on job `id` (QEMU's `Job 'X' in state 'S'
    /// cannot accept command verb 'V'`); `null` when allowed, `undefined`
    /// when there is no such job.
    #[wasm_bindgen(js_name = verbRefusal)]
    pub fn verb_refusal(&self, id: &str, verb_name: &str) -> Result<JsValue, JsValue> {
        Ok(match self.s.verb_refusal(id, verb(verb_name)?) {
            None => JsValue::UNDEFINED,
            Some(None) => JsValue::NULL,
            Some(Some(t)) => t.into(),
        })
    }
    /// Number of jobs that exist (internal ones included).
    #[wasm_bindgen(js_name = jobCount)]
    pub fn job_count(&self) -> usize {
        self.s.manager().job_count()
    }
    /// Internal errors (transitions the status table forbids): always empty
    /// unless qjob has a bug.
    #[wasm_bindgen(js_name = internalErrors)]
    pub fn internal_errors(&self) -> Vec<String> {
        self.s.manager().internal_errors().to_vec()
    }
    /// Every named block node, oldest first: `{name, driver, size, root,
    /// busy, backing?}` (`root`: nothing but the monitor uses it; `busy`: a
    /// job's op blocker holds it).
    #[wasm_bindgen(js_name = namedNodes)]
    pub fn named_nodes(&self) -> JsValue {
        array_of(self.s.manager().named_nodes().into_iter().map(|n| {
            let mut o = Map::new();
            o.insert("name".into(), n.name.into());
            o.insert("driver".into(), n.driver.into());
            o.insert("size".into(), n.size.into());
            o.insert("root".into(), n.root.into());
            o.insert("busy".into(), n.busy.into());
            if let Some(b) = n.backing {
                o.insert("backing".into(), b.into());
            }
            Value::Object(o)
        }))
    }
    /// Whether machine mode is on (see [`set_machine`](Self::set_machine)).
    pub fn machine(&self) -> bool {
        self.s.manager().machine()
    }
    /// The QEMU this manager reproduces (`"7.2"` or `"10.0"`): the `qemu`
    /// option it was made with, or the version a restored snapshot kept.
    pub fn qemu(&self) -> String {
        self.s.manager().version().as_str().to_owned()
    }
    /// The QMP greeting a monitor of this manager's QEMU sends first
    /// (`{QMP: {version: {qemu, package}, capabilities}}`, as the core's
    /// QMP server configured for that version writes it).
    pub fn greeting(&self) -> JsValue {
        let config = qjob::qmp::server::ServerConfig::for_qemu(self.s.manager().version());
        to_js(&config.greeting())
    }

    // --- time and work ---------------------------------------------------

    /// The virtual clock, in nanoseconds.
    pub fn now(&self) -> f64 {
        self.s.manager().now() as f64
    }
    /// The earliest armed timer (ns), or `undefined`.
    #[wasm_bindgen(js_name = nextDeadline)]
    pub fn next_deadline(&self) -> Option<f64> {
        self.s.manager().next_deadline().map(|d| d as f64)
    }
    /// Whether [`step`](Self::step) would do something now.
    #[wasm_bindgen(js_name = hasReadyWork)]
    pub fn has_ready_work(&self) -> bool {
        self.s.manager().has_ready_work()
    }
    /// Runs one unit of ready work; returns whether more is ready now.
    pub fn step(&mut self) -> bool {
        self.s.with(|m| m.step())
    }
    /// Runs all work ready now; returns the number of units run.
    pub fn settle(&mut self) -> usize {
        self.s.settle()
    }
    /// Moves the clock to `nowNs` (a non-negative safe integer; never
    /// backwards), running what falls due.
    pub fn tick(&mut self, now_ns: JsValue) -> Result<(), JsValue> {
        let t = count(&now_ns, "nowNs")?;
        self.s.with(|m| m.tick(t));
        Ok(())
    }
    /// Moves the clock forward by `ns` (a non-negative safe integer),
    /// running what falls due.
    pub fn advance(&mut self, ns: JsValue) -> Result<(), JsValue> {
        let d = count(&ns, "ns")?;
        self.s.with(|m| m.advance(d));
        Ok(())
    }

    // --- events and transcript -------------------------------------------

    /// The oldest undelivered QMP event (`{timestamp, event, data}`), or
    /// `undefined`.
    #[wasm_bindgen(js_name = pollEvent)]
    pub fn poll_event(&mut self) -> JsValue {
        match self.s.poll_event() {
            Some(e) => json_to_js(&e),
            None => JsValue::UNDEFINED,
        }
    }
    /// Every undelivered QMP event, oldest first.
    #[wasm_bindgen(js_name = drainEvents)]
    pub fn drain_events(&mut self) -> JsValue {
        json_to_js(self.s.drain_events())
    }
    /// [`drain_events`](Self::drain_events) as JSON text (one array): for
    /// a caller that forwards events (to a socket, a log) without reading
    /// them, it skips building JS objects.
    #[wasm_bindgen(js_name = drainEventsJson)]
    pub fn drain_events_json(&mut self) -> js_sys::JsString {
        // Decoded into a JS string straight from the session's buffer (no
        // Rust `String` handed over and freed per call).
        self.s.drain_events().into()
    }
    /// Runs one scenario line (scenarios/README.md) through the core
    /// replayer; returns its transcript lines. Throws on a malformed line.
    #[wasm_bindgen(js_name = runScenarioLine)]
    pub fn run_scenario_line(&mut self, line: &str) -> Result<Vec<String>, JsValue> {
        self.s.run_scenario_line(line).map_err(|e| type_error(&e))
    }
    /// Keeps the transcript from now on, or stops keeping it.
    #[wasm_bindgen(js_name = setTranscript)]
    pub fn set_transcript(&mut self, on: JsValue) -> Result<(), JsValue> {
        self.s.set_recording(boolean(&on, "on")?);
        Ok(())
    }
    /// The transcript of everything sent through `execute`, `executeJson`
    /// and `runScenarioLine`, with every event, in the scenario format
    /// (empty unless kept: `{transcript: true}` or `setTranscript(true)`).
    pub fn transcript(&self) -> String {
        self.s.transcript()
    }
    /// Number of transcript lines so far.
    #[wasm_bindgen(js_name = transcriptLength)]
    pub fn transcript_length(&self) -> usize {
        self.s.lines().len()
    }
    /// Cuts the transcript back to its first `n` lines (a non-negative safe
    /// integer).
    #[wasm_bindgen(js_name = truncateTranscript)]
    pub fn truncate_transcript(&mut self, n: JsValue) -> Result<(), JsValue> {
        let n = count(&n, "n")?;
        self.s
            .truncate_transcript(usize::try_from(n).unwrap_or(usize::MAX));
        Ok(())
    }

    // --- snapshots -------------------------------------------------------

    /// The whole manager state (jobs, nodes, clock, timers, queued events)
    /// as the core's versioned binary snapshot.
    pub fn snapshot(&mut self) -> Vec<u8> {
        self.s.snapshot()
    }
    /// Restores a [`snapshot`](Self::snapshot) (a `Uint8Array`): the
    /// manager continues as the original would have. Throws (changing
    /// nothing) on a bad snapshot. (The core's JSON snapshot form is not in
    /// the module: its reader would double the module's size.)
    pub fn restore(&mut self, snapshot: JsValue) -> Result<(), JsValue> {
        let bytes = bytes(&snapshot, "snapshot")?;
        self.s
            .restore(&bytes)
            .map_err(|e| js_sys::Error::new(&e).into())
    }
}

// ----------------------------------------------------------------------
// Replayer
// ----------------------------------------------------------------------

/// The `qemu` option: `"7.2"` or `"10.0"`, else a `TypeError`.
fn qemu_option(v: &JsValue) -> Result<qjob::QemuVersion, JsValue> {
    v.as_string()
        .and_then(|s| qjob::QemuVersion::parse(&s))
        .ok_or_else(|| type_error("qemu must be \"7.2\" or \"10.0\""))
}

/// The options of `Replayer` and `replay` (`{qemu}`): the QEMU reproduced.
fn replay_options(opts: &JsValue) -> Result<qjob::QemuVersion, JsValue> {
    let mut qemu = qjob::QemuVersion::V7_2;
    options(opts, "replay option", REPLAY_OPTIONS, |name, v| {
        if name != "qemu" {
            return Ok(false);
        }
        qemu = qemu_option(&v)?;
        Ok(true)
    })?;
    Ok(qemu)
}

/// The keys of `replay`'s and `Replayer`'s options object.
const REPLAY_OPTIONS: &[&str] = &["qemu"];

/// `Replayer` in JS: the core scenario replayer (scenarios/README.md), whose
/// transcripts are the ones `cargo run -p qjob --example replay` prints.
#[wasm_bindgen(js_name = Replayer)]
pub struct JsReplayer {
    r: qjob::scenario::Replayer,
}

#[wasm_bindgen(js_class = Replayer)]
impl JsReplayer {
    /// A replayer over a fresh default world, reproducing QEMU 7.2 or the
    /// version `{qemu: "10.0"}` names (a `TypeError` for an unknown option
    /// or version).
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<JsReplayer, JsValue> {
        Ok(JsReplayer {
            r: qjob::scenario::Replayer::with_version(replay_options(&opts)?),
        })
    }
    /// Runs a whole scenario text; throws `line N: …` on a malformed line.
    pub fn run(&mut self, text: &str) -> Result<(), JsValue> {
        self.r.run(text).map_err(|e| type_error(&e.to_string()))
    }
    /// Runs one scenario line.
    #[wasm_bindgen(js_name = runLine)]
    pub fn run_line(&mut self, line: &str) -> Result<(), JsValue> {
        self.r.run_line(line).map(drop).map_err(|e| type_error(&e))
    }
    /// The transcript so far (each line ends in `\n`).
    pub fn transcript(&self) -> String {
        self.r.transcript()
    }
    /// The transcript lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.r.lines().to_vec()
    }
}

/// Replays a scenario text on a fresh default world, reproducing QEMU 7.2 or
/// the version `{qemu: "10.0"}` names; returns its transcript.
#[wasm_bindgen]
pub fn replay(text: &str, opts: JsValue) -> Result<String, JsValue> {
    let qemu = replay_options(&opts)?;
    qjob::scenario::replay_version(text, qemu).map_err(|e| type_error(&e.to_string()))
}

/// Compares two transcripts by the rules of `scenarios/README.md`; returns nothing when they
/// agree (`undefined` in JS), else the first difference.
#[wasm_bindgen(js_name = compareTranscripts)]
pub fn compare_transcripts(expected: &str, actual: &str) -> Option<String> {
    qjob::scenario::compare(expected, actual).err()
}

/// JSON as the transcripts write it (Python's `json.dumps(v, sort_keys=True)`).
#[wasm_bindgen(js_name = toSortedJson)]
pub fn to_sorted_json(value: JsValue) -> Result<String, JsValue> {
    Ok(qjob::scenario::to_sorted_json(&from_js(&value)?))
}

// ----------------------------------------------------------------------
// The model as data
// ----------------------------------------------------------------------

/// The names of a QAPI enum's values, in QAPI order.
fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<String> {
    all.iter().map(|&x| name(x).to_owned()).collect()
}

/// The 11 job statuses in QAPI order.
#[wasm_bindgen]
pub fn statuses() -> Vec<String> {
    names(JobStatus::ALL, JobStatus::as_str)
}

/// The 7 verbs in QAPI order.
#[wasm_bindgen]
pub fn verbs() -> Vec<String> {
    names(JobVerb::ALL, JobVerb::as_str)
}

/// The 9 job types in QAPI order.
#[wasm_bindgen(js_name = jobTypes)]
pub fn job_types() -> Vec<String> {
    names(JobType::ALL, JobType::as_str)
}

/// The job types of *block jobs* (in `query-block-jobs`, answering the
/// `block-job-*` commands, emitting `BLOCK_JOB_*` events).
#[wasm_bindgen(js_name = blockJobTypes)]
pub fn block_job_types() -> Vec<String> {
    let block: Vec<JobType> = JobType::ALL
        .iter()
        .copied()
        .filter(|t| t.is_block_job())
        .collect();
    names(&block, JobType::as_str)
}

/// The QAPI enums a front end offers, by QAPI name: `{JobStatus, JobVerb,
/// JobType, BlockdevOnError, MirrorSyncMode}`, each its values in QAPI
/// order.
#[wasm_bindgen]
pub fn enums() -> JsValue {
    let mut m = Map::new();
    let mut put = |name: &str, values: Vec<String>| {
        m.insert(name.into(), values.into());
    };
    put("JobStatus", statuses());
    put("JobVerb", verbs());
    put("JobType", job_types());
    put("BlockdevOnError", names(OnError::ALL, OnError::as_str));
    put("MirrorSyncMode", names(SyncMode::ALL, SyncMode::as_str));
    to_js(&Value::Object(m))
}

/// The defaults of the job-creating commands' optional members, by command
/// and QMP member name (`{"blockdev-backup": {"sync": "full", "speed": 0,
/// …}, …}`): the core's (`qjob::qmp::option_defaults`), for a front end's
/// forms and for the TypeScript docs' test.
#[wasm_bindgen(js_name = optionDefaults)]
pub fn option_defaults() -> JsValue {
    to_js(&qjob::qmp::option_defaults())
}

/// QEMU's status transition table as `[from, to]` pairs.
#[wasm_bindgen(js_name = statusTransitions)]
pub fn status_transitions() -> JsValue {
    let mut pairs = Vec::new();
    for from in JobStatus::ALL {
        for to in JobStatus::ALL {
            if STATUS_TRANSITIONS[from.index()][to.index()] {
                pairs.push(Value::Array(vec![from.as_str().into(), to.as_str().into()]));
            }
        }
    }
    array_of(pairs)
}

/// QEMU's verb table: `{verb: [statuses where it is allowed]}`.
#[wasm_bindgen(js_name = verbTable)]
pub fn verb_table() -> JsValue {
    let mut m = Map::new();
    for v in JobVerb::ALL {
        let allowed: Vec<Value> = JobStatus::ALL
            .iter()
            .filter(|s| VERB_PERMISSIONS[v.index()][s.index()])
            .map(|s| s.as_str().into())
            .collect();
        m.insert(v.as_str().into(), Value::Array(allowed));
    }
    to_js(&Value::Object(m))
}

/// The QEMU versions a manager can reproduce (its `qemu` option), the
/// default (`"7.2"`) first.
#[wasm_bindgen(js_name = qemuVersions)]
pub fn qemu_versions() -> Vec<String> {
    names(qjob::QemuVersion::ALL, qjob::QemuVersion::as_str)
}

/// The qjob version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// `BenchWorkload` in JS, in modules built with the `bench` feature only
/// (`build.sh --bench`): one of the benchmark's workloads run inside
/// WebAssembly with no JS boundary crossed (`src/workloads.rs`, the code the
/// native benchmark runs), so that `bench/bench.mjs` can tell the price of
/// the boundary from the price of WebAssembly.
#[cfg(feature = "bench")]
#[wasm_bindgen(js_name = BenchWorkload)]
pub struct JsBenchWorkload(workloads::Workload);

#[cfg(feature = "bench")]
#[wasm_bindgen(js_class = BenchWorkload)]
impl JsBenchWorkload {
    /// The workload called `name` (as the benchmark prints it).
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str) -> Result<JsBenchWorkload, JsValue> {
        workloads::Workload::new(name)
            .map(JsBenchWorkload)
            .ok_or_else(|| type_error(&format!("no workload '{name}'")))
    }
    /// Runs `iterations` iterations; returns the number of events.
    pub fn run(&mut self, iterations: u32) -> usize {
        self.0.run(iterations)
    }
}
