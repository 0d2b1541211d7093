//! The commands whose jobs do one thing and end: `blockdev-create`,
//! `x-blockdev-amend` and the VM-only `snapshot-*`.

use crate::block::BlockdevDriver;
use crate::driver::Work;
use crate::error::{Error, Result};
use crate::manager::{JobManager, NewJob};
use crate::model::JobType;
use crate::options::CreateOptions;
use crate::workload::oneshot::{Oneshot, Op};

impl JobManager {
    /// Creates and starts a job that is not a block job (manual dismiss).
    fn oneshot_job(&mut self, id: &str, job_type: JobType, op: Op) -> Result<()> {
        let j = self.create_job(NewJob {
            id: Some(id.to_owned()),
            job_type,
            auto_finalize: true,
            auto_dismiss: false,
            txn: None,
            work: Work::Oneshot(Box::new(Oneshot::new(op))),
        })?;
        self.start_job(j);
        Ok(())
    }

    /// `blockdev-create`: a `create` job (stays `concluded` until dismissed).
    pub fn blockdev_create(&mut self, job_id: &str, opts: CreateOptions) -> Result<()> {
        let op = match opts {
            CreateOptions::File { filename, size } => Op::CreateFile { filename, size },
            CreateOptions::Format {
                driver,
                file,
                image,
            } => Op::CreateFormat {
                format: BlockdevDriver::parse(&driver)
                    .ok_or_else(|| Error::bad_enum_value("driver", &driver))?,
                file,
                image,
            },
        };
        self.oneshot_job(job_id, JobType::Create, op)
    }

    /// `x-blockdev-amend` of a qcow2 node; `driver` must be the node's own
    /// driver.
    pub fn blockdev_amend(
        &mut self,
        job_id: &str,
        node_name: &str,
        driver: &str,
        encrypt: bool,
    ) -> Result<()> {
        let n = self.lookup_node("", node_name)?;
        let node_driver = self.graph.node(n).driver.qapi();
        if node_driver.is_none() || node_driver != BlockdevDriver::parse(driver) {
            return Err(Error::generic(
                "x-blockdev-amend doesn't support changing the block driver",
            ));
        }
        if node_driver != Some(BlockdevDriver::Qcow2) {
            return Err(Error::generic(format!(
                "Block driver '{driver}' does not support option amendment"
            )));
        }
        self.oneshot_job(job_id, JobType::Amend, Op::Amend { encrypt })
    }

    fn require_machine(&self, name: &str) -> Result<()> {
        if self.machine {
            Ok(())
        } else {
            Err(Error::command_not_found(name))
        }
    }

    /// `snapshot-save` (system emulator only): an internal snapshot `tag` of
    /// `devices`, with the VM state on `vmstate`.
    pub fn snapshot_save(
        &mut self,
        job_id: &str,
        tag: &str,
        vmstate: &str,
        devices: Vec<String>,
    ) -> Result<()> {
        self.require_machine("snapshot-save")?;
        self.oneshot_job(
            job_id,
            JobType::SnapshotSave,
            Op::SnapshotSave {
                tag: tag.to_owned(),
                vmstate: vmstate.to_owned(),
                devices,
            },
        )
    }

    /// `snapshot-load` (system emulator only).
    pub fn snapshot_load(
        &mut self,
        job_id: &str,
        tag: &str,
        vmstate: &str,
        devices: Vec<String>,
    ) -> Result<()> {
        self.require_machine("snapshot-load")?;
        self.oneshot_job(
            job_id,
            JobType::SnapshotLoad,
            Op::SnapshotLoad {
                tag: tag.to_owned(),
                vmstate: vmstate.to_owned(),
                devices,
            },
        )
    }

    /// `snapshot-delete` (system emulator only).
    pub fn snapshot_delete(&mut self, job_id: &str, tag: &str, devices: Vec<String>) -> Result<()> {
        self.require_machine("snapshot-delete")?;
        self.oneshot_job(
            job_id,
            JobType::SnapshotDelete,
            Op::SnapshotDelete {
                tag: tag.to_owned(),
                devices,
            },
        )
    }
}
