// @ts-check
// Malformed arguments, method by method: every method of every class and every function of the
// package is in the tables below (a new one without an entry fails the first tests), and each
// bad call throws a TypeError whose message names the argument, and changes nothing. Each call
// the TypeScript types reject carries `@ts-expect-error`, so `tsc` (ci.sh) proves the types
// refuse them too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as q from '../js/node.mjs';

/** @typedef {(m: q.JobManager, job: bigint) => unknown} Call */
/** @typedef {[Call, string]} Bad  a call, and the argument its TypeError names */

const backup = { 'job-id': 'b9', device: 'src2', target: 'dst2', sync: /** @type {const} */ ('full') };
const revoked = Proxy.revocable({}, {});
revoked.revoke();

/** @type {Record<string, Bad[]>} */
const BAD = {
  execute: [
    // @ts-expect-error
    [(m) => m.execute(5), 'command'],
    // @ts-expect-error
    [(m) => m.execute(null), 'command'],
    // @ts-expect-error
    [(m) => m.execute([{ execute: 'query-jobs' }]), 'command'],
    // @ts-expect-error
    [(m) => m.execute('{"execute": "query-jobs"}'), 'command'],
  ],
  // @ts-expect-error
  executeJson: [[(m) => m.executeJson(5), 'text'], [(m) => m.executeJson(/** @type {any} */ ({})), 'text']],
  ...Object.fromEntries(['jobPause', 'jobResume', 'jobCancel', 'jobComplete', 'jobFinalize', 'jobDismiss',
    'blockJobFinalize', 'blockJobDismiss'].map((name) => [name, [
    [(m) => /** @type {any} */ (m)[name](5), 'id'],
    [(m) => /** @type {any} */ (m)[name]({}), 'id'],
    [(m) => /** @type {any} */ (m)[name](null), 'id'],
    [(m) => /** @type {any} */ (m)[name](), 'id'],
  ]])),
  ...Object.fromEntries(['blockJobPause', 'blockJobResume', 'blockJobComplete'].map((name) => [name, [
    [(m) => /** @type {any} */ (m)[name](5), 'device'],
    [(m) => /** @type {any} */ (m)[name](undefined), 'device'],
  ]])),
  blockJobCancel: [
    // @ts-expect-error
    [(m) => m.blockJobCancel(1), 'device'],
    // @ts-expect-error
    [(m) => m.blockJobCancel('b0', 'yes'), 'force'],
    // @ts-expect-error
    [(m) => m.blockJobCancel('b0', 1), 'force'],
  ],
  blockJobSetSpeed: [
    // @ts-expect-error
    [(m) => m.blockJobSetSpeed('b0', '5'), 'speed'],
    [(m) => m.blockJobSetSpeed('b0', 1.5), 'speed'],
    [(m) => m.blockJobSetSpeed('b0', NaN), 'speed'],
    [(m) => m.blockJobSetSpeed('b0', 2 ** 60), 'speed'],
    // @ts-expect-error
    [(m) => m.blockJobSetSpeed('b0', 5n), 'speed'],
    // @ts-expect-error
    [(m) => m.blockJobSetSpeed(5, 5), 'device'],
  ],
  ...Object.fromEntries(['blockdevBackup', 'blockdevMirror', 'blockCommit', 'blockStream', 'blockdevCreate',
    'xBlockdevAmend', 'snapshotSave', 'snapshotLoad', 'snapshotDelete', 'transaction', 'blockdevAdd', 'blockdevDel',
    'blockDirtyBitmapAdd', 'blockDirtyBitmapRemove', 'blockDirtyBitmapClear', 'blockDirtyBitmapEnable',
    'blockDirtyBitmapDisable', 'blockDirtyBitmapMerge'].map((name) => [name, [
    [(m) => /** @type {any} */ (m)[name](), 'args'],
    [(m) => /** @type {any} */ (m)[name](null), 'args'],
    [(m) => /** @type {any} */ (m)[name]('src'), 'args'],
    [(m) => /** @type {any} */ (m)[name]([backup]), 'args'],
    [(m) => /** @type {any} */ (m)[name](revoked.proxy), 'args'],
  ]])),
  addImage: [
    // @ts-expect-error
    [(m) => m.addImage(5, { format: 'raw', size: 512 }), 'file'],
    // @ts-expect-error
    [(m) => m.addImage('a.img'), 'image'],
    // @ts-expect-error
    [(m) => m.addImage('a.img', 'raw'), 'image'],
  ],
  setMachine: [
    // @ts-expect-error
    [(m) => m.setMachine('yes'), 'machine'],
    // @ts-expect-error
    [(m) => m.setMachine(), 'machine'],
  ],
  verbAllowed: [
    // @ts-expect-error
    [(m) => m.verbAllowed(7, 'pause'), 'id'],
    // @ts-expect-error
    [(m) => m.verbAllowed('b0', 'paws'), 'verb'],
    // @ts-expect-error
    [(m) => m.verbAllowed('b0'), 'verb'],
  ],
  verbRefusal: [
    // @ts-expect-error
    [(m) => m.verbRefusal({}, 'pause'), 'id'],
    // @ts-expect-error
    [(m) => m.verbRefusal('b0', 3), 'verb'],
  ],
  tick: [
    // @ts-expect-error
    [(m) => m.tick('5'), 'nowNs'],
    [(m) => m.tick(-1), 'nowNs'],
    [(m) => m.tick(1.5), 'nowNs'],
    [(m) => m.tick(Infinity), 'nowNs'],
  ],
  advance: [
    // @ts-expect-error
    [(m) => m.advance('5'), 'ns'],
    [(m) => m.advance(NaN), 'ns'],
    [(m) => m.advance(-1), 'ns'],
    // @ts-expect-error
    [(m) => m.advance(5n), 'ns'],
    // @ts-expect-error
    [(m) => m.advance(), 'ns'],
  ],
  runScenarioLine: [
    // @ts-expect-error
    [(m) => m.runScenarioLine({ settle: 1 }), 'line'],
  ],
  setTranscript: [
    // @ts-expect-error
    [(m) => m.setTranscript(1), 'on'],
  ],
  truncateTranscript: [
    // @ts-expect-error
    [(m) => m.truncateTranscript('1'), 'n'],
    [(m) => m.truncateTranscript(-1), 'n'],
  ],
  restore: [
    // @ts-expect-error
    [(m) => m.restore('snapshot'), 'snapshot'],
    // @ts-expect-error
    [(m) => m.restore([1, 2, 3]), 'snapshot'],
    // @ts-expect-error
    [(m) => m.restore(), 'snapshot'],
  ],
  createHostJob: [
    // @ts-expect-error
    [(m) => m.createHostJob({ bogus: 1 }), 'bogus'],
    // @ts-expect-error
    [(m) => m.createHostJob({ id: 5 }), 'id'],
    // @ts-expect-error
    [(m) => m.createHostJob({ jobType: 'frob' }), 'jobType'],
    // @ts-expect-error
    [(m) => m.createHostJob('h'), 'options'],
  ],
  jobHandle: [
    // @ts-expect-error
    [(m) => m.jobHandle(7), 'id'],
  ],
  transactionIn: [
    // @ts-expect-error
    [(m) => m.transactionIn(1, []), 'txn'],
    // @ts-expect-error
    [(m) => m.transactionIn(0n, 'nope'), 'actions'],
  ],
  hostProgress: [
    // @ts-expect-error
    [(m, h) => m.hostProgress(Number(h), 0, 1), 'job'],
    [(m, h) => m.hostProgress(h, -1, 1), 'current'],
    // @ts-expect-error
    [(m, h) => m.hostProgress(h, 0, '1'), 'total'],
  ],
  // @ts-expect-error
  hostPausePoint: [[(m) => m.hostPausePoint('h'), 'job']],
  hostSleep: [
    [(m, h) => m.hostSleep(h, -5), 'untilNs'],
    // @ts-expect-error
    [(m) => m.hostSleep(null, 5), 'job'],
  ],
  hostIoError: [
    // @ts-expect-error
    [(m, h) => m.hostIoError(h, 'delete', 5), 'operation'],
    [(m, h) => m.hostIoError(h, 'read', 2 ** 31), 'errno'],
  ],
  // @ts-expect-error
  hostReady: [[(m) => m.hostReady(1), 'job']],
  hostRunFinished: [
    [(m, h) => m.hostRunFinished(h, 0.5), 'ret'],
    // @ts-expect-error
    [(m, h) => m.hostRunFinished(h, -5, 42), 'error'],
  ],
  // @ts-expect-error
  hostPrepareDone: [[(m, h) => m.hostPrepareDone(h, '0'), 'ret']],
  hostRateDelay: [[(m, h) => m.hostRateDelay(h, 0.5), 'bytes']],
  // @ts-expect-error
  hostShouldComplete: [[(m) => m.hostShouldComplete({}), 'job']],
};

/** Methods that take no argument (nothing to check). */
const NO_ARGUMENTS = ['free', 'queryJobs', 'queryBlockJobs', 'jobCount', 'internalErrors', 'namedNodes', 'machine', 'qemu', 'greeting',
  'now', 'nextDeadline', 'hasReadyWork', 'step', 'settle', 'pollEvent', 'drainEvents', 'drainEventsJson',
  'transcript', 'transcriptLength', 'snapshot', 'newTransaction', 'pollAction', 'drainActions', 'pendingActions'];

/** The methods a class's instances have, up its prototype chain (the glue's own internals left out). */
function methods(/** @type {Function} */ C) {
  const names = new Set();
  for (let p = C.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) if (k !== 'constructor' && !k.startsWith('__')) names.add(k);
  }
  return [...names].sort();
}

test('every JobManager method is in the table of bad arguments (or takes none)', () => {
  const listed = [...Object.keys(BAD), ...NO_ARGUMENTS].sort();
  assert.deepEqual(methods(q.JobManager), listed);
  for (const name of Object.keys(BAD)) assert.ok(BAD[name].length > 0, name);
});

test('every bad argument is a TypeError naming it, and changes nothing', () => {
  for (const [name, calls] of Object.entries(BAD)) {
    for (const [call, arg] of calls) {
      const m = new q.JobManager({ transcript: true });
      m.blockdevBackup({ 'job-id': 'b0', device: 'src', target: 'dst', sync: 'full', speed: 1 });
      const h = m.createHostJob({ id: 'h' });
      m.settle();
      m.drainEvents();
      const before = m.snapshot();
      const lines = m.transcript();
      const actions = m.pendingActions();
      assert.throws(() => call(m, h), (e) => {
        assert.ok(e instanceof TypeError, `${name}: ${e}`);
        assert.match(/** @type {Error} */ (e).message, new RegExp(`\\b${arg}\\b`), `${name}: ${e}`);
        return true;
      }, `${name} (${arg}): ${call}`);
      assert.deepEqual(m.snapshot(), before, name);
      assert.equal(m.transcript(), lines, name);
      assert.equal(m.pendingActions(), actions, name);
      assert.deepEqual(m.drainEvents(), [], name);
      m.free();
    }
  }
});

test('options: unknown keys are refused everywhere, known ones checked', () => {
  // @ts-expect-error
  assert.throws(() => new q.JobManager({ trasncript: true }), /unknown JobManager option 'trasncript' \(known: world, transcript, qemu\)/);
  // @ts-expect-error
  assert.throws(() => new q.JobManager({ transcript: 'yes' }), (e) => e instanceof TypeError && /transcript/.test(e.message));
  // @ts-expect-error
  assert.throws(() => new q.JobManager({ world: 'mars' }), (e) => e instanceof TypeError && /world/.test(e.message));
  // @ts-expect-error
  assert.throws(() => new q.JobManager('empty'), (e) => e instanceof TypeError && /JobManager option/.test(e.message));
  // @ts-expect-error
  assert.throws(() => new q.JobManager([]), TypeError);
  // undefined members are as good as absent, as in createHostJob.
  assert.equal(new q.JobManager({ world: undefined }).namedNodes().length, 4);
  assert.equal(new q.JobManager({ world: 'empty', transcript: false }).namedNodes().length, 0);
});

test('numbers are checked alike everywhere: a non-negative safe integer, never a string', () => {
  const m = new q.JobManager();
  for (const bad of ['5', NaN, -1, 0.5, 2 ** 53, Infinity]) {
    assert.throws(() => m.advance(/** @type {any} */ (bad)), TypeError, String(bad));
    assert.throws(() => m.tick(/** @type {any} */ (bad)), TypeError, String(bad));
  }
  m.advance(5);
  m.tick(2 ** 53 - 1);
  assert.equal(m.now(), 2 ** 53 - 1);
});

/** @type {Record<string, [Function, string][]>} */
const BAD_REPLAYER = {
  // @ts-expect-error
  run: [[(r) => r.run(5), 'text']],
  // @ts-expect-error
  runLine: [[(r) => r.runLine({}), 'line']],
};

test('every Replayer method and every function checks its arguments', () => {
  assert.deepEqual(methods(q.Replayer), [...Object.keys(BAD_REPLAYER), 'free', 'lines', 'transcript'].sort());
  for (const [name, calls] of Object.entries(BAD_REPLAYER)) {
    for (const [call, arg] of calls) {
      const r = new q.Replayer();
      assert.throws(() => call(r), (e) => e instanceof TypeError && new RegExp(`\\b${arg}\\b`).test(e.message), name);
      assert.equal(r.transcript(), '');
    }
  }
  /** @type {Record<string, [() => unknown, string][]>} */
  const BAD_FUNCTIONS = {
    // @ts-expect-error
    replay: [[() => q.replay(5), 'text']],
    compareTranscripts: [
      // @ts-expect-error
      [() => q.compareTranscripts(1, ''), 'expected'],
      // @ts-expect-error
      [() => q.compareTranscripts('', null), 'actual'],
    ],
    // @ts-expect-error
    toSortedJson: [[() => q.toSortedJson(1n), 'BigInt']],
  };
  const noArguments = ['statuses', 'verbs', 'jobTypes', 'blockJobTypes', 'enums', 'optionDefaults', 'hostJobDefaults',
    'statusTransitions', 'verbTable', 'qemuVersions',
    'version', 'takePanicMessage'];
  const functions = Object.entries(q).filter(([k, v]) => typeof v === 'function' && !/^[A-Z]/.test(k)).map(([k]) => k);
  assert.deepEqual(functions.sort(), [...Object.keys(BAD_FUNCTIONS), ...noArguments].sort());
  for (const [name, calls] of Object.entries(BAD_FUNCTIONS)) {
    for (const [call, arg] of calls) {
      assert.throws(call, (e) => e instanceof TypeError && new RegExp(`\\b${arg}\\b`).test(e.message), name);
    }
  }
});
