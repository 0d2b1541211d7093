//! `blockdev-mirror`, and `mirror_start_job`, which active `block-commit`
//! shares.

use crate::block::{FilterKind, NodeRef, Role};
use crate::drain::FilterInsert;
use crate::driver::Work;
use crate::error::{Error, Result};
use crate::manager::JobManager;
use crate::model::{JobType, OnError};
use crate::options::{
    DriveMirrorOptions, JobOptions, MirrorCopyMode, MirrorOptions, NewImageMode, SyncMode,
};
use crate::perm::{JobLink, LinkRole, Perm};
use crate::profile::{DrainingJob, GraphChange};
use crate::workload::mirror::{BackingMode, DirtyInit, Mirror};

impl JobManager {
    /// `blockdev-mirror`: the source must be a root node (`Need a root block
    /// node`). The job runs until it is in sync (`ready`), then until
    /// completed or cancelled.
    pub fn blockdev_mirror(&mut self, opts: MirrorOptions) -> Result<()> {
        let bs = self.root_node(&opts.device)?;
        let target = self.lookup_node(&opts.target, &opts.target)?;
        self.mirror_common(&opts, bs, target, BackingMode::Leave, true)
    }

    /// `drive-mirror`: as `blockdev-mirror`, onto the image file `target`,
    /// created (mode `absolute-paths`: in the source's format and size,
    /// with the source's backing file for sync `top` and the source itself
    /// for `none`; QEMU prints its `Formatting` line) or opened (mode
    /// `existing`), without its backing chain while the job runs. When the
    /// job ends, the target gets the backing node it was made for (or, in
    /// mode `existing`, its image's backing chain); a completed mirror's
    /// target takes the source's place for its drive.
    pub fn drive_mirror(&mut self, opts: DriveMirrorOptions) -> Result<()> {
        let bs = self.root_node(&opts.mirror.device)?;
        self.op_blocked(bs)?;
        let existing = opts.mode == NewImageMode::Existing;
        let format = opts
            .format
            .clone()
            .or_else(|| (!existing).then(|| self.graph.node(bs).driver.name().to_owned()));
        let mut mirror = opts.mirror.clone();
        let mut target_backing = self.graph.child(self.graph.skip_filters(bs), Role::Backing);
        if target_backing.is_none() && mirror.sync == SyncMode::Top {
            mirror.sync = SyncMode::Full;
        }
        if mirror.sync == SyncMode::None {
            target_backing = Some(bs);
        }
        let size = self.graph.node(bs).size;
        if mirror.replaces.is_some() && opts.node_name.is_none() {
            return Err(Error::generic(
                "a node-name must be provided when replacing a named node of the graph",
            ));
        }
        if let (false, Some(format)) = (existing, &format) {
            let backing = match (mirror.sync, target_backing) {
                (SyncMode::Full, _) | (_, None) => None,
                (_, Some(b)) => Some(self.graph.backing_spec(b)),
            };
            self.img_create(&mirror.target, format, backing, size, false)?;
        }
        let target = self.open_image_file(
            &mirror.target,
            format.as_deref(),
            opts.node_name.as_deref(),
            true,
        )?;
        let backing_mode = if existing {
            BackingMode::Open
        } else {
            BackingMode::Source(match mirror.sync {
                SyncMode::None => Some(bs),
                SyncMode::Top => self.graph.backing_chain_next(bs),
                _ => None,
            })
        };
        // A new image reads as zeroes: only what the source holds is copied.
        let zero_target = mirror.sync == SyncMode::Full && existing;
        let result = self.mirror_common(&mirror, bs, target, backing_mode, zero_target);
        // The job holds the target now, or nothing does.
        self.unref_orphan(target);
        result
    }

    /// `blockdev_mirror_common`.
    fn mirror_common(
        &mut self,
        opts: &MirrorOptions,
        bs: NodeRef,
        target: NodeRef,
        backing_mode: BackingMode,
        zero_target: bool,
    ) -> Result<()> {
        let g = opts.granularity;
        if g != 0 && !(512..=64 * 1024 * 1024).contains(&g) {
            return Err(Error::invalid_value(
                "granularity",
                "a value in range [512B, 64MB]",
            ));
        }
        if g & g.wrapping_sub(1) != 0 {
            return Err(Error::invalid_value("granularity", "a power of 2"));
        }
        self.op_blocked(bs)?;
        self.op_blocked(target)?;
        self.backing_blocked(target)?;
        let mut sync = opts.sync;
        let backing = self.graph.backing_chain_next(bs);
        if backing.is_none() && sync == SyncMode::Top {
            sync = SyncMode::Full;
        }
        if let Some(r) = &opts.replaces {
            let Some(to_replace) = self.graph.lookup(r) else {
                return Err(Error::generic(format!(
                    "Failed to find node with node-name='{r}'"
                )));
            };
            self.op_blocked(to_replace)?;
            self.backing_blocked(to_replace)?;
            if to_replace != bs {
                return Err(Error::generic(format!(
                    "Cannot replace '{r}' by a node mirrored from '{}', because it cannot be \
                     guaranteed that doing so would not lead to an abrupt change of visible data",
                    self.graph.node(bs).name
                )));
            }
        }
        if matches!(sync, SyncMode::Incremental | SyncMode::Bitmap) {
            return Err(Error::generic(format!(
                "Sync mode '{}' not supported",
                sync.as_str()
            )));
        }
        let init = match sync {
            SyncMode::Full if zero_target => DirtyInit::All,
            SyncMode::Full => DirtyInit::AllocatedAbove(None),
            SyncMode::Top => DirtyInit::AllocatedAbove(backing),
            _ => DirtyInit::Nothing,
        };
        self.mirror_start_job(
            &opts.job,
            JobType::Mirror,
            bs,
            target,
            init,
            opts.buf_size,
            opts.granularity,
            opts.on_source_error,
            opts.on_target_error,
            opts.filter_node_name.as_deref(),
            backing_mode,
            opts.copy_mode,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn mirror_start_job(
        &mut self,
        job: &JobOptions,
        job_type: JobType,
        bs: NodeRef,
        target: NodeRef,
        init: DirtyInit,
        buf_size: i64,
        granularity: u64,
        on_source_error: OnError,
        on_target_error: OnError,
        filter_name: Option<&str>,
        backing_mode: BackingMode,
        copy_mode: MirrorCopyMode,
    ) -> Result<()> {
        if buf_size < 0 {
            return Err(Error::generic("Invalid parameter 'buf-size'"));
        }
        if bs == target {
            return Err(Error::generic("Can't mirror node into itself"));
        }
        // An active commit mirrors into a node of the source's chain.
        let commit = job_type == JobType::Commit;
        let draining = if commit {
            DrainingJob::ActiveCommit
        } else {
            DrainingJob::Mirror
        };
        if let Err(e) = self.check_filter_name(filter_name) {
            self.graph_lock_drains(GraphChange::FilterRefused(draining));
            return Err(e);
        }
        let kind = FilterKind::MirrorTop { commit };
        let top = self.insert_filter(bs, filter_name, kind, FilterInsert::Append)?;
        self.graph_lock_drains(GraphChange::FilterInserted(draining));
        let mut mirror = Box::new(Mirror::new(
            bs,
            target,
            Some(top),
            init,
            buf_size as u64,
            granularity,
            on_source_error,
            on_target_error,
        ));
        mirror.backing_mode = backing_mode;
        mirror.copy_mode = copy_mode;
        let work = Work::Mirror(mirror);
        let main_shared = Perm::CONSISTENT_READ | Perm::WRITE_UNCHANGED | Perm::WRITE;
        let created = self.block_job_create(
            job,
            job_type,
            top,
            Perm::CONSISTENT_READ,
            main_shared,
            None,
            work,
        );
        let j = match created {
            Ok(j) => j,
            Err(e) => {
                self.mirror_drop_top(bs, top);
                self.graph_lock_drains(GraphChange::CreationUndone(draining));
                return Err(e);
            }
        };
        // The target's BlockBackend (which may grow the base of an active
        // commit), the source, the target, and the nodes an active commit
        // takes out of the chain.
        let mut target_perm = Perm::WRITE;
        let mut target_shared = Perm::WRITE_UNCHANGED;
        if commit {
            if self.graph.node(target).size < self.graph.node(bs).size {
                target_perm = target_perm | Perm::RESIZE;
            }
            target_shared = target_shared | Perm::CONSISTENT_READ | Perm::WRITE;
        }
        let mut links = vec![
            JobLink::new(target, LinkRole::Backend, target_perm, target_shared),
            JobLink::new(bs, LinkRole::Source, Perm::NONE, main_shared),
            JobLink::new(target, LinkRole::Target, Perm::NONE, Perm::ALL),
        ];
        if commit {
            let between = self
                .chain(bs)
                .into_iter()
                .skip(1)
                .take_while(|&n| n != target);
            let shared = Perm::WRITE_UNCHANGED | Perm::WRITE;
            links.extend(
                between.map(|n| JobLink::new(n, LinkRole::IntermediateNode, Perm::NONE, shared)),
            );
        }
        for (i, link) in links.into_iter().enumerate() {
            let added = self.add_job_link(j, link);
            if added.is_err() {
                self.graph_lock_drains(GraphChange::MirrorLinkRefused(i == 0));
            }
            if let Err(e) = self.or_early_fail(j, added) {
                self.mirror_drop_top(bs, top);
                self.graph_lock_drains(GraphChange::CreationUndone(draining));
                return Err(e);
            }
        }
        self.job_graph_drains(j, GraphChange::JobAttached);
        self.start_job(j);
        Ok(())
    }

    /// `mirror_start_job`'s failure path once the filter is in: it leaves
    /// (when the failed job has not taken it already).
    fn mirror_drop_top(&mut self, bs: NodeRef, top: NodeRef) {
        if self.graph.alive(top) {
            self.drained_begin(bs);
            if let Some(c) = self.filter_child(top) {
                self.replace_node(top, c, &[]);
            }
            self.drained_end(bs);
            self.remove_filter_node(top);
        }
    }
}
