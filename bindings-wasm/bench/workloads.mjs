// The benchmark's workloads driven from JavaScript through the binding: each iteration as in
// src/workloads.rs, which runs them inside WebAssembly and natively. Shared by bench.mjs and
// profile.mjs. `bindingWorkloads(q, n)` → [[name, iterations, setup]], where
// `setup()` → [manager, run(k)] and the pair runs ten times as many iterations.
const args = { 'job-id': 'b0', device: 'src', target: 'dst', sync: 'full' };
const text = '{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full"}}';

/** A manager whose backup `b0` is held at speed 1 (running, for the pair). */
export function held(q) {
  const m = new q.JobManager();
  m.blockdevBackup({ ...args, speed: 1 });
  m.settle();
  m.drainEvents();
  return m;
}

export function bindingWorkloads(q, n) {
  return [
    ['backup lifecycle, typed, events as JSON text', n, () => {
      const m = new q.JobManager();
      return [m, (k) => { for (let i = 0; i < k; i++) { m.blockdevBackup(args); m.settle(); m.drainEventsJson(); } }];
    }],
    ['backup lifecycle, QMP text, events as JSON text', n, () => {
      const m = new q.JobManager();
      return [m, (k) => { for (let i = 0; i < k; i++) { m.executeJson(text); m.settle(); m.drainEventsJson(); } }];
    }],
    ['pause + resume pair, settle, events as JSON text', n * 10, () => {
      const m = held(q);
      return [m, (k) => { for (let i = 0; i < k; i++) { m.jobPause('b0'); m.jobResume('b0'); m.settle(); m.drainEventsJson(); } }];
    }],
  ];
}

export { args as backupArgs };
