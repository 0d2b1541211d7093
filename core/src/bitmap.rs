//! Dirty bitmaps: `block-dirty-bitmap-add`, `-remove`, `-clear`,
//! `-enable`, `-disable` and `-merge` with QEMU 7.2's checks
//! (block/monitor/bitmap-qmp-cmds.c), and the rule that a bitmap a running
//! backup uses is busy. What a bitmap holds (the extents writes dirtied)
//! lives in the node's [`Bitmap`](crate::block::Bitmap).

use crate::block::{Bitmap, Driver, NodeRef, add_extent};
use crate::error::{Error, Result};
use crate::manager::JobManager;
use crate::options::{BitmapAddOptions, BitmapSource};

/// `bdrv_dirty_bitmap_check`'s flags: which states of a bitmap a command
/// refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BitmapCheck {
    /// `BDRV_BITMAP_DEFAULT`: busy or read-only (clear, merge's target).
    Default,
    /// `BDRV_BITMAP_ALLOW_RO`: busy (enable, disable, merge's sources).
    AllowRo,
}

/// What a bitmap command did, for a transaction's abort to undo it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BitmapUndo {
    /// Clear and merge: the bitmap's contents before.
    Restore(Vec<(u64, u64)>),
    /// Enable and disable: whether it was disabled before.
    SetDisabled(bool),
}

impl JobManager {
    /// `block-dirty-bitmap-add`: a dirty bitmap on a node, with QEMU's
    /// checks in its order (name, node, granularity, persistence,
    /// uniqueness).
    pub fn block_dirty_bitmap_add(&mut self, opts: &BitmapAddOptions) -> Result<()> {
        self.add_bitmap(opts).map(|_| ())
    }

    /// [`block_dirty_bitmap_add`](Self::block_dirty_bitmap_add); returns the node.
    pub(crate) fn add_bitmap(&mut self, opts: &BitmapAddOptions) -> Result<NodeRef> {
        let BitmapAddOptions {
            node,
            name,
            granularity,
            persistent,
            disabled,
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
        if self.graph.node(n).bitmaps.iter().any(|b| b.name == *name) {
            return Err(Error::generic(format!("Bitmap already exists: {name}")));
        }
        self.graph.node_mut(n).bitmaps.push(Bitmap::new(
            name.clone(),
            *granularity,
            *persistent,
            *disabled,
        ));
        Ok(n)
    }

    /// `block-dirty-bitmap-remove`: removes bitmap `name` from `node`.
    pub fn block_dirty_bitmap_remove(&mut self, node: &str, name: &str) -> Result<()> {
        let (n, i) = self.bitmap_for_removal(node, name)?;
        self.graph.node_mut(n).bitmaps.remove(i);
        Ok(())
    }

    /// `block_dirty_bitmap_remove`'s checks: the bitmap, which must be
    /// neither busy nor read-only; gives its node and index.
    pub(crate) fn bitmap_for_removal(&self, node: &str, name: &str) -> Result<(NodeRef, usize)> {
        let (n, i) = self.bitmap_lookup(node, name)?;
        self.bitmap_check(n, i, BitmapCheck::Default)?;
        Ok((n, i))
    }

    /// `block-dirty-bitmap-clear`: the bitmap has nothing dirty any more.
    pub fn block_dirty_bitmap_clear(&mut self, node: &str, name: &str) -> Result<()> {
        self.bitmap_clear(node, name).map(drop)
    }

    /// [`block_dirty_bitmap_clear`](Self::block_dirty_bitmap_clear); gives
    /// the bitmap and what it held.
    pub(crate) fn bitmap_clear(
        &mut self,
        node: &str,
        name: &str,
    ) -> Result<((NodeRef, usize), BitmapUndo)> {
        let (n, i) = self.bitmap_lookup(node, name)?;
        self.bitmap_check(n, i, BitmapCheck::Default)?;
        let old = std::mem::take(&mut self.graph.node_mut(n).bitmaps[i].dirty);
        Ok(((n, i), BitmapUndo::Restore(old)))
    }

    /// `block-dirty-bitmap-enable`: the bitmap records writes again.
    pub fn block_dirty_bitmap_enable(&mut self, node: &str, name: &str) -> Result<()> {
        self.bitmap_set_disabled(node, name, false).map(drop)
    }

    /// `block-dirty-bitmap-disable`: the bitmap stops recording writes.
    pub fn block_dirty_bitmap_disable(&mut self, node: &str, name: &str) -> Result<()> {
        self.bitmap_set_disabled(node, name, true).map(drop)
    }

    /// Enable or disable; gives the bitmap and its state before.
    pub(crate) fn bitmap_set_disabled(
        &mut self,
        node: &str,
        name: &str,
        disabled: bool,
    ) -> Result<((NodeRef, usize), BitmapUndo)> {
        let (n, i) = self.bitmap_lookup(node, name)?;
        self.bitmap_check(n, i, BitmapCheck::AllowRo)?;
        let bm = &mut self.graph.node_mut(n).bitmaps[i];
        let was = std::mem::replace(&mut bm.disabled, disabled);
        Ok(((n, i), BitmapUndo::SetDisabled(was)))
    }

    /// `block-dirty-bitmap-merge`: bitmap `target` of `node` gets what
    /// each of `bitmaps` has dirty (a name: a bitmap of `node`), all or
    /// nothing.
    pub fn block_dirty_bitmap_merge(
        &mut self,
        node: &str,
        target: &str,
        bitmaps: &[BitmapSource],
    ) -> Result<()> {
        self.bitmap_merge(node, target, bitmaps).map(drop)
    }

    /// [`block_dirty_bitmap_merge`](Self::block_dirty_bitmap_merge); gives
    /// the target and what it held.
    pub(crate) fn bitmap_merge(
        &mut self,
        node: &str,
        target: &str,
        bitmaps: &[BitmapSource],
    ) -> Result<((NodeRef, usize), BitmapUndo)> {
        let (n, i) = self.bitmap_lookup(node, target)?;
        let old = self.graph.node(n).bitmaps[i].dirty.clone();
        let mut merged = old.clone();
        for src in bitmaps {
            let (sn, si) = match src {
                BitmapSource::Local(name) => {
                    let Some(si) = self
                        .graph
                        .node(n)
                        .bitmaps
                        .iter()
                        .position(|b| b.name == *name)
                    else {
                        return Err(Error::generic(format!("Dirty bitmap '{name}' not found")));
                    };
                    (n, si)
                }
                BitmapSource::External { node, name } => self.bitmap_lookup(node, name)?,
            };
            // bdrv_merge_dirty_bitmap: each step checks both bitmaps.
            self.bitmap_check(n, i, BitmapCheck::Default)?;
            self.bitmap_check(sn, si, BitmapCheck::AllowRo)?;
            let (dest_size, src_size) = (self.graph.node(n).size, self.graph.node(sn).size);
            if dest_size != src_size {
                return Err(Error::generic(format!(
                    "Bitmaps are of different sizes (destination size is {dest_size}, source size is {src_size}) and can't be merged"
                )));
            }
            let g = u64::from(
                self.graph
                    .bitmap_granularity(n, &self.graph.node(n).bitmaps[i]),
            );
            for &(o, l) in &self.graph.node(sn).bitmaps[si].dirty {
                let start = o - o % g;
                let end = (o + l).next_multiple_of(g).min(dest_size);
                add_extent(&mut merged, start, end.saturating_sub(start));
            }
        }
        self.graph.node_mut(n).bitmaps[i].dirty = merged;
        Ok(((n, i), BitmapUndo::Restore(old)))
    }

    /// Undoes what a bitmap command did (a transaction's abort).
    pub(crate) fn bitmap_undo(&mut self, (n, i): (NodeRef, usize), undo: BitmapUndo) {
        let Some(bm) = self.graph.node_mut(n).bitmaps.get_mut(i) else {
            return;
        };
        match undo {
            BitmapUndo::Restore(dirty) => bm.dirty = dirty,
            BitmapUndo::SetDisabled(disabled) => bm.disabled = disabled,
        }
    }

    /// `block_dirty_bitmap_lookup`: the node (a device's root node, or a
    /// node name) and the index of its bitmap `name`.
    pub(crate) fn bitmap_lookup(&self, node: &str, name: &str) -> Result<(NodeRef, usize)> {
        let n = match self.graph.backend_by_name(node) {
            Some(b) => self.graph.backend(b).root,
            None => self.graph.lookup(node),
        };
        let Some(n) = n else {
            return Err(Error::generic(format!("Node '{node}' not found")));
        };
        match self
            .graph
            .node(n)
            .bitmaps
            .iter()
            .position(|b| b.name == name)
        {
            Some(i) => Ok((n, i)),
            None => Err(Error::generic(format!("Dirty bitmap '{name}' not found"))),
        }
    }

    /// `bdrv_dirty_bitmap_check`: refuses a busy bitmap (qjob's bitmaps
    /// are never read-only: only bitmaps loaded from a read-only image
    /// are, and qjob loads none).
    fn bitmap_check(&self, n: NodeRef, i: usize, _flags: BitmapCheck) -> Result<()> {
        self.bitmap_free(n, &self.graph.node(n).bitmaps[i].name)
    }

    /// Refuses a bitmap a backup of `node` still uses (QEMU freezes it
    /// until the job's commit or abort, just before it concludes), or that
    /// a transaction's `block-dirty-bitmap-remove` holds.
    pub(crate) fn bitmap_free(&self, node: NodeRef, name: &str) -> Result<()> {
        let removing = self
            .graph
            .node(node)
            .bitmaps
            .iter()
            .any(|b| b.name == name && b.removing);
        let busy = removing
            || self.jobs.iter().any(|(_, j)| {
                !matches!(
                    j.status,
                    crate::JobStatus::Concluded | crate::JobStatus::Null
                ) && j.work.driver().and_then(|d| d.bitmap()) == Some((node, name))
            });
        if busy {
            return Err(busy_error(name));
        }
        Ok(())
    }
}

/// The error for a busy bitmap.
fn busy_error(name: &str) -> Error {
    Error::generic(format!(
        "Bitmap '{name}' is currently in use by another operation and cannot be used"
    ))
}
