// Where the time of one benchmark workload goes, driven from JavaScript through the binding
// (bench/workloads.mjs), on the module built by `build.sh --profile` (function names kept):
// a CPU profile taken through node:inspector, printed as the share of samples by function,
// self time and inclusive time.
//   node bench/profile.mjs ["pause + resume pair, settle, events as JSON text"] [ITERATIONS]
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bindingWorkloads } from './workloads.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const modulePath = path.join(here, '..', '..', 'target', 'qjob-wasm-profile', 'node', 'qjob_wasm.js');
if (!existsSync(modulePath)) {
  console.error(`no ${modulePath}: \`bash bindings-wasm/build.sh --profile\` builds it`);
  process.exit(2);
}
const q = require(modulePath);
const name = process.argv[2] ?? 'backup lifecycle, typed, events as JSON text';
const workload = bindingWorkloads(q, Number(process.argv[3] ?? 200000)).find(([w]) => w === name);
if (!workload) {
  console.error(`no workload '${name}'; one of: ${bindingWorkloads(q, 1).map(([w]) => `'${w}'`).join(', ')}`);
  process.exit(2);
}
const [, iterations, setup] = workload;
const [m, run] = setup();
run(Math.max(1, Math.floor(iterations / 10))); // warm-up

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 50 });
await session.post('Profiler.start');
const t0 = process.hrtime.bigint();
run(iterations);
const ns = Number(process.hrtime.bigint() - t0) / iterations;
const { profile } = await session.post('Profiler.stop');
session.disconnect();
m.free();

// Samples → self time per node; inclusive time counts a function once per stack.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => {
  const f = n.callFrame;
  const fn = (f.functionName || '(anonymous)').replace(/::h[0-9a-f]{16}$/, '');
  if (!f.url) return fn;
  // WebAssembly frames: the module's name; JavaScript frames: file and line.
  const file = f.url.endsWith('.js') || f.url.endsWith('.mjs')
    ? `${path.basename(f.url)}:${f.lineNumber + 1}` : path.basename(f.url).replace(/-[0-9a-f]+$/, '');
  return `${fn}  [${file}]`;
};
const selfT = new Map();
const inclT = new Map();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  const id = profile.samples[i];
  const leaf = label(byId.get(id));
  if (leaf === '(idle)' || leaf === '(program)') continue;
  total += dt;
  selfT.set(leaf, (selfT.get(leaf) ?? 0) + dt);
  const seen = new Set();
  for (let x = id; x !== undefined; x = parent.get(x)) {
    const l = label(byId.get(x));
    if (l === '(root)' || seen.has(l)) continue;
    seen.add(l);
    inclT.set(l, (inclT.get(l) ?? 0) + dt);
  }
}
const top = (map, k) => [...map].sort((a, b) => b[1] - a[1]).slice(0, k)
  .map(([l, t]) => `${(100 * t / total).toFixed(1).padStart(5)}%  ${l.slice(0, 140)}`).join('\n');
console.log(`${name}: ${ns.toFixed(0)} ns per iteration (${iterations} iterations, under the profiler)`);
console.log(`\nself time:\n${top(selfT, 25)}`);
console.log(`\ninclusive time:\n${top(inclT, 25)}`);
