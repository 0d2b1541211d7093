//! Drained sections and graph changes (SPEC.md §A3): a job's links to the
//! nodes it works on, `bdrv_drained_begin`/`end` pausing the jobs above a
//! node, `bdrv_drain_all`, and the graph changes jobs make inside drained
//! sections (inserting and dropping their filter nodes, replacing nodes).

use crate::block::{Driver, FilterKind, NodeRef, Parent, Role};
use crate::error::{Error, Result};
use crate::job::JobRef;
use crate::manager::JobManager;
use crate::perm::{JobLink, LinkRole};
use crate::profile::{DrainingJob, GraphChange};

/// How a job's filter is put above its node, as QEMU does it for each job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterInsert {
    /// `bdrv_append` (mirror, commit): linked and put in place in one
    /// step, its permissions checked once, errors as they are.
    Append,
    /// `bdrv_insert_node` (backup's copy-before-write with its `target`,
    /// stream's copy-on-read): opened over its children first (`Could not
    /// create node: …`), then put in place (`Could not replace node: …`).
    InsertNode {
        /// A second child, the backup's target.
        target: Option<NodeRef>,
    },
}

impl JobManager {
    /// Attaches a job to a node through `link` (`block_job_add_bdrv`, or a
    /// BlockBackend the job holds): drained sections over the node (or
    /// below it) pause the job; a link (not a BlockBackend) blocks other
    /// operations on the node. A node that is drained right now passes its
    /// drain on to the new parent. No permission check: see
    /// [`add_job_link`](Self::add_job_link).
    pub(crate) fn attach_job(&mut self, j: JobRef, link: JobLink) {
        let n = link.node;
        self.graph.node_mut(n).parents.insert(0, Parent::Job(j));
        if link.role != LinkRole::Backend {
            self.graph.node_mut(n).blockers.insert(0, j);
        }
        self.job_mut(j)
            .nodes
            .get_or_insert_with(Default::default)
            .push(link);
        let q = self.graph.node(n).quiesce;
        for _ in 0..q {
            self.pause_job(j);
        }
    }

    /// Takes back the newest link of job `j` to node `n` (a link whose
    /// permissions were refused).
    pub(crate) fn detach_job_link(&mut self, j: JobRef, n: NodeRef) {
        let Some(links) = self.job_mut(j).nodes.as_mut() else {
            return;
        };
        let Some(i) = links.iter().rposition(|l| l.node == n) else {
            return;
        };
        let link = links.remove(i);
        let node = self.graph.node_mut(n);
        if let Some(p) = node.parents.iter().position(|&p| p == Parent::Job(j)) {
            node.parents.remove(p);
        }
        if link.role != LinkRole::Backend
            && let Some(b) = node.blockers.iter().position(|&b| b == j)
        {
            node.blockers.remove(b);
        }
        let quiesce = node.quiesce;
        for _ in 0..quiesce {
            if self.job(j).pause_count > 0 {
                self.resume_job(j);
            }
        }
    }

    /// `block_job_remove_all_bdrv`: the job leaves every node it used
    /// (when it ends, at the latest at `null`); a link leaving a drained
    /// node ends that node's drains for the job.
    pub(crate) fn detach_job(&mut self, j: JobRef) {
        let links = self.job_mut(j).nodes.take().map(|b| *b).unwrap_or_default();
        for link in &links {
            let n = link.node;
            let mut quiesce = 0;
            if let Some(Some(node)) = self.graph.nodes.get_mut(n.pos()) {
                if let Some(i) = node.parents.iter().position(|&p| p == Parent::Job(j)) {
                    node.parents.remove(i);
                }
                node.blockers.retain(|&b| b != j);
                quiesce = node.quiesce;
            }
            for _ in 0..quiesce {
                if self.job(j).pause_count > 0 {
                    self.resume_job(j);
                }
            }
        }
        // The nodes only the job held close (a drive-backup's target).
        for link in links {
            self.unref_orphan(link.node);
        }
    }

    /// `bdrv_drained_begin(node)`: pauses every job above the node and waits
    /// until none of them is still finishing its run.
    pub(crate) fn drained_begin(&mut self, n: NodeRef) {
        let mut affected = Vec::new();
        self.quiesce(n, &mut affected, true);
        self.poll_drained(&affected);
    }

    /// The first half of a drained section over `n` (`bdrv_do_drained_begin`
    /// without the poll): the node is quiesced and the jobs attached to it
    /// are paused (and listed in `affected`); with `parents`, the nodes
    /// above it are drained too.
    fn quiesce(&mut self, n: NodeRef, affected: &mut Vec<JobRef>, parents: bool) {
        self.graph.node_mut(n).quiesce += 1;
        let mut i = 0;
        while let Some(&p) = self.graph.nodes[n.pos()]
            .as_ref()
            .and_then(|node| node.parents.get(i))
        {
            i += 1;
            match p {
                Parent::Node(pn) if parents => self.quiesce(pn, affected, true),
                Parent::Node(_) | Parent::Backend(_) | Parent::Export(_) => {}
                Parent::Job(j) => {
                    affected.push(j);
                    self.pause_job(j);
                }
            }
        }
    }

    /// `bdrv_subtree_drained_begin(node)`: a drained section over the node,
    /// the nodes above it and every node below it.
    pub(crate) fn subtree_drained_begin(&mut self, n: NodeRef) {
        let mut affected = Vec::new();
        self.quiesce_subtree(n, None, &mut affected);
        self.poll_drained(&affected);
    }

    /// `bdrv_subtree_drained_end(node)`.
    pub(crate) fn subtree_drained_end(&mut self, n: NodeRef) {
        self.end_subtree(n, None);
    }

    /// `bdrv_do_drained_begin(…, recursive)` without the poll: `n` and its
    /// parents (but `from`, the parent the recursion came through), then
    /// each child's subtree, newest child first.
    fn quiesce_subtree(&mut self, n: NodeRef, from: Option<NodeRef>, affected: &mut Vec<JobRef>) {
        self.graph.node_mut(n).quiesce += 1;
        for p in self.parents_but(n, from) {
            self.parent_drained_begin(p, affected);
        }
        self.graph.node_mut(n).recursive_quiesce += 1;
        let children = self.children_newest_first(n);
        for c in children {
            self.quiesce_subtree(c, Some(n), affected);
        }
    }

    /// `bdrv_do_drained_end(…, recursive)`: parents first, then children.
    fn end_subtree(&mut self, n: NodeRef, from: Option<NodeRef>) {
        for p in self.parents_but(n, from) {
            self.parent_drained_end(p);
        }
        let node = self.graph.node_mut(n);
        node.quiesce = node.quiesce.saturating_sub(1);
        node.recursive_quiesce = node.recursive_quiesce.saturating_sub(1);
        let children = self.children_newest_first(n);
        for c in children {
            self.end_subtree(c, Some(n));
        }
    }

    /// The children of `n`, newest link first (QEMU's list order).
    fn children_newest_first(&self, n: NodeRef) -> Vec<NodeRef> {
        let mut v = self.graph.child_nodes(n);
        v.reverse();
        v
    }

    /// The parents of `n` but one link from node `from`.
    fn parents_but(&self, n: NodeRef, from: Option<NodeRef>) -> Vec<Parent> {
        let mut parents = self.graph.node(n).parents.clone();
        if let Some(i) = from.and_then(|f| parents.iter().position(|&p| p == Parent::Node(f))) {
            parents.remove(i);
        }
        parents
    }

    /// `blk_unref` of the last reference to a BlockBackend on `n`: `n` is
    /// drained twice (`blk_drain`, then `blk_remove_bs`'s own).
    pub(crate) fn unref_backend(&mut self, n: NodeRef) {
        for _ in 0..2 {
            self.drained_begin(n);
            self.drained_end(n);
        }
    }

    /// `bdrv_set_backing_hd`: `n`'s backing link points at `base` (or
    /// nowhere), inside a drained section over `n`. The old link leaves
    /// the subtree drains of `n` (`bdrv_unapply_subtree_drain`) and ends the
    /// drains it passed up to `n`; the new one passes the drains of `base`
    /// up to `n` and enters the subtree drains of `n`.
    pub(crate) fn set_backing_hd(&mut self, n: NodeRef, base: Option<NodeRef>) {
        self.drained_begin(n);
        if let Some(old) = self.graph.child(n, Role::Backing) {
            for _ in 0..self.graph.node(n).recursive_quiesce {
                self.end_subtree(old, Some(n));
            }
            self.graph.detach_child(n, old);
            for _ in 0..self.graph.node(old).quiesce {
                self.parent_drained_end(Parent::Node(n));
            }
        }
        if let Some(b) = base {
            self.attach_child(n, Role::Backing, b);
            for _ in 0..self.graph.node(n).recursive_quiesce {
                let mut affected = Vec::new();
                self.quiesce_subtree(b, Some(n), &mut affected);
                self.poll_drained(&affected);
            }
        }
        self.drained_end(n);
    }

    /// `AIO_WAIT_WHILE` of a drained section: until no affected job is
    /// still busy with requests in flight (`child_job_drained_poll`).
    fn poll_drained(&mut self, affected: &[JobRef]) {
        self.poll_until(|m| {
            !affected.iter().any(|&j| {
                m.job_alive(j) && {
                    let job = m.job(j);
                    job.busy && !job.status.is_completed() && m.drained_poll(j)
                }
            })
        });
    }

    /// `bdrv_drained_end(node)`.
    pub(crate) fn drained_end(&mut self, n: NodeRef) {
        {
            let node = self.graph.node_mut(n);
            debug_assert!(node.quiesce > 0);
            node.quiesce = node.quiesce.saturating_sub(1);
        }
        let mut i = 0;
        while let Some(&p) = self.graph.nodes[n.pos()]
            .as_ref()
            .and_then(|node| node.parents.get(i))
        {
            i += 1;
            match p {
                Parent::Node(pn) => self.drained_end(pn),
                Parent::Job(j) => {
                    if self.job_alive(j) {
                        self.resume_job(j)
                    }
                }
                Parent::Backend(_) | Parent::Export(_) => {}
            }
        }
    }

    /// `bdrv_drain_all()`: a drained section over every node, begun and ended
    /// at once. Each job is paused once per node it is attached to.
    pub(crate) fn drain_all(&mut self) {
        let live = self.drain_all_begin();
        self.drain_all_end(&live);
    }

    /// The drained sections of every node that `change` makes under this
    /// manager's QEMU beyond 7.2's (none under 7.2; under 10.0 each graph
    /// write lock is a `bdrv_drain_all`): the count is the profile's
    /// [`GraphDrains`](crate::profile::GraphDrains) table.
    pub(crate) fn graph_lock_drains(&mut self, change: GraphChange) {
        for _ in 0..self.profile().graph_drains.count(change) {
            self.drain_all();
        }
    }

    /// Which of the jobs whose graph changes drain (in QEMU 10.0) `j` is:
    /// `None` for jobs without a filter or nodes of their own (`create`,
    /// `amend`, snapshots, host jobs).
    pub(crate) fn draining_job(&self, j: JobRef) -> Option<DrainingJob> {
        use crate::driver::Work;
        use crate::model::JobType;
        let job = self.job(j);
        Some(match (&job.work, job.job_type) {
            (Work::Backup(_), _) => DrainingJob::Backup,
            (Work::Mirror(_), JobType::Commit) => DrainingJob::ActiveCommit,
            (Work::Mirror(_), _) => DrainingJob::Mirror,
            (Work::Stream(_), JobType::Commit) => DrainingJob::Commit,
            (Work::Stream(_), _) => DrainingJob::Stream,
            _ => return None,
        })
    }

    /// [`graph_lock_drains`](Self::graph_lock_drains) for a change of job
    /// `j`'s life, `change` made from its kind.
    pub(crate) fn job_graph_drains(&mut self, j: JobRef, change: fn(DrainingJob) -> GraphChange) {
        if let Some(k) = self.draining_job(j) {
            self.graph_lock_drains(change(k));
        }
    }

    /// `bdrv_drain_all_begin()`: begins a drained section over every node
    /// and waits until no job is busy; returns the nodes, for
    /// [`drain_all_end`](Self::drain_all_end).
    pub(crate) fn drain_all_begin(&mut self) -> Vec<NodeRef> {
        let live: Vec<NodeRef> = self.graph.live().map(|(n, _)| n).collect();
        let mut affected = Vec::new();
        for &n in &live {
            self.quiesce(n, &mut affected, false);
        }
        self.poll_drained(&affected);
        live
    }

    /// `bdrv_drain_all_end()` over the nodes
    /// [`drain_all_begin`](Self::drain_all_begin) returned (those still
    /// present).
    pub(crate) fn drain_all_end(&mut self, live: &[NodeRef]) {
        for &n in live {
            if self.graph.nodes[n.pos()].is_none() {
                continue;
            }
            self.graph.node_mut(n).quiesce -= 1;
            for p in self.graph.node(n).parents.clone() {
                if let Parent::Job(j) = p
                    && self.job_alive(j)
                {
                    self.resume_job(j);
                }
            }
        }
    }

    /// Moves every node parent of `from` (but `except`) to `to`, the way
    /// `bdrv_replace_node` does, and lets the moved parents leave or enter
    /// drained sections to match their new child. Job links stay where they
    /// are (`stay_at_node`); BlockBackends move with the node parents.
    pub(crate) fn replace_node(&mut self, from: NodeRef, to: NodeRef, except: &[NodeRef]) {
        let parents = self.graph.node(from).parents.clone();
        let q_from = self.graph.node(from).quiesce;
        let q_to = self.graph.node(to).quiesce;
        for p in parents.into_iter().rev() {
            if let Parent::Backend(b) = p {
                self.graph.move_backend(b, to);
                continue;
            }
            // An export's BlockBackend follows the node too (`child_root`
            // does not stay at the node); it has no drained sections to
            // carry.
            if let Parent::Export(e) = p {
                self.graph.move_export(e, from, to);
                continue;
            }
            if let Parent::Node(pn) = p {
                // A link inside `to`'s own subtree stays where it is:
                // moving it would make a loop (`should_update_child`).
                if except.contains(&pn) || self.graph.in_subtree(to, pn) {
                    continue;
                }
                // Re-point pn's child link from `from` to `to`.
                let role = self
                    .graph
                    .node(pn)
                    .children
                    .iter()
                    .find(|&&(_, c)| c == from)
                    .map(|&(r, _)| r)
                    .unwrap_or(Role::File);
                self.graph.detach_child(pn, from);
                self.graph.attach_child(pn, role, to);
                for _ in q_to..q_from {
                    self.parent_drained_end(Parent::Node(pn));
                }
                for _ in q_from..q_to {
                    let mut v = Vec::new();
                    self.parent_drained_begin(Parent::Node(pn), &mut v);
                }
            }
        }
    }

    /// Links `child` under `parent`; a drained child drains its new parent.
    pub(crate) fn attach_child(&mut self, parent: NodeRef, role: Role, child: NodeRef) {
        self.graph.attach_child(parent, role, child);
        let q = self.graph.node(child).quiesce;
        for _ in 0..q {
            let mut v = Vec::new();
            self.parent_drained_begin(Parent::Node(parent), &mut v);
        }
    }

    /// Inserts a job filter node above `below`: the filter takes over every
    /// parent of `below` but the jobs'. `how` says how QEMU does it, which
    /// decides where the permissions are checked and how a refusal is
    /// worded; after a refusal the graph is as before (the drained
    /// section of the replacement, if it came to that, still happened).
    pub(crate) fn insert_filter(
        &mut self,
        below: NodeRef,
        name: Option<&str>,
        kind: FilterKind,
        how: FilterInsert,
    ) -> Result<NodeRef> {
        // A filter given no name is implicit (`bs->implicit`).
        let named = name.is_some();
        let name = match name {
            Some(n) => n.to_owned(),
            None => self.graph.implicit_name(),
        };
        let size = self.graph.node(below).size;
        let f = self
            .graph
            .add(name, Driver::JobFilter { kind }, size, named);
        // QEMU 10.0: an inactive node is no active node's child (the
        // source is copy-before-write's and copy-on-read's `file`, the
        // mirror and commit filters' `backing`).
        let children = match how {
            FilterInsert::Append => vec![("backing", below)],
            FilterInsert::InsertNode { target } => {
                let mut v = vec![("file", below)];
                v.extend(target.map(|t| ("target", t)));
                v
            }
        };
        // The job whose filter fails to open (QEMU 10.0's graph changes).
        let opener = match kind {
            FilterKind::CopyBeforeWrite => Some(DrainingJob::Backup),
            FilterKind::CopyOnRead => Some(DrainingJob::Stream),
            _ => None,
        };
        let inactive = children
            .iter()
            .position(|&(_, c)| self.graph.node(c).inactive);
        if let Some(i) = inactive {
            let (role, c) = children[i];
            let e = Error::generic(format!(
                "Inactive '{}' can't be a {role} child of active '{}'",
                self.graph.node(c).name,
                self.graph.node(f).name
            ));
            self.graph.remove(f);
            return Err(match how {
                FilterInsert::Append => e,
                FilterInsert::InsertNode { .. } => {
                    if let Some(k) = opener {
                        self.graph_lock_drains(GraphChange::FilterOpenRefused(k, i + 1));
                    }
                    e.prefixed("Could not create node: ")
                }
            });
        }
        if let FilterInsert::InsertNode { target } = how {
            // bdrv_insert_node: the filter is opened over its children
            // first, each child's permissions checked as it is attached.
            let mut attached = 1;
            let mut opened = self.attach_filter_child(f, Role::Backing, below);
            if let (Ok(()), Some(t)) = (&opened, target) {
                attached += 1;
                opened = self.attach_filter_child(f, Role::Target, t);
            }
            if let Err(e) = opened {
                self.remove_filter_node(f);
                if let Some(k) = opener {
                    self.graph_lock_drains(GraphChange::FilterOpenRefused(k, attached));
                }
                return Err(e.prefixed("Could not create node: "));
            }
        }
        self.drained_begin(below);
        if how == FilterInsert::Append {
            self.attach_child(f, Role::Backing, below);
        }
        self.replace_node(below, f, &[]);
        let checked = self.check_perms_below(f);
        if checked.is_err() {
            self.replace_node(f, below, &[]);
        } else {
            // QEMU 10.0's graph write lock of the replacement, inside the
            // drained section of the node below.
            let owner = match kind {
                FilterKind::CopyBeforeWrite => DrainingJob::Backup,
                FilterKind::MirrorTop { commit: false } => DrainingJob::Mirror,
                FilterKind::MirrorTop { commit: true } => DrainingJob::ActiveCommit,
                FilterKind::CommitTop => DrainingJob::Commit,
                FilterKind::CopyOnRead => DrainingJob::Stream,
            };
            self.graph_lock_drains(GraphChange::FilterReplaced(owner));
        }
        self.drained_end(below);
        match checked {
            Ok(()) => Ok(f),
            Err(e) => {
                self.remove_filter_node(f);
                Err(match how {
                    FilterInsert::Append => e,
                    FilterInsert::InsertNode { .. } => e.prefixed("Could not replace node: "),
                })
            }
        }
    }

    /// Attaches a child to a filter being opened and checks the child's
    /// permissions (`bdrv_open_child`).
    fn attach_filter_child(&mut self, f: NodeRef, role: Role, child: NodeRef) -> Result<()> {
        self.attach_child(f, role, child);
        self.check_perms_below(child)
    }

    /// Removes a job filter from the graph (`bdrv_drop_filter`): its parents
    /// go back to its child inside a drained section over the filter.
    pub(crate) fn drop_filter(&mut self, filter: NodeRef) {
        if !self.graph.alive(filter) {
            return;
        }
        if self.graph.node(filter).children.is_empty() {
            self.graph.remove(filter);
            return;
        }
        self.replace_filter(filter);
        self.remove_filter_node(filter);
    }

    /// `bdrv_drop_filter` of a filter the job still holds (a stream's
    /// copy-on-read filter: its job and BlockBackend keep it open, named
    /// and blocked, until the job is freed): its parents go back to its
    /// child and it lets go of the child, but the node stays.
    pub(crate) fn unlink_filter(&mut self, filter: NodeRef) {
        if !self.graph.alive(filter) || self.graph.node(filter).children.is_empty() {
            return;
        }
        self.replace_filter(filter);
        let children: Vec<NodeRef> = self.graph.child_nodes(filter);
        for c in children {
            self.graph.detach_child(filter, c);
            self.unref_orphan(c);
        }
    }

    /// The parents of `filter` go back to its child, in a drained section
    /// over the filter.
    fn replace_filter(&mut self, filter: NodeRef) {
        self.drained_begin(filter);
        // The child is read inside the drained section: the drain's poll may
        // finish another job whose filter was that child (filters of several
        // jobs stacked on one node), and its removal re-points this link.
        let child = self.filter_child(filter).expect("a filter keeps its child");
        self.replace_node(filter, child, &[]);
        self.drained_end(filter);
    }

    /// The node below a filter.
    pub(crate) fn filter_child(&self, filter: NodeRef) -> Option<NodeRef> {
        if !self.graph.alive(filter) {
            return None;
        }
        self.graph.filter_or_cow_child(filter)
    }

    /// Deletes a filter node (its node parents must have left already); a
    /// child only the filter held closes.
    pub(crate) fn remove_filter_node(&mut self, filter: NodeRef) {
        if !self.graph.alive(filter) {
            return;
        }
        let children: Vec<NodeRef> = self.graph.child_nodes(filter);
        for &c in &children {
            self.graph.detach_child(filter, c);
        }
        let parents = self.graph.node(filter).parents.clone();
        for p in parents {
            match p {
                Parent::Job(j) => {
                    if self.job_alive(j)
                        && let Some(v) = &mut self.job_mut(j).nodes
                    {
                        v.retain(|l| l.node != filter);
                    }
                }
                Parent::Backend(_) => {}
                Parent::Export(e) => {
                    // Should not happen either: an export moves with the
                    // node parents.
                    self.graph.exports.list.retain(|x| x.serial != e.0);
                }
                Parent::Node(pn) => {
                    // Should not happen: node parents were moved away.
                    if self.graph.alive(pn) {
                        self.graph
                            .node_mut(pn)
                            .children
                            .retain(|&(_, c)| c != filter);
                    }
                }
            }
        }
        self.graph.remove(filter);
        // A child only the filter held closes (a drive-backup's target,
        // once its job has let go of it too).
        for c in children {
            self.unref_orphan(c);
        }
    }

    fn parent_drained_begin(&mut self, p: Parent, affected: &mut Vec<JobRef>) {
        match p {
            Parent::Node(n) => self.quiesce(n, affected, true),
            Parent::Job(j) => {
                affected.push(j);
                self.pause_job(j)
            }
            Parent::Backend(_) | Parent::Export(_) => {}
        }
    }

    fn parent_drained_end(&mut self, p: Parent) {
        match p {
            Parent::Node(n) => self.drained_end(n),
            Parent::Job(j) => {
                if self.job_alive(j) {
                    self.resume_job(j)
                }
            }
            Parent::Backend(_) | Parent::Export(_) => {}
        }
    }
}
