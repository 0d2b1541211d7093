//! Job transactions, completion and finalization (SPEC.md §6–§7): which
//! transaction a job is in, what happens when its run returns (`job_exit`,
//! `job_completed`), waiting, pending, auto-finalize, the
//! prepare/commit/abort/clean order, conclude, and the all-or-nothing abort
//! of a failed transaction.

use crate::driver::{Prepared, drive};
use crate::event::EventKind;
use crate::job::{JobRef, Txn, TxnKey, TxnLink, TxnRef};
use crate::manager::JobManager;
use crate::model::JobStatus;
use crate::profile::GraphChange;
use crate::slab::Slot;

impl JobManager {
    // ----------------------------------------------------------------
    // Membership
    // ----------------------------------------------------------------

    /// The transaction of a job that is still a member of one.
    pub(crate) fn txn_of(&self, j: JobRef) -> TxnKey {
        match self.job(j).txn {
            TxnLink::Own { .. } => TxnKey::Own(j),
            TxnLink::Shared(t) => TxnKey::Shared(t),
            TxnLink::Left => panic!("job is not a member of a transaction"),
        }
    }

    /// Members of a transaction, newest first.
    pub(crate) fn txn_members(&self, k: TxnKey) -> Vec<JobRef> {
        match k {
            TxnKey::Own(j) => {
                if self.job_alive(j) && matches!(self.job(j).txn, TxnLink::Own { .. }) {
                    vec![j]
                } else {
                    Vec::new()
                }
            }
            TxnKey::Shared(t) => self.txn(t).members.clone(),
        }
    }

    /// The newest member of a transaction.
    pub(crate) fn txn_first(&self, k: TxnKey) -> Option<JobRef> {
        match k {
            TxnKey::Own(_) => self.txn_members(k).first().copied(),
            TxnKey::Shared(t) => self.txn(t).members.first().copied(),
        }
    }

    /// Whether the transaction is being aborted.
    pub(crate) fn txn_aborting(&self, k: TxnKey) -> bool {
        match k {
            TxnKey::Own(j) => matches!(self.job(j).txn, TxnLink::Own { aborting: true }),
            TxnKey::Shared(t) => self.txn(t).aborting,
        }
    }

    pub(crate) fn txn(&self, t: TxnRef) -> &Txn {
        self.txns[t.pos()].as_ref().expect("live txn")
    }

    pub(crate) fn txn_mut(&mut self, t: TxnRef) -> &mut Txn {
        self.txns[t.pos()].as_mut().expect("live txn")
    }

    pub(crate) fn new_txn(&mut self) -> TxnRef {
        self.txn_serial += 1;
        let txn = Txn {
            serial: self.txn_serial,
            ..Txn::default()
        };
        if let Some(t) = self.free_txns.pop() {
            self.txns[t.pos()] = Some(txn);
            t
        } else {
            self.txns.push(Some(txn));
            TxnRef::at((self.txns.len() - 1) as u32)
        }
    }

    pub(crate) fn maybe_free_txn(&mut self, t: TxnRef) {
        if self.txns[t.pos()]
            .as_ref()
            .is_some_and(|x| x.members.is_empty() && !x.held_by_host)
            && !self.txn_held.contains(&t)
        {
            self.txns[t.pos()] = None;
            self.free_txns.push(t);
        }
    }

    /// Removes a job from its transaction (`job_txn_del_job`).
    pub(crate) fn txn_del_job(&mut self, j: JobRef) {
        let link = std::mem::replace(&mut self.job_mut(j).txn, TxnLink::Left);
        if let TxnLink::Shared(t) = link {
            if let Some(txn) = self.txns[t.pos()].as_mut() {
                txn.members.retain(|&m| m != j);
            }
            self.maybe_free_txn(t);
        }
    }

    // ----------------------------------------------------------------
    // Completion
    // ----------------------------------------------------------------

    /// `job_exit`: the bottom half queued when `run` returned.
    pub(crate) fn job_exit(&mut self, j: JobRef) {
        if !self.job_alive(j) {
            return;
        }
        self.job_mut(j).busy = false;
        self.completed(j);
    }

    /// `job_update_rc`.
    pub(crate) fn update_rc(&mut self, j: JobRef) {
        let job = self.job_mut(j);
        if job.ret == 0 && job.is_cancelled() {
            job.ret = -crate::model::ECANCELED;
        }
        if job.ret != 0 {
            if job.err.is_none() {
                job.err = Some(crate::model::strerror(-job.ret).into_boxed_str());
            }
            self.set_status(j, JobStatus::Aborting);
        }
    }

    /// `job_completed`.
    pub(crate) fn completed(&mut self, j: JobRef) {
        debug_assert!(!self.job(j).status.is_completed());
        self.update_rc(j);
        if self.job(j).ret != 0 {
            self.txn_abort(j);
        } else {
            self.txn_success(j);
        }
    }

    // ----------------------------------------------------------------
    // Finalization
    // ----------------------------------------------------------------

    fn members(&self, j: JobRef) -> Vec<JobRef> {
        self.txn_members(self.txn_of(j))
    }

    /// `job_completed_txn_success`.
    pub(crate) fn txn_success(&mut self, j: JobRef) {
        self.set_status(j, JobStatus::Waiting);
        let members = self.members(j);
        if members.iter().any(|&m| !self.job(m).status.is_completed()) {
            return;
        }
        for &m in &members {
            self.set_status(m, JobStatus::Pending);
            if !self.job(m).auto_finalize {
                self.emit_block(m, |job, id| EventKind::BlockJobPending {
                    job_type: job.job_type,
                    id,
                });
            }
        }
        if members.iter().all(|&m| self.job(m).auto_finalize) {
            self.do_finalize(j);
        }
    }

    /// `job_do_finalize`: prepare every member (stopping at the first
    /// failure), then commit or abort the whole transaction.
    pub(crate) fn do_finalize(&mut self, j: JobRef) {
        let t = self.txn_of(j);
        let mut failed = false;
        for m in self.txn_members(t) {
            if !self.job_alive(m) {
                continue;
            }
            if self.job(m).ret == 0 {
                match drive!(self, m, |d, cx| d.prepare(cx)) {
                    None | Some(Prepared::NoHook) => {}
                    Some(Prepared::Ret(ret)) => {
                        self.job_mut(m).ret = ret;
                        self.update_rc(m);
                    }
                    // The host prepares this member; finalization goes on
                    // when it reports (`host_prepare_done`).
                    Some(Prepared::Pending) => return,
                }
            }
            if self.job(m).ret != 0 {
                failed = true;
                break;
            }
        }
        if failed {
            self.txn_abort(j);
        } else {
            for m in self.txn_members(t) {
                self.finalize_single(m);
            }
        }
    }

    /// `job_finalize_single`: commit or abort, clean, the block event,
    /// conclude (and dismiss when auto-dismiss is on or the job never started).
    pub(crate) fn finalize_single(&mut self, j: JobRef) {
        debug_assert!(self.job(j).status.is_completed());
        self.update_rc(j);
        let ret = self.job(j).ret;
        // QEMU 10.0's graph write locks of the job's commit or abort and
        // clean: the last one's drained section holds the graph changes, so
        // their own drained sections (of the job's nodes) nest in it.
        let drains = self.draining_job(j).map_or(0, |k| {
            self.profile()
                .graph_drains
                .count(GraphChange::Ended(k, ret == 0))
        });
        for _ in 1..drains {
            self.drain_all();
        }
        let held = (drains > 0).then(|| self.drain_all_begin());
        let images = (drains > 0).then(|| self.image_nodes());
        if ret == 0 {
            drive!(self, j, |d, cx| d.commit(cx));
        } else {
            drive!(self, j, |d, cx| d.abort(cx));
        }
        drive!(self, j, |d, cx| d.clean(cx));
        if let Some(live) = held {
            self.drain_all_end(&live);
        }
        // The nodes only the job held (a drive-backup's target) were let go
        // of under the lock (`bdrv_schedule_unref`): they close from a
        // bottom half afterwards, each `bdrv_close` a write lock of its own.
        if let Some(before) = images {
            let closed = before.into_iter().filter(|&n| !self.graph.alive(n)).count();
            self.graph_lock_drains(GraphChange::NodeDeleted(closed));
        }
        if self.job(j).started() {
            if self.job(j).is_cancelled() {
                self.emit_block(j, |job, device| EventKind::BlockJobCancelled {
                    job_type: job.job_type,
                    device,
                    len: job.total,
                    offset: job.current,
                    speed: job.speed,
                });
            } else {
                self.emit_block(j, |job, device| EventKind::BlockJobCompleted {
                    job_type: job.job_type,
                    device,
                    len: job.total,
                    offset: job.current,
                    speed: job.speed,
                    error: if job.ret < 0 {
                        job.err.as_deref().map(str::to_owned)
                    } else {
                        None
                    },
                });
            }
        }
        self.txn_del_job(j);
        self.conclude(j);
    }

    /// The live nodes other than job filters.
    fn image_nodes(&self) -> Vec<crate::block::NodeRef> {
        self.graph
            .live()
            .filter(|(_, node)| !matches!(node.driver, crate::block::Driver::JobFilter { .. }))
            .map(|(n, _)| n)
            .collect()
    }

    /// `job_conclude`.
    fn conclude(&mut self, j: JobRef) {
        self.set_status(j, JobStatus::Concluded);
        let job = self.job(j);
        if job.auto_dismiss || !job.started() {
            self.do_dismiss(j);
        }
    }

    /// `job_completed_txn_abort`: hard-cancels every other member, runs each
    /// to completion and finalizes them one by one, newest first.
    pub(crate) fn txn_abort(&mut self, j: JobRef) {
        let t = self.txn_of(j);
        if self.txn_aborting(t) {
            // Another job handles the abort; if it waits for this one (a host
            // job that just ended its run), it goes on now.
            if let TxnKey::Shared(s) = t
                && self.txn(s).abort_suspended
            {
                self.txn_mut(s).abort_suspended = false;
                self.txn_abort_continue(t);
            }
            return;
        }
        match t {
            TxnKey::Own(o) => self.job_mut(o).txn = TxnLink::Own { aborting: true },
            TxnKey::Shared(s) => {
                self.txn_mut(s).aborting = true;
                self.txn_held.push(s);
            }
        }
        for m in self.txn_members(t) {
            if m != j && self.job_alive(m) {
                self.cancel_async(m, true);
            }
        }
        self.txn_abort_continue(t);
    }

    /// The second half of `job_completed_txn_abort`: runs each member to
    /// completion and finalizes it, newest first. QEMU waits for a member
    /// synchronously; a host job's run ends only when the host says so, so
    /// the abort stops there and goes on when that job completes.
    fn txn_abort_continue(&mut self, t: TxnKey) {
        while let Some(first) = self.txn_first(t) {
            if !self.job(first).status.is_completed() {
                let job = self.job(first);
                let host_running = matches!(job.work, crate::driver::Work::Host(_))
                    && job.started()
                    && !job.deferred;
                if host_running {
                    // Wake it if it sleeps or is parked, so it sees its cancel.
                    self.enter(first);
                    if let TxnKey::Shared(s) = t {
                        self.txn_mut(s).abort_suspended = true;
                    }
                    return;
                }
                self.finish_sync(first);
            }
            if !self.job_alive(first) {
                continue;
            }
            if self.txn_first(t) == Some(first) {
                self.finalize_single(first);
            }
        }
        if let TxnKey::Shared(s) = t {
            if let Some(i) = self.txn_held.iter().position(|&x| x == s) {
                self.txn_held.remove(i);
            }
            self.maybe_free_txn(s);
        }
    }
}
