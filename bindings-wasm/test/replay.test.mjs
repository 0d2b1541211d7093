// @ts-check
// The node replayer against the Rust one: for every scenarios/*.scn, `node bin/replay.js`
// must print byte for byte what `cargo run --release -p qjob --example replay` prints, and
// agree with QEMU 7.2's recorded transcript by the rules of scenarios/README.md.
// The native replayer is $QJOB_NATIVE_REPLAY, else target/release/examples/replay (ci.sh builds it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import * as q from '../js/node.mjs';
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const scenarios = path.join(root, 'scenarios');
const files = readdirSync(scenarios).filter((f) => f.endsWith('.scn')).sort();
const native = process.env.QJOB_NATIVE_REPLAY || path.join(root, 'target', 'release', 'examples', 'replay');
const nodeReplay = path.join(here, '..', 'bin', 'replay.js');

test('there are scenarios', () => assert.ok(files.length >= 60, String(files.length)));

test('node transcripts are byte-identical to the Rust replayer\'s, scenario by scenario', { skip: !existsSync(native) && `no ${native}` }, () => {
  const all = files.map((f) => path.join(scenarios, f));
  // One process each for all files: the `# FILE` headers separate the transcripts.
  const rust = execFileSync(native, all, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const node = execFileSync(process.execPath, [nodeReplay, ...all], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const split = (/** @type {string} */ t) => t.split(/^# /m).filter(Boolean);
  const r = split(rust);
  const n = split(node);
  assert.equal(n.length, files.length);
  assert.equal(r.length, files.length);
  const differ = files.filter((_, i) => r[i] !== n[i]);
  assert.deepEqual(differ, [], 'scenarios whose transcripts differ');
  assert.equal(node, rust);
});

for (const f of files) {
  test(`${f}: agrees with QEMU 7.2's transcript`, () => {
    const text = readFileSync(path.join(scenarios, f), 'utf8');
    const recorded = path.join(scenarios, f.replace(/\.scn$/, '.qemu72.txt'));
    const mine = q.replay(text);
    assert.ok(mine.length > 0);
    if (existsSync(recorded)) {
      assert.equal(q.compareTranscripts(readFileSync(recorded, 'utf8'), mine), undefined);
    }
  });
}

// Under QEMU 10.0: every scenario with a 10.0 recording, and scenarios/qemu10/*.scn.
const q10dir = path.join(scenarios, 'qemu10');
const files10 = [
  ...files.filter((f) => existsSync(path.join(scenarios, f.replace(/\.scn$/, '.qemu10.txt')))).map((f) => path.join(scenarios, f)),
  ...readdirSync(q10dir).filter((f) => f.endsWith('.scn')).sort().map((f) => path.join(q10dir, f)),
];

test('--qemu 10.0: node transcripts are byte-identical to the Rust replayer\'s', { skip: !existsSync(native) && `no ${native}` }, () => {
  assert.ok(files10.length >= 80, String(files10.length));
  const rust = execFileSync(native, ['--qemu', '10.0', ...files10], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const node = execFileSync(process.execPath, [nodeReplay, '--qemu', '10.0', ...files10], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(node, rust);
});

test('replay and Replayer take {qemu}', () => {
  const scn = path.join(q10dir, 'block-job-change.scn');
  const text = readFileSync(scn, 'utf8');
  const t10 = q.replay(text, { qemu: '10.0' });
  assert.notEqual(t10, q.replay(text));
  assert.equal(q.replay(text, { qemu: '7.2' }), q.replay(text));
  assert.equal(q.compareTranscripts(readFileSync(scn.replace(/\.scn$/, '.qemu10.txt'), 'utf8'), t10), undefined);
  const r = new q.Replayer({ qemu: '10.0' });
  r.run(text);
  assert.equal(r.transcript(), t10);
  assert.throws(() => q.replay(text, /** @type {any} */ ({ qemu: '9.2' })), { name: 'TypeError', message: 'qemu must be "7.2" or "10.0"' });
  assert.throws(() => q.replay(text, /** @type {any} */ ({ qemus: '10.0' })), TypeError);
  assert.throws(() => new q.Replayer(/** @type {any} */ ({ qemu: 10 })), TypeError);
});

test('bin/replay.js: usage and --qemu errors as the Rust replayer', () => {
  /** @param {string[]} args */
  const run = (args) => {
    try {
      execFileSync(process.execPath, [nodeReplay, ...args], { encoding: 'utf8', stdio: 'pipe' });
      return { status: 0, stderr: '' };
    } catch (e) {
      const err = /** @type {{status: number, stderr: string}} */ (e);
      return { status: err.status, stderr: err.stderr };
    }
  };
  const usage = 'usage: replay [--qemu 7.2|10.0] SCENARIO...\n';
  assert.deepEqual([run([]).status, run([]).stderr.startsWith(usage)], [2, true]);
  for (const args of [['--qemu'], ['--qemu', '9.2', path.join(scenarios, files[0])]]) {
    const r = run(args);
    assert.equal(r.status, 2);
    assert.ok(r.stderr.startsWith(`replay: --qemu takes 7.2 or 10.0\n${usage}`), r.stderr);
  }
});
