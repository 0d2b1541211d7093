//! `quit`: what QEMU 7.2's storage daemon does on its way out
//! (`qemu-storage-daemon.c`'s `main` after its main loop): a drained section
//! over every node (`bdrv_drain_all_begin`), then every job cancelled (force)
//! and run to its end, newest first (`job_cancel_sync_all`).

use crate::driver::Work;
use crate::job::JobRef;
use crate::manager::JobManager;

impl JobManager {
    /// The `quit` command, as QEMU 7.2.22 carries it out before it exits
    /// (a system emulator first emits `SHUTDOWN`): every block export goes
    /// away (`BLOCK_EXPORT_DELETED`, oldest first), then every job above a node is paused (a drained section
    /// over all nodes begins), then each job, newest first, is cancelled
    /// with `force` and run to its end (`null`): a running job pauses,
    /// resumes, aborts and is gone; a concluded one is dismissed; a job
    /// cancelled with a transaction peer takes its peers with it. All of
    /// it happens inside the call, so every event comes before the reply.
    ///
    /// A host-driven job is cancelled but cannot be run to its end here: it
    /// ends when the host reports back.
    ///
    /// QEMU exits afterwards; qjob ends the drained section instead (only a
    /// host-driven job can still see it), so the manager can still be used.
    pub fn quit(&mut self) {
        if self.machine {
            // A system emulator reports its shutdown before it cleans up
            // (`qemu_system_shutdown_request`).
            self.emit(crate::event::EventKind::Shutdown);
        }
        self.end_all();
    }

    /// What `quit` does after `SHUTDOWN` (also what a signal that ends the
    /// process does, whose `SHUTDOWN` the server words itself): the exports
    /// go, then the jobs end under a drained section.
    pub(crate) fn end_all(&mut self) {
        // `blk_exp_close_all`: the exports go first.
        self.close_all_exports();
        let nodes = self.drain_all_begin();
        // Newest first, as `job_cancel_sync_all` takes the head of QEMU's
        // job list each time; a job cancelled with its transaction takes its
        // peers with it, so some are gone when their turn comes. (No job is
        // created meanwhile, so a reference is not reused.)
        let order: Vec<JobRef> = self.jobs_newest_first().collect();
        for j in order {
            if !self.job_alive(j) {
                continue;
            }
            if matches!(self.job(j).work, Work::Host(_)) {
                self.cancel(j, true);
            } else {
                self.cancel_sync(j, true);
            }
        }
        self.drain_all_end(&nodes);
    }
}
