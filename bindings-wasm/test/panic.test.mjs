// @ts-check
// A panic inside the module reaches JavaScript as an Error carrying its message, not as
// `RuntimeError: unreachable`. No input of a release build panics on purpose, so this runs the
// debug build (`build.sh --debug`, which ci.sh makes), whose `debugPanic` export panics, through
// the same guard the package's entry points use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { guard } from '../js/guard.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const debugGlue = path.resolve(here, '..', '..', 'target', 'qjob-wasm-debug', 'node', 'qjob_wasm.js');
const missing = !existsSync(debugGlue) && `no debug build at ${debugGlue} (bash build.sh --debug)`;

test('a panic is an Error named QjobPanic with the panic message, every time', { skip: missing }, () => {
  const glue = createRequire(import.meta.url)(debugGlue);
  // Unguarded, the panic is a bare trap: what the guard is for.
  assert.throws(() => glue.debugPanic('raw'), (e) => e instanceof WebAssembly.RuntimeError && /unreachable/.test(String(e)));
  assert.match(glue.takePanicMessage(), /panicked at .*: raw$/);
  assert.equal(glue.takePanicMessage(), undefined);

  const q = guard(glue);
  const m = new q.JobManager();
  for (const text of ['first', 'second']) {
    assert.throws(() => q.debugPanic(text), (e) => {
      assert.ok(e instanceof Error && !(e instanceof WebAssembly.RuntimeError), String(e));
      assert.equal(e.name, 'QjobPanic');
      assert.match(e.message, new RegExp(`^qjob panicked at bindings-wasm/src/lib\\.rs:\\d+:\\d+: ${text}$`));
      assert.ok(e.cause instanceof WebAssembly.RuntimeError);
      return true;
    });
  }
  // Other objects go on working after a panic; errors that are not panics pass unchanged.
  m.blockdevBackup({ 'job-id': 'b0', device: 'src', target: 'dst', sync: 'full' });
  m.settle();
  assert.deepEqual(m.queryJobs(), []);
  assert.throws(() => m.jobPause('b0'), (e) => e instanceof Error && e.name === 'QmpError');
  assert.throws(() => m.advance(-1), TypeError);
  // Guarding is idempotent and keeps the classes' identity.
  assert.ok(m instanceof glue.JobManager);
  assert.equal(guard(glue).JobManager.prototype.jobPause, glue.JobManager.prototype.jobPause);
});
