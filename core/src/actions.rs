//! The QMP `transaction` command (QEMU's `qmp_transaction`, not to be
//! confused with job transactions, `txn.rs`): every action is prepared in
//! order, the first failure rolls back the ones prepared, otherwise the jobs
//! they created start. `blockdev-backup` is its one-action case.

use crate::bitmap::BitmapUndo;
use crate::block::NodeRef;
use crate::error::{Error, Result};
use crate::host::TxnHandle;
use crate::job::{JobRef, TxnRef};
use crate::manager::JobManager;
use crate::options::{
    BackupOptions, BitmapAddOptions, BitmapSource, DriveBackupOptions, SnapshotSyncOptions,
};
use crate::profile::GraphChange;

/// One action of `transaction`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionAction {
    /// `blockdev-backup`.
    BlockdevBackup(BackupOptions),
    /// `drive-backup`.
    DriveBackup(DriveBackupOptions),
    /// `blockdev-snapshot-sync` (does not support grouped completion).
    BlockdevSnapshotSync(SnapshotSyncOptions),
    /// `blockdev-snapshot`: `node` gets the existing node `overlay` on top
    /// (does not support grouped completion).
    BlockdevSnapshot {
        /// The node to take the snapshot of.
        node: String,
        /// The new overlay (a node without a backing node).
        overlay: String,
    },
    /// `block-dirty-bitmap-add` (does not support grouped completion).
    BlockDirtyBitmapAdd(BitmapAddOptions),
    /// `block-dirty-bitmap-remove`: the bitmap is busy until the
    /// transaction commits, and goes then (does not support grouped
    /// completion).
    BlockDirtyBitmapRemove {
        /// Node (or device) name.
        node: String,
        /// Bitmap name.
        name: String,
    },
    /// `block-dirty-bitmap-clear` (an abort restores the contents; does
    /// not support grouped completion).
    BlockDirtyBitmapClear {
        /// Node (or device) name.
        node: String,
        /// Bitmap name.
        name: String,
    },
    /// `block-dirty-bitmap-enable` (does not support grouped completion).
    BlockDirtyBitmapEnable {
        /// Node (or device) name.
        node: String,
        /// Bitmap name.
        name: String,
    },
    /// `block-dirty-bitmap-disable` (does not support grouped completion).
    BlockDirtyBitmapDisable {
        /// Node (or device) name.
        node: String,
        /// Bitmap name.
        name: String,
    },
    /// `block-dirty-bitmap-merge` (an abort restores the target; does not
    /// support grouped completion).
    BlockDirtyBitmapMerge {
        /// Node (or device) name.
        node: String,
        /// The bitmap merged into.
        target: String,
        /// The bitmaps merged.
        bitmaps: Vec<BitmapSource>,
    },
    /// `abort`: always fails.
    Abort,
}

impl TransactionAction {
    fn type_name(&self) -> &'static str {
        match self {
            TransactionAction::BlockdevBackup(_) => "blockdev-backup",
            TransactionAction::DriveBackup(_) => "drive-backup",
            TransactionAction::BlockdevSnapshotSync(_) => "blockdev-snapshot-sync",
            TransactionAction::BlockdevSnapshot { .. } => "blockdev-snapshot",
            TransactionAction::BlockDirtyBitmapAdd { .. } => "block-dirty-bitmap-add",
            TransactionAction::BlockDirtyBitmapRemove { .. } => "block-dirty-bitmap-remove",
            TransactionAction::BlockDirtyBitmapClear { .. } => "block-dirty-bitmap-clear",
            TransactionAction::BlockDirtyBitmapEnable { .. } => "block-dirty-bitmap-enable",
            TransactionAction::BlockDirtyBitmapDisable { .. } => "block-dirty-bitmap-disable",
            TransactionAction::BlockDirtyBitmapMerge { .. } => "block-dirty-bitmap-merge",
            TransactionAction::Abort => "abort",
        }
    }

    /// Whether the action may be part of a grouped transaction.
    fn groupable(&self) -> bool {
        matches!(
            self,
            TransactionAction::BlockdevBackup(_) | TransactionAction::DriveBackup(_)
        )
    }
}

/// What a prepared transaction action left for commit, abort and clean.
struct ActionState {
    drained: Option<NodeRef>,
    job: Option<JobRef>,
    bitmap: Option<(NodeRef, String)>,
    /// A bitmap an action changed, and how to undo it.
    bitmap_undo: Option<((NodeRef, usize), BitmapUndo)>,
    /// A bitmap an action removes at commit (busy until then).
    bitmap_remove: Option<(NodeRef, String)>,
    /// An external snapshot's overlay and the node under it.
    overlay: Option<(NodeRef, NodeRef)>,
}

impl JobManager {
    /// `blockdev-backup`: a one-action `transaction`. Like QEMU, it first
    /// drains every node (each running job goes `paused` then `running`),
    /// then creates and starts the job inside a drained section of its source.
    pub fn blockdev_backup(&mut self, opts: BackupOptions) -> Result<()> {
        self.transaction(vec![TransactionAction::BlockdevBackup(opts)], false)
    }

    /// `drive-backup`: a one-action `transaction`, as `blockdev-backup`,
    /// onto the image file `target`: created (mode `absolute-paths`: in the
    /// source's format and size, with a backing file for sync `top` and
    /// `none`; QEMU prints its `Formatting` line) or opened (mode
    /// `existing`). For sync `none` the target's backing node is the
    /// source. The target closes when the job lets go of it.
    pub fn drive_backup(&mut self, opts: DriveBackupOptions) -> Result<()> {
        self.transaction(vec![TransactionAction::DriveBackup(opts)], false)
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
        txn: TxnHandle,
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
        let profile = self.profile();
        // QEMU 10.0 checks every action's type before anything runs.
        let mut failure = actions
            .iter()
            .find(|a| grouped && profile.grouped_checked_first && !a.groupable())
            .map(|a| Error::generic(profile.grouped_refusal(a.type_name())));
        let mut states: Vec<ActionState> = Vec::new();
        let todo = if failure.is_none() {
            self.drain_all();
            &actions[..]
        } else {
            &[]
        };
        for action in todo {
            let mut st = ActionState {
                drained: None,
                job: None,
                bitmap: None,
                bitmap_undo: None,
                bitmap_remove: None,
                overlay: None,
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
                    self.graph.node_mut(*n).bitmaps.retain(|b| b.name != *name);
                }
                if let Some((bm, undo)) = st.bitmap_undo.clone() {
                    self.bitmap_undo(bm, undo);
                }
                if let Some((n, name)) = &st.bitmap_remove {
                    let bitmaps = &mut self.graph.node_mut(*n).bitmaps;
                    if let Some(b) = bitmaps.iter_mut().find(|b| b.name == *name) {
                        b.removing = false;
                    }
                }
                if let Some((overlay, old)) = st.overlay {
                    self.snapshot_abort(overlay, old);
                }
            }
        } else {
            for st in &states {
                if st.overlay.is_some() {
                    self.graph_lock_drains(GraphChange::SnapshotEnded(true));
                }
                if let Some((n, name)) = &st.bitmap_remove {
                    self.graph.node_mut(*n).bitmaps.retain(|b| b.name != *name);
                }
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
            // external_snapshot_clean: the action lets go of its overlay,
            // which closes unless it took someone's place above the node.
            if let Some((overlay, _)) = st.overlay {
                let closed = self.unref_orphan(overlay);
                self.graph_lock_drains(GraphChange::NodeDeleted(closed));
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
        let profile = self.profile();
        let check_grouped = || {
            if grouped {
                Err(Error::generic(profile.grouped_refusal(action.type_name())))
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
            TransactionAction::BlockDirtyBitmapRemove { node, name } => {
                check_grouped()?;
                let (n, i) = self.bitmap_for_removal(node, name)?;
                self.graph.node_mut(n).bitmaps[i].removing = true;
                st.bitmap_remove = Some((n, name.clone()));
                Ok(())
            }
            TransactionAction::BlockDirtyBitmapClear { node, name } => {
                check_grouped()?;
                st.bitmap_undo = Some(self.bitmap_clear(node, name)?);
                Ok(())
            }
            TransactionAction::BlockDirtyBitmapEnable { node, name } => {
                check_grouped()?;
                st.bitmap_undo = Some(self.bitmap_set_disabled(node, name, false)?);
                Ok(())
            }
            TransactionAction::BlockDirtyBitmapDisable { node, name } => {
                check_grouped()?;
                st.bitmap_undo = Some(self.bitmap_set_disabled(node, name, true)?);
                Ok(())
            }
            TransactionAction::BlockDirtyBitmapMerge {
                node,
                target,
                bitmaps,
            } => {
                check_grouped()?;
                st.bitmap_undo = Some(self.bitmap_merge(node, target, bitmaps)?);
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
            TransactionAction::DriveBackup(opts) => {
                let bs = self.lookup_node(&opts.backup.device, &opts.backup.device)?;
                self.drained_begin(bs);
                st.drained = Some(bs);
                let (target, backup) = self.drive_backup_target(opts, bs)?;
                let job = self.backup_job_create(&backup, bs, target, txn);
                // The job holds the target now, or nothing does.
                self.unref_orphan(target);
                st.job = Some(job?);
                Ok(())
            }
            TransactionAction::BlockdevSnapshotSync(opts) => {
                check_grouped()?;
                let old = self.lookup_node(
                    opts.device.as_deref().unwrap_or(""),
                    opts.node_name.as_deref().unwrap_or(""),
                )?;
                self.drained_begin(old);
                st.drained = Some(old);
                let overlay = self.snapshot_sync_overlay(opts, old)?;
                self.snapshot_append(overlay, old)?;
                st.overlay = Some((overlay, old));
                Ok(())
            }
            TransactionAction::BlockdevSnapshot { node, overlay } => {
                check_grouped()?;
                let old = self.lookup_node(node, node)?;
                self.drained_begin(old);
                st.drained = Some(old);
                self.snapshot_precheck(old)?;
                let overlay = self.lookup_node(overlay, overlay)?;
                self.snapshot_check_overlay(overlay)?;
                self.snapshot_append(overlay, old)?;
                st.overlay = Some((overlay, old));
                Ok(())
            }
        }
    }
}
