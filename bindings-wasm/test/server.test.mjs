// @ts-check
// `make run` (serve.sh, web/server.mjs) on a port it cannot use says what is wrong and how to
// pick another, in one line and without a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from '../web/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const serverScript = path.join(here, '..', 'web', 'server.mjs');
const serveSh = path.join(here, '..', 'serve.sh');

/** Runs a command; its exit status and standard error. @param {string} cmd @param {string[]} args */
function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}
const oneLine = (/** @type {string} */ text) => {
  assert.equal(text.trim().split('\n').length, 1, text);
  assert.doesNotMatch(text, /\n\s+at |node:internal|Error:/, text);
};

test('a busy port: what is wrong and how to pick another, no stack trace', async () => {
  const { server, url } = await start(0);
  const port = new URL(url).port;
  try {
    for (const [cmd, args, env] of /** @type {[string, string[], Record<string, string>][]} */ ([
      [process.execPath, [serverScript, port], {}],
      [process.execPath, [serverScript], { PORT: port }],
      ['bash', [serveSh], { PORT: port }],
    ])) {
      const r = run(cmd, args, env);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`port ${port} of 127\\.0\\.0\\.1 is in use.*PORT=8081 make run`));
      oneLine(r.stderr);
    }
  } finally {
    server.close();
  }
});

test('a malformed port: the same, exit status 2, before anything is built', () => {
  for (const bad of ['abc', '70000', '-1', '80.5']) {
    for (const [cmd, args] of [[process.execPath, [serverScript, bad]], ['bash', [serveSh, bad]]]) {
      const r = run(/** @type {string} */ (cmd), /** @type {string[]} */ (args));
      assert.equal(r.status, 2, `${cmd} ${bad}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^qjob simulator: PORT must be a number from 0 to 65535, not '${bad.replace('.', '\\.')}': pick another with PORT=8081 make run`));
      oneLine(r.stderr);
    }
  }
});

test('--check on a free port says nothing and succeeds', () => {
  const r = run(process.execPath, [serverScript, '--check', '0']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr + r.stdout, '');
});
