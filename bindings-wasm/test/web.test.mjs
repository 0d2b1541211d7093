// @ts-check
// The simulator's pure parts, in node: how it writes durations, the form defaults it derives
// from what the module says about nodes and jobs, and the side-by-side view's replays and
// highlighting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtDuration, fmtExact, fmtSpeed } from '../web/format.mjs';
import { formSpecs, worldDefaults, DEFAULT_SPEED } from '../web/forms.mjs';
import { sideBySide, unmatched, windowDiffers } from '../web/sidebyside.mjs';
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

test('side by side: the lines outside a longest common subsequence are the ones highlighted', () => {
  assert.deepEqual(unmatched([], []), [[], []]);
  assert.deepEqual(unmatched(['a', 'b', 'c'], ['a', 'b', 'c']), [[false, false, false], [false, false, false]]);
  assert.deepEqual(unmatched(['a', 'x', 'c'], ['a', 'y', 'c']), [[false, true, false], [false, true, false]]);
  // 10.0's extra paused/running pair: only the extra lines.
  assert.deepEqual(unmatched(['> c', 'created', 'running', '< r'], ['> c', 'created', 'running', 'paused', 'running', '< r']),
    [[false, false, false, false], [false, false, false, true, true, false]]);
  assert.deepEqual(unmatched(['a'], []), [[true], []]);
});

test('side by side: each scenario line\'s window under both versions, from the core', () => {
  const lines = [
    '{"execute": "blockdev-mirror", "arguments": {"job-id": "m", "device": "src", "target": "dst", "sync": "full"}}',
    '{"wait-event": "BLOCK_JOB_READY", "id": "m"}',
    '{"execute": "query-block-jobs"}',
    '{"execute": "job-cancel", "arguments": {"id": "m"}}',
  ];
  const r = sideBySide(q, lines, ['7.2', '10.0']);
  assert.equal(r.windows.length, 4);
  // The windows put together are the core replayer's transcripts.
  assert.equal(r.windows.map((w) => w.sides[0].map((l) => `${l}\n`).join('')).join(''), q.replay(lines.join('\n')));
  assert.equal(r.transcripts[0], q.replay(lines.join('\n')));
  const m10 = new q.JobManager({ qemu: '10.0', transcript: true });
  for (const l of lines) m10.runScenarioLine(l);
  assert.equal(r.transcripts[1], m10.transcript());
  // query-block-jobs: the reply differs (actively-synced), the command does not.
  const w = r.windows[2];
  assert.ok(windowDiffers(w));
  assert.deepEqual(w.differ[0], [false, true]);
  assert.deepEqual(w.differ[1], [false, true]);
  assert.match(w.sides[1][1], /"actively-synced": /);
  assert.match(r.firstDifference ?? '', /^window \d+ \(expected line \d+, actual line \d+\): /);
  // The same version twice: nothing differs, and the core's comparison agrees.
  const same = sideBySide(q, lines, ['10.0', '10.0']);
  assert.ok(!same.windows.some(windowDiffers));
  assert.equal(same.firstDifference, undefined);
  // A malformed line stops the replay there, with the core's refusal.
  const bad = sideBySide(q, [lines[0], 'not json', lines[2]], ['7.2', '10.0']);
  assert.equal(bad.windows.length, 2);
  assert.match(bad.windows[1].error ?? '', /not JSON/);
  assert.throws(() => sideBySide(q, lines, ['7.2']), TypeError);
});
