//! `block-stream` (`stream_start`).

use crate::block::FilterKind;
use crate::drain::FilterInsert;
use crate::driver::Work;
use crate::error::{Error, Result};
use crate::manager::JobManager;
use crate::model::JobType;
use crate::options::StreamOptions;
use crate::perm::{JobLink, LinkRole, Perm};
use crate::profile::{DrainingJob, GraphChange};
use crate::workload::stream::{Mode, Stream};

impl JobManager {
    /// `block-stream`: data of the backing chain above `base-node` is copied
    /// into `device`, which then has `base-node` as its backing node.
    pub fn block_stream(&mut self, opts: StreamOptions) -> Result<()> {
        self.require_member(
            "backing-mask-protocol",
            opts.backing_mask_protocol.is_some(),
        )?;
        let bs = self.lookup_node(&opts.device, &opts.device)?;
        let chain = self.chain(bs);
        let base_file =
            match &opts.base {
                Some(f) => Some(self.graph.find_backing_image(bs, f).ok_or_else(|| {
                    Error::generic(format!("Can't find '{f}' in the backing chain"))
                })?),
                None => None,
            };
        let base = match &opts.base_node {
            None if base_file.is_some() => base_file,
            Some(b) => {
                let n = self.lookup_node("", b)?;
                if n == bs || !chain.contains(&n) {
                    return Err(Error::generic(format!(
                        "Node '{}' is not a backing image of '{}'",
                        b, opts.device
                    )));
                }
                Some(n)
            }
            None => None,
        };
        // Every node from the top down to the base, filters included (a
        // backup's filter carries its job's blockers).
        let mut iter = Some(bs);
        while let Some(n) = iter.filter(|&n| Some(n) != base) {
            self.op_blocked(n)?;
            iter = self.graph.filter_or_cow_child(n);
        }
        if base.is_none() && opts.backing_file.is_some() {
            return Err(Error::generic(
                "backing file specified, but streaming the entire chain",
            ));
        }
        if let Err(e) = self.check_inserted_name(opts.filter_node_name.as_deref()) {
            self.graph_lock_drains(GraphChange::FilterRefused(DrainingJob::Stream));
            return Err(e);
        }
        // A read-only top opens read-write for the job, and read-only again
        // when the job is cleaned up.
        let reopened = self.graph.reopen(bs, false);
        let inserted = self.insert_filter(
            bs,
            opts.filter_node_name.as_deref(),
            FilterKind::CopyOnRead,
            FilterInsert::InsertNode { target: None },
        );
        let filter = match inserted {
            Ok(f) => {
                self.graph_lock_drains(GraphChange::FilterInserted(DrainingJob::Stream));
                f
            }
            Err(e) => {
                if reopened {
                    self.graph.reopen(bs, true);
                }
                return Err(e);
            }
        };
        let mut stream = Box::new(Stream::new(
            Mode::Stream,
            bs,
            base,
            None,
            Some(filter),
            opts.on_error,
        ));
        stream.reopened = reopened.then_some(bs);
        let work = Work::Stream(stream);
        let created = self.block_job_create(
            &opts.job,
            JobType::Stream,
            filter,
            Perm::NONE,
            Perm::ALL,
            None,
            work,
        );
        let j = match created {
            Ok(j) => j,
            Err(e) => {
                self.drop_filter(filter);
                self.graph_lock_drains(GraphChange::CreationUndone(DrainingJob::Stream));
                if reopened {
                    self.graph.reopen(bs, true);
                }
                return Err(e);
            }
        };
        // Its BlockBackend on the filter, then the nodes it works on: the
        // active node, then each node it streams from.
        let basic = Perm::CONSISTENT_READ | Perm::WRITE_UNCHANGED;
        let mut links = vec![
            JobLink::new(
                filter,
                LinkRole::Backend,
                Perm::CONSISTENT_READ,
                basic | Perm::WRITE,
            ),
            JobLink::new(bs, LinkRole::ActiveNode, Perm::NONE, basic | Perm::WRITE),
        ];
        for &n in chain.iter().skip(1).take_while(|&&n| Some(n) != base) {
            links.push(JobLink::new(
                n,
                LinkRole::IntermediateNode,
                Perm::NONE,
                basic,
            ));
        }
        for link in links {
            let added = self.add_job_link(j, link);
            if let Err(e) = self.or_early_fail(j, added) {
                self.drop_filter(filter);
                self.graph_lock_drains(GraphChange::CreationUndone(DrainingJob::Stream));
                return Err(e);
            }
        }
        self.job_graph_drains(j, GraphChange::JobAttached);
        self.start_job(j);
        Ok(())
    }
}
