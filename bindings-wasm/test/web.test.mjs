// @ts-check
// The simulator's pure parts, in node: how it writes durations, and the form defaults it
// derives from what the module says about nodes and jobs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtDuration, fmtExact, fmtSpeed } from '../web/format.mjs';
import { formSpecs, worldDefaults, DEFAULT_SPEED } from '../web/forms.mjs';
import * as q from '../js/node.mjs';

test('the clock reads as a duration', () => {
  assert.equal(fmtDuration(0), '0.000 s');
  assert.equal(fmtDuration(100e6), '0.100 s');
  assert.equal(fmtDuration(61.5e9), '1 min 01.500 s');
  assert.equal(fmtDuration(3600e9), '1 h 0 min 00.000 s');
  assert.equal(fmtDuration(209869460000000), '2 d 10 h 17 min 49.460 s');
  assert.equal(fmtExact(209869460000000), '209869.460000000 s (209869460000000 ns)');
  assert.equal(fmtSpeed(0), 'unlimited');
  assert.equal(fmtSpeed(Number(DEFAULT_SPEED)), '4 MiB/s');
});

test('form defaults pick free IDs and the nodes no job holds, from the module', () => {
  const m = new q.JobManager();
  const specs = formSpecs(q.enums(), q.optionDefaults());
  const backup = /** @type {import('../web/forms.mjs').FormSpec} */ (specs.find((s) => s.key === 'backup'));
  const taken = (/** @type {string} */ id) => m.jobHandle(id) !== undefined;
  const first = worldDefaults(backup, m.namedNodes(), taken);
  assert.deepEqual(first, { 'job-id': 'b1', device: 'src', target: 'dst' });
  m.blockdevBackup({ ...first, sync: 'full', speed: Number(DEFAULT_SPEED) });
  const second = worldDefaults(backup, m.namedNodes(), taken);
  assert.deepEqual(second, { 'job-id': 'b2', device: 'src2', target: 'dst2' });
  m.blockdevBackup({ ...second, sync: 'full', speed: Number(DEFAULT_SPEED) });
  assert.deepEqual(q.enums().MirrorSyncMode, backup.fields.find((f) => f.name === 'sync')?.options);
  const txn = /** @type {import('../web/forms.mjs').FormSpec} */ (specs.find((s) => s.key === 'txn'));
  assert.deepEqual(worldDefaults(txn, new q.JobManager().namedNodes(), () => false),
    { id1: 't1', id2: 't2', dev1: 'src', tgt1: 'dst', dev2: 'src2', tgt2: 'dst2' });
});
