//! Job creation through QEMU's own commands: `blockdev-backup` (and the
//! `transaction` it is a one-action case of), `blockdev-mirror`,
//! `block-commit`, `block-stream`, `blockdev-create`, `x-blockdev-amend` and
//! the `snapshot-*` commands. Checks run in QEMU 7.2's order with its texts;
//! drained sections happen where QEMU drains (SPEC.md §A3).

use crate::block::{Driver, NodeRef, Role};
use crate::error::{Error, ErrorClass, Result};
use crate::job::{JobRef, TxnRef};
use crate::manager::{JobManager, NewJob};
use crate::model::{JobType, OnError};
use crate::workload::Work;
use crate::workload::backup::{Backup, Sync};
use crate::workload::mirror::{DirtyInit, Mirror};
use crate::workload::oneshot::{Oneshot, Op};
use crate::workload::stream::{Mode, Stream};

/// QAPI `MirrorSyncMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Only what is allocated in the top image.
    Top,
    /// Everything.
    #[default]
    Full,
    /// Only new writes.
    None,
    /// Incremental, from a dirty bitmap.
    Incremental,
    /// From a dirty bitmap.
    Bitmap,
}

impl SyncMode {
    /// Every value, in QAPI declaration order.
    pub const ALL: &'static [SyncMode] = &[
        SyncMode::Top,
        SyncMode::Full,
        SyncMode::None,
        SyncMode::Incremental,
        SyncMode::Bitmap,
    ];

    /// Parses the QAPI spelling.
    pub fn parse(s: &str) -> Option<SyncMode> {
        Some(match s {
            "top" => SyncMode::Top,
            "full" => SyncMode::Full,
            "none" => SyncMode::None,
            "incremental" => SyncMode::Incremental,
            "bitmap" => SyncMode::Bitmap,
            _ => return None,
        })
    }

    /// The QAPI spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            SyncMode::Top => "top",
            SyncMode::Full => "full",
            SyncMode::None => "none",
            SyncMode::Incremental => "incremental",
            SyncMode::Bitmap => "bitmap",
        }
    }
}

/// Options common to the block-job creation commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOptions {
    /// Job ID; when absent, QEMU uses the device name of the node, which
    /// nodes added with `blockdev-add` do not have (`Invalid job ID ''`).
    pub job_id: Option<String>,
    /// Initial speed limit (bytes/s).
    pub speed: i64,
    /// Finalize automatically (default true).
    pub auto_finalize: bool,
    /// Dismiss automatically (default true).
    pub auto_dismiss: bool,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            job_id: None,
            speed: 0,
            auto_finalize: true,
            auto_dismiss: true,
        }
    }
}

impl JobOptions {
    /// Options with a job ID and QEMU's defaults otherwise.
    pub fn with_id(id: &str) -> JobOptions {
        JobOptions {
            job_id: Some(id.to_owned()),
            ..JobOptions::default()
        }
    }
}

/// QAPI `BitmapSyncMode`: when a backup's bitmap is synchronised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitmapSyncMode {
    /// Cleared of what was copied if the job succeeds.
    OnSuccess,
    /// Never changed.
    Never,
    /// Cleared of what was copied whatever the outcome.
    Always,
}

impl BitmapSyncMode {
    /// From its QAPI name.
    pub fn parse(s: &str) -> Option<BitmapSyncMode> {
        match s {
            "on-success" => Some(BitmapSyncMode::OnSuccess),
            "never" => Some(BitmapSyncMode::Never),
            "always" => Some(BitmapSyncMode::Always),
            _ => None,
        }
    }

    /// Its QAPI name.
    pub const fn as_str(self) -> &'static str {
        match self {
            BitmapSyncMode::OnSuccess => "on-success",
            BitmapSyncMode::Never => "never",
            BitmapSyncMode::Always => "always",
        }
    }
}

/// Arguments of `blockdev-backup`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupOptions {
    /// ID, speed, auto-finalize, auto-dismiss.
    pub job: JobOptions,
    /// Source node.
    pub device: String,
    /// Target node.
    pub target: String,
    /// Sync mode.
    pub sync: SyncMode,
    /// Dirty bitmap name (bitmap and incremental modes).
    pub bitmap: Option<String>,
    /// `bitmap-mode`: when the bitmap is synchronised (`None`: not given).
    pub bitmap_mode: Option<BitmapSyncMode>,
    /// Compress the target.
    pub compress: bool,
    /// Policy for read errors.
    pub on_source_error: OnError,
    /// Policy for write errors.
    pub on_target_error: OnError,
    /// `x-perf.max-chunk` (0: no limit). Refused, as QEMU refuses them,
    /// below the 64 KiB cluster size and above `i64::MAX` (a negative
    /// QMP value).
    pub max_chunk: u64,
    /// `x-perf.max-workers` (0: the default, 64). Refused, as QEMU refuses
    /// 0 or a negative QMP value, above `i32::MAX`.
    pub max_workers: u32,
    /// `filter-node-name`: the name of the filter node the job inserts
    /// (default: an implicit, unnamed node).
    pub filter_node_name: Option<String>,
}

/// Arguments of `blockdev-mirror`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorOptions {
    /// ID, speed, auto-finalize, auto-dismiss.
    pub job: JobOptions,
    /// Source node (must be a root node).
    pub device: String,
    /// Target node.
    pub target: String,
    /// Sync mode.
    pub sync: SyncMode,
    /// Granularity of the dirty bitmap (0: default).
    pub granularity: u64,
    /// Buffer size (0: default 16 MiB), rounded up to a whole number of
    /// granularity chunks as QEMU does.
    pub buf_size: i64,
    /// Policy for read errors.
    pub on_source_error: OnError,
    /// Policy for write errors.
    pub on_target_error: OnError,
    /// `replaces`: the node the target replaces at completion. QEMU lets
    /// a mirror replace only its source (what it replaces anyway), and
    /// refuses any other node.
    pub replaces: Option<String>,
    /// `filter-node-name`: the name of the filter node the job inserts
    /// (default: an implicit, unnamed node).
    pub filter_node_name: Option<String>,
}

/// Arguments of `block-commit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitOptions {
    /// ID, speed, auto-finalize, auto-dismiss.
    pub job: JobOptions,
    /// The active layer of the chain.
    pub device: String,
    /// Lowest node whose data is committed (default: `device`, an active commit).
    pub top_node: Option<String>,
    /// Node that receives the data (default: the bottom of the chain).
    pub base_node: Option<String>,
    /// `backing-file`: the backing file name to record above the base;
    /// refused, as QEMU refuses it, for an active commit.
    pub backing_file: Option<String>,
    /// Error policy.
    pub on_error: OnError,
    /// `filter-node-name`: the name of the filter node the job inserts
    /// (default: an implicit, unnamed node).
    pub filter_node_name: Option<String>,
}

/// Arguments of `block-stream`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// ID, speed, auto-finalize, auto-dismiss.
    pub job: JobOptions,
    /// The node that receives the data.
    pub device: String,
    /// Node that stays as the new backing node (default: none, stream everything).
    pub base_node: Option<String>,
    /// `backing-file`: the backing file name to record; refused, as QEMU
    /// refuses it, when no base stays (the whole chain is streamed).
    pub backing_file: Option<String>,
    /// Error policy.
    pub on_error: OnError,
    /// `filter-node-name`: the name of the filter node the job inserts
    /// (default: an implicit, unnamed node).
    pub filter_node_name: Option<String>,
}

/// The image `blockdev-create` makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOptions {
    /// Driver `file`: a new image file.
    File {
        /// File name (relative to the scenario's folder).
        filename: String,
        /// Size in bytes.
        size: u64,
    },
    /// Driver `qcow2` onto an existing `file` node.
    Format {
        /// `qcow2`.
        driver: String,
        /// Node name of the file node.
        file: String,
        /// Virtual size.
        size: u64,
        /// Backing file name.
        backing_file: Option<String>,
        /// `cluster-size` (default 64 KiB); the job fails, as QEMU's does,
        /// unless it is a power of two from 512 bytes to 2 MiB.
        cluster_size: Option<u64>,
    },
}

/// Arguments of `block-dirty-bitmap-add` (a command, and a transaction action).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BitmapAddOptions {
    /// Node (or device) name.
    pub node: String,
    /// Bitmap name.
    pub name: String,
    /// Bitmap granularity (a power of 2, at least 512; default: the node's).
    pub granularity: Option<u32>,
    /// Stored in the image (qcow2 nodes only).
    pub persistent: bool,
}

/// One action of `transaction`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionAction {
    /// `blockdev-backup`.
    BlockdevBackup(BackupOptions),
    /// `block-dirty-bitmap-add` (does not support grouped completion).
    BlockDirtyBitmapAdd(BitmapAddOptions),
    /// `abort`: always fails.
    Abort,
}

impl TransactionAction {
    fn type_name(&self) -> &'static str {
        match self {
            TransactionAction::BlockdevBackup(_) => "blockdev-backup",
            TransactionAction::BlockDirtyBitmapAdd { .. } => "block-dirty-bitmap-add",
            TransactionAction::Abort => "abort",
        }
    }
}

/// What a prepared transaction action left for commit, abort and clean.
struct ActionState {
    drained: Option<NodeRef>,
    job: Option<JobRef>,
    bitmap: Option<(NodeRef, String)>,
}

impl JobManager {
    /// `bdrv_lookup_bs(device, node)`.
    pub(crate) fn lookup_node(&self, device: &str, node: &str) -> Result<NodeRef> {
        let found = if device.is_empty() {
            None
        } else {
            self.graph.lookup(device)
        };
        found.or_else(|| self.graph.lookup(node)).ok_or_else(|| {
            Error::generic(format!(
                "Cannot find device='{device}' nor node-name='{node}'"
            ))
        })
    }

    /// `qmp_get_root_bs`.
    fn root_node(&self, name: &str) -> Result<NodeRef> {
        let n = self.lookup_node(name, name)?;
        if !self.graph.is_root(n) {
            return Err(Error::generic("Need a root block node"));
        }
        Ok(n)
    }

    /// `bdrv_assign_node_name`'s checks of a filter node's name.
    fn check_filter_name(&self, name: Option<&str>) -> Result<()> {
        let Some(n) = name else {
            return Ok(());
        };
        if !crate::model::id_wellformed(n) {
            return Err(Error::generic(format!("Invalid node-name: '{n}'")));
        }
        if self.graph.lookup(n).is_some() {
            return Err(Error::generic(format!(
                "Duplicate nodes with node-name='{n}'"
            )));
        }
        if n.len() >= 32 {
            return Err(Error::generic("Node name too long"));
        }
        Ok(())
    }

    /// [`check_filter_name`](Self::check_filter_name) for a filter that
    /// `bdrv_insert_node` opens (backup, stream), whose errors say so.
    fn check_inserted_name(&self, name: Option<&str>) -> Result<()> {
        self.check_filter_name(name).map_err(|e| Error {
            desc: format!("Could not create node: {}", e.desc),
            ..e
        })
    }

    /// The backing op blocker: a node that backs another is closed to the
    /// operations QEMU does not unblock for backing nodes (all but commit,
    /// stream and backup), after any job's blocker, the newer one.
    pub(crate) fn backing_blocked(&self, n: NodeRef) -> Result<()> {
        match self.graph.backing_parent(n) {
            Some(p) => Err(Error::generic(format!(
                "Node '{}' is busy: node is used as backing hd of '{}'",
                self.graph.node(n).name,
                self.graph.node(p).name
            ))),
            None => Ok(()),
        }
    }

    /// `bdrv_op_is_blocked`: a node used by a job refuses other operations.
    fn op_blocked(&self, n: NodeRef) -> Result<()> {
        if let Some(&j) = self.graph.node(n).blockers.first() {
            return Err(Error::generic(format!(
                "Node '{}' is busy: block device is in use by block job: {}",
                self.graph.node(n).name,
                self.job(j).job_type
            )));
        }
        Ok(())
    }

    /// The default job ID of a block job: the device name of its node,
    /// which nodes added with `blockdev-add` do not have.
    fn default_job_id(opts: &JobOptions) -> String {
        opts.job_id.clone().unwrap_or_default()
    }

    /// `block_job_create`: creates the job, attaches it to its main node,
    /// applies the initial speed (an error there is an early fail).
    fn block_job_create(
        &mut self,
        opts: &JobOptions,
        job_type: JobType,
        main: NodeRef,
        txn: Option<TxnRef>,
        work: Work,
    ) -> Result<JobRef> {
        let j = self.create_job(NewJob {
            id: Some(Self::default_job_id(opts)),
            job_type,
            auto_finalize: opts.auto_finalize,
            auto_dismiss: opts.auto_dismiss,
            txn,
            work,
        })?;
        self.attach_job(j, main);
        if let Err(e) = self.set_speed(j, opts.speed) {
            self.early_fail(j);
            return Err(e);
        }
        Ok(j)
    }

    // ----------------------------------------------------------------
    // blockdev-backup and transaction
    // ----------------------------------------------------------------

    /// `block-dirty-bitmap-add`: a dirty bitmap on a node, with QEMU's
    /// checks in its order (name, node, granularity, persistence,
    /// uniqueness).
    pub fn block_dirty_bitmap_add(&mut self, opts: &BitmapAddOptions) -> Result<()> {
        self.add_bitmap(opts).map(|_| ())
    }

    /// [`block_dirty_bitmap_add`](Self::block_dirty_bitmap_add); returns the node.
    fn add_bitmap(&mut self, opts: &BitmapAddOptions) -> Result<NodeRef> {
        let BitmapAddOptions {
            node,
            name,
            granularity,
            persistent,
        } = opts;
        if name.is_empty() {
            return Err(Error::generic("Bitmap name cannot be empty"));
        }
        let n = self.lookup_node(node, node)?;
        if granularity.is_some_and(|g| g < 512 || !g.is_power_of_two()) {
            return Err(Error::generic(
                "Granularity must be power of 2 and at least 512",
            ));
        }
        if *persistent && !matches!(self.graph.node(n).driver, Driver::Qcow2) {
            return Err(Error::generic(format!(
                "Can't store persistent bitmaps to {node}: Operation not supported"
            )));
        }
        if self.graph.node(n).bitmaps.iter().any(|b| b == name) {
            return Err(Error::generic(format!("Bitmap already exists: {name}")));
        }
        self.graph.node_mut(n).bitmaps.push(name.clone());
        Ok(n)
    }

    /// `block-dirty-bitmap-remove`: removes bitmap `name` from `node`.
    pub fn block_dirty_bitmap_remove(&mut self, node: &str, name: &str) -> Result<()> {
        let Some(n) = self.graph.lookup(node) else {
            return Err(Error::generic(format!("Node '{node}' not found")));
        };
        let Some(i) = self.graph.node(n).bitmaps.iter().position(|b| b == name) else {
            return Err(Error::generic(format!("Dirty bitmap '{name}' not found")));
        };
        self.bitmap_free(n, name)?;
        self.graph.node_mut(n).bitmaps.remove(i);
        Ok(())
    }

    /// Refuses a bitmap a backup of `node` still uses (QEMU freezes it
    /// until the job's commit or abort, just before it concludes).
    fn bitmap_free(&self, node: NodeRef, name: &str) -> Result<()> {
        let busy = self.jobs.iter().any(|(_, j)| {
            !matches!(
                j.status,
                crate::JobStatus::Concluded | crate::JobStatus::Null
            ) && matches!(&j.work, Work::Backup(b)
                    if b.source == node && b.bitmap.as_deref() == Some(name))
        });
        if busy {
            return Err(Error::generic(format!(
                "Bitmap '{name}' is currently in use by another operation and cannot be used"
            )));
        }
        Ok(())
    }

    /// `blockdev-backup`: a one-action `transaction`. Like QEMU, it first
    /// drains every node (each running job goes `paused` then `running`),
    /// then creates and starts the job inside a drained section of its source.
    pub fn blockdev_backup(&mut self, opts: BackupOptions) -> Result<()> {
        self.transaction(vec![TransactionAction::BlockdevBackup(opts)], false)
    }

    /// `transaction`: prepares every action (stopping at the first error,
    /// which rolls back the ones prepared), then commits them all. With
    /// `grouped`, the jobs it creates form one job transaction that fails
    /// and finalizes as a unit.
    pub fn transaction(&mut self, actions: Vec<TransactionAction>, grouped: bool) -> Result<()> {
        let txn = if grouped {
            let t = self.new_txn();
            self.txn_held.push(t);
            Some(t)
        } else {
            None
        };
        self.run_transaction(actions, txn, grouped)
    }

    /// A `transaction` whose jobs join a transaction made with
    /// [`JobManager::new_transaction`] (where host jobs may be members too),
    /// as `completion-mode: grouped` does.
    pub fn transaction_in(
        &mut self,
        actions: Vec<TransactionAction>,
        txn: crate::workload::host::TxnHandle,
    ) -> Result<()> {
        let t = self.resolve_txn(txn)?;
        self.txn_held.push(t);
        self.run_transaction(actions, Some(t), true)
    }

    fn run_transaction(
        &mut self,
        actions: Vec<TransactionAction>,
        txn: Option<TxnRef>,
        grouped: bool,
    ) -> Result<()> {
        self.drain_all();
        let mut states: Vec<ActionState> = Vec::new();
        let mut failure = None;
        for action in &actions {
            let mut st = ActionState {
                drained: None,
                job: None,
                bitmap: None,
            };
            let r = self.prepare_action(action, txn, grouped, &mut st);
            states.push(st);
            if let Err(e) = r {
                failure = Some(e);
                break;
            }
        }
        if failure.is_some() {
            for st in states.iter().rev() {
                if let Some(j) = st.job
                    && self.job_alive(j)
                {
                    self.cancel_sync(j, true);
                }
                if let Some((n, name)) = &st.bitmap {
                    self.graph.node_mut(*n).bitmaps.retain(|b| b != name);
                }
            }
        } else {
            for st in &states {
                if let Some(j) = st.job
                    && self.job_alive(j)
                {
                    self.start_job(j);
                }
            }
        }
        for st in &states {
            if let Some(n) = st.drained {
                self.drained_end(n);
            }
        }
        if let Some(t) = txn {
            if let Some(i) = self.txn_held.iter().position(|&x| x == t) {
                self.txn_held.remove(i);
            }
            self.maybe_free_txn(t);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn prepare_action(
        &mut self,
        action: &TransactionAction,
        txn: Option<TxnRef>,
        grouped: bool,
        st: &mut ActionState,
    ) -> Result<()> {
        let check_grouped = || {
            if grouped {
                Err(Error::generic(format!(
                    "Action '{}' does not support Transaction property completion-mode = grouped",
                    action.type_name()
                )))
            } else {
                Ok(())
            }
        };
        match action {
            // The one action QEMU lets into a grouped transaction unchecked.
            TransactionAction::Abort => {
                Err(Error::generic("Transaction aborted using Abort action"))
            }
            TransactionAction::BlockDirtyBitmapAdd(opts) => {
                check_grouped()?;
                let n = self.add_bitmap(opts)?;
                st.bitmap = Some((n, opts.name.clone()));
                Ok(())
            }
            TransactionAction::BlockdevBackup(opts) => {
                let bs = self.lookup_node(&opts.device, &opts.device)?;
                let target = self.lookup_node(&opts.target, &opts.target)?;
                self.drained_begin(bs);
                st.drained = Some(bs);
                let j = self.backup_job_create(opts, bs, target, txn)?;
                st.job = Some(j);
                Ok(())
            }
        }
    }

    /// `do_backup_common` + `backup_job_create`.
    fn backup_job_create(
        &mut self,
        opts: &BackupOptions,
        bs: NodeRef,
        target: NodeRef,
        txn: Option<TxnRef>,
    ) -> Result<JobRef> {
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
            if !self.graph.node(bs).bitmaps.contains(b) {
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
        if opts.compress {
            // QEMU names the target's device, which nodes added with
            // blockdev-add do not have.
            return Err(Error::generic(
                "Compression is not supported for this drive ",
            ));
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
        self.check_inserted_name(opts.filter_node_name.as_deref())?;
        // Block-copy's cluster size: 64 KiB for every node qjob simulates.
        const CLUSTER: u64 = 64 * 1024;
        if opts.max_chunk != 0 && opts.max_chunk < CLUSTER {
            return Err(Error::generic(format!(
                "Required max-chunk ({}) is less than backup cluster size ({CLUSTER})",
                opts.max_chunk
            )));
        }
        let sync = match opts.sync {
            SyncMode::Full | SyncMode::Bitmap | SyncMode::Incremental => Sync::Full,
            SyncMode::Top => Sync::Top,
            SyncMode::None => Sync::None,
        };
        let cbw = self.insert_filter(bs, opts.filter_node_name.as_deref());
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
        let work = Work::Backup(backup);
        match self.block_job_create(&opts.job, JobType::Backup, cbw, txn, work) {
            Ok(j) => {
                self.attach_job(j, target);
                Ok(j)
            }
            Err(e) => {
                self.drop_filter(cbw);
                Err(e)
            }
        }
    }

    // ----------------------------------------------------------------
    // blockdev-mirror, block-commit, block-stream
    // ----------------------------------------------------------------

    /// `blockdev-mirror`: the source must be a root node (`Need a root block
    /// node`). The job runs until it is in sync (`ready`), then until
    /// completed or cancelled.
    pub fn blockdev_mirror(&mut self, opts: MirrorOptions) -> Result<()> {
        let bs = self.root_node(&opts.device)?;
        let target = self.lookup_node(&opts.target, &opts.target)?;
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
        let backing = self.graph.child(bs, Role::Backing);
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
            SyncMode::Full => DirtyInit::All,
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
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn mirror_start_job(
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
    ) -> Result<()> {
        if buf_size < 0 {
            return Err(Error::generic("Invalid parameter 'buf-size'"));
        }
        if bs == target {
            return Err(Error::generic("Can't mirror node into itself"));
        }
        self.check_filter_name(filter_name)?;
        let top = self.insert_filter(bs, filter_name);
        let work = Work::Mirror(Box::new(Mirror::new(
            bs,
            target,
            Some(top),
            init,
            buf_size as u64,
            granularity,
            on_source_error,
            on_target_error,
        )));
        let j = match self.block_job_create(job, job_type, top, None, work) {
            Ok(j) => j,
            Err(e) => {
                if self.graph.alive(top) {
                    self.drained_begin(bs);
                    if let Some(c) = self.filter_child(top) {
                        self.replace_node(top, c, None);
                    }
                    self.drained_end(bs);
                    self.remove_filter_node(top);
                }
                return Err(e);
            }
        };
        self.attach_job(j, bs);
        self.attach_job(j, target);
        self.start_job(j);
        Ok(())
    }

    /// The backing chain below `n`, from `n` down (filters skipped).
    fn chain(&self, n: NodeRef) -> Vec<NodeRef> {
        let mut v = Vec::new();
        let mut cur = Some(n);
        while let Some(c) = cur {
            if !matches!(self.graph.node(c).driver, Driver::JobFilter) {
                v.push(c);
            }
            cur = self.graph.child(c, Role::Backing);
        }
        v
    }

    /// `block-commit`: with no `top-node` (or the active layer itself) it is
    /// an active commit, mirror-like: it reaches `ready` and waits for
    /// `job-complete`. Otherwise the data of `top-node` … above `base-node`
    /// goes into the base and those nodes leave the chain.
    pub fn block_commit(&mut self, opts: CommitOptions) -> Result<()> {
        let bs = match self.root_node(&opts.device) {
            Ok(n) => n,
            Err(e) => {
                return Err(match self.graph.lookup(&opts.device) {
                    Some(_) => e,
                    None => Error {
                        class: ErrorClass::DeviceNotFound,
                        desc: format!("Device '{}' not found", opts.device),
                    },
                });
            }
        };
        let chain = self.chain(bs);
        let top = match &opts.top_node {
            Some(t) => {
                let n = self.lookup_node("", t)?;
                if !chain.contains(&n) {
                    return Err(Error::generic(format!(
                        "'{t}' is not in this backing file chain"
                    )));
                }
                n
            }
            None => bs,
        };
        let top_chain = self.chain(top);
        let base = match &opts.base_node {
            Some(b) => {
                let n = self.lookup_node("", b)?;
                if !top_chain.contains(&n) {
                    return Err(Error::generic(format!(
                        "'{b}' is not in this backing file chain"
                    )));
                }
                n
            }
            None => *top_chain.last().expect("chain has its top"),
        };
        for &n in top_chain.iter().take_while(|&&n| n != base) {
            self.op_blocked(n)?;
        }
        if top == base {
            return Err(Error::generic("cannot commit an image into itself"));
        }
        if top == bs {
            if opts.backing_file.is_some() {
                return Err(Error::generic(
                    "'backing-file' specified, but 'top' is the active layer",
                ));
            }
            return self.mirror_start_job(
                &opts.job,
                JobType::Commit,
                bs,
                base,
                DirtyInit::AllocatedAbove(Some(base)),
                0,
                0,
                opts.on_error,
                opts.on_error,
                opts.filter_node_name.as_deref(),
            );
        }
        let overlay = chain
            .iter()
            .position(|&n| n == top)
            .and_then(|i| i.checked_sub(1))
            .map(|i| chain[i]);
        if let Some(ov) = overlay {
            self.op_blocked(ov)?;
        }
        // commit_start creates the job before its filter: with a bad filter
        // name there is no filter, and the job fails early (created, null).
        let name = opts.filter_node_name.as_deref();
        let named = self.check_filter_name(name);
        let filter = named.is_ok().then(|| self.insert_filter(top, name));
        let work = Work::Stream(Box::new(Stream::new(
            Mode::Commit,
            top,
            Some(base),
            overlay,
            filter,
            opts.on_error,
        )));
        let j = match self.block_job_create(&opts.job, JobType::Commit, bs, None, work) {
            Ok(j) => j,
            Err(e) => {
                if let Some(f) = filter {
                    self.drop_filter(f);
                }
                return Err(e);
            }
        };
        if let Err(e) = named {
            self.early_fail(j);
            return Err(e);
        }
        for &n in top_chain.iter().take_while(|&&n| n != base) {
            self.attach_job(j, n);
        }
        self.attach_job(j, base);
        self.start_job(j);
        Ok(())
    }

    /// `block-stream`: data of the backing chain above `base-node` is copied
    /// into `device`, which then has `base-node` as its backing node.
    pub fn block_stream(&mut self, opts: StreamOptions) -> Result<()> {
        let bs = self.lookup_node(&opts.device, &opts.device)?;
        let chain = self.chain(bs);
        let base = match &opts.base_node {
            Some(b) => {
                let n = self.lookup_node("", b)?;
                if n == bs || !chain.contains(&n) {
                    return Err(Error::generic(format!(
                        "Node '{}' is not a backing image of '{}'",
                        b, opts.device
                    )));
                }
                Some(n)
            }
            None => None,
        };
        for &n in chain.iter().take_while(|&&n| Some(n) != base) {
            self.op_blocked(n)?;
        }
        if base.is_none() && opts.backing_file.is_some() {
            return Err(Error::generic(
                "backing file specified, but streaming the entire chain",
            ));
        }
        self.check_inserted_name(opts.filter_node_name.as_deref())?;
        let filter = self.insert_filter(bs, opts.filter_node_name.as_deref());
        let work = Work::Stream(Box::new(Stream::new(
            Mode::Stream,
            bs,
            base,
            None,
            Some(filter),
            opts.on_error,
        )));
        let j = match self.block_job_create(&opts.job, JobType::Stream, filter, None, work) {
            Ok(j) => j,
            Err(e) => {
                self.drop_filter(filter);
                return Err(e);
            }
        };
        for &n in chain.iter().take_while(|&&n| Some(n) != base) {
            self.attach_job(j, n);
        }
        self.start_job(j);
        Ok(())
    }

    // ----------------------------------------------------------------
    // Non-block jobs
    // ----------------------------------------------------------------

    /// Creates and starts a job that is not a block job (manual dismiss).
    fn oneshot_job(&mut self, id: &str, job_type: JobType, op: Op) -> Result<()> {
        let j = self.create_job(NewJob {
            id: Some(id.to_owned()),
            job_type,
            auto_finalize: true,
            auto_dismiss: false,
            txn: None,
            work: Work::Oneshot(Box::new(Oneshot::new(op))),
        })?;
        self.start_job(j);
        Ok(())
    }

    /// `blockdev-create`: a `create` job (stays `concluded` until dismissed).
    pub fn blockdev_create(&mut self, job_id: &str, opts: CreateOptions) -> Result<()> {
        let op = match opts {
            CreateOptions::File { filename, size } => Op::CreateFile { filename, size },
            CreateOptions::Format {
                driver,
                file,
                size,
                backing_file,
                cluster_size,
            } => Op::CreateFormat {
                format: driver,
                file,
                size,
                backing: backing_file,
                cluster_size,
            },
        };
        self.oneshot_job(job_id, JobType::Create, op)
    }

    /// `x-blockdev-amend` of a qcow2 node; `driver` must be the node's own
    /// driver.
    pub fn blockdev_amend(
        &mut self,
        job_id: &str,
        node_name: &str,
        driver: &str,
        encrypt: bool,
    ) -> Result<()> {
        let n = self.lookup_node("", node_name)?;
        let node_driver = match self.graph.node(n).driver {
            Driver::Qcow2 => "qcow2",
            Driver::Raw => "raw",
            Driver::NullCo { .. } => "null-co",
            Driver::Blkdebug { .. } => "blkdebug",
            Driver::File { .. } => "file",
            Driver::JobFilter => "filter",
        };
        if node_driver != driver {
            return Err(Error::generic(
                "x-blockdev-amend doesn't support changing the block driver",
            ));
        }
        if node_driver != "qcow2" {
            return Err(Error::generic(format!(
                "Block driver '{node_driver}' does not support option amendment"
            )));
        }
        self.oneshot_job(job_id, JobType::Amend, Op::Amend { encrypt })
    }

    fn require_machine(&self, name: &str) -> Result<()> {
        if self.machine {
            Ok(())
        } else {
            Err(Error::command_not_found(name))
        }
    }

    /// `snapshot-save` (system emulator only): an internal snapshot `tag` of
    /// `devices`, with the VM state on `vmstate`.
    pub fn snapshot_save(
        &mut self,
        job_id: &str,
        tag: &str,
        vmstate: &str,
        devices: Vec<String>,
    ) -> Result<()> {
        self.require_machine("snapshot-save")?;
        self.oneshot_job(
            job_id,
            JobType::SnapshotSave,
            Op::SnapshotSave {
                tag: tag.to_owned(),
                vmstate: vmstate.to_owned(),
                devices,
            },
        )
    }

    /// `snapshot-load` (system emulator only).
    pub fn snapshot_load(
        &mut self,
        job_id: &str,
        tag: &str,
        vmstate: &str,
        devices: Vec<String>,
    ) -> Result<()> {
        self.require_machine("snapshot-load")?;
        self.oneshot_job(
            job_id,
            JobType::SnapshotLoad,
            Op::SnapshotLoad {
                tag: tag.to_owned(),
                vmstate: vmstate.to_owned(),
                devices,
            },
        )
    }

    /// `snapshot-delete` (system emulator only).
    pub fn snapshot_delete(&mut self, job_id: &str, tag: &str, devices: Vec<String>) -> Result<()> {
        self.require_machine("snapshot-delete")?;
        self.oneshot_job(
            job_id,
            JobType::SnapshotDelete,
            Op::SnapshotDelete {
                tag: tag.to_owned(),
                devices,
            },
        )
    }
}
