//! `block-stream` (`stream_start`).

use crate::driver::Work;
use crate::error::{Error, Result};
use crate::manager::JobManager;
use crate::model::JobType;
use crate::options::StreamOptions;
use crate::workload::stream::{Mode, Stream};

impl JobManager {
    /// `block-stream`: data of the backing chain above `base-node` is copied
    /// into `device`, which then has `base-node` as its backing node.
    pub fn block_stream(&mut self, opts: StreamOptions) -> Result<()> {
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
        for &n in chain.iter().take_while(|&&n| Some(n) != base) {
            self.op_blocked(n)?;
        }
        if base.is_none() && opts.backing_file.is_some() {
            return Err(Error::generic(
                "backing file specified, but streaming the entire chain",
            ));
        }
        self.check_inserted_name(opts.filter_node_name.as_deref())?;
        let filter = self.insert_filter(bs, opts.filter_node_name.as_deref());
        let work = Work::Stream(Box::new(Stream::new(
            Mode::Stream,
            bs,
            base,
            None,
            Some(filter),
            opts.on_error,
        )));
        let j = match self.block_job_create(&opts.job, JobType::Stream, filter, None, work) {
            Ok(j) => j,
            Err(e) => {
                self.drop_filter(filter);
                return Err(e);
            }
        };
        for &n in chain.iter().take_while(|&&n| Some(n) != base) {
            self.attach_job(j, n);
        }
        self.start_job(j);
        Ok(())
    }
}
