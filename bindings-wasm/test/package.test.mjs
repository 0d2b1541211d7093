// @ts-check
// The npm package as a user gets it: `npm pack` after the build, installed into a fresh
// directory with no registry (--offline: the package has no dependencies), then used from
// CommonJS (`require`), from an ES module (`import`), through its `qjob-replay` command, and
// from TypeScript through its types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as q from '../js/node.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.resolve(here, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('npm pack makes a package that installs offline and works from a fresh directory', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'qjob-pack-'));
  try {
    const env = { ...process.env, npm_config_cache: path.join(tmp, 'cache'), npm_config_update_notifier: 'false' };
    const [packed] = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', tmp],
      { cwd: pkgDir, encoding: 'utf8', env }));
    /** @type {string[]} */
    const files = packed.files.map((/** @type {{path: string}} */ f) => f.path).sort();
    for (const f of ['package.json', 'README.md', 'js/node.mjs', 'js/web.mjs', 'js/guard.mjs', 'js/qjob.d.ts',
      'js/node.d.mts', 'js/web.d.mts', 'bin/replay.js', 'pkg-node/qjob_wasm.js', 'pkg-node/qjob_wasm_bg.wasm',
      'pkg-web/qjob_wasm.js', 'pkg-web/qjob_wasm_bg.wasm']) {
      assert.ok(files.includes(f), `the package holds ${f}`);
    }
    assert.deepEqual(files.filter((f) => /^(test|web|src|bench)\//.test(f)), [], 'no tests or sources');

    const app = path.join(tmp, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', path.join(tmp, packed.filename)],
      { cwd: app, encoding: 'utf8', env });
    const node = (/** @type {string[]} */ ...args) => execFileSync(process.execPath, args, { cwd: app, encoding: 'utf8' });
    const lifecycle = `
      const m = new JobManager();
      m.blockdevBackup({ 'job-id': 'b0', device: 'src', target: 'dst', sync: 'full' });
      m.settle();
      const s = m.drainEvents().filter((e) => e.event === 'JOB_STATUS_CHANGE').map((e) => e.data.status);
      let refused = ''; try { m.jobPause(5); } catch (e) { refused = e.constructor.name + ': ' + e.message; }
      console.log(JSON.stringify([s.at(-1), m.queryJobs().length, refused]));`;
    const want = JSON.stringify(['null', 0, 'TypeError: id must be a string']);
    assert.equal(node('-e', `const { JobManager } = require('qjob-wasm');${lifecycle}`).trim(), want);
    assert.equal(node('--input-type=module', '-e', `import { JobManager } from 'qjob-wasm';${lifecycle}`).trim(), want);

    const scenario = path.resolve(pkgDir, '..', 'scenarios', 'backup-basic.scn');
    const replayed = execFileSync(path.join(app, 'node_modules', '.bin', 'qjob-replay'), [scenario], { encoding: 'utf8' });
    assert.equal(replayed, q.replay(readFileSync(scenario, 'utf8')));

    // TypeScript sees the package's types (a misuse is a compile error).
    writeFileSync(path.join(app, 'use.ts'), [
      "import { JobManager, type JobInfo } from 'qjob-wasm';",
      'const m = new JobManager({ world: "empty" });',
      'const jobs: JobInfo[] = m.queryJobs();',
      'console.log(jobs.length, m.namedNodes().length);',
      '// @ts-expect-error: an ID is a string',
      'm.jobPause(5);',
    ].join('\n'));
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: {
      strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
      lib: ['es2022', 'dom'], types: [] }, files: ['use.ts'] }));
    execFileSync(process.execPath, [path.join(pkgDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app],
      { cwd: app, encoding: 'utf8' });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
