// @ts-check
// Node tests of host-driven jobs (node --test test/): a job whose work JavaScript does,
// with the core running QEMU's lifecycle around it. Handles are BigInts; requests are
// `{kind, job, force?, speed?}` objects; directives and error decisions are strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as q from '../js/node.mjs';

const MiB = 1 << 20;

/** @typedef {import('../js/node.mjs').JobManager} JobManager */
/** @typedef {import('../js/node.mjs').QmpError} QmpError */

/** Events as short strings: `id:status` for JOB_STATUS_CHANGE, else `device-or-id:EVENT`. */
const events = (/** @type {JobManager} */ m) => m.drainEvents().map((e) => (e.event === 'JOB_STATUS_CHANGE'
  ? `${e.data.id}:${e.data.status}`
  : `${'device' in e.data ? e.data.device : 'id' in e.data ? e.data.id : ''}:${e.event}`));
/** The kinds of every queued request, all for `job` (checked). */
const kinds = (/** @type {JobManager} */ m, /** @type {bigint} */ job) => m.drainActions().map((a) => {
  assert.equal(a.job, job);
  return a.kind;
});
const statusOf = (/** @type {JobManager} */ m, /** @type {string} */ id) => m.queryJobs().find((j) => j.id === id)?.status;
const isQmpError = (/** @type {string | RegExp} */ desc) => (/** @type {QmpError} */ e) => {
  assert.equal(e.name, 'QmpError');
  assert.equal(e.class, 'GenericError');
  if (desc instanceof RegExp) assert.match(e.desc, desc);
  else assert.equal(e.desc, desc);
  assert.equal(e.message, e.desc);
  return true;
};
/**
 * Runs `f`, which must throw (`check`), and checks that nothing changed.
 * @param {JobManager} m @param {() => unknown} f @param {any} check
 */
const refused = (m, f, check) => {
  const before = m.snapshot();
  const pending = m.pendingActions();
  assert.throws(f, check);
  assert.deepEqual(m.snapshot(), before);
  assert.equal(m.pendingActions(), pending);
  assert.deepEqual(m.drainEvents(), []);
};

test('a host backup through its whole life, driven from JavaScript', () => {
  const m = new q.JobManager({ world: 'empty' });
  const h = m.createHostJob({ id: 'copy0' });
  assert.equal(typeof h, 'bigint');
  assert.equal(m.jobHandle('copy0'), h);
  assert.equal(m.jobHandle('nope'), undefined);
  assert.equal(m.pendingActions(), 1);
  assert.deepEqual(m.pollAction(), { kind: 'start', job: h });
  assert.equal(m.pollAction(), undefined);
  assert.equal(m.pendingActions(), 0);
  assert.deepEqual(events(m), ['copy0:created', 'copy0:running']);
  assert.deepEqual(m.queryJobs(), [{ id: 'copy0', type: 'backup', status: 'running',
    'current-progress': 0, 'total-progress': 0 }]);

  m.hostProgress(h, 0, 4 * MiB);
  assert.equal(m.hostPausePoint(h), 'continue');
  m.hostProgress(h, 3 * MiB, 4 * MiB);
  const [bj] = m.queryBlockJobs();
  assert.equal(bj.device, 'copy0');
  assert.equal(bj.offset, 3 * MiB);
  assert.equal(bj.len, 4 * MiB);
  assert.equal(bj.busy, true);
  m.hostProgress(h, 4 * MiB, 4 * MiB);
  m.hostRunFinished(h);
  // The completion is deferred to the main loop, as in QEMU.
  assert.equal(statusOf(m, 'copy0'), 'running');
  assert.deepEqual(m.drainEvents(), []);
  assert.equal(m.pendingActions(), 0);
  m.settle();
  assert.deepEqual(kinds(m, h), ['commit', 'clean']);
  const ev = m.drainEvents();
  assert.deepEqual(ev.map((e) => e.event), ['JOB_STATUS_CHANGE', 'JOB_STATUS_CHANGE',
    'BLOCK_JOB_COMPLETED', 'JOB_STATUS_CHANGE', 'JOB_STATUS_CHANGE']);
  assert.deepEqual(ev.filter((e) => e.event === 'JOB_STATUS_CHANGE').map((e) => e.data),
    ['waiting', 'pending', 'concluded', 'null'].map((status) => ({ id: 'copy0', status })));
  assert.deepEqual(ev[2].data, { type: 'backup', device: 'copy0', len: 4 * MiB, offset: 4 * MiB, speed: 0 });
  assert.deepEqual(m.queryJobs(), []);
  assert.equal(m.jobCount(), 0);
  assert.deepEqual(m.internalErrors(), []);
});

test('manual finalize and dismiss: each status in the events is the one queryJobs shows', () => {
  const m = new q.JobManager({ world: 'empty', transcript: true });
  const h = m.createHostJob({ id: 'h', jobType: 'commit', autoFinalize: false, autoDismiss: false });
  assert.deepEqual(kinds(m, h), ['start']);
  assert.deepEqual(events(m), ['h:created', 'h:running']);
  assert.equal(statusOf(m, 'h'), 'running');
  assert.equal(m.queryJobs()[0].type, 'commit');
  m.hostProgress(h, 10, 10);
  m.hostRunFinished(h, 0);
  m.settle();
  assert.deepEqual(kinds(m, h), []);
  // waiting is passed within one settle; pending stays (auto-finalize off).
  assert.deepEqual(events(m), ['h:waiting', 'h:pending', 'h:BLOCK_JOB_PENDING']);
  assert.equal(statusOf(m, 'h'), 'pending');
  assert.equal(m.verbAllowed('h', 'finalize'), true);
  m.jobFinalize('h');
  assert.deepEqual(kinds(m, h), ['commit', 'clean']);
  assert.deepEqual(events(m), ['h:BLOCK_JOB_COMPLETED', 'h:concluded']);
  assert.equal(statusOf(m, 'h'), 'concluded');
  assert.deepEqual(m.queryJobs()[0], { id: 'h', type: 'commit', status: 'concluded',
    'current-progress': 10, 'total-progress': 10 });
  m.jobDismiss('h');
  assert.deepEqual(events(m), ['h:null']);
  assert.deepEqual(m.queryJobs(), []);
  assert.equal(m.pendingActions(), 0);
  // Events of host reports reach the transcript like any other.
  const statuses = m.transcript().split('\n').filter((l) => l.startsWith('! JOB_STATUS_CHANGE'))
    .map((l) => JSON.parse(l.slice('! JOB_STATUS_CHANGE '.length)).status);
  assert.deepEqual(statuses, ['created', 'running', 'waiting', 'pending', 'concluded', 'null']);
});

test('job-pause and job-resume: pause and resume requests, directives', () => {
  const m = new q.JobManager({ world: 'empty' });
  const h = m.createHostJob({ id: 'p' });
  m.drainActions();
  m.drainEvents();
  m.hostProgress(h, 1, 10);

  m.jobPause('p');
  assert.deepEqual(m.drainActions(), [{ kind: 'pause', job: h }]);
  // Paused only when the host reaches its pause point.
  assert.equal(statusOf(m, 'p'), 'running');
  assert.deepEqual(events(m), []);
  assert.equal(m.hostPausePoint(h), 'paused');
  assert.deepEqual(events(m), ['p:paused']);
  assert.equal(statusOf(m, 'p'), 'paused');
  assert.equal(m.queryBlockJobs()[0].paused, true);
  refused(m, () => m.hostProgress(h, 2, 10), isQmpError("Job 'p' is not running: it is paused"));
  refused(m, () => m.hostPausePoint(h), isQmpError("Job 'p' is not running: it is paused"));
  m.jobResume('p');
  assert.deepEqual(m.drainActions(), [{ kind: 'resume', job: h }]);
  assert.deepEqual(events(m), ['p:running']);
  assert.equal(m.hostPausePoint(h), 'continue');
  m.hostProgress(h, 2, 10);

  // A sleep: woken at the deadline.
  assert.equal(m.hostSleep(h, 1000), 'sleeping');
  assert.equal(m.nextDeadline(), 1000);
  refused(m, () => m.hostProgress(h, 3, 10), isQmpError("Job 'p' is not running: it is sleeping"));
  m.advance(999);
  assert.equal(m.pendingActions(), 0);
  m.advance(1);
  assert.deepEqual(m.drainActions(), [{ kind: 'wake', job: h }]);

  // A pause while sleeping kicks the job to its pause point: no request, paused at once.
  assert.equal(m.hostSleep(h, 5000), 'sleeping');
  m.jobPause('p');
  assert.deepEqual(events(m), ['p:paused']);
  assert.equal(m.pendingActions(), 0);
  assert.equal(m.nextDeadline(), undefined);
  m.jobResume('p');
  assert.deepEqual(m.drainActions(), [{ kind: 'resume', job: h }]);
  assert.deepEqual(events(m), ['p:running']);

  // A sleep with a pause pending pauses instead.
  m.jobPause('p');
  assert.deepEqual(kinds(m, h), ['pause']);
  assert.equal(m.hostSleep(h, 9000), 'paused');
  assert.deepEqual(events(m), ['p:paused']);
  m.jobResume('p');
  assert.deepEqual(kinds(m, h), ['resume']);
  assert.deepEqual(events(m), ['p:running']);
  assert.deepEqual(m.internalErrors(), []);
});

test('cancel: hard cancel of a running job; soft cancel and complete of a ready one', () => {
  const m = new q.JobManager({ world: 'empty' });
  const h = m.createHostJob({ id: 'c' });
  m.drainActions();
  m.drainEvents();
  m.jobCancel('c');
  assert.deepEqual(m.drainActions(), [{ kind: 'cancel', job: h, force: true }]);
  assert.deepEqual(events(m), []);
  assert.equal(m.hostPausePoint(h), 'cancelled');
  assert.equal(m.hostSleep(h, 1e9), 'cancelled');
  m.hostRunFinished(h, 0);
  m.settle();
  assert.deepEqual(kinds(m, h), ['abort', 'clean']);
  assert.deepEqual(events(m), ['c:aborting', 'c:BLOCK_JOB_CANCELLED', 'c:concluded', 'c:null']);
  assert.deepEqual(m.queryJobs(), []);

  // A completable (mirror-like) job: ready, then completed by the user.
  const r = m.createHostJob({ id: 'm', jobType: 'mirror', completable: true });
  m.drainActions();
  m.drainEvents();
  assert.throws(() => m.jobComplete('m'), isQmpError("Job 'm' in state 'running' cannot accept command verb 'complete'"));
  assert.equal(m.hostShouldComplete(r), false);
  m.hostReady(r);
  assert.deepEqual(events(m), ['m:ready', 'm:BLOCK_JOB_READY']);
  assert.equal(statusOf(m, 'm'), 'ready');
  refused(m, () => m.hostReady(r), isQmpError("Job 'm' is already ready"));
  m.jobComplete('m');
  assert.deepEqual(m.drainActions(), [{ kind: 'complete', job: r }]);
  assert.equal(m.hostShouldComplete(r), true);
  m.hostRunFinished(r);
  m.settle();
  assert.deepEqual(kinds(m, r), ['commit', 'clean']);
  assert.deepEqual(events(m), ['m:waiting', 'm:pending', 'm:BLOCK_JOB_COMPLETED', 'm:concluded', 'm:null']);

  // A soft cancel of a ready job: finish without switching over.
  const s = m.createHostJob({ id: 'm2', jobType: 'mirror', completable: true });
  m.hostReady(s);
  m.drainActions();
  m.drainEvents();
  m.blockJobCancel('m2');
  assert.deepEqual(m.drainActions(), [{ kind: 'cancel', job: s, force: false }]);
  refused(m, () => m.jobComplete('m2'), isQmpError("The active block job 'm2' cannot be completed"));
  assert.equal(m.hostPausePoint(s), 'continue');
  m.hostRunFinished(s);
  m.settle();
  assert.deepEqual(kinds(m, s), ['commit', 'clean']);
  assert.deepEqual(events(m), ['m2:waiting', 'm2:pending', 'm2:BLOCK_JOB_COMPLETED', 'm2:concluded', 'm2:null']);
});

test('speed: set-speed requests and the rate limiter', () => {
  const m = new q.JobManager({ world: 'empty' });
  const h = m.createHostJob({ id: 'r', speed: MiB });
  m.drainActions();
  assert.equal(m.queryBlockJobs()[0].speed, MiB);
  assert.equal(m.hostRateDelay(h, 0), 0);
  // 1 MiB/s: a quota of 104857 bytes per 100 ms slice (QEMU truncates).
  assert.equal(m.hostRateDelay(h, MiB), Math.trunc((1048576 / 104857) * 1e8));
  m.blockJobSetSpeed('r', 2 * MiB);
  m.blockJobSetSpeed('r', 0);
  assert.deepEqual(m.drainActions(), [{ kind: 'set-speed', job: h, speed: 2 * MiB },
    { kind: 'set-speed', job: h, speed: 0 }]);
  assert.equal(m.hostRateDelay(h, 1 << 30), 0);
});

test('an I/O error under each policy', () => {
  const cases = [
    // [policy, operation, errno, decision, io-status]
    ['report', 'write', 5, 'fail', 'ok'],
    ['ignore', 'write', 5, 'retry', 'ok'],
    ['stop', 'write', 5, 'pause', 'failed'],
    ['enospc', 'write', 28, 'pause', 'nospace'],
    ['enospc', 'write', 5, 'fail', 'ok'],
    ['auto', 'write', 28, 'pause', 'nospace'],
    ['auto', 'write', 5, 'fail', 'ok'],
    ['stop', 'read', 5, 'pause', 'failed'],
    ['ignore', 'read', 5, 'retry', 'ok'],
  ];
  for (const [policy, operation, errno, decision, io] of cases) {
    const name = `${policy} ${operation} ${errno}`;
    const m = new q.JobManager({ world: 'empty' });
    // The policy under test on the operation's side; the other side would fail.
    const side = operation === 'read' ? 'onSourceError' : 'onTargetError';
    const other = operation === 'read' ? 'onTargetError' : 'onSourceError';
    const h = m.createHostJob({ id: 'e', [side]: policy, [other]: 'report' });
    m.drainActions();
    m.drainEvents();
    assert.equal(m.hostIoError(h, /** @type {'read' | 'write'} */ (operation), Number(errno)), decision, name);
    const ev = m.drainEvents();
    const action = { fail: 'report', retry: 'ignore', pause: 'stop' }[decision];
    assert.deepEqual(ev.map((e) => [e.event, e.data]),
      [['BLOCK_JOB_ERROR', { device: 'e', operation, action }]], name);
    assert.equal(m.queryBlockJobs()[0]['io-status'], io, name);
    if (decision === 'fail') {
      m.hostRunFinished(h, -errno);
      m.settle();
      assert.deepEqual(kinds(m, h), ['abort', 'clean'], name);
      assert.deepEqual(events(m), ['e:aborting', 'e:BLOCK_JOB_COMPLETED', 'e:concluded', 'e:null'], name);
    } else if (decision === 'retry') {
      assert.equal(m.hostPausePoint(h), 'continue', name);
      assert.equal(statusOf(m, 'e'), 'running', name);
      assert.equal(m.pendingActions(), 0, name);
    } else {
      // Paused as by the user: no separate pause request; the pause point pauses.
      assert.equal(m.pendingActions(), 0, name);
      assert.throws(() => m.jobPause('e'), isQmpError('Job is already paused'));
      assert.equal(m.hostPausePoint(h), 'paused', name);
      assert.deepEqual(events(m), ['e:paused'], name);
      assert.equal(m.queryBlockJobs()[0].paused, true, name);
      m.jobResume('e');
      assert.equal(m.queryBlockJobs()[0]['io-status'], 'ok', name);
      assert.deepEqual(kinds(m, h), ['resume'], name);
      assert.deepEqual(events(m), ['e:running'], name);
    }
    assert.deepEqual(m.internalErrors(), [], name);
  }
  // The error text of a failed run reaches BLOCK_JOB_COMPLETED and query-jobs.
  const m = new q.JobManager({ world: 'empty' });
  const h = m.createHostJob({ id: 'f', autoDismiss: false });
  m.hostRunFinished(h, -5, 'disk on fire');
  m.settle();
  const completed = m.drainEvents().find((e) => e.event === 'BLOCK_JOB_COMPLETED');
  assert.equal(completed?.event === 'BLOCK_JOB_COMPLETED' && completed.data.error, 'disk on fire');
  assert.equal(m.queryJobs()[0].error, 'disk on fire');
  assert.equal(statusOf(m, 'f'), 'concluded');
});

test('a prepare step: prepare request, hostPrepareDone, then commit or abort', () => {
  const m = new q.JobManager({ world: 'empty' });
  const h = m.createHostJob({ id: 'p', prepare: true, autoDismiss: false });
  m.drainActions();
  m.drainEvents();
  refused(m, () => m.hostPrepareDone(h), isQmpError("Job 'p' was not asked to prepare"));
  m.hostRunFinished(h);
  m.settle();
  assert.deepEqual(m.drainActions(), [{ kind: 'prepare', job: h }]);
  assert.deepEqual(events(m), ['p:waiting', 'p:pending']);
  assert.equal(statusOf(m, 'p'), 'pending');
  refused(m, () => m.hostPrepareDone(h, 1), isQmpError('prepare ends with 0 or a negative errno, not 1'));
  m.hostPrepareDone(h, 0);
  assert.deepEqual(kinds(m, h), ['commit', 'clean']);
  assert.deepEqual(events(m), ['p:BLOCK_JOB_COMPLETED', 'p:concluded']);
  assert.equal(m.queryJobs()[0].error, undefined);
  m.jobDismiss('p');
  assert.deepEqual(events(m), ['p:null']);

  // A failing prepare aborts the job.
  const f = m.createHostJob({ id: 'pf', prepare: true, autoDismiss: false });
  m.hostRunFinished(f);
  m.settle();
  assert.deepEqual(kinds(m, f), ['start', 'prepare']);
  m.drainEvents();
  m.hostPrepareDone(f, -5);
  assert.deepEqual(kinds(m, f), ['abort', 'clean']);
  assert.deepEqual(events(m), ['pf:aborting', 'pf:BLOCK_JOB_COMPLETED', 'pf:concluded']);
  assert.equal(m.queryJobs()[0].error, 'Input/output error');
});

test('a transaction of a host job and a simulated backup', () => {
  const m = new q.JobManager();
  /** @returns {import('../js/node.mjs').TransactionAction[]} */
  const backup = (extra = {}) => [{ type: 'blockdev-backup',
    data: { 'job-id': 'b', device: 'src', target: 'dst', sync: 'full', ...extra } }];

  // Success: both finalize together, the newest member first.
  let t = m.newTransaction();
  assert.equal(typeof t, 'bigint');
  let h = m.createHostJob({ id: 'h', transaction: t });
  m.transactionIn(t, backup());
  m.settle();
  assert.equal(statusOf(m, 'b'), 'waiting');
  assert.equal(statusOf(m, 'h'), 'running');
  m.drainEvents();
  assert.deepEqual(kinds(m, h), ['start']);
  m.hostRunFinished(h);
  m.settle();
  assert.deepEqual(events(m), ['h:waiting', 'b:pending', 'h:pending', 'b:BLOCK_JOB_COMPLETED',
    'b:concluded', 'b:null', 'h:BLOCK_JOB_COMPLETED', 'h:concluded', 'h:null']);
  assert.deepEqual(kinds(m, h), ['commit', 'clean']);
  assert.deepEqual(m.queryJobs(), []);

  // The host job fails: the simulated backup is cancelled with it.
  t = m.newTransaction();
  h = m.createHostJob({ id: 'h', transaction: t });
  m.transactionIn(t, backup({ speed: 1 }));
  m.settle();
  m.drainEvents();
  m.drainActions();
  m.hostRunFinished(h, -5, 'disk on fire');
  m.settle();
  assert.deepEqual(events(m), ['h:aborting', 'b:aborting', 'b:BLOCK_JOB_CANCELLED', 'b:concluded',
    'b:null', 'h:BLOCK_JOB_COMPLETED', 'h:concluded', 'h:null']);
  assert.deepEqual(kinds(m, h), ['abort', 'clean']);
  refused(m, () => m.createHostJob({ id: 'late', transaction: t }), isQmpError(/transaction/i));
  refused(m, () => m.transactionIn(t, backup()), isQmpError(/transaction/i));

  // QMP argument errors of the actions are QEMU's; nothing is created.
  const u = m.newTransaction();
  // @ts-expect-error: a backup needs its target and sync mode
  assert.throws(() => m.transactionIn(u, [{ type: 'blockdev-backup', data: { device: 'src' } }]),
    (/** @type {QmpError} */ e) => e.name === 'QmpError' && e.class === 'GenericError');
  assert.deepEqual(m.queryJobs(), []);
  // @ts-expect-error
  refused(m, () => m.transactionIn(u, 'nope'), TypeError);
  // @ts-expect-error
  refused(m, () => m.transactionIn(Number(u), backup()), TypeError);
  assert.deepEqual(m.internalErrors(), []);
});

test('internal jobs are silent; handles survive a snapshot', () => {
  const m = new q.JobManager({ world: 'empty' });
  const i = m.createHostJob();
  assert.deepEqual(m.queryJobs(), []);
  assert.equal(m.jobCount(), 1);
  assert.deepEqual(m.drainActions(), [{ kind: 'start', job: i }]);
  m.hostRunFinished(i);
  m.settle();
  assert.deepEqual(m.drainEvents(), []);
  assert.deepEqual(m.drainActions(), [{ kind: 'commit', job: i }, { kind: 'clean', job: i }]);
  assert.equal(m.jobCount(), 0);

  const h = m.createHostJob({ id: 's' });
  m.jobPause('s');
  const snap = m.snapshot();
  const run = (/** @type {JobManager} */ mm) => {
    /** @type {string[]} */
    const out = [mm.hostPausePoint(h)];
    mm.jobResume('s');
    out.push(...mm.drainActions().map((a) => a.kind));
    mm.hostRunFinished(h);
    mm.settle();
    return [out, mm.drainActions(), events(mm)];
  };
  m.drainEvents();
  const first = run(m);
  assert.deepEqual(first[0], ['paused', 'start', 'pause', 'resume']);
  const again = new q.JobManager({ world: 'empty' });
  again.restore(snap);
  again.drainEvents();
  assert.deepEqual(run(again), first);
});

test('misuse is refused and changes nothing', () => {
  const m = new q.JobManager({ world: 'empty' });
  const h = m.createHostJob({ id: 'x' });
  m.hostProgress(h, 10, 20);
  m.drainEvents();
  const not = "Job handle does not name an existing job";

  // Unknown and stale handles.
  refused(m, () => m.hostProgress(12345n, 1, 2), isQmpError(not));
  refused(m, () => m.hostPausePoint(h + 1n), isQmpError(not));
  refused(m, () => m.hostShouldComplete(0n), isQmpError(not));
  refused(m, () => m.hostRateDelay(2n ** 64n - 1n, 1), isQmpError(not));
  refused(m, () => m.createHostJob({ id: 'y', transaction: 999n }),
    isQmpError('Transaction handle does not name an existing transaction'));

  // Reports that do not fit the job's state.
  refused(m, () => m.hostProgress(h, 5, 20), isQmpError("Progress of job 'x' cannot go backwards (5 < 10)"));
  refused(m, () => m.hostProgress(h, 30, 20), isQmpError('Total progress 20 is less than the current progress 30'));
  refused(m, () => m.hostIoError(h, 'read', 0), isQmpError('An I/O error needs a positive errno, not 0'));
  refused(m, () => m.hostReady(h), isQmpError("Job 'x' was not created completable and cannot become ready"));
  refused(m, () => m.hostRunFinished(h, 3), isQmpError('A run ends with 0 or a negative errno, not 3'));
  refused(m, () => m.hostRunFinished(h, 0, '?'), isQmpError('A run that succeeded carries no error text'));
  refused(m, () => m.hostPrepareDone(h, 0), isQmpError("Job 'x' was not asked to prepare"));
  refused(m, () => m.createHostJob({ id: 'x' }), isQmpError("Job ID 'x' already in use"));
  refused(m, () => m.createHostJob({ id: '9x' }), isQmpError("Invalid job ID '9x'"));
  refused(m, () => m.createHostJob({ id: 'y', speed: -1 }), isQmpError("Parameter 'speed' expects a non-negative value"));
  // A simulated job is not the host's.
  const w = new q.JobManager();
  w.blockdevBackup({ 'job-id': 'b', device: 'src', target: 'dst', sync: 'full', speed: 1 });
  w.settle();
  w.drainEvents();
  const b = w.jobHandle('b') ?? assert.fail('b has a handle');
  refused(w, () => w.hostProgress(b, 1, 2), isQmpError("Job 'b' is not driven by the host"));
  refused(w, () => w.hostShouldComplete(b), isQmpError("Job 'b' is not driven by the host"));

  // A run ends once; afterwards the job reports nothing.
  m.hostRunFinished(h);
  refused(m, () => m.hostRunFinished(h), isQmpError("Job 'x' is not running: its run has ended"));
  refused(m, () => m.hostPausePoint(h), isQmpError("Job 'x' is not running: its run has ended"));
  m.settle();
  m.drainEvents();
  m.drainActions();
  refused(m, () => m.hostProgress(h, 20, 20), isQmpError(not));

  // Malformed JavaScript arguments: TypeErrors, before the core is called.
  const g = m.createHostJob({ id: 'g' });
  m.drainEvents();
  for (const bad of [Number(g), -1n, 2n ** 64n, 'g', undefined, null, {}]) {
    refused(m, () => m.hostPausePoint(/** @type {any} */ (bad)), TypeError);
  }
  for (const [cur, tot] of [[-1, 10], [1.5, 10], [1, NaN], [1, Infinity], [1, 2 ** 53], ['1', 10], [1n, 10], [undefined, 10]]) {
    refused(m, () => m.hostProgress(g, /** @type {any} */ (cur), /** @type {any} */ (tot)), TypeError);
  }
  refused(m, () => m.hostSleep(g, -5), TypeError);
  refused(m, () => m.hostRateDelay(g, 0.5), TypeError);
  // @ts-expect-error
  refused(m, () => m.hostIoError(g, 'delete', 5), TypeError);
  refused(m, () => m.hostIoError(g, 'read', 2 ** 31), TypeError);
  // @ts-expect-error
  refused(m, () => m.hostIoError(g, 'read'), TypeError);
  refused(m, () => m.hostRunFinished(g, 0.5), TypeError);
  // @ts-expect-error
  refused(m, () => m.hostRunFinished(g, -5, 42), TypeError);
  // @ts-expect-error
  refused(m, () => m.hostPrepareDone(g, '0'), TypeError);
  // @ts-expect-error
  refused(m, () => m.jobHandle(7), TypeError);
  for (const opts of [{ bogus: 1 }, { 'auto-finalize': false }, { id: 5 }, { jobType: 'frob' },
    { onTargetError: 'sometimes' }, { onSourceError: 1 }, { autoDismiss: 'no' }, { speed: 1.5 },
    { speed: 2 ** 60 }, { transaction: 1 }, { transaction: -1n }, { completable: 1 }, 'h', [], 7]) {
    refused(m, () => m.createHostJob(/** @type {any} */ (opts)), TypeError);
  }
  // Options whose reading throws: a TypeError that names the options and carries the
  // exception's text, and the manager stays usable.
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  refused(m, () => m.createHostJob(proxy), TypeError);
  const trap = new Proxy({}, { ownKeys() { throw new RangeError('no keys'); } });
  refused(m, () => m.createHostJob(trap), (/** @type {Error} */ e) => e instanceof TypeError && /options .*no keys/.test(e.message));
  refused(m, () => m.createHostJob(/** @type {any} */ ({ get id() { throw new Error('boom'); } })), /options .*boom/);
  const t = m.newTransaction();
  // @ts-expect-error
  refused(m, () => m.transactionIn(t, [{ type: 'abort', data: { n: 1n } }]), TypeError);
  assert.deepEqual(m.queryJobs().map((j) => j.id), ['g']);
  assert.equal(m.hostPausePoint(g), 'continue');
  assert.deepEqual(m.internalErrors(), []);
});
