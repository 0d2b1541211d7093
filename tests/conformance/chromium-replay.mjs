#!/usr/bin/env node
// The Chromium scenario replayer of the conformance run: `node chromium-replay.mjs
// [--qemu 7.2|10.0] SCENARIO...` loads bindings-wasm's web build (pkg-web) into a page of
// Debian's headless Chromium (driven by bindings-wasm's playwright-core, no browser
// download), replays every scenario there with the module's `replay` (reproducing QEMU 7.2,
// or the version --qemu names), and prints the transcripts in the format of the other
// replayers (with several files, each preceded by a `# FILE` line). $QJOB_CHROMIUM
// overrides the browser path.
import { createServer } from 'node:http';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.resolve(here, '..', '..', 'bindings-wasm');
const require = createRequire(path.join(wasmDir, 'package.json'));
const { chromium } = require('playwright-core');

const USAGE =
  'usage: replay [--qemu 7.2|10.0] SCENARIO...\n\nReplays each scenario (format: scenarios/README.md) ' +
  'through qjob in headless Chromium, reproducing QEMU 7.2 or the version given, and prints its transcript.\n';
const files = process.argv.slice(2);
if (files.some((f) => f === '-h' || f === '--help')) {
  process.stderr.write(USAGE);
  process.exit(0);
}
let qemu = '7.2';
const at = files.indexOf('--qemu');
if (at >= 0) {
  qemu = files[at + 1];
  if (qemu !== '7.2' && qemu !== '10.0') {
    process.stderr.write(`replay: --qemu takes 7.2 or 10.0\n${USAGE}`);
    process.exit(2);
  }
  files.splice(at, 2);
}
if (files.length === 0) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const texts = files.map((f) => readFileSync(f, 'utf8'));

const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>qjob conformance</title>');
    return;
  }
  const p = path.join(wasmDir, 'pkg-web', path.basename(url.pathname));
  try {
    const body = readFileSync(p);
    res.writeHead(200, { 'content-type': types[path.extname(p)] || 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

const profile = mkdtempSync(path.join(tmpdir(), 'qjob-conformance-'));
let status = 0;
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.QJOB_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`http://127.0.0.1:${port}/`);
  const results = await page.evaluate(async ({ texts, qemu }) => {
    const m = await import('/qjob_wasm.js');
    await m.default();
    return texts.map((t) => {
      try {
        return { ok: m.replay(t, { qemu }) };
      } catch (e) {
        return { err: String(e && e.message ? e.message : e) };
      }
    });
  }, { texts, qemu });
  const ua = await page.evaluate(() => navigator.userAgent);
  process.stderr.write(`chromium-replay: ${files.length} scenario(s) in ${ua}\n`);
  files.forEach((f, i) => {
    if (files.length > 1) process.stdout.write(`# ${f}\n`);
    if ('ok' in results[i]) process.stdout.write(results[i].ok);
    else {
      process.stderr.write(`replay: ${f}: ${results[i].err}\n`);
      status = 1;
    }
  });
} finally {
  await context?.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exitCode = status;
