//! Dirty bitmaps: `block-dirty-bitmap-add` and `-remove` with QEMU 7.2's
//! checks, and the rule that a bitmap a running backup uses is busy.

use crate::block::{Driver, NodeRef};
use crate::error::{Error, Result};
use crate::manager::JobManager;
use crate::options::BitmapAddOptions;

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
        self.graph.node_mut(n).bitmaps.push(crate::block::Bitmap {
            name: name.clone(),
            granularity: *granularity,
            persistent: *persistent,
        });
        Ok(n)
    }

    /// `block-dirty-bitmap-remove`: removes bitmap `name` from `node`.
    pub fn block_dirty_bitmap_remove(&mut self, node: &str, name: &str) -> Result<()> {
        let Some(n) = self.graph.lookup(node) else {
            return Err(Error::generic(format!("Node '{node}' not found")));
        };
        let Some(i) = self
            .graph
            .node(n)
            .bitmaps
            .iter()
            .position(|b| b.name == name)
        else {
            return Err(Error::generic(format!("Dirty bitmap '{name}' not found")));
        };
        self.bitmap_free(n, name)?;
        self.graph.node_mut(n).bitmaps.remove(i);
        Ok(())
    }

    /// Refuses a bitmap a backup of `node` still uses (QEMU freezes it
    /// until the job's commit or abort, just before it concludes).
    pub(crate) fn bitmap_free(&self, node: NodeRef, name: &str) -> Result<()> {
        let busy = self.jobs.iter().any(|(_, j)| {
            !matches!(
                j.status,
                crate::JobStatus::Concluded | crate::JobStatus::Null
            ) && j.work.driver().and_then(|d| d.bitmap()) == Some((node, name))
        });
        if busy {
            return Err(Error::generic(format!(
                "Bitmap '{name}' is currently in use by another operation and cannot be used"
            )));
        }
        Ok(())
    }
}
