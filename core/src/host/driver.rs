//! The driver of a host-driven job: each of QEMU's driver callbacks
//! becomes a request the host polls ([`HostActionKind`]).

use super::HostActionKind;
use crate::driver::{Cx, Entry, JobDriver, Prepared, Wait};
use crate::error::{Error, Result};
use crate::job::{Co, Job};
use crate::model::OnError;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum PrepareState {
    NotAsked,
    Asked,
    Done(i32),
}

crate::snapshot::codec::codec_enum!(PrepareState { NotAsked, Asked, Done(x0) });

/// State of a host job: its driver.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct HostJob {
    pub(super) completable: bool,
    pub(super) wants_prepare: bool,
    pub(super) on_source_error: OnError,
    pub(super) on_target_error: OnError,
    pub(super) should_complete: bool,
    pub(super) pause_hinted: bool,
    pub(super) prepare: PrepareState,
}

crate::snapshot::codec::codec_struct!(HostJob {
    completable,
    wants_prepare,
    on_source_error,
    on_target_error,
    should_complete,
    pause_hinted,
    prepare
});

/// Whether the job's coroutine runs right now (the host holds it).
pub(super) fn running(job: &Job) -> bool {
    job.busy && job.co == Co::Running && !job.deferred
}

impl JobDriver for HostJob {
    /// The coroutine was entered: the host runs the job from here.
    fn run(&mut self, cx: &mut Cx<'_>, entry: Entry) -> Wait {
        self.pause_hinted = false;
        let kind = match entry {
            Entry::Start => HostActionKind::Start,
            Entry::FromPause => HostActionKind::Resume,
            Entry::FromYield | Entry::Continue => HostActionKind::Wake,
        };
        cx.host_action(kind);
        Wait::Host
    }

    /// A running job is told to reach a pause point (once until it does).
    fn pause_requested(&mut self, cx: &mut Cx<'_>) {
        if running(cx.job()) && !self.pause_hinted {
            self.pause_hinted = true;
            cx.host_action(HostActionKind::Pause);
        }
    }

    fn cancel(&mut self, cx: &mut Cx<'_>, force: bool) -> bool {
        let force = if self.completable {
            force || !cx.job().status.is_ready()
        } else {
            true
        };
        let job = cx.job();
        if job.started() && !job.deferred {
            cx.host_action(HostActionKind::Cancel { force });
        }
        force
    }

    fn complete(&mut self, cx: &mut Cx<'_>) -> Option<Result<()>> {
        if !self.completable {
            return None;
        }
        if !cx.job().status.is_ready() {
            return Some(Err(Error::generic(format!(
                "The active block job '{}' cannot be completed",
                cx.job().id.as_deref().unwrap_or("")
            ))));
        }
        self.should_complete = true;
        cx.host_action(HostActionKind::Complete);
        if !cx.job().paused {
            cx.kick();
        }
        Some(Ok(()))
    }

    fn prepare(&mut self, cx: &mut Cx<'_>) -> Prepared {
        if !self.wants_prepare {
            return Prepared::NoHook;
        }
        match self.prepare {
            PrepareState::NotAsked => {
                self.prepare = PrepareState::Asked;
                cx.host_action(HostActionKind::Prepare);
                Prepared::Pending
            }
            PrepareState::Asked => Prepared::Pending,
            PrepareState::Done(ret) => Prepared::Ret(ret),
        }
    }

    fn commit(&mut self, cx: &mut Cx<'_>) {
        cx.host_action(HostActionKind::Commit);
    }

    fn abort(&mut self, cx: &mut Cx<'_>) {
        cx.host_action(HostActionKind::Abort);
    }

    fn clean(&mut self, cx: &mut Cx<'_>) {
        cx.host_action(HostActionKind::Clean);
    }

    fn set_speed(&mut self, cx: &mut Cx<'_>, speed: u64) {
        if cx.job().started() {
            cx.host_action(HostActionKind::SetSpeed(speed));
        }
    }

    /// The host's requests are its own: a drained section pauses the job at
    /// its next reported pause point and does not wait for it.
    fn drained_poll(&self) -> bool {
        false
    }
}
