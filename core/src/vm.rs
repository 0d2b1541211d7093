//! The simulated VM of a system emulator (`JobManager::set_machine`): its
//! run state, `stop`, `cont` and `query-status` as QEMU 7.2's `softmmu/cpus.c`
//! and `monitor/qmp-cmds.c` carry them out. The storage daemon has no VM:
//! these commands do not exist there.

use crate::error::Result;
use crate::event::EventKind;
use crate::manager::JobManager;
use crate::model::IoStatus;

crate::model::qapi_enum! {
    /// The VM's run state (QAPI `RunState`), as far as qjob's VM reaches it.
    RunState {
        /// Started with `-S`: waits for `cont`.
        Prelaunch = "prelaunch",
        /// Stopped by `stop`.
        Paused = "paused",
        /// A `snapshot-load` stopped the VM and failed: it stays stopped.
        RestoreVm = "restore-vm",
        /// Running.
        Running = "running",
        /// A `snapshot-save` holds the VM stopped while it writes.
        SaveVm = "save-vm",
    }
}

/// What `query-status` answers (QAPI `StatusInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusInfo {
    /// Whether the VM runs.
    pub running: bool,
    /// Always false (qjob's VM never single-steps).
    pub singlestep: bool,
    /// The run state.
    pub status: RunState,
}

impl JobManager {
    /// The VM's run state (meaningful in system-emulator mode only).
    pub fn run_state(&self) -> RunState {
        self.run_state
    }

    /// `-S`: the VM starts in `prelaunch` and runs from the first `cont`
    /// (no `STOP` event: it never ran).
    pub fn set_prelaunch(&mut self) {
        self.run_state = RunState::Prelaunch;
    }

    /// `query-status` (system emulator only: elsewhere an unknown command).
    pub fn query_status(&self) -> Result<StatusInfo> {
        self.require_machine("query-status")?;
        Ok(StatusInfo {
            running: self.run_state == RunState::Running,
            singlestep: false,
            status: self.run_state,
        })
    }

    /// `stop`: a running VM stops (`STOP`); whatever its state, every node
    /// is then drained (`do_vm_stop`'s `bdrv_drain_all`), so each job above
    /// a node passes a pause point (a paused/running pair, standby/ready
    /// when ready; a user-paused job shows nothing). System emulator only.
    pub fn stop(&mut self) -> Result<()> {
        self.require_machine("stop")?;
        self.vm_stop(RunState::Paused);
        self.drain_all();
        Ok(())
    }

    /// `cont`: every block job's io-status goes back to `ok` (an
    /// error-stopped job stays paused until resumed), then a stopped VM
    /// runs again (`RESUME`); a running one is left alone. System emulator
    /// only.
    pub fn cont(&mut self) -> Result<()> {
        self.require_machine("cont")?;
        let jobs: Vec<_> = self.jobs_newest_first().collect();
        for j in jobs {
            let job = self.job_mut(j);
            if job.is_block_job() {
                job.iostatus = IoStatus::Ok;
            }
        }
        self.vm_start();
        Ok(())
    }

    /// `vm_stop(state)` without its drain: a running VM enters `state` and
    /// emits `STOP`. Returns whether the VM was running. (The snapshot jobs
    /// stop the VM from inside their work, where qjob does not drain.)
    pub(crate) fn vm_stop(&mut self, state: RunState) -> bool {
        let was_running = self.run_state == RunState::Running;
        if was_running {
            self.run_state = state;
            self.emit(EventKind::Stop);
        }
        was_running
    }

    /// `vm_start`: a stopped VM runs again (`RESUME`).
    pub(crate) fn vm_start(&mut self) {
        if self.run_state == RunState::Running {
            return;
        }
        self.run_state = RunState::Running;
        self.emit(EventKind::Resume);
    }
}
