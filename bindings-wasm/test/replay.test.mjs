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
