// @ts-check
// Node tests of the JobManager API (node --test test/).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as q from '../js/node.mjs';

/** @typedef {import('../js/node.mjs').QmpError} QmpError */
/** @typedef {import('../js/node.mjs').QmpEvent} QmpEvent */

/**
 * A blockdev-backup command of job `id`, src to dst.
 * @param {string} id @param {Partial<import('../js/node.mjs').BlockdevBackupArgs>} extra
 */
const backup = (id, extra = {}) => ({
  execute: /** @type {const} */ ('blockdev-backup'),
  arguments: { 'job-id': id, device: 'src', target: 'dst', sync: /** @type {const} */ ('full'), ...extra },
});
/** The statuses of job `id` in `events`. */
const statusesOf = (/** @type {QmpEvent[]} */ events, /** @type {string} */ id) =>
  events.flatMap((e) => (e.event === 'JOB_STATUS_CHANGE' && e.data.id === id ? [e.data.status] : []));
const isQmpError = (/** @type {(e: QmpError) => boolean} */ f) => (/** @type {QmpError} */ e) => f(e);
/** `x`, which must be defined. */
const some = (/** @template T @param {T | undefined} x @returns {T} */ (x) => x ?? assert.fail('undefined'));

test('execute: QMP objects in and out, id echoed, key order kept', () => {
  const m = new q.JobManager();
  const r = m.execute({ ...backup('b0', { speed: 1 }), id: 'x1' });
  assert.deepEqual(r, { return: {}, id: 'x1' });
  m.settle();
  const [job] = m.queryBlockJobs();
  assert.deepEqual(Object.keys(job), ['type', 'device', 'len', 'offset', 'busy', 'paused', 'speed',
    'io-status', 'ready', 'status', 'auto-finalize', 'auto-dismiss']);
  assert.equal(job.offset, 1 << 20);
  assert.equal(job.speed, 1);
  const bad = m.execute({ execute: 'job-pause', arguments: { id: 'nope' } });
  assert.deepEqual(bad, { error: { class: 'GenericError', desc: 'Job not found' } });
  // @ts-expect-error: not a command the types know
  const unknown = m.execute({ execute: 'frobnicate' });
  assert.equal(unknown.error?.class, 'CommandNotFound');
  m.free();
});

test('executeJson answers framing and JSON errors as QEMU', () => {
  const m = new q.JobManager();
  assert.equal(m.executeJson('{"execute": "query-jobs"}'), '{"return":[]}');
  const r = JSON.parse(m.executeJson('[1]'));
  assert.equal(r.error.desc, 'QMP input must be a JSON object');
  const r2 = JSON.parse(m.executeJson('{"execute": "query-jobs", "foo": 1, "id": 5}'));
  assert.deepEqual(r2, { error: { class: 'GenericError', desc: "QMP input member 'foo' is unexpected" }, id: 5 });
});

test('a backup through its whole life with the typed verbs', () => {
  const m = new q.JobManager();
  m.blockdevBackup({ 'job-id': 'b0', device: 'src', target: 'dst', sync: 'full', speed: 1,
    'auto-finalize': false, 'auto-dismiss': false });
  m.settle();
  assert.equal(m.queryJobs()[0].status, 'running');
  m.jobPause('b0');
  assert.throws(() => m.jobPause('b0'), isQmpError((e) => e.name === 'QmpError' && e.class === 'GenericError'
    && e.message === 'Job is already paused' && e.desc === e.message));
  m.settle();
  assert.equal(m.queryJobs()[0].status, 'paused');
  assert.equal(m.verbAllowed('b0', 'finalize'), false);
  assert.equal(m.verbRefusal('b0', 'finalize'), "Job 'b0' in state 'paused' cannot accept command verb 'finalize'");
  assert.equal(m.verbRefusal('b0', 'resume'), null);
  assert.equal(m.verbAllowed('zz', 'pause'), undefined);
  m.jobResume('b0');
  m.blockJobSetSpeed('b0', 0);
  m.settle();
  assert.equal(m.queryJobs()[0].status, 'pending');
  assert.equal(m.verbAllowed('b0', 'finalize'), true);
  m.jobFinalize('b0');
  m.settle();
  assert.equal(m.queryJobs()[0].status, 'concluded');
  m.jobDismiss('b0');
  assert.deepEqual(m.queryJobs(), []);
  const events = m.drainEvents();
  // The drained section of the backup's creation shows as a paused/running pair.
  assert.deepEqual(statusesOf(events, 'b0'), ['created', 'running', 'paused', 'running', 'paused',
    'running', 'waiting', 'pending', 'concluded', 'null']);
  assert.ok(events.some((e) => e.event === 'BLOCK_JOB_PENDING'));
  const done = events.find((e) => e.event === 'BLOCK_JOB_COMPLETED');
  assert.deepEqual(some(done).data, { type: 'backup', device: 'b0', len: 64 << 20, offset: 64 << 20, speed: 0 });
  assert.deepEqual(Object.keys(events[0]), ['timestamp', 'event', 'data']);
  assert.deepEqual(m.drainEvents(), []);
  assert.equal(m.pollEvent(), undefined);
  assert.deepEqual(m.internalErrors(), []);
});

test('drainEventsJson gives the same events as text, pollEvent one at a time', () => {
  const a = new q.JobManager();
  const b = new q.JobManager();
  for (const m of [a, b]) {
    m.blockdevBackup({ 'job-id': 'b0', device: 'src', target: 'dst', sync: 'full' });
    m.settle();
  }
  const text = a.drainEventsJson();
  assert.equal(typeof text, 'string');
  assert.ok(text.startsWith('[{"timestamp":{"seconds":0,"microseconds":0},"event":"JOB_STATUS_CHANGE","data":{"id":"b0","status":"created"}},'), text);
  const events = b.drainEvents();
  assert.deepEqual(JSON.parse(text), events);
  assert.equal(JSON.stringify(events), text);
  assert.equal(a.drainEventsJson(), '[]');
  b.blockdevBackup({ 'job-id': 'c', device: 'src2', target: 'dst2', sync: 'full', speed: 1 });
  b.settle();
  const first = b.pollEvent();
  assert.deepEqual(some(first).data, { id: 'c', status: 'created' });
  assert.equal(JSON.parse(b.drainEventsJson())[0].data.status, 'running');
});

test('a mirror: ready, standby, complete; block-job-* forms', () => {
  const m = new q.JobManager();
  m.blockdevMirror({ 'job-id': 'm0', device: 'src', target: 'dst', sync: 'full' });
  m.settle();
  assert.equal(m.queryJobs()[0].status, 'ready');
  assert.ok(m.drainEvents().some((e) => e.event === 'BLOCK_JOB_READY'));
  m.blockJobPause('m0');
  m.settle();
  assert.equal(m.queryJobs()[0].status, 'standby');
  assert.throws(() => m.blockJobCancel('m0'), /is currently paused/);
  m.blockJobResume('m0');
  m.settle();
  // A ready mirror wakes every 100 ms of virtual time.
  const d = m.nextDeadline();
  assert.equal(typeof d, 'number');
  m.tick(some(d));
  assert.equal(m.now(), d);
  m.blockJobComplete('m0');
  m.settle();
  assert.deepEqual(m.queryJobs(), []);
  assert.deepEqual(statusesOf(m.drainEvents(), 'm0'), ['standby', 'ready', 'waiting', 'pending', 'concluded', 'null']);
  assert.throws(() => m.blockJobComplete('m0'), isQmpError((e) => e.class === 'DeviceNotActive'));
});

test('step, advance and the rate limiter', () => {
  const m = new q.JobManager();
  m.blockdevBackup({ 'job-id': 'b1', device: 'src', target: 'dst', sync: 'full', speed: 4 << 20 });
  // The first 1 MiB chunk is copied at once; the job then sleeps on the rate limiter.
  assert.equal(m.queryJobs()[0]['current-progress'], 1 << 20);
  assert.equal(m.hasReadyWork(), false);
  const d = m.nextDeadline();
  assert.ok(some(d) > 0 && some(d) < 1e9, String(d));
  m.tick(some(d));
  assert.equal(m.now(), d);
  assert.equal(m.queryJobs()[0]['current-progress'], 2 << 20);
  m.advance(1e9);
  const p = m.queryJobs()[0]['current-progress'];
  assert.ok(p > 1 << 20 && p < 64 << 20, String(p));
  m.advance(30e9);
  assert.deepEqual(m.queryJobs(), []);
  assert.throws(() => m.advance(-1), TypeError);
  assert.throws(() => m.tick(1.5), TypeError);
});

test('grouped transaction, errors and nodes', () => {
  const m = new q.JobManager();
  m.blockdevAdd({ driver: 'raw', 'node-name': 'errsrc', file: { driver: 'blkdebug',
    'inject-error': [{ event: 'read_aio', errno: 5, once: true }],
    image: { driver: 'null-co', size: 67108864, 'read-zeroes': false } } });
  m.transaction({
    actions: [
      { type: 'blockdev-backup', data: { 'job-id': 't1', device: 'errsrc', target: 'dst', sync: 'full' } },
      { type: 'blockdev-backup', data: { 'job-id': 't2', device: 'src2', target: 'dst2', sync: 'full', speed: 1 } },
    ],
    properties: { 'completion-mode': 'grouped' },
  });
  m.settle();
  const ev = m.drainEvents();
  assert.ok(ev.some((e) => e.event === 'BLOCK_JOB_CANCELLED' && e.data.device === 't2'));
  assert.ok(ev.some((e) => e.event === 'BLOCK_JOB_COMPLETED' && e.data.device === 't1' && e.data.error));
  assert.throws(() => m.blockdevDel({ 'node-name': 'nope' }), isQmpError((e) => e.name === 'QmpError'));
  m.blockdevDel({ 'node-name': 'errsrc' });
});

test('snapshot and restore continue byte for byte', () => {
  const run = (/** @type {import('../js/node.mjs').JobManager} */ m) => { m.jobResume('b0'); m.blockJobSetSpeed('b0', 0); m.settle(); return m.drainEvents(); };
  const m = new q.JobManager();
  m.blockdevBackup({ 'job-id': 'b0', device: 'src', target: 'dst', sync: 'full', speed: 1 });
  m.settle();
  m.jobPause('b0');
  m.settle();
  m.drainEvents();
  const snap = m.snapshot();
  assert.ok(snap instanceof Uint8Array);
  const first = run(m);
  m.restore(snap);
  assert.equal(m.queryJobs()[0].status, 'paused');
  assert.deepEqual(run(m), first);
  const other = new q.JobManager({ world: 'empty' });
  other.restore(snap);
  assert.deepEqual(run(other), first);
  // A damaged snapshot is refused and changes nothing.
  const damaged = snap.slice(0, snap.length - 5);
  assert.throws(() => other.restore(damaged), /damaged qjob snapshot/);
  const old = snap.slice();
  old[8] = 1;
  assert.throws(() => other.restore(old), /version 1 is not supported/);
  assert.throws(() => m.restore(new Uint8Array([1, 2, 3])));
  // @ts-expect-error
  assert.throws(() => new q.JobManager({ world: 'mars' }), TypeError);
});

test('the transcript equals the core replayer\'s for the same commands', () => {
  const lines = [
    JSON.stringify(backup('b0', { speed: 1 })),
    '{"execute": "job-pause", "arguments": {"id": "b0"}}',
    '{"execute": "query-block-jobs"}',
    '{"execute": "job-cancel", "arguments": {"id": "b0"}}',
  ];
  const m = new q.JobManager({ transcript: true });
  for (const l of lines) { m.execute(JSON.parse(l)); m.settle(); }
  assert.equal(m.transcript(), q.replay(lines.join('\n')));
  const n = m.transcriptLength();
  const out = m.runScenarioLine('{"settle": 0.3}');
  assert.deepEqual(out, ['~ settle']);
  assert.equal(m.transcriptLength(), n + 1);
  m.truncateTranscript(n);
  assert.equal(m.transcriptLength(), n);
  assert.throws(() => m.runScenarioLine('{"bogus": 1}'), /unknown scenario line/);
  const quiet = new q.JobManager();
  quiet.execute(JSON.parse(lines[0]));
  assert.equal(quiet.transcript(), '');
  quiet.setTranscript(true);
  quiet.jobCancel('b0');
  quiet.settle();
  assert.match(quiet.transcript(), /^! JOB_STATUS_CHANGE \{"id": "b0", "status": "aborting"\}\n/);
});

test('JS numbers keep their exact value into the core and its transcript', () => {
  // Doubles whose shortest decimal form a reader that is not correctly rounded
  // misreads by one ulp, beside ordinary ones.
  const floats = [-1.5432835417340557e+88, 1658206780088562.2, 0.1, 5e-324, 1.7976931348623157e+308, 2.5e-5];
  const m = new q.JobManager({ transcript: true });
  // @ts-expect-error: query-jobs takes no arguments (QEMU's answer is the transcript's business)
  for (const f of floats) m.execute({ execute: 'query-jobs', arguments: { f } });
  const sent = m.transcript().split('\n').filter((l) => l.startsWith('> '));
  assert.deepEqual(sent.map((l) => JSON.parse(l.slice(2)).arguments.f), floats);
});

test('dirty bitmaps: add and remove, with QEMU\'s errors', () => {
  const m = new q.JobManager();
  m.blockDirtyBitmapAdd({ node: 'src', name: 'bm0', granularity: 65536 });
  assert.throws(() => m.blockDirtyBitmapAdd({ node: 'src', name: 'bm0' }),
    isQmpError((e) => e.name === 'QmpError' && e.class === 'GenericError' && e.message === 'Bitmap already exists: bm0'));
  assert.throws(() => m.blockDirtyBitmapAdd({ node: 'src', name: 'bm1', persistent: true }),
    /Can't store persistent bitmaps to src: Operation not supported/);
  m.blockdevBackup({ 'job-id': 'b', device: 'src', target: 'dst', sync: 'full', bitmap: 'bm0', 'bitmap-mode': 'always', speed: 1 });
  assert.throws(() => m.blockDirtyBitmapRemove({ node: 'src', name: 'bm0' }), /is currently in use by another operation/);
  m.jobCancel('b');
  m.settle();
  m.blockDirtyBitmapRemove({ node: 'src', name: 'bm0' });
  assert.throws(() => m.blockDirtyBitmapRemove({ node: 'src', name: 'bm0' }), /Dirty bitmap 'bm0' not found/);
});

test('dirty bitmaps: clear, enable, disable and merge, with QEMU\'s errors', () => {
  const m = new q.JobManager();
  m.blockDirtyBitmapAdd({ node: 'src', name: 'a' });
  m.blockDirtyBitmapAdd({ node: 'src', name: 'b', disabled: true });
  m.blockDirtyBitmapClear({ node: 'src', name: 'a' });
  m.blockDirtyBitmapDisable({ node: 'src', name: 'a' });
  m.blockDirtyBitmapEnable({ node: 'src', name: 'b' });
  m.blockDirtyBitmapMerge({ node: 'src', target: 'a', bitmaps: ['b', { node: 'src', name: 'b' }] });
  assert.throws(() => m.blockDirtyBitmapClear({ node: 'nosuch', name: 'a' }), /Node 'nosuch' not found/);
  assert.throws(() => m.blockDirtyBitmapMerge({ node: 'src', target: 'a', bitmaps: ['c'] }), /Dirty bitmap 'c' not found/);
  m.blockdevBackup({ 'job-id': 'i', device: 'src', target: 'dst', sync: 'incremental', bitmap: 'a', speed: 1 });
  assert.throws(() => m.blockDirtyBitmapEnable({ node: 'src', name: 'a' }), /'a' is currently in use by another operation/);
  m.jobCancel('i');
  m.settle();
  m.blockDirtyBitmapEnable({ node: 'src', name: 'a' });
});

test('the model as data', () => {
  assert.equal(q.statuses().length, 11);
  assert.deepEqual(q.verbs(), ['cancel', 'pause', 'resume', 'set-speed', 'complete', 'dismiss', 'finalize', 'change']);
  assert.equal(q.jobTypes().length, 9);
  const t = q.statusTransitions();
  assert.equal(t.length, 20);
  assert.deepEqual(t[0], ['undefined', 'created']);
  assert.deepEqual(q.verbTable().finalize, ['pending']);
  assert.equal(q.toSortedJson({ b: 1, a: [true, null, 'é'] }), '{"a": [true, null, "\\u00e9"], "b": 1}');
  assert.equal(q.compareTranscripts('> x\n< {}\n', '> x\n< {}\n'), undefined);
  assert.equal(q.compareTranscripts('> x\n< {}\n', '> y\n< {}\n'),
    'window 1 (expected line 1, actual line 1): commands differ\n  expected: > x\n  actual: > y');
  assert.equal(typeof q.version(), 'string');
});

test('the Replayer class', () => {
  const r = new q.Replayer();
  r.runLine(JSON.stringify(backup('b0')));
  r.run('# comment\n{"execute": "query-jobs"}\n');
  assert.equal(r.lines()[0].slice(0, 2), '> ');
  assert.ok(r.transcript().endsWith('< {"return": []}\n'));
  assert.throws(() => r.run('{"execute": "query-jobs"}\nnot json'), /line 2/);
});

test('values JSON cannot hold are a TypeError and change nothing', () => {
  const m = new q.JobManager();
  /** @type {any} */
  const cycle = {};
  cycle.self = cycle;
  /** @type {[() => unknown, RegExp][]} */
  const cases = [
    // @ts-expect-error
    [() => m.execute({ ...backup('b0'), id: 1n }), /BigInt/],
    [() => m.execute(cycle), /circular/],
    // @ts-expect-error
    [() => m.execute(undefined), /command must be an object/],
    // @ts-expect-error
    [() => m.execute(() => 1), /command must be an object/],
    // @ts-expect-error
    [() => m.blockdevBackup({ ...backup('b0').arguments, target: undefined, x: [undefined, 1n] }), /BigInt/],
    // @ts-expect-error
    [() => m.blockdevBackup({ ...backup('b0').arguments, speed: 10n }), /BigInt/],
  ];
  for (const [call, message] of cases) {
    assert.throws(call, (/** @type {Error} */ e) => e instanceof TypeError && message.test(e.message));
  }
  assert.equal(m.jobCount(), 0);
  assert.deepEqual(m.drainEvents(), []);
  m.free();
});

test('new JobManager({qemu: "10.0"}) reproduces QEMU 10.0', () => {
  const m = new q.JobManager({ qemu: '10.0' });
  /** @type {import('../js/node.mjs').QmpCommand} */
  const change = { execute: 'block-job-change', arguments: { id: 'm1', type: 'mirror', 'copy-mode': 'write-blocking' } };
  assert.deepEqual(m.execute({ execute: 'blockdev-mirror', arguments: { 'job-id': 'm1', device: 'src', target: 'dst', sync: 'full', speed: 1 } }), { return: {} });
  assert.deepEqual(m.execute(change), { return: {} });
  assert.equal(m.verbAllowed('m1', 'change'), true);
  const jobs = /** @type {any} */ (m.execute({ execute: 'query-block-jobs' })).return;
  assert.equal(jobs[0]['actively-synced'], false);
  const old = new q.JobManager();
  old.execute({ execute: 'blockdev-mirror', arguments: { 'job-id': 'm1', device: 'src', target: 'dst', sync: 'full', speed: 1 } });
  assert.equal(/** @type {any} */ (old.execute(change)).error.class, 'CommandNotFound');
  assert.equal(old.verbAllowed('m1', 'change'), false);
  assert.throws(() => new q.JobManager(/** @type {any} */ ({ qemu: '9.2' })), TypeError);
});

test('the QEMU of a manager: qemu(), its greeting, query-version, kept by snapshots', () => {
  assert.deepEqual(q.qemuVersions(), ['7.2', '10.0']);
  const m = new q.JobManager({ qemu: '10.0' });
  const old = new q.JobManager();
  assert.equal(m.qemu(), '10.0');
  assert.equal(old.qemu(), '7.2');
  for (const [mgr, major, minor, micro] of /** @type {const} */ ([[m, 10, 0, 2], [old, 7, 2, 22]])) {
    const g = mgr.greeting();
    assert.deepEqual(g.QMP.version.qemu, { major, minor, micro });
    assert.deepEqual(g.QMP.capabilities, ['oob']);
    assert.deepEqual(/** @type {any} */ (mgr.execute({ execute: 'query-version' })).return, g.QMP.version);
  }
  // A 10.0 snapshot restored into a 7.2 manager makes it a 10.0 one; a refused one changes nothing.
  m.blockdevBackup({ 'job-id': 'b0', device: 'src', target: 'dst', sync: 'full', speed: 1 });
  old.restore(m.snapshot());
  assert.equal(old.qemu(), '10.0');
  assert.equal(old.greeting().QMP.version.qemu.major, 10);
  assert.equal(old.queryJobs()[0].id, 'b0');
  const fresh = new q.JobManager();
  assert.throws(() => fresh.restore(new Uint8Array([1, 2, 3])));
  assert.equal(fresh.qemu(), '7.2');
});
