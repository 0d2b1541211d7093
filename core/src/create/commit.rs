//! `block-commit`: an active commit is a mirror into the base, a
//! non-active one a stream-like job (`commit_start`).

use crate::block::FilterKind;
use crate::drain::FilterInsert;
use crate::driver::Work;
use crate::error::{Error, ErrorClass, Result};
use crate::manager::JobManager;
use crate::model::JobType;
use crate::options::{CommitOptions, MirrorCopyMode};
use crate::perm::{JobLink, LinkRole, Perm};
use crate::profile::{DrainingJob, GraphChange};
use crate::workload::mirror::{BackingMode, DirtyInit};
use crate::workload::stream::{Mode, Stream};

impl JobManager {
    /// `block-commit`: with no `top-node` (or the active layer itself) it is
    /// an active commit, mirror-like: it reaches `ready` and waits for
    /// `job-complete`. Otherwise the data of `top-node` … above `base-node`
    /// goes into the base and those nodes leave the chain.
    pub fn block_commit(&mut self, opts: CommitOptions) -> Result<()> {
        self.require_member(
            "backing-mask-protocol",
            opts.backing_mask_protocol.is_some(),
        )?;
        let bs = match self.root_node(&opts.device) {
            Ok(n) => n,
            Err(e) => {
                return Err(match self.graph.lookup(&opts.device) {
                    Some(_) => e,
                    None => Error {
                        class: ErrorClass::DeviceNotFound,
                        desc: format!("Device '{}' not found", opts.device),
                    },
                });
            }
        };
        let chain = self.chain(bs);
        let top = match (&opts.top_node, &opts.top) {
            (Some(t), _) => {
                let n = self.lookup_node("", t)?;
                if !chain.contains(&n) {
                    return Err(Error::generic(format!(
                        "'{t}' is not in this backing file chain"
                    )));
                }
                n
            }
            (None, Some(f)) if self.graph.filename_as_opened(bs) != *f => self
                .graph
                .find_backing_image(bs, f)
                .ok_or_else(|| Error::generic(format!("Top image file {f} not found")))?,
            _ => bs,
        };
        let top_chain = self.chain(top);
        let base = match (&opts.base_node, &opts.base) {
            (Some(b), _) => {
                let n = self.lookup_node("", b)?;
                if !top_chain.contains(&n) {
                    return Err(Error::generic(format!(
                        "'{b}' is not in this backing file chain"
                    )));
                }
                n
            }
            (None, Some(f)) => self
                .graph
                .find_backing_image(top, f)
                .ok_or_else(|| Error::generic(format!("Can't find '{f}' in the backing chain")))?,
            (None, None) => *top_chain.last().expect("chain has its top"),
        };
        // Every node from the top down to the base, filters included, and
        // the base itself.
        let end = self.graph.filter_or_cow_child(base);
        let mut iter = Some(top);
        while let Some(n) = iter.filter(|&n| Some(n) != end) {
            self.op_blocked(n)?;
            iter = self.graph.filter_or_cow_child(n);
        }
        if top == base {
            return Err(Error::generic("cannot commit an image into itself"));
        }
        if top == bs {
            if opts.backing_file.is_some() {
                return Err(Error::generic(
                    "'backing-file' specified, but 'top' is the active layer",
                ));
            }
            // commit_active_start: the base opens read-write for the job
            // (and goes back if the job cannot start).
            let reopened = self.graph.reopen(base, false);
            let started = self.mirror_start_job(
                &opts.job,
                JobType::Commit,
                bs,
                base,
                DirtyInit::AllocatedAbove(Some(base)),
                0,
                0,
                opts.on_error,
                opts.on_error,
                opts.filter_node_name.as_deref(),
                BackingMode::Leave,
                MirrorCopyMode::Background,
            );
            if started.is_err() && reopened {
                self.graph.reopen(base, true);
            }
            return started;
        }
        let overlay = chain
            .iter()
            .position(|&n| n == top)
            .and_then(|i| i.checked_sub(1))
            .map(|i| chain[i]);
        if let Some(ov) = overlay {
            self.op_blocked(ov)?;
        }
        // commit_start creates the job before its filter: with a bad filter
        // name there is no filter, and the job fails early (created, null).
        let name = opts.filter_node_name.as_deref();
        let named = self.check_filter_name(name);
        // (commit_top only lets go of permissions: putting it in place
        // cannot be refused.)
        let filter = match named {
            Ok(()) => {
                let f =
                    self.insert_filter(top, name, FilterKind::CommitTop, FilterInsert::Append)?;
                self.graph_lock_drains(GraphChange::FilterInserted(DrainingJob::Commit));
                Some(f)
            }
            Err(_) => {
                // (QEMU's graph change before the job is created is not the
                // filter's: it happens without one too.)
                self.graph_lock_drains(GraphChange::FilterInserted(DrainingJob::Commit));
                None
            }
        };
        let mut commit = Box::new(Stream::new(
            Mode::Commit,
            top,
            Some(base),
            overlay,
            filter,
            opts.on_error,
        ));
        // A read-only base opens read-write for the job (`commit_start`),
        // and read-only again when it is cleaned up.
        let base_read_only = self.graph.node(base).read_only;
        commit.reopened = base_read_only.then_some(base);
        let work = Work::Stream(commit);
        let created = self.block_job_create(
            &opts.job,
            JobType::Commit,
            bs,
            Perm::NONE,
            Perm::ALL,
            None,
            work,
        );
        let j = match created {
            Ok(j) => j,
            Err(e) => {
                if let Some(f) = filter {
                    self.drop_filter(f);
                    self.graph_lock_drains(GraphChange::CreationUndone(DrainingJob::Commit));
                }
                return Err(e);
            }
        };
        self.graph.reopen(base, false);
        if let Err(e) = named {
            self.graph_lock_drains(GraphChange::FilterRefused(DrainingJob::Commit));
            self.early_fail(j);
            return Err(e);
        }
        // The nodes that leave the chain, the base, and the job's
        // BlockBackends on the base (which it writes, and may grow) and on
        // the top.
        let mut base_perm = Perm::CONSISTENT_READ | Perm::WRITE;
        if self.graph.node(base).size < self.graph.node(top).size {
            base_perm = base_perm | Perm::RESIZE;
        }
        let between = Perm::WRITE_UNCHANGED | Perm::WRITE;
        let mut links: Vec<JobLink> = top_chain
            .iter()
            .take_while(|&&n| n != base)
            .map(|&n| JobLink::new(n, LinkRole::IntermediateNode, Perm::NONE, between))
            .collect();
        links.push(JobLink::new(base, LinkRole::Base, Perm::NONE, Perm::ALL));
        links.push(JobLink::new(
            base,
            LinkRole::Backend,
            base_perm,
            Perm::CONSISTENT_READ | Perm::WRITE_UNCHANGED,
        ));
        links.push(JobLink::new(top, LinkRole::Backend, Perm::NONE, Perm::ALL));
        for link in links {
            let added = self.add_job_link(j, link);
            if let Err(e) = self.or_early_fail(j, added) {
                if let Some(f) = filter {
                    self.drop_filter(f);
                    self.graph_lock_drains(GraphChange::CreationUndone(DrainingJob::Commit));
                }
                return Err(e);
            }
        }
        self.job_graph_drains(j, GraphChange::JobAttached);
        self.start_job(j);
        Ok(())
    }
}
