//! The structural checks of a restored snapshot: every job, node and
//! transaction reference exists, links agree both ways, each job's filter
//! is its own, and the ID index is rebuilt.

use crate::block::{Driver, NodeRef, Parent};
use crate::job::{TxnLink, TxnRef};
use crate::manager::{Bh, JobManager};
use crate::model::JobStatus;
use crate::slab::Slot;

impl JobManager {
    /// Rebuilds the ID index after a restore and checks that the snapshot's
    /// references hold together.
    pub(crate) fn rebuild_index(&mut self) -> std::result::Result<(), String> {
        self.by_id.clear();
        let mut filters = std::collections::BTreeSet::new();
        for (i, job) in self.jobs.iter() {
            if let Some(id) = &job.id
                && !self.by_id.insert(&self.jobs, i)
            {
                return Err(format!("job ID '{id}' used twice"));
            }
            if let TxnLink::Shared(t) = job.txn
                && !self
                    .txns
                    .get(t.pos())
                    .and_then(|x| x.as_ref())
                    .is_some_and(|x| x.members.contains(&i))
            {
                return Err(format!("job {i} names a transaction that does not hold it"));
            }
            let Some(driver) = job.work.driver() else {
                return Err(format!("job {i} has no driver state"));
            };
            // A block job lets go of its nodes when it ends (backup_clean,
            // mirror's exit), just before it concludes; it never touches
            // its workload's nodes again, and they may be gone since: only
            // an attached job's are checked.
            if job.nodes.is_none() {
                if !driver.node_refs().is_empty() && job.status != JobStatus::Concluded {
                    return Err(format!("job {i} holds no nodes before its end"));
                }
                continue;
            }
            if job
                .nodes
                .iter()
                .flat_map(|v| v.iter())
                .copied()
                .chain(driver.node_refs())
                .any(|n| !self.graph.alive(n))
            {
                return Err(format!("job {i} names a missing node"));
            }
            driver.check(&self.graph)?;
            if let Some(f) = driver.filter() {
                // Its own filter: a job-filter node no other job claims.
                let own =
                    matches!(self.graph.node(f).driver, Driver::JobFilter) && filters.insert(f);
                if !own {
                    return Err(format!("job {i} names a filter node that is not its own"));
                }
            }
        }
        for (&seq, &j) in &self.order {
            if self.jobs.get(j).is_none_or(|job| job.seq != seq) {
                return Err("registry order names a missing job".into());
            }
        }
        self.graph.validate(|j| self.jobs.get(j).is_some())?;
        // A job above a node lists the node, so that its end detaches it.
        for (n, node) in self.graph.nodes.iter().enumerate() {
            let Some(node) = node else { continue };
            for p in &node.parents {
                if let Parent::Job(j) = *p
                    && !self.jobs.get(j).is_some_and(|job| {
                        job.nodes
                            .as_ref()
                            .is_some_and(|v| v.contains(&NodeRef::at(n as u32)))
                    })
                {
                    return Err(format!(
                        "node {n} names job {j} as a parent that does not hold it"
                    ));
                }
            }
        }
        for (t, txn) in self.txns.iter().enumerate() {
            let Some(txn) = txn else { continue };
            let t = TxnRef::at(t as u32);
            if txn.members.iter().any(|&j| {
                self.jobs
                    .get(j)
                    .is_none_or(|job| job.txn != TxnLink::Shared(t))
            }) {
                return Err(format!(
                    "transaction {t} names a job that is not its member"
                ));
            }
        }
        if self.bhs.iter().any(|b| match *b {
            Bh::JobExit(j) => self.jobs.get(j).is_none(),
        }) {
            return Err("a queued completion names a missing job".into());
        }
        self.timers.validate(|j| self.jobs.get(j).is_some())
    }
}
