//! `block-commit`: an active commit is a mirror into the base, a
//! non-active one a stream-like job (`commit_start`).

use crate::driver::Work;
use crate::error::{Error, ErrorClass, Result};
use crate::manager::JobManager;
use crate::model::JobType;
use crate::options::{CommitOptions, MirrorCopyMode};
use crate::workload::mirror::{BackingMode, DirtyInit};
use crate::workload::stream::{Mode, Stream};

impl JobManager {
    /// `block-commit`: with no `top-node` (or the active layer itself) it is
    /// an active commit, mirror-like: it reaches `ready` and waits for
    /// `job-complete`. Otherwise the data of `top-node` … above `base-node`
    /// goes into the base and those nodes leave the chain.
    pub fn block_commit(&mut self, opts: CommitOptions) -> Result<()> {
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
            (None, Some(f)) if self.graph.filename(bs) != *f => self
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
        for &n in top_chain.iter().take_while(|&&n| n != base) {
            self.op_blocked(n)?;
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
            return self.mirror_start_job(
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
        let filter = named.is_ok().then(|| self.insert_filter(top, name));
        let work = Work::Stream(Box::new(Stream::new(
            Mode::Commit,
            top,
            Some(base),
            overlay,
            filter,
            opts.on_error,
        )));
        let j = match self.block_job_create(&opts.job, JobType::Commit, bs, None, work) {
            Ok(j) => j,
            Err(e) => {
                if let Some(f) = filter {
                    self.drop_filter(f);
                }
                return Err(e);
            }
        };
        if let Err(e) = named {
            self.early_fail(j);
            return Err(e);
        }
        for &n in top_chain.iter().take_while(|&&n| n != base) {
            self.attach_job(j, n);
        }
        self.attach_job(j, base);
        self.start_job(j);
        Ok(())
    }
}
