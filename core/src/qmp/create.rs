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
use serde_json::Value;

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

fn on_error(a: &mut Args<'_>, name: &'static str) -> Result<OnError> {
    Ok(a.opt_enum(name, OnError::parse)?.unwrap_or_default())
}

/// `BackupCommon` + `target`, in QAPI member order.
pub(super) fn parse_backup(a: &mut Args<'_>) -> Result<BackupOptions> {
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
    let job_id = a.opt_str("job-id")?;
    let device = a.req_str("device")?;
    let target = a.req_str("target")?;
    let format = a.opt_str("format")?;
    let node_name = a.opt_str("node-name")?;
    let replaces = a.opt_str("replaces")?;
    let sync = a.req_enum("sync", SyncMode::parse)?;
    let mode = a.opt_enum("mode", NewImageMode::parse)?.unwrap_or_default();
    let speed = a.opt_int("speed")?.unwrap_or(0);
    let granularity = a.opt_u32("granularity")?.map_or(0, u64::from);
    let buf_size = a.opt_int("buf-size")?.unwrap_or(0);
    let on_source_error = on_error(a, "on-source-error")?;
    let on_target_error = on_error(a, "on-target-error")?;
    let unmap = a.opt_bool("unmap")?;
    let copy_mode = a
        .opt_enum("copy-mode", MirrorCopyMode::parse)?
        .unwrap_or_default();
    let auto_finalize = a.opt_bool("auto-finalize")?.unwrap_or(true);
    let auto_dismiss = a.opt_bool("auto-dismiss")?.unwrap_or(true);
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
    let copy_mode = a
        .opt_enum("copy-mode", MirrorCopyMode::parse)?
        .unwrap_or_default();
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
        copy_mode,
    })
}

pub(super) fn parse_commit(a: &mut Args<'_>) -> Result<CommitOptions> {
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
    Ok(CommitOptions {
        job: JobOptions {
            job_id,
            speed,
            auto_finalize,
            auto_dismiss,
        },
        device,
        top_node,
        top,
        base_node,
        base,
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

pub(super) fn parse_stream(a: &mut Args<'_>) -> Result<StreamOptions> {
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
    if bottom.is_some() {
        return Err(Error::generic(
            "qjob simulates 'base' and 'base-node'; 'bottom' is not supported",
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
        base,
        backing_file,
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
