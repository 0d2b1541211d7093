// A/B of two `bench` modules inside WebAssembly (no JS boundary crossed): each round runs every
// workload of src/workloads.rs on module A, then on module B, and the figures are each side's
// fastest round (on a shared VM another tenant only adds time) with the medians beside them.
// For a build change: `bash build.sh --bench`, copy target/qjob-wasm-bench/node aside, change
// the build, `bash build.sh --bench` again, then
//   node bench/ab.mjs DIR_A DIR_B [ITERATIONS (5000)] [ROUNDS (25)]
// (the pair runs ten times as many iterations).
import { createRequire } from 'node:module';
import path from 'node:path';
import { bindingWorkloads } from './workloads.mjs';

const require = createRequire(import.meta.url);
const [dirA, dirB] = process.argv.slice(2, 4);
if (!dirA || !dirB) {
  console.error('usage: node bench/ab.mjs DIR_A DIR_B [ITERATIONS] [ROUNDS]');
  process.exit(2);
}
const modules = [dirA, dirB].map((d) => require(path.resolve(d, 'qjob_wasm.js')));
const n = Number(process.argv[4] ?? 5000);
const rounds = Number(process.argv[5] ?? 25);
// The workloads' names as bench.mjs has them (the same as src/workloads.rs's NAMES).
const names = bindingWorkloads(modules[0], 1).map(([name]) => name);

function time(iterations, f) {
  f(Math.max(1, Math.floor(iterations / 10))); // warm-up
  const t0 = process.hrtime.bigint();
  f(iterations);
  return Number(process.hrtime.bigint() - t0) / iterations;
}

const samples = new Map(names.map((name) => [name, [[], []]]));
for (let r = 0; r < rounds; r++) {
  for (const name of names) {
    const iterations = name.startsWith('pause') ? n * 10 : n;
    modules.forEach((q, side) => {
      const w = new q.BenchWorkload(name);
      samples.get(name)[side].push(time(iterations, (k) => w.run(k)));
      w.free();
    });
  }
}
const min = (xs) => Math.min(...xs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`A: ${dirA}\nB: ${dirB}\n(${rounds} rounds; ns per iteration)`);
console.log('| workload | A fastest | B fastest | B / A fastest | B / A medians |');
console.log('|---|---|---|---|---|');
for (const name of names) {
  const [a, b] = samples.get(name);
  console.log(`| ${name} | ${min(a).toFixed(1)} | ${min(b).toFixed(1)} | ${(min(b) / min(a)).toFixed(3)} | ${(median(b) / median(a)).toFixed(3)} |`);
}
