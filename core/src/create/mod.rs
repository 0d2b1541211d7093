//! Job creation through QEMU's own commands, a file per job type
//! (`backup.rs`, `mirror.rs`, `commit.rs`, `stream.rs`, `oneshot.rs`), and
//! what they share here: node lookups, op blockers, filter names, and
//! `block_job_create`. Checks run in QEMU 7.2's order with its texts;
//! drained sections happen where QEMU drains (SPEC.md §A3).

use crate::block::{Driver, NodeRef, Parent};
use crate::driver::Work;
use crate::error::{Error, Result};
use crate::job::{JobRef, TxnRef};
use crate::manager::{JobManager, NewJob};
use crate::model::JobType;
use crate::options::JobOptions;
use crate::perm::{JobLink, LinkRole, Perm};

mod backup;
mod commit;
mod mirror;
mod oneshot;
mod stream;

impl JobManager {
    /// `bdrv_lookup_bs(device, node)`: a BlockBackend named `device` (its
    /// node), else the node named `node`.
    pub(crate) fn lookup_node(&self, device: &str, node: &str) -> Result<NodeRef> {
        if let Some(b) = self.graph.backend_by_name(device) {
            return self
                .graph
                .backend(b)
                .root
                .ok_or_else(|| Error::generic(format!("Device '{device}' has no medium")));
        }
        self.graph.lookup(node).ok_or_else(|| {
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
        self.check_filter_name(name)
            .map_err(|e| e.prefixed("Could not create node: "))
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

    /// `bdrv_op_is_blocked(BLOCK_OP_TYPE_DRIVE_DEL)`: both a job's link and
    /// a backing link block it, and QEMU names the newest blocker (blockers
    /// are inserted at the head of the node's list), as the node's parents
    /// are ordered.
    pub(crate) fn drive_del_blocked(&self, n: NodeRef) -> Result<()> {
        let node = self.graph.node(n);
        for &p in &node.parents {
            match p {
                Parent::Job(j) if node.blockers.contains(&j) => return self.op_blocked(n),
                Parent::Node(pn) if self.graph.backing_parent(n) == Some(pn) => {
                    return self.backing_blocked(n);
                }
                _ => {}
            }
        }
        self.op_blocked(n)
    }

    /// `bdrv_op_is_blocked`: a node used by a job refuses other operations.
    pub(crate) fn op_blocked(&self, n: NodeRef) -> Result<()> {
        if let Some(&j) = self.graph.node(n).blockers.first() {
            return Err(Error::generic(format!(
                "Node '{}' is busy: block device is in use by block job: {}",
                self.graph.node(n).name,
                self.job(j).job_type
            )));
        }
        Ok(())
    }

    /// The ID of a block job on `main`: the one given, else the device
    /// name of its node (the drive's name; nodes added with `blockdev-add`
    /// have none, which `job_create` then refuses).
    fn default_job_id(&self, opts: &JobOptions, main: NodeRef) -> String {
        opts.job_id
            .clone()
            .unwrap_or_else(|| self.graph.device_name(main).to_owned())
    }

    /// `block_job_create`: creates the job, attaches it to its main node
    /// with the permissions `perm` and `shared`, applies the initial speed;
    /// a refusal of either is an early fail (the job goes from `created`
    /// to `null`).
    #[allow(clippy::too_many_arguments)]
    fn block_job_create(
        &mut self,
        opts: &JobOptions,
        job_type: JobType,
        main: NodeRef,
        perm: Perm,
        shared: Perm,
        txn: Option<TxnRef>,
        work: Work,
    ) -> Result<JobRef> {
        let j = self.create_job(NewJob {
            id: Some(self.default_job_id(opts, main)),
            job_type,
            auto_finalize: opts.auto_finalize,
            auto_dismiss: opts.auto_dismiss,
            txn,
            work,
        })?;
        let link = JobLink::new(main, LinkRole::MainNode, perm, shared);
        if let Err(e) = self
            .add_job_link(j, link)
            .and_then(|()| self.set_speed(j, opts.speed))
        {
            self.early_fail(j);
            return Err(e);
        }
        Ok(j)
    }

    /// A step of a job's creation after `block_job_create`: a refusal ends
    /// the job early (`created`, `null`) and is returned.
    fn or_early_fail(&mut self, j: JobRef, step: Result<()>) -> Result<()> {
        if step.is_err() {
            self.early_fail(j);
        }
        step
    }

    /// The backing chain below `n`, from `n` down, through the nodes
    /// filters filter (`bdrv_filter_or_cow_bs`, as `bdrv_chain_contains`
    /// walks it): a `throttle` node's image is in the chain. Job filters
    /// are skipped.
    fn chain(&self, n: NodeRef) -> Vec<NodeRef> {
        let mut v = Vec::new();
        let mut cur = Some(n);
        while let Some(c) = cur {
            if !matches!(self.graph.node(c).driver, Driver::JobFilter { .. }) {
                v.push(c);
            }
            cur = self.graph.filter_or_cow_child(c);
        }
        v
    }
}
