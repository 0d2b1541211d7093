"""The Python API of qjob: QMP dicts and JSON, typed commands, queries,
events, virtual time, host-driven jobs."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest

import qjob
from qjob import (
    BlockJobCompleted,
    BlockJobInfo,
    BlockJobPending,
    BlockJobReady,
    Event,
    HostActionKind,
    HostDirective,
    JobInfo,
    JobManager,
    JobStatus,
    JobStatusChange,
    JobType,
    JobVerb,
)

MiB = 1 << 20
SIZE = qjob.DEFAULT_NODE_SIZE


def statuses(events: list[qjob.Event], job: str) -> list[str]:
    return [e.status for e in events if isinstance(e, JobStatusChange) and e.id == job]


# -- enums ------------------------------------------------------------------


def test_enums_are_the_cores() -> None:
    assert [s.value for s in JobStatus] == qjob.JOB_STATUSES
    assert [t.value for t in JobType] == qjob.JOB_TYPES
    assert [v.value for v in JobVerb] == qjob.JOB_VERBS


def test_keyword_defaults_are_the_cores() -> None:
    """Every keyword default of the job-creating methods, at run time and in
    the stubs, is the core's default for that option (``Default`` of its
    options struct): a default changed in the core and not here fails."""
    stub = ast.parse((Path(qjob.__file__).parent / "_qjob.pyi").read_text())
    manager = next(n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == "JobManager")
    stubbed = {f.name: f for f in manager.body if isinstance(f, ast.FunctionDef)}
    cores = qjob._qjob._option_defaults()
    assert set(cores) == {"backup", "mirror", "commit", "stream", "create_host_job"}
    for method, defaults in cores.items():
        params = inspect.signature(getattr(JobManager, method)).parameters
        args = stubbed[method].args
        positional = args.posonlyargs + args.args
        in_stub = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults) :]], args.defaults))
        in_stub.update((a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None)
        for name, value in defaults.items():
            assert params[name].default == value, (method, name)
            assert ast.literal_eval(in_stub[name]) == value, (method, name, "stub")
    assert inspect.signature(qjob.backup_action).parameters["sync"].default == cores["backup"]["sync"]


def test_enums_are_str() -> None:
    running: str = JobStatus.RUNNING
    assert running == "running"
    assert isinstance(JobStatus.RUNNING, str)
    assert str(JobType.SNAPSHOT_SAVE) == "snapshot-save"
    assert f"{JobVerb.SET_SPEED}" == "set-speed"
    assert JobStatus("concluded") is JobStatus.CONCLUDED
    assert repr(JobStatus.NULL) == "JobStatus.NULL"
    assert json.dumps({"s": JobStatus.READY}) == '{"s": "ready"}'


# -- QMP ----------------------------------------------------------------------


def test_execute_dict_backup_lifecycle(job_manager: JobManager) -> None:
    m = job_manager
    reply = m.execute(
        {
            "execute": "blockdev-backup",
            "arguments": {"job-id": "b1", "device": "src", "target": "dst", "sync": "full"},
            "id": {"n": 1},
        }
    )
    assert reply == {"return": {}, "id": {"n": 1}}
    m.settle()
    events = m.events()
    # backup-basic.qemu72.txt: the drain pair, then completion and teardown.
    assert statuses(events, "b1") == [
        "created",
        "running",
        "paused",
        "running",
        "waiting",
        "pending",
        "concluded",
        "null",
    ]
    done = [e for e in events if isinstance(e, BlockJobCompleted)]
    assert len(done) == 1
    assert (done[0].device, done[0].len, done[0].offset, done[0].error) == ("b1", SIZE, SIZE, None)
    assert m.execute({"execute": "query-jobs"}) == {"return": []}
    assert m.events() == []


def test_execute_returns_errors(job_manager: JobManager) -> None:
    m = job_manager
    assert m.execute({"execute": "job-pause", "arguments": {"id": "nope"}, "id": 3}) == {
        "error": {"class": "GenericError", "desc": "Job not found"},
        "id": 3,
    }
    assert m.execute({"execute": "no-such-command"}) == {
        "error": {"class": "CommandNotFound", "desc": "The command no-such-command has not been found"}
    }
    assert m.execute({"arguments": {}}) == {
        "error": {"class": "GenericError", "desc": "QMP input lacks member 'execute'"}
    }
    assert m.execute({"execute": "block-job-pause", "arguments": {"device": "x"}}) == {
        "error": {"class": "DeviceNotActive", "desc": "Block job 'x' not found"}
    }


def test_execute_json(job_manager: JobManager) -> None:
    m = job_manager
    assert json.loads(m.execute_json('{"execute": "query-jobs", "id": \'x\'}')) == {"return": [], "id": "x"}
    reply = json.loads(m.execute_json('{"execute": nonsense}'))
    assert reply == {"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword 'nonsense'"}}
    dup = json.loads(m.execute_json('{"execute": "query-jobs", "execute": "query-jobs"}'))
    assert dup["error"]["desc"] == "JSON parse error, duplicate key"


def test_execute_accepts_enums_tuples_and_big_ints(job_manager: JobManager) -> None:
    m = job_manager
    r = m.execute(
        {
            "execute": "transaction",
            "arguments": {"actions": (qjob.backup_action("t1", "src", "dst", speed=1),)},
        }
    )
    assert r == {"return": {}}
    m.settle()
    assert m.query_jobs()[0].status is JobStatus.RUNNING
    r = m.execute({"execute": "block-job-set-speed", "arguments": {"device": "t1", "speed": 1 << 70}})
    assert r["error"]["desc"] == "Invalid parameter type for 'speed', expected: integer"


def test_command_raises(job_manager: JobManager) -> None:
    m = job_manager
    assert m.command("query-jobs") == []
    with pytest.raises(qjob.CommandNotFound) as e:
        m.command("nope")
    assert e.value.error_class == "CommandNotFound"
    with pytest.raises(qjob.GenericError, match="Parameter 'id' is missing"):
        m.command("job-pause", {})


# -- typed commands -----------------------------------------------------------


def test_backup_with_a_bitmap_takes_its_mode(job_manager: JobManager) -> None:
    m = job_manager
    m.command("block-dirty-bitmap-add", {"node": "src", "name": "bm"})
    with pytest.raises(qjob.GenericError, match="Bitmap sync mode must be given when providing a bitmap"):
        m.backup("b", "src", "dst", sync="bitmap", bitmap="bm")
    with pytest.raises(qjob.GenericError, match="Parameter 'bitmap-mode' does not accept value 'sometimes'"):
        m.backup("b", "src", "dst", sync="bitmap", bitmap="bm", bitmap_mode="sometimes")
    m.backup("b", "src", "dst", sync="bitmap", bitmap="bm", bitmap_mode="on-success", speed=1)
    with pytest.raises(qjob.GenericError, match="is currently in use by another operation"):
        m.command("block-dirty-bitmap-remove", {"node": "src", "name": "bm"})


def test_typed_verbs_backup_held_by_speed(job_manager: JobManager) -> None:
    m = job_manager
    m.backup("b0", "src", "dst", speed=1)
    m.settle()
    [info] = m.query_jobs()
    assert info == JobInfo("b0", "backup", "running", MiB, SIZE)
    assert info.type is JobType.BACKUP
    m.pause("b0")
    with pytest.raises(qjob.GenericError, match="^Job is already paused$"):
        m.pause("b0")
    with pytest.raises(qjob.GenericError, match="^Job is already paused$"):
        m.block_job_pause("b0")
    m.settle()
    [bj] = m.query_block_jobs()
    assert bj.paused and bj.status is JobStatus.PAUSED and bj.speed == 1
    m.resume("b0")
    m.set_speed("b0", 0)
    assert m.wait("b0", JobStatus.NULL)
    assert m.query_jobs() == []


def test_cancel_forms(job_manager: JobManager) -> None:
    m = job_manager
    m.backup("b0", "src", "dst", speed=1)
    m.settle()
    m.pause("b0")
    with pytest.raises(qjob.GenericError, match="The block job for device 'b0' is currently paused"):
        m.cancel("b0")
    m.cancel("b0", force=True)
    m.settle()
    assert statuses(m.events(), "b0")[-3:] == ["aborting", "concluded", "null"]


def test_mirror_ready_complete(job_manager: JobManager) -> None:
    m = job_manager
    m.mirror("m1", "src", "dst")
    assert m.wait_event("BLOCK_JOB_READY", "m1")
    events = m.events()
    ready = [e for e in events if isinstance(e, BlockJobReady)]
    assert ready and ready[0].device == "m1" and ready[0].type is JobType.MIRROR
    assert m.verb_allowed("m1", JobVerb.COMPLETE) is True
    assert m.verb_allowed("m1", "finalize") is False
    assert m.verb_allowed("nope", "finalize") is None
    with pytest.raises(qjob.GenericError, match="Job 'm1' in state 'ready' cannot accept command verb 'finalize'"):
        m.finalize("m1")
    m.complete("m1")
    assert m.wait("m1", "null")
    assert statuses(m.events(), "m1") == ["waiting", "pending", "concluded", "null"]


def test_manual_finalize_and_dismiss(job_manager: JobManager) -> None:
    m = job_manager
    m.backup("b0", "src", "dst", auto_finalize=False, auto_dismiss=False)
    assert m.wait("b0", "pending")
    assert any(isinstance(e, BlockJobPending) for e in m.events())
    m.finalize("b0")
    m.settle()
    assert m.job_info("b0") == JobInfo("b0", "backup", "concluded", SIZE, SIZE)
    with pytest.raises(qjob.GenericError, match="Job ID 'b0' already in use"):
        m.backup("b0", "src2", "dst2")
    m.dismiss("b0")
    assert m.job_info("b0") is None


def test_grouped_transaction(job_manager: JobManager) -> None:
    m = job_manager
    m.transaction(
        [qjob.backup_action("t1", "src", "dst"), qjob.backup_action("t2", "src2", "dst2")],
        grouped=True,
    )
    m.settle()
    events = m.events()
    assert statuses(events, "t1")[-2:] == ["concluded", "null"]
    assert statuses(events, "t2")[-2:] == ["concluded", "null"]


def test_grouped_transaction_cancel_member(job_manager: JobManager) -> None:
    m = job_manager
    m.transaction(
        [qjob.backup_action("t1", "src", "dst", speed=1), qjob.backup_action("t2", "src2", "dst2", speed=1)],
        grouped=True,
    )
    m.settle()
    m.job_cancel("t1")
    m.settle()
    events = m.events()
    assert "aborting" in statuses(events, "t1") and "aborting" in statuses(events, "t2")
    assert m.query_jobs() == []


def test_creation_argument_errors(job_manager: JobManager) -> None:
    m = job_manager
    with pytest.raises(qjob.GenericError, match="Parameter 'sync' does not accept value 'sideways'"):
        m.backup("b0", "src", "dst", sync="sideways")
    with pytest.raises(qjob.GenericError, match="Parameter 'on-target-error' does not accept value 'x'"):
        m.mirror("m0", "src", "dst", on_target_error="x")
    with pytest.raises(qjob.GenericError, match="Cannot find device='nope' nor node-name='nope'"):
        m.backup("b0", "nope", "dst")
    with pytest.raises(qjob.GenericError, match="Invalid job ID '1x'"):
        m.backup("1x", "src", "dst")
    assert m.query_jobs() == []


def test_blockdev_add_and_error_policy(job_manager: JobManager) -> None:
    m = job_manager
    m.blockdev_add(
        {
            "driver": "raw",
            "node-name": "errsrc",
            "file": {
                "driver": "blkdebug",
                "inject-error": [{"event": "read_aio", "errno": 5, "once": True}],
                "image": {"driver": "null-co", "size": SIZE, "read-zeroes": False},
            },
        }
    )
    assert m.has_node("errsrc")
    m.backup("e1", "errsrc", "dst", on_source_error="stop")
    m.settle()
    [bj] = m.query_block_jobs()
    assert bj.io_status == "failed" and bj.status is JobStatus.PAUSED
    err = [e for e in m.events() if isinstance(e, qjob.BlockJobError)]
    assert [(e.device, e.operation, e.action) for e in err] == [("e1", "read", "stop")]
    m.resume("e1")
    assert m.wait("e1", "null")
    with pytest.raises(qjob.GenericError, match="Duplicate nodes with node-name='errsrc'"):
        m.blockdev_add({"driver": "null-co", "node-name": "errsrc"})
    m.blockdev_del("errsrc")
    assert not m.has_node("errsrc")


def test_images_commit_and_stream(job_manager: JobManager) -> None:
    m = job_manager
    # commit-active.scn's chain: base <- mid <- top
    m.add_image("base.qcow2", "qcow2", 4 * MiB, data=[(0, MiB)])
    m.add_image("mid.qcow2", "qcow2", 4 * MiB, backing="base.qcow2", data=[(MiB, MiB)])
    m.add_image("top.qcow2", "qcow2", 4 * MiB, backing="mid.qcow2", data=[(3 * MiB, 65536)])
    for name, backing in (("base", None), ("mid", "base"), ("top", "mid")):
        opts = {"driver": "qcow2", "node-name": name, "file": {"driver": "file", "filename": f"{name}.qcow2"}}
        if backing:
            opts["backing"] = backing
        m.blockdev_add(opts)
    m.stream("s1", "top", base_node="base", auto_dismiss=False)
    assert m.wait("s1", "concluded")
    m.dismiss("s1")
    m.commit("c1", "top", auto_finalize=False)
    assert m.wait_event("BLOCK_JOB_READY", "c1")
    m.complete("c1")
    assert m.wait("c1", "pending")
    m.finalize("c1")
    assert m.wait("c1", "null")
    assert m.internal_errors == []


def test_snapshot_jobs_need_a_machine() -> None:
    m = JobManager()
    with pytest.raises(qjob.CommandNotFound):
        m.command("snapshot-save", {"job-id": "s", "tag": "t", "vmstate": "src", "devices": ["src"]})
    vm = JobManager(machine=True)
    vm.add_image("disk.qcow2", "qcow2", 4 * MiB, data=[(0, 65536)])
    vm.blockdev_add({"driver": "qcow2", "node-name": "disk", "file": {"driver": "file", "filename": "disk.qcow2"}})
    vm.snapshot_save("s", "t", "disk", ["disk"])
    assert vm.wait("s", "concluded")
    names = [e.name for e in vm.events()]
    assert "STOP" in names and "RESUME" in names


# -- events -------------------------------------------------------------------


def test_event_objects(job_manager: JobManager) -> None:
    m = job_manager
    m.backup("b0", "src", "dst")
    m.settle()
    events = m.events()
    first = events[0]
    assert isinstance(first, Event) and isinstance(first, JobStatusChange)
    assert first.name == "JOB_STATUS_CHANGE"
    assert first.data == {"id": "b0", "status": "created"}
    assert first.job_id == "b0" and first.timestamp_ns == 0
    assert repr(first) == "JobStatusChange(id='b0', status=JobStatus.CREATED, timestamp_ns=0)"
    assert first.to_qmp() == {
        "timestamp": {"seconds": 0, "microseconds": 0},
        "event": "JOB_STATUS_CHANGE",
        "data": {"id": "b0", "status": "created"},
    }
    assert first.to_qmp(epoch_ns=1_500_000_000)["timestamp"] == {"seconds": 1, "microseconds": 500000}
    assert json.loads(first.to_json()) == first.to_qmp()
    assert first.transcript_line() == '! JOB_STATUS_CHANGE {"id": "b0", "status": "created"}'
    assert events[0] == events[0] and events[0] != events[1]
    assert len({hash(e) for e in events[:1] * 3}) == 1
    with pytest.raises(AttributeError):
        first.status = JobStatus.NULL  # type: ignore[misc]


def test_event_classes_are_the_cores_kinds(job_manager: JobManager) -> None:
    """One class per event the core emits (named as the core's kind), whose
    ``__match_args__`` are the members of its ``data`` (``error`` is None
    when absent) and read back what ``data`` holds."""
    classes = [
        qjob.JobStatusChange,
        qjob.BlockJobReady,
        qjob.BlockJobPending,
        qjob.BlockJobCompleted,
        qjob.BlockJobCancelled,
        qjob.BlockJobError,
        qjob.Stop,
        qjob.Resume,
    ]
    assert [c.__name__ for c in classes] == ["".join(w.capitalize() for w in n.split("_")) for n in qjob.EVENT_NAMES]
    m = job_manager
    m.mirror("m0", "src", "dst", auto_finalize=False)
    m.backup("b0", "src2", "dst2", speed=1)
    m.settle()
    assert m.wait("m0", "ready")
    m.complete("m0")
    assert m.wait("m0", "pending")
    m.finalize("m0")
    m.cancel("b0", force=True)
    m.settle()
    seen = set()
    for e in m.events():
        cls = classes[qjob.EVENT_NAMES.index(e.name)]
        assert type(e) is cls
        fields: tuple[str, ...] = getattr(cls, "__match_args__")
        for name in fields:
            assert getattr(e, name) == e.data.get(name), (e.name, name)
        assert set(e.data) <= set(fields)
        seen.add(e.name)
    assert {"JOB_STATUS_CHANGE", "BLOCK_JOB_READY", "BLOCK_JOB_PENDING", "BLOCK_JOB_COMPLETED"} <= seen
    assert "BLOCK_JOB_CANCELLED" in seen


def test_poll_and_queued_events(job_manager: JobManager) -> None:
    m = job_manager
    m.backup("b0", "src", "dst", speed=1)
    assert m.pending_events == len(m.queued_events()) > 0
    e = m.poll_event()
    assert isinstance(e, JobStatusChange) and e.status is JobStatus.CREATED
    rest = m.events()
    assert m.poll_event() is None and m.pending_events == 0 and rest


# -- virtual time -------------------------------------------------------------


def test_speed_limit_on_the_virtual_clock(job_manager: JobManager) -> None:
    m = job_manager
    m.backup("b0", "src", "dst", speed=10 * MiB)
    assert m.now == 0
    m.settle()
    d = m.next_deadline
    assert d is not None and d > 0
    m.advance(1_000_000_000)
    [info] = m.query_jobs()
    assert 0 < info.current_progress < SIZE
    m.tick(m.now)  # never backwards
    steps = 0
    while m.next_deadline is not None and steps < 10_000:
        m.tick(m.next_deadline)
        steps += 1
    assert m.query_jobs() == []
    assert 6_000_000_000 <= m.now <= 7_000_000_000  # 64 MiB at 10 MiB/s


def test_step_by_step(job_manager: JobManager) -> None:
    m = job_manager
    m.backup("b0", "src", "dst")
    n = 0
    while m.has_ready_work:
        m.step()
        n += 1
    assert n > 0 and m.settle() == 0 and m.job_count == 0


def test_wait_timeout(job_manager: JobManager) -> None:
    m = job_manager
    m.backup("b0", "src", "dst", speed=1)
    assert m.next_deadline is not None and m.next_deadline > 3_000_000_000
    # A wait that times out ends at its timeout, not at the last timer inside it
    # (at 1 B/s there is none: the clock stayed at 0).
    assert not m.wait("b0", "null", timeout_ns=1_000_000_000)
    assert m.now == 1_000_000_000
    assert not m.wait_event("BLOCK_JOB_COMPLETED", "b0", 2_000_000_000)
    assert m.now == 3_000_000_000
    assert m.wait("b0", "running")  # it is running now: no time passes
    assert m.now == 3_000_000_000
    with pytest.raises(ValueError):
        m.wait("b0", "sideways")
    # A wait that is satisfied stops where it was satisfied.
    m.backup("b1", "src2", "dst2", speed=64 * MiB)
    assert m.wait("b1", "null", timeout_ns=60_000_000_000)
    assert 3_000_000_000 < m.now < 5_000_000_000


def test_wait_for_a_job_that_does_not_exist(job_manager: JobManager) -> None:
    m = job_manager
    with pytest.raises(KeyError, match="no job 'zz'.*missing_ok=True"):
        m.wait("zz", "null")
    with pytest.raises(KeyError, match="no job 'zz'"):
        m.wait_event("BLOCK_JOB_COMPLETED", "zz")
    assert m.now == 0 and m.queued_events() == []  # refused before anything ran
    assert m.wait("zz", "null", missing_ok=True)  # asked for: a missing job counts as null
    assert not m.wait("zz", "running", timeout_ns=5, missing_ok=True) and m.now == 5
    assert not m.wait_event("BLOCK_JOB_COMPLETED", "zz", 5, missing_ok=True) and m.now == 10
    # A job that is gone but whose events are still queued is known...
    m.backup("b0", "src", "dst")
    assert m.wait("b0", "null") and m.job_info("b0") is None
    assert m.wait("b0", "null") and m.wait_event("BLOCK_JOB_COMPLETED", "b0")
    # ...until they are taken: qjob keeps no history of jobs.
    m.events()
    with pytest.raises(KeyError):
        m.wait("b0", "null")
    assert m.wait("b0", "null", missing_ok=True)


def test_wait_event_refuses_unknown_event_names(job_manager: JobManager) -> None:
    m = job_manager
    m.mirror("m1", "src", "dst")
    with pytest.raises(ValueError) as info:
        m.wait_event("NO_SUCH_EVENT", "m1")
    assert "'NO_SUCH_EVENT' is not an event qjob emits" in str(info.value)
    assert all(name in str(info.value) for name in qjob.EVENT_NAMES)
    with pytest.raises(ValueError):
        m.wait_event("block_job_ready", "m1")  # QMP names are upper case
    assert m.now == 0
    # The names are the core's: every event the manager emits has one of them.
    assert m.wait_event("BLOCK_JOB_READY", "m1")
    m.cancel("m1", force=True)
    m.settle()
    seen = {e.name for e in m.queued_events()}
    assert seen <= set(qjob.EVENT_NAMES) and {"BLOCK_JOB_READY", "BLOCK_JOB_CANCELLED"} <= seen
    assert len(set(qjob.EVENT_NAMES)) == len(qjob.EVENT_NAMES)


# -- host-driven jobs ---------------------------------------------------------


def test_host_job_lifecycle(job_manager: JobManager) -> None:
    m = job_manager
    h = m.create_host_job("h1", "backup", speed=0)
    assert m.job_handle("h1") == h and isinstance(h.raw, int)
    assert qjob.JobHandle(h.raw) == h
    a = m.poll_action()
    assert a is not None and a.kind is HostActionKind.START and a.job == h
    assert a.force is None and a.speed is None
    m.host_progress(h, 10, 100)
    assert m.host_pause_point(h) is HostDirective.CONTINUE
    m.pause("h1")
    assert [x.kind for x in m.actions()] == [HostActionKind.PAUSE]
    assert m.host_pause_point(h) is HostDirective.PAUSED
    assert m.pending_actions == 0
    m.resume("h1")
    m.settle()
    [resumed] = m.actions()
    assert resumed.kind is HostActionKind.RESUME and resumed.job == h
    assert statuses(m.queued_events(), "h1") == ["created", "running", "paused", "running"]
    m.host_progress(h, 100, 100)
    m.host_run_finished(h)
    assert m.wait("h1", "null")
    assert statuses(m.events(), "h1")[-2:] == ["concluded", "null"]
    with pytest.raises(qjob.GenericError):
        m.host_progress(h, 100, 100)  # stale handle


def test_host_job_cancel_and_errors(job_manager: JobManager) -> None:
    m = job_manager
    t = m.new_transaction()
    h = m.create_host_job("h1", "mirror", completable=True, transaction=t, on_source_error="stop")
    assert isinstance(t, qjob.TxnHandle) and qjob.TxnHandle(t.raw) == t
    m.actions()
    assert m.host_io_error(h, "read", 5) is qjob.HostErrorAction.PAUSE
    with pytest.raises(ValueError):
        m.host_io_error(h, "sideways", 5)
    m.host_pause_point(h)
    m.resume("h1")
    m.settle()
    m.host_ready(h)
    m.set_speed("h1", 1000)
    m.job_cancel("h1")
    kinds = [(x.kind, x.force, x.speed) for x in m.actions()]
    assert (HostActionKind.SET_SPEED, None, 1000) in kinds
    assert (HostActionKind.CANCEL, True, None) in kinds
    assert m.host_pause_point(h) is HostDirective.CANCELLED
    m.host_run_finished(h, -125)
    assert m.wait("h1", "null")
    with pytest.raises(qjob.GenericError, match="Invalid job ID"):
        m.create_host_job("9", "backup")


# -- info objects ---------------------------------------------------------------


def test_info_objects() -> None:
    a = JobInfo("b0", JobType.BACKUP, JobStatus.RUNNING, 1, 2)
    b = JobInfo("b0", "backup", "running", 1, 2)
    assert a == b and hash(a) == hash(b) and a != JobInfo("b0", "backup", "paused", 1, 2)
    assert a.to_qmp() == {
        "id": "b0",
        "type": "backup",
        "status": "running",
        "current-progress": 1,
        "total-progress": 2,
    }
    assert repr(a) == (
        "JobInfo(id='b0', type=JobType.BACKUP, status=JobStatus.RUNNING, "
        "current_progress=1, total_progress=2, error=None)"
    )
    with pytest.raises(ValueError):
        JobInfo("b0", "backup", "sideways")
    bj = BlockJobInfo("mirror", "m0", 5, 5, False, False, 0, "ok", True, "ready")
    assert bj.to_qmp()["io-status"] == "ok" and bj.ready and bj.status is JobStatus.READY
    assert {bj: 1}[BlockJobInfo("mirror", "m0", 5, 5, False, False, 0, "ok", True, "ready")] == 1
    with pytest.raises(AttributeError):
        a.id = "x"  # type: ignore[misc]


def test_to_sorted_json_and_parse_json() -> None:
    assert qjob.to_sorted_json({"b": [1, 2.5, "é"], "a": None}) == '{"a": null, "b": [1, 2.5, "\\u00e9"]}'
    assert qjob.parse_json("{'a': 1}") == {"a": 1}
    with pytest.raises(ValueError, match="JSON parse error, duplicate key"):
        qjob.parse_json('{"a": 1, "a": 2}')


def test_not_json_data_is_a_type_error(job_manager: JobManager) -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        job_manager.execute({"execute": "query-jobs", "id": object()})
    with pytest.raises(TypeError, match="keys must be str"):
        job_manager.execute({1: 2})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        job_manager.execute({"execute": "query-jobs", "id": float("nan")})
