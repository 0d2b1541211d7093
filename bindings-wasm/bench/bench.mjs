// The WASM benchmark: the workloads of src/workloads.rs three ways —
//   * through the binding: the package's node entry point (js/node.mjs, guard and argument
//     checks included), driven from JavaScript as a user drives it;
//   * inside the module: the same Rust workload code compiled to WebAssembly, no JS boundary
//     crossed (the `BenchWorkload` class of `build.sh --bench`);
//   * natively: examples/bench_native.rs, the same Rust workload code,
// all three built alike (cargo profile `wasm`: opt-level 3, LTO, one codegen unit,
// panic=abort; and the rustflags of bindings-wasm/speed-rustflags), each for its target's vector
// baseline: the module with WebAssembly's 128-bit SIMD (build.sh), native code with x86-64's
// SSE2. Each workload writes its events as QMP JSON text (`drainEventsJson`), so these are the
// binding's workloads, not the core's typed lifecycle of the README's Performance table
// (core/benches/figures.rs). Each round runs all three one after the other; the figures are the
// medians over the rounds (a shared machine drifts: pairing the runs in time keeps the ratios
// steady), with the ratios of each side's fastest round beside them (interference only adds
// time). Then the sizes of both modules: node's (built for speed) and the browser's (built for
// size), as the simulator's server sends it (brotli, or gzip).
// `node bench/bench.mjs [ITERATIONS]` ($QJOB_BENCH_ROUNDS rounds, 5 by default); `bench/run.sh`
// builds what it needs first. $QJOB_BENCH_NATIVE names the native binary (else it is built).
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as q from '../js/node.mjs';
import { compress } from '../web/server.mjs';
import { bindingWorkloads, held as heldIn, backupArgs as args } from './workloads.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const insideModule = path.join(root, 'target', 'qjob-wasm-bench', 'node', 'qjob_wasm.js');
const inside = existsSync(insideModule) ? require(insideModule) : null;
const n = Number(process.argv[2] ?? 20000);
const rounds = Number(process.env.QJOB_BENCH_ROUNDS ?? 5);

function time(iterations, f) {
  f(Math.max(1, Math.floor(iterations / 10))); // warm-up
  const t0 = process.hrtime.bigint();
  f(iterations);
  return Number(process.hrtime.bigint() - t0) / iterations;
}

const workloads = bindingWorkloads(q, n);

let nativeBin = process.env.QJOB_BENCH_NATIVE;
if (!nativeBin) {
  // As bench/run.sh builds it: the module's profile and speed-rustflags.
  const rustflags = readFileSync(path.join(here, '..', 'speed-rustflags'), 'utf8').trim();
  execFileSync('cargo', ['build', '-q', '--profile', 'wasm', '-p', 'qjob-wasm', '--example', 'bench_native',
    '--target-dir', path.join(root, 'target', 'bench-native')],
  { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, RUSTFLAGS: rustflags } });
  nativeBin = path.join(root, 'target', 'bench-native', 'wasm', 'examples', 'bench_native');
}

const samples = new Map(workloads.map(([name]) => [name, { binding: [], inside: [], native: [] }]));
for (let r = 0; r < rounds; r++) {
  for (const [name, iterations, setup] of workloads) {
    const [m, run] = setup();
    samples.get(name).binding.push(time(iterations, run));
    m.free();
    if (inside) {
      const w = new inside.BenchWorkload(name);
      samples.get(name).inside.push(time(iterations, (k) => w.run(k)));
      w.free();
    }
  }
  const out = execFileSync(nativeBin, [String(n)], { encoding: 'utf8' });
  for (const r of out.trim().split('\n').map((l) => JSON.parse(l))) samples.get(r.name)?.native.push(r.ns_per_iter);
}

// Informative, measured once: events as JS objects (one JSON.parse per drain), and the
// fixed price of crossing the boundary.
const extra = [];
{
  const m = new q.JobManager();
  extra.push(['backup lifecycle, typed, events as JS objects',
    time(n, (k) => { for (let i = 0; i < k; i++) { m.blockdevBackup(args); m.settle(); m.drainEvents(); } })]);
  m.free();
  const h = heldIn(q);
  extra.push(['pause + resume pair, settle, events as JS objects',
    time(n * 10, (k) => { for (let i = 0; i < k; i++) { h.jobPause('b0'); h.jobResume('b0'); h.settle(); h.drainEvents(); } })]);
  extra.push(['one call with two string arguments (verbAllowed)',
    time(n * 10, (k) => { for (let i = 0; i < k; i++) h.verbAllowed('b0', 'pause'); })]);
  extra.push(['one string back (drainEventsJson, no events)',
    time(n * 10, (k) => { for (let i = 0; i < k; i++) h.drainEventsJson(); })]);
  extra.push(['one call, number back (now)', time(n * 10, (k) => { for (let i = 0; i < k; i++) h.now(); })]);
  h.free();
}

const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ns) => (Number.isNaN(ns) ? '–' : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const ratio = (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? '–' : `${(a / b).toFixed(2)}×`);
console.log(`qjob WASM benchmark (node ${process.version}, ${n} iterations, the pair ${10 * n}, median and fastest of ${rounds} rounds;`);
console.log('all three built alike: cargo profile `wasm`, opt-level 3, LTO, one codegen unit, panic=abort, and bindings-wasm/speed-rustflags;');
console.log('each for its vector baseline: the module with WebAssembly\'s 128-bit SIMD, native code with x86-64\'s SSE2)');
// The last two columns compare each side's fastest round instead: on a shared VM another
// tenant only ever adds time, so the fastest rounds are the least disturbed ones.
console.log('| workload | WASM through the binding | WASM inside, no boundary | native | binding / native | inside / native | fastest rounds: binding / native | inside / native |');
console.log('|---|---|---|---|---|---|---|---|');
const ratios = new Map();
const fastest = new Map();
const min = (xs) => (xs.length === 0 ? NaN : Math.min(...xs));
for (const [name] of workloads) {
  const s = samples.get(name);
  const [b, i, nat] = [median(s.binding), median(s.inside), median(s.native)];
  const [bm, im, natm] = [min(s.binding), min(s.inside), min(s.native)];
  ratios.set(name, [b / nat, i / nat]);
  fastest.set(name, [bm / natm, im / natm]);
  console.log(`| ${name} | ${fmt(b)} | ${fmt(i)} | ${fmt(nat)} | ${ratio(b, nat)} | ${ratio(i, nat)} | ${ratio(bm, natm)} | ${ratio(im, natm)} |`);
}
for (const [name, ns] of extra) console.log(`| ${name} (not compared) | ${fmt(ns)} | | | | | | |`);
if (!inside) console.log(`\n(no ${path.relative(root, insideModule)}: \`bash bindings-wasm/build.sh --bench\` builds it)`);

const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
console.log('\n| module | bytes | brotli (sent to browsers that take it) | gzip -9 |');
console.log('|---|---|---|---|');
let wire = NaN;
for (const [pkg, what] of [['pkg-node', 'node (built for speed: opt-level 3, wasm-opt -O3)'],
  ['pkg-web', 'browser, the simulator\'s (built for size: opt-level z, wasm-opt -Oz)']]) {
  const body = readFileSync(path.join(here, '..', pkg, 'qjob_wasm_bg.wasm'));
  const [br, gz] = [(await compress(body, 'br')).length, (await compress(body, 'gzip')).length];
  if (pkg === 'pkg-web') wire = br;
  console.log(`| ${what} | ${body.length} (${kib(body.length)}) | ${br} (${kib(br)}) | ${gz} (${kib(gz)}) |`);
}

const worst = (m) => Math.max(...[...m.values()].map(([, i]) => i));
const textOf = (m) => m.get('backup lifecycle, QMP text, events as JSON text')?.[0] ?? NaN;
const verdict = (ok) => (ok ? 'met' : 'NOT met');
const both = (of, limit) => [['medians', ratios], ['fastest rounds', fastest]]
  .map(([what, m]) => `${what} ${of(m).toFixed(2)}×, ${verdict(of(m) <= limit)}`).join('; ');
console.log('\ngoals:');
console.log(`- inside WebAssembly ≤ 1.5× native (worst workload): ${inside ? both(worst, 1.5) : '–'}`);
console.log(`- QMP-text lifecycle through the binding ≤ 2× native: ${both(textOf, 2)}`);
console.log(`- browser module on the wire ≤ 150 KiB: ${kib(wire)} (brotli), ${verdict(wire <= 150 * 1024)}`);
