//! The one alphabet of operations that the property tests, the model check
//! and the fuzz targets generate and run: [`Command`] (a user command on a
//! job) and [`Op`] (one move: create jobs, a command, a step, a clock move, a
//! snapshot round trip), both `Arbitrary`, with [`ops_from_bytes`] the one
//! decoder of a byte string into operations, and [`run_sequence`] the one
//! runner of a sequence in the [`sandbox`].

use crate::checker::Checker;
use arbitrary::{Arbitrary, Unstructured};
use qjob::{JobManager, JobVerb};

/// The job IDs that creation operations and commands address (by index,
/// modulo the length).
pub const IDS: [&str; 4] = ["j0", "j1", "j2", "j3"];

/// The nodes of the [`sandbox`] that creation operations name (by index,
/// modulo the length): the default world's four `null-co` nodes and
/// `errsrc`, whose first read fails once with EIO.
pub const NODES: [&str; 5] = ["src", "dst", "src2", "dst2", "errsrc"];

/// The `on-source-error` policies a backup is created with (by index,
/// modulo the length).
pub const POLICIES: [&str; 5] = ["report", "ignore", "enospc", "stop", "auto"];

/// Speeds of created jobs are this many values, from 0 (unlimited) up.
const SPEEDS: u8 = 3;

/// `blockdev-add` of the sandbox's `errsrc` node.
const ERRSRC: &str = r#"{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"errsrc","file":{"driver":"blkdebug","inject-error":[{"event":"read_aio","errno":5,"once":true}],"image":{"driver":"null-co","size":67108864,"read-zeroes":false}}}}"#;

/// The world random sequences run in: the default world (four 64 MiB
/// `null-co` nodes) plus the node `errsrc` (see [`NODES`]).
pub fn sandbox() -> JobManager {
    let mut m = JobManager::with_default_world();
    let reply = m.execute(ERRSRC);
    assert_eq!(reply, r#"{"return":{}}"#, "sandbox setup");
    m
}

/// One user command on a job.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// `job-pause`.
    Pause,
    /// `job-resume`.
    Resume,
    /// `job-cancel` (always hard).
    Cancel,
    /// `block-job-cancel` with `force: false`.
    SoftCancel,
    /// `block-job-cancel` with `force: true`.
    ForceCancel,
    /// `job-complete`.
    Complete,
    /// `job-finalize`.
    Finalize,
    /// `job-dismiss`.
    Dismiss,
    /// `block-job-set-speed` to the given speed (a small one, or negative,
    /// when generated: a speed-limited job should still move).
    SetSpeed(#[arbitrary(with = small_speed)] i64),
    /// `block-job-pause`.
    BlockPause,
    /// `block-job-resume`.
    BlockResume,
    /// `block-job-complete`.
    BlockComplete,
    /// `block-job-finalize`.
    BlockFinalize,
    /// `block-job-dismiss`.
    BlockDismiss,
}

fn small_speed(u: &mut Unstructured<'_>) -> arbitrary::Result<i64> {
    Ok(i64::from(i8::arbitrary(u)?))
}

impl Command {
    /// The verb of the verb table this command applies.
    pub fn verb(self) -> JobVerb {
        match self {
            Command::Pause | Command::BlockPause => JobVerb::Pause,
            Command::Resume | Command::BlockResume => JobVerb::Resume,
            Command::Cancel | Command::SoftCancel | Command::ForceCancel => JobVerb::Cancel,
            Command::Complete | Command::BlockComplete => JobVerb::Complete,
            Command::Finalize | Command::BlockFinalize => JobVerb::Finalize,
            Command::Dismiss | Command::BlockDismiss => JobVerb::Dismiss,
            Command::SetSpeed(_) => JobVerb::SetSpeed,
        }
    }

    /// The QMP command's name.
    pub fn name(self) -> &'static str {
        match self {
            Command::Pause => "job-pause",
            Command::Resume => "job-resume",
            Command::Cancel => "job-cancel",
            Command::SoftCancel | Command::ForceCancel => "block-job-cancel",
            Command::Complete => "job-complete",
            Command::Finalize => "job-finalize",
            Command::Dismiss => "job-dismiss",
            Command::SetSpeed(_) => "block-job-set-speed",
            Command::BlockPause => "block-job-pause",
            Command::BlockResume => "block-job-resume",
            Command::BlockComplete => "block-job-complete",
            Command::BlockFinalize => "block-job-finalize",
            Command::BlockDismiss => "block-job-dismiss",
        }
    }

    /// Whether this is a `block-job-*` command (it finds only block jobs).
    pub fn is_block(self) -> bool {
        self.name().starts_with("block-job-")
    }

    /// Runs the command on job `id` through the typed API.
    pub fn run(self, m: &mut JobManager, id: &str) -> qjob::Result<()> {
        match self {
            Command::Pause => m.job_pause(id),
            Command::Resume => m.job_resume(id),
            Command::Cancel => m.job_cancel(id),
            Command::SoftCancel => m.block_job_cancel(id, false),
            Command::ForceCancel => m.block_job_cancel(id, true),
            Command::Complete => m.job_complete(id),
            Command::Finalize => m.job_finalize(id),
            Command::Dismiss => m.job_dismiss(id),
            Command::SetSpeed(s) => m.block_job_set_speed(id, s),
            Command::BlockPause => m.block_job_pause(id),
            Command::BlockResume => m.block_job_resume(id),
            Command::BlockComplete => m.block_job_complete(id),
            Command::BlockFinalize => m.block_job_finalize(id),
            Command::BlockDismiss => m.block_job_dismiss(id),
        }
    }

    /// The command on job `id` as a QMP message.
    pub fn request(self, id: &str) -> String {
        // QEMU names the job `device` in the older block-job commands.
        let key = match self {
            Command::SoftCancel
            | Command::ForceCancel
            | Command::SetSpeed(_)
            | Command::BlockPause
            | Command::BlockResume
            | Command::BlockComplete => "device",
            _ => "id",
        };
        let extra = match self {
            Command::SoftCancel => r#","force":false"#.to_string(),
            Command::ForceCancel => r#","force":true"#.to_string(),
            Command::SetSpeed(s) => format!(r#","speed":{s}"#),
            _ => String::new(),
        };
        let id = serde_json::Value::from(id);
        format!(
            r#"{{"execute":"{}","arguments":{{"{key}":{id}{extra}}}}}"#,
            self.name()
        )
    }
}

/// A job to create: its ID, source and target nodes, speed limit,
/// `auto-finalize` and `auto-dismiss`.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NewJob {
    /// Job ID.
    pub job: u8,
    /// Source node.
    pub src: u8,
    /// Target node.
    pub dst: u8,
    /// Speed limit.
    pub speed: u8,
    /// `auto-finalize`.
    pub auto_finalize: bool,
    /// `auto-dismiss`.
    pub auto_dismiss: bool,
}

/// One move of the alphabet. Jobs, nodes and policies are named by index
/// (modulo the length) into the runner's IDs, [`NODES`] and [`POLICIES`];
/// speeds are taken modulo 3.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `blockdev-backup` (`sync: full`).
    Backup {
        /// The job.
        new: NewJob,
        /// `on-source-error`.
        on_source_error: u8,
    },
    /// `blockdev-mirror` (`sync: full`).
    Mirror(NewJob),
    /// A `transaction` of two backups with `completion-mode: grouped`:
    /// `a` from `src` to `dst`, `b` to `dst2` from `src2` or from `errsrc`
    /// (whose read fails once, so `b` fails and the group must cancel `a`).
    Grouped {
        /// First member's job ID.
        a: u8,
        /// Second member's job ID.
        b: u8,
        /// Whether `b` reads from `errsrc`.
        failing_b: bool,
        /// First member's speed limit.
        speed_a: u8,
        /// Second member's speed limit.
        speed_b: u8,
        /// First member's `auto-finalize` (the second's is true).
        auto_finalize: bool,
        /// First member's `auto-dismiss` (the second's is true).
        auto_dismiss: bool,
    },
    /// A user command on a job, through the typed API or as a QMP message.
    Cmd {
        /// The command.
        cmd: Command,
        /// The job.
        job: u8,
        /// Whether to send it as QMP (`JobManager::execute`).
        qmp: bool,
    },
    /// [`JobManager::step`].
    Step,
    /// [`JobManager::settle`].
    Settle,
    /// [`JobManager::tick`] to [`JobManager::next_deadline`] (nothing if none).
    NextDeadline,
    /// [`JobManager::advance`] by the given nanoseconds.
    Advance(u32),
    /// A snapshot round trip ([`Checker::snapshot_round_trip`]); the run
    /// goes on with the manager restored from JSON or from bytes.
    Snapshot {
        /// Go on with the manager restored from the JSON form.
        from_json: bool,
    },
}

fn pick<T: Copy>(table: &[T], i: u8) -> T {
    table[usize::from(i) % table.len()]
}

/// The arguments every job creation shares, without the braces.
fn job_args(
    id: &str,
    src: &str,
    dst: &str,
    speed: u8,
    auto_finalize: bool,
    auto_dismiss: bool,
) -> String {
    format!(
        r#""job-id":"{id}","device":"{src}","target":"{dst}","sync":"full","speed":{},"auto-finalize":{auto_finalize},"auto-dismiss":{auto_dismiss}"#,
        speed % SPEEDS
    )
}

impl NewJob {
    /// Its creation arguments, without the braces.
    fn args(self, ids: &[&str]) -> String {
        job_args(
            pick(ids, self.job),
            pick(&NODES, self.src),
            pick(&NODES, self.dst),
            self.speed,
            self.auto_finalize,
            self.auto_dismiss,
        )
    }
}

impl Op {
    /// Runs the operation on `m` (jobs named by index into `ids`), checks
    /// every invariant of `c` afterwards, and returns what it produced (the
    /// reply or result, then each event as JSON, one a line), for comparing
    /// two runs.
    pub fn apply(self, m: &mut JobManager, c: &mut Checker, ids: &[&str]) -> String {
        let mut trace = match self {
            Op::Backup {
                new,
                on_source_error,
            } => c.execute(
                m,
                &format!(
                    r#"{{"execute":"blockdev-backup","arguments":{{{},"on-source-error":"{}"}}}}"#,
                    new.args(ids),
                    pick(&POLICIES, on_source_error)
                ),
            ),
            Op::Mirror(new) => c.execute(
                m,
                &format!(
                    r#"{{"execute":"blockdev-mirror","arguments":{{{}}}}}"#,
                    new.args(ids)
                ),
            ),
            Op::Grouped {
                a,
                b,
                failing_b,
                speed_a,
                speed_b,
                auto_finalize,
                auto_dismiss,
            } => {
                let (ia, ib) = (pick(ids, a), pick(ids, b));
                let src_b = if failing_b { "errsrc" } else { "src2" };
                c.expect_group([ia.to_string(), ib.to_string()]);
                let reply = c.execute(
                    m,
                    &format!(
                        r#"{{"execute":"transaction","arguments":{{"actions":[{{"type":"blockdev-backup","data":{{{}}}}},{{"type":"blockdev-backup","data":{{{}}}}}],"properties":{{"completion-mode":"grouped"}}}}}}"#,
                        job_args(ia, "src", "dst", speed_a, auto_finalize, auto_dismiss),
                        job_args(ib, src_b, "dst2", speed_b, true, true),
                    ),
                );
                if !reply.starts_with(r#"{"return""#) {
                    // Nothing of a refused transaction may survive: the
                    // checker still follows the torn-down members' events.
                    let events = c.absorb(m);
                    c.group_failed();
                    return reply + "\n" + &events;
                }
                reply
            }
            Op::Cmd { cmd, job, qmp } => {
                let id = pick(ids, job);
                let r = if qmp {
                    c.command_qmp(m, cmd, id)
                } else {
                    c.command(m, cmd, id).map_err(|e| e.desc)
                };
                format!("{cmd:?} {id}: {r:?}")
            }
            Op::Step => format!("step {}", m.step()),
            Op::Settle => format!("settle {}", m.settle()),
            Op::NextDeadline => match m.next_deadline() {
                Some(d) => {
                    m.tick(d);
                    format!("tick {d}")
                }
                None => "no deadline".to_string(),
            },
            Op::Advance(ns) => {
                m.advance(u64::from(ns));
                format!("advance {ns}")
            }
            Op::Snapshot { from_json } => {
                *m = Checker::snapshot_round_trip(m, from_json);
                "snapshot".to_string()
            }
        };
        trace.push('\n');
        trace += &c.absorb(m);
        trace
    }
}

/// Decodes a byte string into operations, as many as it holds (the fuzz
/// target `sequences` and the property tests read their input with it, so a
/// fuzz input replays under `cargo test`).
pub fn ops_from_bytes(data: &[u8]) -> Vec<Op> {
    let mut u = Unstructured::new(data);
    let mut ops = Vec::new();
    while !u.is_empty() {
        match Op::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    ops
}

/// The most operations [`run_sequence`] runs (the rest of a longer
/// sequence is ignored).
pub const MAX_OPS: usize = 200;

/// Runs `ops` (at most [`MAX_OPS`]) in a fresh [`sandbox`] on the job IDs
/// [`IDS`], with every invariant checked after each, then drives every job
/// to its end ([`Checker::wind_down`]).
pub fn run_sequence(ops: &[Op]) {
    let mut m = sandbox();
    let mut c = Checker::new();
    for op in ops.iter().take(MAX_OPS) {
        op.apply(&mut m, &mut c, &IDS);
    }
    c.wind_down(&mut m);
}
