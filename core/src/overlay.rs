//! External snapshots: `blockdev-snapshot-sync` (a new overlay image file
//! over a node) and `blockdev-snapshot` (an existing node as the overlay),
//! QEMU's `external_snapshot_prepare` / `abort`. Both are `transaction`
//! actions; the commands are one-action transactions.

use crate::block::{Driver, NodeRef, Role};
use crate::error::{Error, Result};
use crate::manager::JobManager;
use crate::options::{NewImageMode, SnapshotSyncOptions};
use crate::profile::GraphChange;

impl JobManager {
    /// `blockdev-snapshot-sync`: `device` (a drive) or `node-name` gets a
    /// new overlay, the image file `snapshot-file` (created with the node's
    /// file as its backing file, in mode `absolute-paths`; QEMU prints its
    /// `Formatting` line), whose node takes the node's place for every
    /// user of the node (its drive, the nodes above it).
    pub fn blockdev_snapshot_sync(&mut self, opts: SnapshotSyncOptions) -> Result<()> {
        self.transaction(
            vec![crate::TransactionAction::BlockdevSnapshotSync(opts)],
            false,
        )
    }

    /// `blockdev-snapshot`: the existing node `overlay` (without a backing
    /// node, unused) goes on top of `node` and takes its place.
    pub fn blockdev_snapshot(&mut self, node: &str, overlay: &str) -> Result<()> {
        self.transaction(
            vec![crate::TransactionAction::BlockdevSnapshot {
                node: node.to_owned(),
                overlay: overlay.to_owned(),
            }],
            false,
        )
    }

    /// The checks of the node a snapshot is taken of: a job's op blocker,
    /// the backing blocker (external snapshots are not among the
    /// operations a backing node allows).
    pub(crate) fn snapshot_precheck(&self, old: NodeRef) -> Result<()> {
        self.op_blocked(old)?;
        self.backing_blocked(old)
    }

    /// `blockdev-snapshot-sync`'s overlay: created (unless mode
    /// `existing`) and opened without its backing chain.
    pub(crate) fn snapshot_sync_overlay(
        &mut self,
        opts: &SnapshotSyncOptions,
        old: NodeRef,
    ) -> Result<NodeRef> {
        self.snapshot_precheck(old)?;
        let format = opts.format.as_deref().unwrap_or("qcow2");
        if opts.node_name.is_some() && opts.snapshot_node_name.is_none() {
            return Err(Error::generic("New overlay node-name missing"));
        }
        if let Some(n) = &opts.snapshot_node_name
            && self.lookup_node(n, n).is_ok()
        {
            return Err(Error::generic("New overlay node-name already in use"));
        }
        if opts.mode != NewImageMode::Existing {
            let size = self.graph.node(old).size;
            let backing = (
                self.graph.filename(old),
                self.graph.node(old).driver.name().to_owned(),
            );
            self.img_create(&opts.snapshot_file, format, Some(backing), size, false)?;
        }
        let overlay = self.open_image_file(
            &opts.snapshot_file,
            Some(format),
            opts.snapshot_node_name.as_deref(),
            true,
        )?;
        if let Err(e) = self.snapshot_check_overlay(overlay) {
            self.unref_orphan(overlay);
            return Err(e);
        }
        Ok(overlay)
    }

    /// What an overlay must be: unused, not a filter, without a backing
    /// node, of a format with backing files.
    pub(crate) fn snapshot_check_overlay(&self, overlay: NodeRef) -> Result<()> {
        let node = self.graph.node(overlay);
        let in_use = node.parents.iter().any(|p| {
            matches!(
                p,
                crate::block::Parent::Node(_) | crate::block::Parent::Backend(_)
            )
        });
        if in_use {
            return Err(Error::generic("The overlay is already in use"));
        }
        if matches!(
            node.driver,
            Driver::JobFilter { .. } | Driver::Blkdebug { .. }
        ) {
            return Err(Error::generic("Filters cannot be used as overlays"));
        }
        if self.graph.child(overlay, Role::Backing).is_some() {
            return Err(Error::generic("The overlay already has a backing image"));
        }
        if !matches!(node.driver, Driver::Qcow2) {
            return Err(Error::generic(
                "The overlay does not support backing images",
            ));
        }
        Ok(())
    }

    /// `bdrv_append(overlay, old)`: `old` becomes the overlay's backing
    /// node and the overlay takes its place above it (BlockBackends and
    /// parent nodes; jobs stay where they are).
    pub(crate) fn snapshot_append(&mut self, overlay: NodeRef, old: NodeRef) -> Result<()> {
        self.graph_lock_drains(GraphChange::SnapshotAppended);
        self.attach_child(overlay, Role::Backing, old);
        self.replace_node(old, overlay, &[overlay]);
        Ok(())
    }

    /// `external_snapshot_abort`: the overlay leaves and `old` takes its
    /// place back (an overlay nothing else holds closes afterwards, in the
    /// action's clean).
    pub(crate) fn snapshot_abort(&mut self, overlay: NodeRef, old: NodeRef) {
        if !self.graph.alive(overlay) || !self.graph.alive(old) {
            return;
        }
        self.graph_lock_drains(GraphChange::SnapshotEnded(false));
        self.replace_node(overlay, old, &[old]);
        self.graph.detach_child(overlay, old);
        // An overlay only the action held closes in the action's clean,
        // after the node's drained section ends (see `transaction`).
    }
}
