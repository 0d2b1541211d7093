// The WASM benchmark: the same lifecycle workloads as examples/bench_native.rs, on the
// WebAssembly module in node, side by side with the native figures, and the .wasm size.
// `node bench/bench.mjs [ITERATIONS]` (ci.sh/serve.sh build pkg-node; the native example is
// run through cargo unless $QJOB_BENCH_NATIVE names its binary).
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { statSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const q = require('../pkg-node/qjob_wasm.js');
const n = Number(process.argv[2] ?? 20000);

function bench(name, iterations, f) {
  for (let i = 0; i < iterations / 10; i++) f(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) f(i);
  return { name, iterations, ns_per_iter: Number(process.hrtime.bigint() - t0) / iterations };
}

const args = { 'job-id': 'b0', device: 'src', target: 'dst', sync: 'full' };
const text = '{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full"}}';
const results = [];
// The compared workloads: as in the native example, events leave as QMP JSON text.
let m = new q.JobManager();
results.push(bench('backup lifecycle, typed', n, () => {
  m.blockdevBackup(args);
  m.settle();
  m.drainEventsJson();
}));
m.free();
m = new q.JobManager();
results.push(bench('backup lifecycle, QMP JSON text', n, () => {
  m.executeJson(text);
  m.settle();
  m.drainEventsJson();
}));
m.free();
m = new q.JobManager();
m.blockdevBackup({ ...args, speed: 1 });
m.settle();
m.drainEvents();
results.push(bench('pause + resume pair', n * 10, () => {
  m.jobPause('b0');
  m.jobResume('b0');
  m.settle();
  m.drainEventsJson();
}));
m.free();
// Informative, not compared: the same with every event built as a JS object
// (drainEvents: one JSON.parse per drain), the price of objects in JS.
const extra = [];
m = new q.JobManager();
extra.push(bench('backup lifecycle, typed, events as JS objects', n, () => {
  m.blockdevBackup(args);
  m.settle();
  m.drainEvents();
}));
m.free();
m = new q.JobManager();
m.blockdevBackup({ ...args, speed: 1 });
m.settle();
m.drainEvents();
extra.push(bench('pause + resume pair, events as JS objects', n * 10, () => {
  m.jobPause('b0');
  m.jobResume('b0');
  m.settle();
  m.drainEvents();
}));
m.free();
// Informative: the fixed price of crossing the JS/WASM boundary.
m = new q.JobManager();
m.blockdevBackup({ ...args, speed: 1 });
m.settle();
m.drainEvents();
extra.push(bench('one call with a string argument (verbAllowed)', n * 10, () => m.verbAllowed('b0', 'pause')));
extra.push(bench('one string back (drainEventsJson, no events)', n * 10, () => m.drainEventsJson()));
m.free();

let native;
try {
  const out = process.env.QJOB_BENCH_NATIVE
    ? execFileSync(process.env.QJOB_BENCH_NATIVE, [String(n)], { encoding: 'utf8' })
    : execFileSync('cargo', ['run', '-q', '--release', '-p', 'qjob-wasm', '--example', 'bench_native', '--', String(n)],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  native = new Map(out.trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.name, r]));
} catch (e) {
  console.error(`native benchmark unavailable: ${e.message}`);
}

const fmt = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
console.log(`qjob lifecycle benchmark (node ${process.version}, ${n} iterations)`);
console.log('| workload | WASM (node) | native | WASM / native |');
console.log('|---|---|---|---|');
let worst = 0;
for (const r of results) {
  const nat = native?.get(r.name);
  const ratio = nat ? r.ns_per_iter / nat.ns_per_iter : NaN;
  if (ratio > worst) worst = ratio;
  console.log(`| ${r.name} | ${fmt(r.ns_per_iter)} | ${nat ? fmt(nat.ns_per_iter) : '–'} | ${nat ? ratio.toFixed(2) + '×' : '–'} |`);
}
for (const r of extra) console.log(`| ${r.name} (not compared) | ${fmt(r.ns_per_iter)} | – | – |`);
const wasm = path.join(here, '..', 'pkg-node', 'qjob_wasm_bg.wasm');
const size = statSync(wasm).size;
const gz = gzipSync(readFileSync(wasm), { level: 9 }).length;
console.log(`\n.wasm: ${size} bytes (${(size / 1024).toFixed(1)} KiB), gzip -9: ${gz} bytes (${(gz / 1024).toFixed(1)} KiB)`);
if (native) console.log(`worst WASM/native ratio: ${worst.toFixed(2)}× (goal ≤ 2×)`);
