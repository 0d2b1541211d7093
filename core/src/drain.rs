//! Drained sections and graph changes (SPEC.md §A3): a job's links to the
//! nodes it works on, `bdrv_drained_begin`/`end` pausing the jobs above a
//! node, `bdrv_drain_all`, and the graph changes jobs make inside drained
//! sections (inserting and dropping their filter nodes, replacing nodes).

use crate::block::{Driver, NodeRef, Parent, Role};
use crate::job::JobRef;
use crate::manager::JobManager;

impl JobManager {
    /// Attaches a job to a node (`block_job_add_bdrv`): drained sections over
    /// the node (or below it) pause the job. A node that is drained right now
    /// passes its drain on to the new parent.
    pub(crate) fn attach_job(&mut self, j: JobRef, n: NodeRef) {
        self.graph.node_mut(n).parents.insert(0, Parent::Job(j));
        self.graph.node_mut(n).blockers.insert(0, j);
        self.job_mut(j)
            .nodes
            .get_or_insert_with(Default::default)
            .push(n);
        let q = self.graph.node(n).quiesce;
        for _ in 0..q {
            self.pause_job(j);
        }
    }

    /// `block_job_remove_all_bdrv`: the job leaves every node it used
    /// (when it ends, at the latest at `null`); a link leaving a drained
    /// node ends that node's drains for the job.
    pub(crate) fn detach_job(&mut self, j: JobRef) {
        let nodes = self.job_mut(j).nodes.take().map(|b| *b).unwrap_or_default();
        for &n in &nodes {
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
        for n in nodes {
            self.unref_orphan(n);
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
                Parent::Node(_) | Parent::Backend(_) => {}
                Parent::Job(j) => {
                    affected.push(j);
                    self.pause_job(j);
                }
            }
        }
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
                Parent::Backend(_) => {}
            }
        }
    }

    /// `bdrv_drain_all()`: a drained section over every node, begun and ended
    /// at once. Each job is paused once per node it is attached to.
    pub(crate) fn drain_all(&mut self) {
        let live = self.drain_all_begin();
        self.drain_all_end(&live);
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
            if let Parent::Node(pn) = p {
                if except.contains(&pn) || pn == to {
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

    /// Inserts a job filter node above `below` (`bdrv_append`): the filter
    /// takes over every parent of `below`.
    pub(crate) fn insert_filter(&mut self, below: NodeRef, name: Option<&str>) -> NodeRef {
        self.insert_filter_keeping(below, name, None)
    }

    /// [`insert_filter`](Self::insert_filter), but `keep` stays a parent
    /// of `below` (a backup's target whose backing node is the source: the
    /// copy-before-write filter has the target as a child, so QEMU does not
    /// move that link, which would make a loop).
    pub(crate) fn insert_filter_keeping(
        &mut self,
        below: NodeRef,
        name: Option<&str>,
        keep: Option<NodeRef>,
    ) -> NodeRef {
        let name = match name {
            Some(n) => n.to_owned(),
            None => self.graph.implicit_name(),
        };
        let size = self.graph.node(below).size;
        let f = self.graph.add(name, Driver::JobFilter, size, false);
        self.drained_begin(below);
        self.attach_child(f, Role::Backing, below);
        let except: Vec<NodeRef> = [Some(f), keep].into_iter().flatten().collect();
        self.replace_node(below, f, &except);
        self.drained_end(below);
        f
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
        self.drained_begin(filter);
        // The child is read inside the drained section: the drain's poll may
        // finish another job whose filter was that child (filters of several
        // jobs stacked on one node), and its removal re-points this link.
        let child = self.filter_child(filter).expect("a filter keeps its child");
        self.replace_node(filter, child, &[]);
        self.drained_end(filter);
        self.remove_filter_node(filter);
    }

    /// The node below a filter.
    pub(crate) fn filter_child(&self, filter: NodeRef) -> Option<NodeRef> {
        if !self.graph.alive(filter) {
            return None;
        }
        self.graph.node(filter).children.first().map(|&(_, c)| c)
    }

    /// Deletes a filter node (its node parents must have left already); a
    /// child only the filter held closes.
    pub(crate) fn remove_filter_node(&mut self, filter: NodeRef) {
        if !self.graph.alive(filter) {
            return;
        }
        let children: Vec<NodeRef> = self
            .graph
            .node(filter)
            .children
            .iter()
            .map(|&(_, c)| c)
            .collect();
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
                        v.retain(|&n| n != filter);
                    }
                }
                Parent::Backend(_) => {}
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
            Parent::Backend(_) => {}
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
            Parent::Backend(_) => {}
        }
    }
}
