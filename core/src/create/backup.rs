//! `blockdev-backup`'s job: `do_backup_common` and `backup_job_create`.

use crate::block::{Driver, FilterKind, NodeRef, Role};
use crate::drain::FilterInsert;
use crate::driver::Work;
use crate::error::{Error, Result};
use crate::job::{JobRef, TxnRef};
use crate::manager::JobManager;
use crate::model::JobType;
use crate::options::{BackupOptions, BitmapSyncMode, DriveBackupOptions, NewImageMode, SyncMode};
use crate::perm::{JobLink, LinkRole, Perm};
use crate::profile::{DrainingJob, GraphChange};
use crate::workload::backup::{Backup, Sync};

impl JobManager {
    /// `drive_backup_prepare` up to the job: the target image created (mode
    /// `absolute-paths`: the source's format, size, and for sync `top` and
    /// `none` a backing file) and opened, with the source as the target's
    /// backing node for sync `none`. Returns the target node and the
    /// backup's options as the job takes them (sync `top` of a node without
    /// a backing node is `full`).
    pub(crate) fn drive_backup_target(
        &mut self,
        o: &DriveBackupOptions,
        bs: NodeRef,
    ) -> Result<(NodeRef, BackupOptions)> {
        let existing = o.mode == NewImageMode::Existing;
        let format = o
            .format
            .clone()
            .or_else(|| (!existing).then(|| self.graph.node(bs).driver.name().to_owned()));
        self.op_blocked(bs)?;
        let mut backup = o.backup.clone();
        let mut source = None;
        if backup.sync == SyncMode::Top {
            source = self.graph.child(self.graph.skip_filters(bs), Role::Backing);
            if source.is_none() {
                backup.sync = SyncMode::Full;
            }
        }
        let no_backing = backup.sync == SyncMode::None;
        if no_backing {
            source = Some(bs);
        }
        let size = self.graph.node(bs).size;
        if let (false, Some(format)) = (existing, &format) {
            let backing = source.map(|s| self.graph.backing_spec(s));
            self.img_create(&backup.target, format, backing, size, !no_backing)?;
        }
        let target = self.open_image_file(&backup.target, format.as_deref(), None, no_backing)?;
        // drive-backup opens its target with detect-zeroes=unmap.
        self.graph.node_mut(target).detect_zeroes = crate::block::DetectZeroes::Unmap;
        if no_backing {
            // bdrv_set_backing_hd(target, source)
            if !matches!(self.graph.node(target).driver, Driver::Qcow2) {
                let e = Error::generic(format!(
                    "Driver '{}' of node '{}' does not support backing files",
                    self.graph.node(target).driver.name(),
                    self.graph.node(target).name
                ));
                self.unref_orphan(target);
                return Err(e);
            }
            self.attach_child(target, Role::Backing, bs);
        }
        Ok((target, backup))
    }

    /// `do_backup_common` + `backup_job_create`.
    pub(crate) fn backup_job_create(
        &mut self,
        opts: &BackupOptions,
        bs: NodeRef,
        target: NodeRef,
        txn: Option<TxnRef>,
    ) -> Result<JobRef> {
        self.require_member("discard-source", opts.discard_source.is_some())?;
        self.require_member("x-perf.min-cluster-size", opts.min_cluster_size.is_some())?;
        if let Some(min) = opts.min_cluster_size
            && min > i64::MAX as u64
        {
            return Err(Error::generic(format!(
                "min-cluster-size too large: {min} > {}",
                i64::MAX
            )));
        }
        if matches!(opts.sync, SyncMode::Bitmap | SyncMode::Incremental) && opts.bitmap.is_none() {
            return Err(Error::generic(format!(
                "must provide a valid bitmap name for '{}' sync mode",
                opts.sync.as_str()
            )));
        }
        // `incremental` is `bitmap` with `on-success`.
        let (sync, bitmap_mode) = match (opts.sync, opts.bitmap_mode) {
            (SyncMode::Incremental, None | Some(BitmapSyncMode::OnSuccess)) => {
                (SyncMode::Bitmap, Some(BitmapSyncMode::OnSuccess))
            }
            (SyncMode::Incremental, Some(_)) => {
                return Err(Error::generic(
                    "Bitmap sync mode must be 'on-success' when using sync mode 'incremental'",
                ));
            }
            other => other,
        };
        if let Some(b) = &opts.bitmap {
            if !self.graph.node(bs).bitmaps.iter().any(|x| x.name == *b) {
                return Err(Error::generic(format!("Bitmap '{b}' could not be found")));
            }
            let Some(mode) = bitmap_mode else {
                return Err(Error::generic(
                    "Bitmap sync mode must be given when providing a bitmap",
                ));
            };
            self.bitmap_free(bs, b)?;
            if sync == SyncMode::None {
                return Err(Error::generic(
                    "sync mode 'none' does not produce meaningful bitmap outputs",
                ));
            }
            if mode == BitmapSyncMode::Never && sync != SyncMode::Bitmap {
                return Err(Error::generic(format!(
                    "Bitmap sync mode 'never' has no meaningful effect when combined with sync mode '{}'",
                    sync.as_str()
                )));
            }
        }
        if opts.bitmap.is_none() && bitmap_mode.is_some() {
            return Err(Error::generic(
                "Cannot specify bitmap sync mode without a bitmap",
            ));
        }
        if bs == target {
            return Err(Error::generic("Source and target cannot be the same"));
        }
        if opts.compress && !self.graph.node(target).driver.can_compress() {
            // QEMU names the target's device (none for nodes added with
            // blockdev-add).
            return Err(Error::generic(format!(
                "Compression is not supported for this drive {}",
                self.graph.device_name(target)
            )));
        }
        self.op_blocked(bs)?;
        self.op_blocked(target)?;
        if opts.max_workers > i32::MAX as u32 {
            return Err(Error::generic(format!(
                "max-workers must be between 1 and {}",
                i32::MAX
            )));
        }
        if opts.max_chunk > i64::MAX as u64 {
            return Err(Error::generic(
                "max-chunk must be zero (which means no limit) or positive",
            ));
        }
        let len = self.graph.node(bs).size;
        if self.graph.node(target).size != len {
            return Err(Error::generic(
                "Source and target image have different sizes",
            ));
        }
        if let Err(e) = self.check_inserted_name(opts.filter_node_name.as_deref()) {
            self.graph_lock_drains(GraphChange::FilterRefused(DrainingJob::Backup));
            return Err(e);
        }
        // Block-copy's cluster size: 64 KiB for every node qjob simulates,
        // or x-perf's min-cluster-size when larger (a power of 2, else
        // block-copy refuses it as the filter opens).
        let min_cluster = opts.min_cluster_size.unwrap_or(0);
        if min_cluster != 0 && !min_cluster.is_power_of_two() {
            // (block-copy refuses it once the filter has both children.)
            self.graph_lock_drains(GraphChange::FilterOpenRefused(DrainingJob::Backup, 2));
            return Err(Error::generic(
                "Could not create node: Cannot create block-copy-state: \
                 min-cluster-size needs to be a power of 2",
            ));
        }
        let cluster = min_cluster.max(64 * 1024);
        if opts.max_chunk != 0 && opts.max_chunk < cluster {
            return Err(Error::generic(format!(
                "Required max-chunk ({}) is less than backup cluster size ({cluster})",
                opts.max_chunk
            )));
        }
        let sync = match opts.sync {
            SyncMode::Full => Sync::Full,
            SyncMode::Bitmap | SyncMode::Incremental => Sync::Bitmap,
            SyncMode::Top => Sync::Top,
            SyncMode::None => Sync::None,
        };
        let cbw = self.insert_filter(
            bs,
            opts.filter_node_name.as_deref(),
            FilterKind::CopyBeforeWrite,
            FilterInsert::InsertNode {
                target: Some(target),
            },
        )?;
        self.graph_lock_drains(GraphChange::FilterInserted(DrainingJob::Backup));
        let speed = opts.job.speed.max(0) as u64;
        let mut backup = Box::new(Backup::new(
            bs,
            target,
            Some(cbw),
            len,
            sync,
            opts.on_source_error,
            opts.on_target_error,
            speed,
            opts.max_chunk,
            opts.max_workers,
        ));
        backup.bitmap = opts.bitmap.clone();
        // A cluster larger than a chunk is copied whole.
        backup.chunk = backup.chunk.max(cluster);
        backup.bitmap_mode = opts.bitmap.as_ref().and(bitmap_mode);
        let work = Work::Backup(backup);
        match self.block_job_create(
            &opts.job,
            JobType::Backup,
            cbw,
            Perm::NONE,
            Perm::ALL,
            txn,
            work,
        ) {
            Ok(j) => {
                self.attach_job(
                    j,
                    JobLink::new(target, LinkRole::Target, Perm::NONE, Perm::ALL),
                );
                self.job_graph_drains(j, GraphChange::JobAttached);
                Ok(j)
            }
            Err(e) => {
                self.drop_filter(cbw);
                self.graph_lock_drains(GraphChange::CreationUndone(DrainingJob::Backup));
                Err(e)
            }
        }
    }
}
