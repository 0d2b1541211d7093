// @ts-check
// `make run` (serve.sh, web/server.mjs) on a port it cannot use says what is wrong and how to
// pick another, in one line and without a stack trace; it sends files compressed as the browser
// accepts them.
import { test } from 'node:test';
import http from 'node:http';
import zlib from 'node:zlib';
import { readFileSync, statSync } from 'node:fs';
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

/** GET `url` with `headers`: status, headers and the raw (undecoded) body. @param {string} url @param {Record<string, string>} headers */
function get(url, headers) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

test('the module is sent compressed as Accept-Encoding allows, and decodes to the module', async () => {
  const { server, url } = await start(0);
  const wasm = readFileSync(path.join(here, '..', 'pkg-web', 'qjob_wasm_bg.wasm'));
  /** @type {[string | undefined, string | undefined, (b: Buffer) => Buffer][]} */
  const cases = [
    ['gzip, deflate, br, zstd', 'br', zlib.brotliDecompressSync],
    ['gzip', 'gzip', zlib.gunzipSync],
    ['br;q=0, gzip;q=0.5', 'gzip', zlib.gunzipSync],
    ['*', 'br', zlib.brotliDecompressSync],
    ['identity', undefined, (b) => b],
    [undefined, undefined, (b) => b],
  ];
  try {
    for (const [accept, encoding, decode] of cases) {
      const r = /** @type {{status: number, headers: http.IncomingHttpHeaders, body: Buffer}} */ (
        await get(`${url}pkg-web/qjob_wasm_bg.wasm`, accept === undefined ? {} : { 'accept-encoding': accept }));
      assert.equal(r.status, 200, String(accept));
      assert.equal(r.headers['content-type'], 'application/wasm');
      assert.equal(r.headers['content-encoding'], encoding, String(accept));
      assert.match(String(r.headers.vary), /Accept-Encoding/);
      if (encoding !== undefined) assert.ok(r.body.length < wasm.length * 0.6, `${encoding}: ${r.body.length} of ${wasm.length}`);
      assert.ok(decode(r.body).equals(wasm), String(accept));
    }
    // Text files too.
    const page = /** @type {{headers: http.IncomingHttpHeaders, body: Buffer}} */ (await get(`${url}web/index.html`, { 'accept-encoding': 'gzip' }));
    assert.equal(page.headers['content-encoding'], 'gzip');
    assert.match(zlib.gunzipSync(page.body).toString(), /<html/i);
  } finally {
    server.close();
  }
});

test('the browser build is the one built for size', () => {
  // pkg-web (opt-level "z", wasm-opt -Oz) is the smaller of the two modules of the same code.
  const size = (/** @type {string} */ pkg) => statSync(path.join(here, '..', pkg, 'qjob_wasm_bg.wasm')).size;
  assert.ok(size('pkg-web') < size('pkg-node') * 0.8, `pkg-web ${size('pkg-web')}, pkg-node ${size('pkg-node')}`);
});
