//! `quit`: what QEMU 7.2's storage daemon does on its way out
//! (`qemu-storage-daemon.c`'s `main` after its main loop): a drained section
//! over every node that is never ended, then every job cancelled (force) and
//! run to its end, newest first (`job_cancel_sync_all`).

use crate::job::JobRef;
use crate::manager::JobManager;
use crate::workload::Work;

impl JobManager {
    /// The `quit` command, as QEMU 7.2.22's storage daemon carries it out
    /// before it exits: every job above a node is paused (a drained section
    /// over all nodes begins), then each job, newest first, is cancelled
    /// with `force` and run to its end (`null`): a running job pauses,
    /// resumes, aborts and is gone; a concluded one is dismissed; a job
    /// cancelled with a transaction peer takes its peers with it. All of
    /// it happens inside the call, so every event comes before the reply.
    ///
    /// A host-driven job is cancelled but cannot be run to its end here: it
    /// ends when the host reports back.
    ///
    /// QEMU exits afterwards; qjob ends the drained section instead (no job
    /// is left to see it), so the manager can still be used.
    pub fn quit(&mut self) {
        let nodes: Vec<u32> = (0..self.graph.nodes.len() as u32)
            .filter(|&n| self.graph.nodes[n as usize].is_some())
            .collect();
        let mut paused = Vec::new();
        for &n in &nodes {
            self.graph.node_mut(n).quiesce += 1;
            for p in self.graph.node(n).parents.clone() {
                if let crate::block::Parent::Job(j) = p {
                    paused.push(j);
                    self.pause_job(j);
                }
            }
        }
        self.poll_until(|m| {
            !paused.iter().any(|&j| {
                m.job_alive(j) && {
                    let job = m.job(j);
                    job.busy && !job.status.is_completed() && crate::workload::drained_poll(m, j)
                }
            })
        });
        let mut done: Vec<JobRef> = Vec::new();
        loop {
            let next = self.jobs_newest_first().find(|j| !done.contains(j));
            let Some(j) = next else { break };
            done.push(j);
            if matches!(self.job(j).work, Work::Host(_)) {
                self.cancel(j, true);
            } else {
                self.cancel_sync(j, true);
            }
        }
        for &n in &nodes {
            if self.graph.nodes[n as usize].is_some() {
                let node = self.graph.node_mut(n);
                node.quiesce = node.quiesce.saturating_sub(1);
            }
        }
    }
}
