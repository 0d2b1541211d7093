//! QMP as JSON: framing checks, the command table, argument parsing, and the
//! reply, all as QEMU 7.2 does them.
//!
//! [`JobManager::execute`] takes one QMP message and returns the reply:
//! `{"return": …}` or `{"error": {"class": …, "desc": …}}`, with the request's
//! `id` echoed whenever the message was an object that had one.

pub(crate) mod args;
pub mod json;
pub mod server;
pub mod stream;
pub mod wire;

use crate::block::{BlkdebugEvent, InjectError};
use crate::commands::{BlockJobInfo, JobInfo};
use crate::create::{
    BackupOptions, BitmapAddOptions, BitmapSyncMode, CommitOptions, CreateOptions, JobOptions,
    MirrorOptions, StreamOptions, SyncMode, TransactionAction,
};
use crate::error::{Error, ErrorClass, Result};
use crate::manager::JobManager;
use crate::model::OnError;
use crate::nodes::{ChildRef, NULL_CO_DEFAULT_SIZE, NodeOptions};
use args::{Args, list_elem};
use serde_json::{Map, Value, json};

/// Every command `execute` knows, in alphabetical order.
pub const COMMANDS: &[&str] = &[
    "block-commit",
    "block-dirty-bitmap-add",
    "block-dirty-bitmap-remove",
    "block-job-cancel",
    "block-job-complete",
    "block-job-dismiss",
    "block-job-finalize",
    "block-job-pause",
    "block-job-resume",
    "block-job-set-speed",
    "block-stream",
    "blockdev-add",
    "blockdev-backup",
    "blockdev-create",
    "blockdev-del",
    "blockdev-mirror",
    "job-cancel",
    "job-complete",
    "job-dismiss",
    "job-finalize",
    "job-pause",
    "job-resume",
    "qmp_capabilities",
    "query-block-jobs",
    "query-jobs",
    "quit",
    "snapshot-delete",
    "snapshot-load",
    "snapshot-save",
    "transaction",
    "x-blockdev-amend",
    "x-qjob-advance",
    "x-qjob-clock",
    "x-qjob-settle",
    "x-qjob-wait",
];

impl JobInfo {
    /// The QMP `JobInfo` object (fields in QAPI order).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("type".into(), self.job_type.as_str().into());
        m.insert("status".into(), self.status.as_str().into());
        m.insert("current-progress".into(), self.current_progress.into());
        m.insert("total-progress".into(), self.total_progress.into());
        if let Some(e) = &self.error {
            m.insert("error".into(), e.clone().into());
        }
        Value::Object(m)
    }
}

impl BlockJobInfo {
    /// The QMP `BlockJobInfo` object (fields in QAPI order).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), self.job_type.as_str().into());
        m.insert("device".into(), self.device.clone().into());
        m.insert("len".into(), self.len.into());
        m.insert("offset".into(), self.offset.into());
        m.insert("busy".into(), self.busy.into());
        m.insert("paused".into(), self.paused.into());
        m.insert("speed".into(), self.speed.into());
        m.insert("io-status".into(), self.io_status.as_str().into());
        m.insert("ready".into(), self.ready.into());
        m.insert("status".into(), self.status.as_str().into());
        m.insert("auto-finalize".into(), self.auto_finalize.into());
        m.insert("auto-dismiss".into(), self.auto_dismiss.into());
        if let Some(e) = &self.error {
            m.insert("error".into(), e.clone().into());
        }
        Value::Object(m)
    }
}

/// The `{"error": …}` reply object of an error.
pub fn error_reply(e: &Error) -> Value {
    json!({"error": {"class": e.class.as_str(), "desc": e.desc}})
}

/// QEMU's QDict bucket of a key (`tdb_hash % 512`): the order in which QEMU
/// visits the members of a request, which decides which of several framing
/// errors it reports.
pub(crate) fn qdict_bucket(key: &str) -> u32 {
    let bytes = key.as_bytes();
    let mut value: u32 = 0x238F_13AFu32.wrapping_mul(bytes.len() as u32);
    for (i, &b) in bytes.iter().enumerate() {
        value = value.wrapping_add((b as u32) << ((i as u32 * 5) % 24));
    }
    1_103_515_243u32.wrapping_mul(value).wrapping_add(12345) % 512
}

/// `qmp_dispatch_check_obj` (`exec-oob` is refused: a manager has no
/// monitor that negotiated it).
fn check_request(dict: &Map<String, Value>) -> Result<String> {
    server::check_obj(dict, false).map(|(name, _)| name)
}

impl JobManager {
    /// Executes one QMP message (JSON text) and returns the reply as JSON
    /// text. Never panics on bad input: malformed JSON gets QEMU's
    /// `JSON parse error, …` reply.
    pub fn execute(&mut self, request: &str) -> String {
        let reply = match json::parse(request) {
            Ok(v) => self.execute_value(&v),
            Err(desc) => error_reply(&Error::generic(desc)),
        };
        reply.to_string()
    }

    /// Executes one QMP message given as a JSON value; returns the reply.
    pub fn execute_value(&mut self, request: &Value) -> Value {
        let Value::Object(dict) = request else {
            return error_reply(&Error::generic("QMP input must be a JSON object"));
        };
        let id = dict.get("id").cloned();
        let result = check_request(dict).and_then(|name| {
            let empty = Map::new();
            let args = match dict.get("arguments") {
                Some(Value::Object(a)) => a,
                _ => &empty,
            };
            self.dispatch(&name, args)
        });
        let mut reply = match result {
            Ok(v) => {
                let mut m = Map::new();
                m.insert("return".into(), v);
                Value::Object(m)
            }
            Err(e) => error_reply(&e),
        };
        if let (Some(id), Value::Object(m)) = (id, &mut reply) {
            m.insert("id".into(), id);
        }
        reply
    }

    /// Runs one command with its (already framing-checked) arguments.
    pub fn dispatch(&mut self, name: &str, arguments: &Map<String, Value>) -> Result<Value> {
        let mut a = Args::new(arguments, "");
        let done = |a: Args<'_>| a.finish();
        let ok = Ok(json!({}));
        match name {
            "query-jobs" => {
                done(a)?;
                Ok(Value::Array(
                    self.query_jobs().iter().map(JobInfo::to_json).collect(),
                ))
            }
            "query-block-jobs" => {
                done(a)?;
                Ok(Value::Array(
                    self.query_block_jobs()
                        .iter()
                        .map(BlockJobInfo::to_json)
                        .collect(),
                ))
            }
            "qmp_capabilities" => {
                a.ignore(&["enable"]);
                done(a)?;
                Err(Error {
                    class: ErrorClass::CommandNotFound,
                    desc: "Capabilities negotiation is already complete, command ignored".into(),
                })
            }
            "job-pause" | "job-resume" | "job-cancel" | "job-complete" | "job-finalize"
            | "job-dismiss" => {
                let id = a.req_str("id")?;
                done(a)?;
                match name {
                    "job-pause" => self.job_pause(&id),
                    "job-resume" => self.job_resume(&id),
                    "job-cancel" => self.job_cancel(&id),
                    "job-complete" => self.job_complete(&id),
                    "job-finalize" => self.job_finalize(&id),
                    _ => self.job_dismiss(&id),
                }?;
                ok
            }
            "block-job-pause" | "block-job-resume" | "block-job-complete" => {
                let device = a.req_str("device")?;
                done(a)?;
                match name {
                    "block-job-pause" => self.block_job_pause(&device),
                    "block-job-resume" => self.block_job_resume(&device),
                    _ => self.block_job_complete(&device),
                }?;
                ok
            }
            "block-job-finalize" | "block-job-dismiss" => {
                let id = a.req_str("id")?;
                done(a)?;
                if name == "block-job-finalize" {
                    self.block_job_finalize(&id)?;
                } else {
                    self.block_job_dismiss(&id)?;
                }
                ok
            }
            "block-job-cancel" => {
                let device = a.req_str("device")?;
                let force = a.opt_bool("force")?.unwrap_or(false);
                done(a)?;
                self.block_job_cancel(&device, force)?;
                ok
            }
            "block-job-set-speed" => {
                let device = a.req_str("device")?;
                let speed = a.req_int("speed")?;
                done(a)?;
                self.block_job_set_speed(&device, speed)?;
                ok
            }
            "blockdev-backup" => {
                let opts = parse_backup(&mut a)?;
                done(a)?;
                self.blockdev_backup(opts)?;
                ok
            }
            "blockdev-mirror" => {
                let opts = parse_mirror(&mut a)?;
                done(a)?;
                self.blockdev_mirror(opts)?;
                ok
            }
            "block-commit" => {
                let opts = parse_commit(&mut a)?;
                done(a)?;
                self.block_commit(opts)?;
                ok
            }
            "block-stream" => {
                let opts = parse_stream(&mut a)?;
                done(a)?;
                self.block_stream(opts)?;
                ok
            }
            "blockdev-create" => {
                let job_id = a.req_str("job-id")?;
                let mut o = a.req_obj("options")?;
                let opts = parse_create(&mut o)?;
                o.finish()?;
                done(a)?;
                self.blockdev_create(&job_id, opts)?;
                ok
            }
            "x-blockdev-amend" => {
                let job_id = a.req_str("job-id")?;
                let node_name = a.req_str("node-name")?;
                let mut o = a.req_obj("options")?;
                let driver = o.req_enum("driver", parse_driver)?;
                let mut encrypt = false;
                match driver.as_str() {
                    "qcow2" => {
                        if let Some(mut e) = o.opt_obj("encrypt")? {
                            encrypt = true;
                            e.ignore(&[
                                "format",
                                "state",
                                "new-secret",
                                "old-secret",
                                "keyslot",
                                "iter-time",
                                "secret",
                            ]);
                            e.finish()?;
                        }
                    }
                    "luks" => {
                        o.req_enum("state", |s| {
                            matches!(s, "active" | "inactive").then_some(())
                        })?;
                        o.ignore(&["new-secret", "old-secret", "keyslot", "iter-time", "secret"]);
                    }
                    _ => {}
                }
                o.finish()?;
                a.opt_bool("force")?;
                done(a)?;
                self.blockdev_amend(&job_id, &node_name, &driver, encrypt)?;
                ok
            }
            "snapshot-save" | "snapshot-load" => {
                let job_id = a.req_str("job-id")?;
                let tag = a.req_str("tag")?;
                let vmstate = a.req_str("vmstate")?;
                let devices = a.req_str_list("devices")?;
                done(a)?;
                if name == "snapshot-save" {
                    self.snapshot_save(&job_id, &tag, &vmstate, devices)?;
                } else {
                    self.snapshot_load(&job_id, &tag, &vmstate, devices)?;
                }
                ok
            }
            "snapshot-delete" => {
                let job_id = a.req_str("job-id")?;
                let tag = a.req_str("tag")?;
                let devices = a.req_str_list("devices")?;
                done(a)?;
                self.snapshot_delete(&job_id, &tag, devices)?;
                ok
            }
            "block-dirty-bitmap-add" => {
                let opts = parse_bitmap_add(&mut a)?;
                done(a)?;
                self.block_dirty_bitmap_add(&opts)?;
                ok
            }
            "block-dirty-bitmap-remove" => {
                let node = a.req_str("node")?;
                let name = a.req_str("name")?;
                done(a)?;
                self.block_dirty_bitmap_remove(&node, &name)?;
                ok
            }
            "transaction" => {
                let list = a.req_list("actions")?;
                let actions = parse_actions(list)?;
                let mut grouped = false;
                if let Some(mut p) = a.opt_obj("properties")? {
                    grouped = p
                        .opt_enum("completion-mode", |s| match s {
                            "individual" => Some(false),
                            "grouped" => Some(true),
                            _ => None,
                        })?
                        .unwrap_or(false);
                    p.finish()?;
                }
                done(a)?;
                self.transaction(actions, grouped)?;
                ok
            }
            "blockdev-add" => {
                let opts = parse_node(&mut a)?;
                done(a)?;
                self.blockdev_add(opts)?;
                ok
            }
            // qjob's own commands (QEMU has none of these): drive virtual time.
            "x-qjob-clock" => {
                done(a)?;
                Ok(json!({"now": self.now(), "next-deadline": self.next_deadline()}))
            }
            "x-qjob-advance" => {
                let ns = a.req_count("ns")?;
                done(a)?;
                self.advance(ns);
                Ok(json!({"now": self.now()}))
            }
            "x-qjob-settle" => {
                done(a)?;
                let steps = self.settle();
                Ok(json!({"steps": steps}))
            }
            "x-qjob-wait" => {
                let id = a.req_str("id")?;
                let status = a.req_enum("status", |s| s.parse::<crate::JobStatus>().ok())?;
                let timeout = a
                    .opt_count("timeout-ns")?
                    .unwrap_or(crate::scenario::WAIT_LIMIT_NS);
                done(a)?;
                let limit = self.now().saturating_add(timeout);
                let reached = self.run_until(limit, |m| match m.job_info(&id) {
                    Some(j) => j.status == status,
                    None => status == crate::JobStatus::Null,
                });
                Ok(json!({"reached": reached, "now": self.now()}))
            }
            "quit" => {
                done(a)?;
                self.quit();
                ok
            }
            "blockdev-del" => {
                let node = a.req_str("node-name")?;
                done(a)?;
                self.blockdev_del(&node)?;
                ok
            }
            _ => Err(Error::command_not_found(name)),
        }
    }
}

/// Parses the `actions` list of a QMP `transaction` (QAPI
/// `TransactionAction`s), with QEMU's argument errors; for
/// [`JobManager::transaction_in`] from bindings that take QMP JSON.
pub fn parse_transaction_actions(actions: &Value) -> Result<Vec<TransactionAction>> {
    match actions {
        Value::Array(list) => parse_actions(list),
        _ => Err(Error::invalid_type("actions", "array")),
    }
}

fn parse_actions(list: &[Value]) -> Result<Vec<TransactionAction>> {
    let mut actions = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let mut el = list_elem("actions", i, v)?;
        let ty = el.req_enum("type", |s| {
            matches!(
                s,
                "abort"
                    | "block-dirty-bitmap-add"
                    | "block-dirty-bitmap-remove"
                    | "block-dirty-bitmap-clear"
                    | "block-dirty-bitmap-enable"
                    | "block-dirty-bitmap-disable"
                    | "block-dirty-bitmap-merge"
                    | "blockdev-backup"
                    | "blockdev-snapshot"
                    | "blockdev-snapshot-internal-sync"
                    | "blockdev-snapshot-sync"
                    | "drive-backup"
            )
            .then(|| s.to_owned())
        })?;
        let mut data = el.req_obj("data")?;
        let action = match ty.as_str() {
            "blockdev-backup" => TransactionAction::BlockdevBackup(parse_backup(&mut data)?),
            "block-dirty-bitmap-add" => {
                TransactionAction::BlockDirtyBitmapAdd(parse_bitmap_add(&mut data)?)
            }
            "abort" => TransactionAction::Abort,
            other => {
                return Err(Error::generic(format!(
                    "qjob does not simulate the transaction action '{other}'"
                )));
            }
        };
        data.finish()?;
        el.finish()?;
        actions.push(action);
    }
    Ok(actions)
}

fn parse_driver(s: &str) -> Option<String> {
    const DRIVERS: &[&str] = &[
        "blkdebug",
        "blklogwrites",
        "blkreplay",
        "blkverify",
        "bochs",
        "cloop",
        "compress",
        "copy-before-write",
        "copy-on-read",
        "dmg",
        "file",
        "snapshot-access",
        "ftp",
        "ftps",
        "gluster",
        "host_cdrom",
        "host_device",
        "http",
        "https",
        "io_uring",
        "iscsi",
        "luks",
        "nbd",
        "nfs",
        "null-aio",
        "null-co",
        "nvme",
        "nvme-io_uring",
        "parallels",
        "preallocate",
        "qcow",
        "qcow2",
        "qed",
        "quorum",
        "raw",
        "rbd",
        "replication",
        "ssh",
        "throttle",
        "vdi",
        "vhdx",
        "virtio-blk-vfio-pci",
        "virtio-blk-vhost-user",
        "virtio-blk-vhost-vdpa",
        "vmdk",
        "vpc",
        "vvfat",
    ];
    DRIVERS.contains(&s).then(|| s.to_owned())
}

fn on_error(a: &mut Args<'_>, name: &'static str) -> Result<OnError> {
    Ok(a.opt_enum(name, OnError::parse)?.unwrap_or_default())
}

/// `BlockDirtyBitmapAdd`, in QAPI member order.
fn parse_bitmap_add(a: &mut Args<'_>) -> Result<BitmapAddOptions> {
    let node = a.req_str("node")?;
    let name = a.req_str("name")?;
    let granularity = a.opt_u32("granularity")?;
    let persistent = a.opt_bool("persistent")?.unwrap_or(false);
    a.opt_bool("disabled")?;
    Ok(BitmapAddOptions {
        node,
        name,
        granularity,
        persistent,
    })
}

/// `BackupCommon` + `target`, in QAPI member order.
fn parse_backup(a: &mut Args<'_>) -> Result<BackupOptions> {
    let job_id = a.opt_str("job-id")?;
    let device = a.req_str("device")?;
    let sync = a.req_enum("sync", SyncMode::parse)?;
    let speed = a.opt_int("speed")?.unwrap_or(0);
    let bitmap = a.opt_str("bitmap")?;
    let bitmap_mode = a.opt_enum("bitmap-mode", BitmapSyncMode::parse)?;
    let compress = a.opt_bool("compress")?.unwrap_or(false);
    let on_source_error = on_error(a, "on-source-error")?;
    let on_target_error = on_error(a, "on-target-error")?;
    let auto_finalize = a.opt_bool("auto-finalize")?.unwrap_or(true);
    let auto_dismiss = a.opt_bool("auto-dismiss")?.unwrap_or(true);
    let filter_node_name = a.opt_str("filter-node-name")?;
    let mut max_chunk = 0;
    let mut max_workers = 0;
    if let Some(mut p) = a.opt_obj("x-perf")? {
        p.opt_bool("use-copy-range")?;
        // Out-of-range values reach the job's creation, which refuses them
        // in QEMU's order: max-workers beyond i32 (so 0 and negatives
        // become u32::MAX), a negative max-chunk (beyond i64 as a u64).
        max_workers = match p.opt_int("max-workers")? {
            None => 0,
            Some(w) => u32::try_from(w)
                .ok()
                .filter(|&w| w >= 1)
                .unwrap_or(u32::MAX),
        };
        max_chunk = p.opt_int("max-chunk")?.unwrap_or(0) as u64;
        p.finish()?;
    }
    let target = a.req_str("target")?;
    Ok(BackupOptions {
        job: JobOptions {
            job_id,
            speed,
            auto_finalize,
            auto_dismiss,
        },
        device,
        target,
        sync,
        bitmap,
        bitmap_mode,
        compress,
        on_source_error,
        on_target_error,
        max_chunk,
        max_workers,
        filter_node_name,
    })
}

fn parse_mirror(a: &mut Args<'_>) -> Result<MirrorOptions> {
    let job_id = a.opt_str("job-id")?;
    let device = a.req_str("device")?;
    let target = a.req_str("target")?;
    let replaces = a.opt_str("replaces")?;
    let sync = a.req_enum("sync", SyncMode::parse)?;
    let speed = a.opt_int("speed")?.unwrap_or(0);
    let granularity = a.opt_u32("granularity")?.map_or(0, u64::from);
    let buf_size = a.opt_int("buf-size")?.unwrap_or(0);
    let on_source_error = on_error(a, "on-source-error")?;
    let on_target_error = on_error(a, "on-target-error")?;
    let filter_node_name = a.opt_str("filter-node-name")?;
    a.opt_enum("copy-mode", |s| {
        matches!(s, "background" | "write-blocking").then_some(())
    })?;
    let auto_finalize = a.opt_bool("auto-finalize")?.unwrap_or(true);
    let auto_dismiss = a.opt_bool("auto-dismiss")?.unwrap_or(true);
    Ok(MirrorOptions {
        job: JobOptions {
            job_id,
            speed,
            auto_finalize,
            auto_dismiss,
        },
        device,
        target,
        sync,
        granularity,
        buf_size,
        on_source_error,
        on_target_error,
        replaces,
        filter_node_name,
    })
}

fn parse_commit(a: &mut Args<'_>) -> Result<CommitOptions> {
    let job_id = a.opt_str("job-id")?;
    let device = a.req_str("device")?;
    let base_node = a.opt_str("base-node")?;
    let base = a.opt_str("base")?;
    let top_node = a.opt_str("top-node")?;
    let top = a.opt_str("top")?;
    let backing_file = a.opt_str("backing-file")?;
    let speed = a.opt_int("speed")?.unwrap_or(0);
    let on_error = on_error(a, "on-error")?;
    let filter_node_name = a.opt_str("filter-node-name")?;
    let auto_finalize = a.opt_bool("auto-finalize")?.unwrap_or(true);
    let auto_dismiss = a.opt_bool("auto-dismiss")?.unwrap_or(true);
    exclusive(
        &top_node,
        &top,
        "'top-node' and 'top' are mutually exclusive",
    )?;
    exclusive(
        &base_node,
        &base,
        "'base-node' and 'base' are mutually exclusive",
    )?;
    if top.is_some() || base.is_some() {
        return Err(Error::generic(
            "qjob simulates 'top-node' and 'base-node'; file names ('top', 'base') are not supported",
        ));
    }
    Ok(CommitOptions {
        job: JobOptions {
            job_id,
            speed,
            auto_finalize,
            auto_dismiss,
        },
        device,
        top_node,
        base_node,
        backing_file,
        on_error,
        filter_node_name,
    })
}

/// QEMU's refusal of two arguments given together.
fn exclusive(a: &Option<String>, b: &Option<String>, msg: &str) -> Result<()> {
    match (a, b) {
        (Some(_), Some(_)) => Err(Error::generic(msg)),
        _ => Ok(()),
    }
}

fn parse_stream(a: &mut Args<'_>) -> Result<StreamOptions> {
    let job_id = a.opt_str("job-id")?;
    let device = a.req_str("device")?;
    let base = a.opt_str("base")?;
    let base_node = a.opt_str("base-node")?;
    let backing_file = a.opt_str("backing-file")?;
    let bottom = a.opt_str("bottom")?;
    let speed = a.opt_int("speed")?.unwrap_or(0);
    let on_error = on_error(a, "on-error")?;
    let filter_node_name = a.opt_str("filter-node-name")?;
    let auto_finalize = a.opt_bool("auto-finalize")?.unwrap_or(true);
    let auto_dismiss = a.opt_bool("auto-dismiss")?.unwrap_or(true);
    let both = "cannot be specified at the same time";
    exclusive(&base, &base_node, &format!("'base' and 'base-node' {both}"))?;
    exclusive(&base, &bottom, &format!("'base' and 'bottom' {both}"))?;
    exclusive(
        &bottom,
        &base_node,
        &format!("'bottom' and 'base-node' {both}"),
    )?;
    if base.is_some() || bottom.is_some() {
        return Err(Error::generic(
            "qjob simulates 'base-node'; file names ('base') and 'bottom' are not supported",
        ));
    }
    Ok(StreamOptions {
        job: JobOptions {
            job_id,
            speed,
            auto_finalize,
            auto_dismiss,
        },
        device,
        base_node,
        backing_file,
        on_error,
        filter_node_name,
    })
}

/// QAPI `PreallocMode`.
fn prealloc_mode(s: &str) -> Option<()> {
    matches!(s, "off" | "metadata" | "falloc" | "full").then_some(())
}

fn parse_create(o: &mut Args<'_>) -> Result<CreateOptions> {
    let driver = o.req_enum("driver", parse_driver)?;
    match driver.as_str() {
        "file" => {
            let filename = o.req_str("filename")?;
            let size = o.req_uint("size")?;
            o.opt_enum("preallocation", prealloc_mode)?;
            o.opt_bool("nocow")?;
            o.opt_uint("extent-size-hint")?;
            Ok(CreateOptions::File { filename, size })
        }
        "qcow2" => {
            let file = match o.req_any("file")? {
                Value::String(s) => s.clone(),
                _ => {
                    return Err(Error::generic(
                        "qjob simulates blockdev-create onto a named node only",
                    ));
                }
            };
            o.ignore(&["data-file"]);
            o.opt_bool("data-file-raw")?;
            o.opt_bool("extended-l2")?;
            let size = o.req_uint("size")?;
            o.opt_enum("version", |s| matches!(s, "v2" | "v3").then_some(()))?;
            let backing_file = o.opt_str("backing-file")?;
            o.opt_enum("backing-fmt", parse_driver)?;
            o.ignore(&["encrypt"]);
            let cluster_size = o.opt_uint("cluster-size")?;
            o.opt_enum("preallocation", prealloc_mode)?;
            o.opt_bool("lazy-refcounts")?;
            o.opt_int("refcount-bits")?;
            o.opt_enum("compression-type", |s| {
                matches!(s, "zlib" | "zstd").then_some(())
            })?;
            Ok(CreateOptions::Format {
                driver,
                file,
                size,
                backing_file,
                cluster_size,
            })
        }
        // Drivers without creation options (raw, null-co, …): any member is
        // unexpected, and the driver cannot create.
        _ => {
            o.check_unexpected()?;
            Err(Error::generic("Driver does not support blockdev-create"))
        }
    }
}

fn parse_child(parent: &Args<'_>, name: &str, v: &Value) -> Result<ChildRef> {
    match v {
        Value::String(s) => Ok(ChildRef::Name(s.clone())),
        Value::Object(o) => {
            let mut a = Args::new(o, &parent.full(name));
            let opts = parse_node(&mut a)?;
            a.finish()?;
            Ok(ChildRef::Inline(Box::new(opts)))
        }
        _ => Err(Error::invalid_type(&parent.full(name), "BlockdevRef")),
    }
}

/// `BlockdevOptions` for the drivers qjob simulates.
fn parse_node(a: &mut Args<'_>) -> Result<NodeOptions> {
    let driver = a.req_enum("driver", parse_driver)?;
    let node_name = a.opt_str("node-name")?;
    a.ignore(&[
        "discard",
        "cache",
        "read-only",
        "auto-read-only",
        "force-share",
        "detect-zeroes",
    ]);
    match driver.as_str() {
        "null-co" | "null-aio" => {
            let size = a.opt_int("size")?.map(|s| s.max(0) as u64);
            a.opt_int("latency-ns")?;
            let read_zeroes = a.opt_bool("read-zeroes")?.unwrap_or(false);
            Ok(NodeOptions::NullCo {
                node_name,
                size: size.unwrap_or(NULL_CO_DEFAULT_SIZE),
                read_zeroes,
            })
        }
        "raw" => {
            let v = a.req_any("file")?;
            let file = parse_child(a, "file", v)?;
            a.ignore(&["offset", "size"]);
            Ok(NodeOptions::Raw { node_name, file })
        }
        "blkdebug" => {
            let v = a.req_any("image")?;
            let image = parse_child(a, "image", v)?;
            a.ignore(&[
                "config",
                "align",
                "max-transfer",
                "opt-write-zero",
                "max-write-zero",
                "opt-discard",
                "max-discard",
            ]);
            let mut rules = Vec::new();
            let full = a.full("inject-error");
            if let Some(list) = a.opt_list("inject-error")? {
                for (i, v) in list.iter().enumerate() {
                    let mut r = list_elem(&full, i, v)?;
                    let event = r.req_enum("event", |s| {
                        BlkdebugEvent::parse(s).map(Some).or_else(|| {
                            // Every other blkdebug event is accepted but never raised here.
                            matches!(
                                s,
                                "l1_update"
                                    | "l2_load"
                                    | "refblock_load"
                                    | "cluster_alloc"
                                    | "flush_to_os"
                                    | "flush_to_disk"
                                    | "pwritev"
                                    | "pwritev_done"
                                    | "read_backing_aio"
                                    | "write_compressed"
                            )
                            .then_some(None)
                        })
                    })?;
                    r.opt_int("state")?;
                    let iotype = r.opt_enum("iotype", crate::block::IoType::parse)?;
                    let errno = r.opt_int("errno")?.unwrap_or(crate::model::EIO as i64) as i32;
                    let sector = r.opt_int("sector")?.unwrap_or(-1);
                    let once = r.opt_bool("once")?.unwrap_or(false);
                    r.opt_bool("immediately")?;
                    r.finish()?;
                    if let Some(event) = event {
                        rules.push(InjectError {
                            event,
                            errno,
                            once,
                            sector,
                            iotype,
                        });
                    }
                }
            }
            a.ignore(&["set-state", "take-child-perms", "unshare-child-perms"]);
            Ok(NodeOptions::Blkdebug {
                node_name,
                image,
                inject_error: rules,
            })
        }
        "file" => {
            let filename = a.req_str("filename")?;
            a.ignore(&[
                "pr-manager",
                "locking",
                "aio",
                "aio-max-batch",
                "drop-cache",
                "x-check-cache-dropped",
            ]);
            Ok(NodeOptions::File {
                node_name,
                filename,
            })
        }
        "qcow2" => {
            let v = a.req_any("file")?;
            let file = parse_child(a, "file", v)?;
            let backing = match a.opt_any("backing") {
                None => None,
                Some(Value::Null) => Some(None),
                Some(Value::String(s)) => Some(Some(s.clone())),
                Some(_) => {
                    return Err(Error::generic(
                        "qjob simulates 'backing' as a node name or null",
                    ));
                }
            };
            a.ignore(&[
                "lazy-refcounts",
                "pass-discard-request",
                "pass-discard-snapshot",
                "pass-discard-other",
                "overlap-check",
                "cache-size",
                "l2-cache-size",
                "l2-cache-entry-size",
                "refcount-cache-size",
                "cache-clean-interval",
                "encrypt",
                "data-file",
            ]);
            Ok(NodeOptions::Qcow2 {
                node_name,
                file,
                backing,
            })
        }
        other => Err(Error::generic(format!(
            "qjob does not simulate the block driver '{other}'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qdict_buckets_are_stable() {
        assert!(qdict_bucket("execute") < 512);
        assert_ne!(qdict_bucket("execute"), qdict_bucket("arguments"));
    }
}
