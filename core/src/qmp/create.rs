//! The arguments of the commands that create jobs, in QAPI member order,
//! with QEMU's argument errors.

use super::args::Args;
use crate::block::BlockdevDriver;
use crate::error::{Error, Result};
use crate::files::NewImage;
use crate::model::OnError;
use crate::options::{
    BackupOptions, BitmapSyncMode, CommitOptions, CreateOptions, DriveBackupOptions,
    DriveMirrorOptions, JobOptions, MirrorCopyMode, MirrorOptions, NewImageMode,
    SnapshotSyncOptions, StreamOptions, SyncMode,
};
use serde_json::{Map, Value, json};

/// `blockdev-create`: `job-id` and the `options` object.
pub(super) fn parse_blockdev_create(a: &mut Args<'_>) -> Result<(String, CreateOptions)> {
    let job_id = a.req_str("job-id")?;
    let mut o = a.req_obj("options")?;
    let opts = parse_create(&mut o)?;
    o.finish()?;
    Ok((job_id, opts))
}

/// The arguments of `x-blockdev-amend` qjob uses: job ID, node name,
/// driver, and whether an encryption change is asked for.
pub(super) struct Amend {
    pub job_id: String,
    pub node_name: String,
    pub driver: BlockdevDriver,
    pub encrypt: bool,
}

pub(super) fn parse_amend(a: &mut Args<'_>) -> Result<Amend> {
    let job_id = a.req_str("job-id")?;
    let node_name = a.req_str("node-name")?;
    let mut o = a.req_obj("options")?;
    let driver = o.req_enum("driver", BlockdevDriver::parse)?;
    let mut encrypt = false;
    match driver {
        BlockdevDriver::Qcow2 => {
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
        BlockdevDriver::Luks => {
            o.req_enum("state", |s| {
                matches!(s, "active" | "inactive").then_some(())
            })?;
            o.ignore(&["new-secret", "old-secret", "keyslot", "iter-time", "secret"]);
        }
        _ => {}
    }
    o.finish()?;
    a.opt_bool("force")?;
    Ok(Amend {
        job_id,
        node_name,
        driver,
        encrypt,
    })
}

/// `snapshot-save` and `snapshot-load`: job ID, tag, vmstate, devices.
pub(super) fn parse_snapshot(a: &mut Args<'_>) -> Result<(String, String, String, Vec<String>)> {
    let job_id = a.req_str("job-id")?;
    let tag = a.req_str("tag")?;
    let vmstate = a.req_str("vmstate")?;
    let devices = a.req_str_list("devices")?;
    Ok((job_id, tag, vmstate, devices))
}

/// `snapshot-delete`: job ID, tag, devices.
pub(super) fn parse_snapshot_delete(a: &mut Args<'_>) -> Result<(String, String, Vec<String>)> {
    let job_id = a.req_str("job-id")?;
    let tag = a.req_str("tag")?;
    let devices = a.req_str_list("devices")?;
    Ok((job_id, tag, devices))
}

/// The defaults of the job-creating commands' members, by command and QMP
/// member name: each options struct's `Default` (QEMU's defaults), which
/// the parsers below fill in for a member left out. For a front end that
/// shows them and for the bindings whose own signatures restate them (their
/// tests check them against this). `sync`, which QMP requires, is listed
/// with the typed API's default; members without one (IDs, nodes, bitmaps,
/// file names) are not listed.
pub fn option_defaults() -> Value {
    fn job(j: &JobOptions, more: Value) -> Value {
        let mut m = Map::new();
        m.insert("speed".into(), j.speed.into());
        m.insert("auto-finalize".into(), j.auto_finalize.into());
        m.insert("auto-dismiss".into(), j.auto_dismiss.into());
        if let Value::Object(more) = more {
            m.extend(more);
        }
        Value::Object(m)
    }
    let (b, mi) = (BackupOptions::default(), MirrorOptions::default());
    let (c, st) = (CommitOptions::default(), StreamOptions::default());
    json!({
        "blockdev-backup": job(&b.job, json!({
            "sync": b.sync.as_str(),
            "compress": b.compress,
            "on-source-error": b.on_source_error.as_str(),
            "on-target-error": b.on_target_error.as_str(),
        })),
        "blockdev-mirror": job(&mi.job, json!({
            "sync": mi.sync.as_str(),
            "granularity": mi.granularity,
            "buf-size": mi.buf_size,
            "on-source-error": mi.on_source_error.as_str(),
            "on-target-error": mi.on_target_error.as_str(),
        })),
        "block-commit": job(&c.job, json!({"on-error": c.on_error.as_str()})),
        "block-stream": job(&st.job, json!({"on-error": st.on_error.as_str()})),
    })
}

fn on_error(a: &mut Args<'_>, name: &'static str, default: OnError) -> Result<OnError> {
    Ok(a.opt_enum(name, OnError::parse)?.unwrap_or(default))
}

/// `BackupCommon` + `target`, in QAPI member order.
pub(super) fn parse_backup(a: &mut Args<'_>) -> Result<BackupOptions> {
    let d = BackupOptions::default();
    let job_id = a.opt_str("job-id")?;
    let device = a.req_str("device")?;
    let sync = a.req_enum("sync", SyncMode::parse)?;
    let speed = a.opt_int("speed")?.unwrap_or(d.job.speed);
    let bitmap = a.opt_str("bitmap")?;
    let bitmap_mode = a.opt_enum("bitmap-mode", BitmapSyncMode::parse)?;
    let compress = a.opt_bool("compress")?.unwrap_or(d.compress);
    let on_source_error = on_error(a, "on-source-error", d.on_source_error)?;
    let on_target_error = on_error(a, "on-target-error", d.on_target_error)?;
    let auto_finalize = a.opt_bool("auto-finalize")?.unwrap_or(d.job.auto_finalize);
    let auto_dismiss = a.opt_bool("auto-dismiss")?.unwrap_or(d.job.auto_dismiss);
    let filter_node_name = a.opt_str("filter-node-name")?;
    let discard_source = a.opt_bool_since("discard-source")?;
    let mut max_chunk = d.max_chunk;
    let mut max_workers = d.max_workers;
    let mut min_cluster_size = None;
    if let Some(mut p) = a.opt_obj("x-perf")? {
        p.opt_bool("use-copy-range")?;
        // Out-of-range values reach the job's creation, which refuses them
        // in QEMU's order: max-workers beyond i32 (so 0 and negatives
        // become u32::MAX), a negative max-chunk (beyond i64 as a u64).
        max_workers = match p.opt_int("max-workers")? {
            None => d.max_workers,
            Some(w) => u32::try_from(w)
                .ok()
                .filter(|&w| w >= 1)
                .unwrap_or(u32::MAX),
        };
        max_chunk = p.opt_int("max-chunk")?.map_or(d.max_chunk, |c| c as u64);
        if p.has_member("min-cluster-size") {
            min_cluster_size = p.opt_uint("min-cluster-size")?;
        }
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
        discard_source,
        min_cluster_size,
    })
}

/// `DriveBackup`: `BackupCommon`, `target`, then `format` and `mode`.
pub(super) fn parse_drive_backup(a: &mut Args<'_>) -> Result<DriveBackupOptions> {
    let backup = parse_backup(a)?;
    let format = a.opt_str("format")?;
    let mode = a.opt_enum("mode", NewImageMode::parse)?.unwrap_or_default();
    Ok(DriveBackupOptions {
        backup,
        format,
        mode,
    })
}

/// `DriveMirror`, in QAPI member order (it has no `filter-node-name`).
pub(super) fn parse_drive_mirror(a: &mut Args<'_>) -> Result<DriveMirrorOptions> {
    let d = MirrorOptions::default();
    let job_id = a.opt_str("job-id")?;
    let device = a.req_str("device")?;
    let target = a.req_str("target")?;
    let format = a.opt_str("format")?;
    let node_name = a.opt_str("node-name")?;
    let replaces = a.opt_str("replaces")?;
    let sync = a.req_enum("sync", SyncMode::parse)?;
    let mode = a.opt_enum("mode", NewImageMode::parse)?.unwrap_or_default();
    let speed = a.opt_int("speed")?.unwrap_or(d.job.speed);
    let granularity = a.opt_u32("granularity")?.map_or(d.granularity, u64::from);
    let buf_size = a.opt_int("buf-size")?.unwrap_or(d.buf_size);
    let on_source_error = on_error(a, "on-source-error", d.on_source_error)?;
    let on_target_error = on_error(a, "on-target-error", d.on_target_error)?;
    let unmap = a.opt_bool("unmap")?;
    let copy_mode = a
        .opt_enum("copy-mode", MirrorCopyMode::parse)?
        .unwrap_or(d.copy_mode);
    let auto_finalize = a.opt_bool("auto-finalize")?.unwrap_or(d.job.auto_finalize);
    let auto_dismiss = a.opt_bool("auto-dismiss")?.unwrap_or(d.job.auto_dismiss);
    Ok(DriveMirrorOptions {
        mirror: MirrorOptions {
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
            filter_node_name: None,
            copy_mode,
        },
        format,
        node_name,
        mode,
        unmap,
    })
}

/// `BlockdevSnapshotSync`.
pub(super) fn parse_snapshot_sync(a: &mut Args<'_>) -> Result<SnapshotSyncOptions> {
    let device = a.opt_str("device")?;
    let node_name = a.opt_str("node-name")?;
    let snapshot_file = a.req_str("snapshot-file")?;
    let snapshot_node_name = a.opt_str("snapshot-node-name")?;
    let format = a.opt_str("format")?;
    let mode = a.opt_enum("mode", NewImageMode::parse)?.unwrap_or_default();
    Ok(SnapshotSyncOptions {
        device,
        node_name,
        snapshot_file,
        snapshot_node_name,
        format,
        mode,
    })
}

/// `BlockdevSnapshot`: `node`, `overlay`.
pub(super) fn parse_snapshot_ext(a: &mut Args<'_>) -> Result<(String, String)> {
    let node = a.req_str("node")?;
    let overlay = a.req_str("overlay")?;
    Ok((node, overlay))
}

pub(super) fn parse_mirror(a: &mut Args<'_>) -> Result<MirrorOptions> {
    let d = MirrorOptions::default();
    let job_id = a.opt_str("job-id")?;
    let device = a.req_str("device")?;
    let target = a.req_str("target")?;
    let replaces = a.opt_str("replaces")?;
    let sync = a.req_enum("sync", SyncMode::parse)?;
    let speed = a.opt_int("speed")?.unwrap_or(d.job.speed);
    let granularity = a.opt_u32("granularity")?.map_or(d.granularity, u64::from);
    let buf_size = a.opt_int("buf-size")?.unwrap_or(d.buf_size);
    let on_source_error = on_error(a, "on-source-error", d.on_source_error)?;
    let on_target_error = on_error(a, "on-target-error", d.on_target_error)?;
    let filter_node_name = a.opt_str("filter-node-name")?;
    let copy_mode = a
        .opt_enum("copy-mode", MirrorCopyMode::parse)?
        .unwrap_or(d.copy_mode);
    let auto_finalize = a.opt_bool("auto-finalize")?.unwrap_or(d.job.auto_finalize);
    let auto_dismiss = a.opt_bool("auto-dismiss")?.unwrap_or(d.job.auto_dismiss);
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
        copy_mode,
    })
}

pub(super) fn parse_commit(a: &mut Args<'_>) -> Result<CommitOptions> {
    let d = CommitOptions::default();
    let job_id = a.opt_str("job-id")?;
    let device = a.req_str("device")?;
    let base_node = a.opt_str("base-node")?;
    let base = a.opt_str("base")?;
    let top_node = a.opt_str("top-node")?;
    let top = a.opt_str("top")?;
    let backing_file = a.opt_str("backing-file")?;
    let backing_mask_protocol = a.opt_bool_since("backing-mask-protocol")?;
    let (job, on_error, filter_node_name) = tail(a, job_id, &d.job, d.on_error)?;
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
    Ok(CommitOptions {
        job,
        device,
        top_node,
        top,
        base_node,
        base,
        backing_file,
        backing_mask_protocol,
        on_error,
        filter_node_name,
    })
}

/// The members `block-commit` and `block-stream` end with, in QAPI order:
/// `speed`, `on-error`, `filter-node-name`, `auto-finalize`, `auto-dismiss`.
fn tail(
    a: &mut Args<'_>,
    job_id: Option<String>,
    d: &JobOptions,
    default_on_error: OnError,
) -> Result<(JobOptions, OnError, Option<String>)> {
    let speed = a.opt_int("speed")?.unwrap_or(d.speed);
    let on_error = on_error(a, "on-error", default_on_error)?;
    let filter_node_name = a.opt_str("filter-node-name")?;
    let auto_finalize = a.opt_bool("auto-finalize")?.unwrap_or(d.auto_finalize);
    let auto_dismiss = a.opt_bool("auto-dismiss")?.unwrap_or(d.auto_dismiss);
    let job = JobOptions {
        job_id,
        speed,
        auto_finalize,
        auto_dismiss,
    };
    Ok((job, on_error, filter_node_name))
}

/// QEMU's refusal of two arguments given together.
fn exclusive(a: &Option<String>, b: &Option<String>, msg: &str) -> Result<()> {
    match (a, b) {
        (Some(_), Some(_)) => Err(Error::generic(msg)),
        _ => Ok(()),
    }
}

pub(super) fn parse_stream(a: &mut Args<'_>) -> Result<StreamOptions> {
    let d = StreamOptions::default();
    let job_id = a.opt_str("job-id")?;
    let device = a.req_str("device")?;
    let base = a.opt_str("base")?;
    let base_node = a.opt_str("base-node")?;
    let backing_file = a.opt_str("backing-file")?;
    let backing_mask_protocol = a.opt_bool_since("backing-mask-protocol")?;
    let bottom = a.opt_str("bottom")?;
    let (job, on_error, filter_node_name) = tail(a, job_id, &d.job, d.on_error)?;
    let both = "cannot be specified at the same time";
    exclusive(&base, &base_node, &format!("'base' and 'base-node' {both}"))?;
    exclusive(&base, &bottom, &format!("'base' and 'bottom' {both}"))?;
    exclusive(
        &bottom,
        &base_node,
        &format!("'bottom' and 'base-node' {both}"),
    )?;
    if bottom.is_some() {
        return Err(Error::generic(
            "qjob simulates 'base' and 'base-node'; 'bottom' is not supported",
        ));
    }
    Ok(StreamOptions {
        job,
        device,
        base_node,
        base,
        backing_file,
        backing_mask_protocol,
        on_error,
        filter_node_name,
    })
}

/// QAPI `PreallocMode`.
fn prealloc_mode(s: &str) -> Option<String> {
    matches!(s, "off" | "metadata" | "falloc" | "full").then(|| s.to_owned())
}

fn parse_create(o: &mut Args<'_>) -> Result<CreateOptions> {
    let driver = o.req_enum("driver", BlockdevDriver::parse)?;
    match driver {
        BlockdevDriver::File => {
            let filename = o.req_str("filename")?;
            let size = o.req_uint("size")?;
            o.opt_enum("preallocation", prealloc_mode)?;
            o.opt_bool("nocow")?;
            o.opt_uint("extent-size-hint")?;
            Ok(CreateOptions::File { filename, size })
        }
        BlockdevDriver::Qcow2 => {
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
            let extended_l2 = o.opt_bool("extended-l2")?;
            let size = o.req_uint("size")?;
            let version = o.opt_enum("version", |s| {
                matches!(s, "v2" | "v3").then(|| s.to_owned())
            })?;
            let backing_file = o.opt_str("backing-file")?;
            let backing_format = o
                .opt_enum("backing-fmt", BlockdevDriver::parse)?
                .map(|f| f.as_str().to_owned());
            o.ignore(&["encrypt"]);
            let cluster_size = o.opt_uint("cluster-size")?;
            let preallocation = o.opt_enum("preallocation", prealloc_mode)?;
            let lazy_refcounts = o.opt_bool("lazy-refcounts")?;
            let refcount_bits = o.opt_int("refcount-bits")?.map(|b| b as u64);
            let compression_type = o.opt_enum("compression-type", |s| {
                matches!(s, "zlib" | "zstd").then(|| s.to_owned())
            })?;
            Ok(CreateOptions::Format {
                driver: driver.as_str().to_owned(),
                file,
                image: Box::new(NewImage {
                    format: driver.as_str().to_owned(),
                    size,
                    backing_file,
                    backing_format,
                    cluster_size,
                    version,
                    extended_l2,
                    lazy_refcounts,
                    refcount_bits,
                    compression_type,
                    preallocation,
                    ..NewImage::default()
                }),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listed default is a member the command's parser reads, and
    /// giving it changes nothing: the parser fills in the same value.
    #[test]
    fn the_listed_defaults_are_the_parsers() {
        let required = json!({"job-id": "j", "device": "a", "target": "b", "sync": "full"});
        let Value::Object(defaults) = option_defaults() else {
            panic!("an object")
        };
        for (command, listed) in &defaults {
            let parse = |with_defaults: bool| -> Result<Value> {
                let mut args = required.as_object().cloned().unwrap_or_default();
                if !command.starts_with("blockdev-") {
                    args.remove("target");
                    args.remove("sync");
                }
                if with_defaults {
                    args.extend(listed.as_object().cloned().unwrap_or_default());
                }
                let mut a = Args::new(&args, "");
                let opts = match command.as_str() {
                    "blockdev-backup" => format!("{:?}", parse_backup(&mut a)?),
                    "blockdev-mirror" => format!("{:?}", parse_mirror(&mut a)?),
                    "block-commit" => format!("{:?}", parse_commit(&mut a)?),
                    "block-stream" => format!("{:?}", parse_stream(&mut a)?),
                    other => panic!("no parser for {other}"),
                };
                a.finish()?;
                Ok(opts.into())
            };
            assert_eq!(parse(true), parse(false), "{command}");
            assert!(parse(false).is_ok(), "{command}");
        }
        assert_eq!(defaults.len(), 4);
        assert_eq!(defaults["blockdev-backup"]["sync"], "full");
        assert_eq!(defaults["block-stream"]["auto-dismiss"], true);
    }
}
