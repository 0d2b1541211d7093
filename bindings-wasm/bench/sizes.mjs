// @ts-check
// The sizes of a file as it lies and as the simulator's server sends it (web/server.mjs:
// gzip -9, brotli at quality 11): `node bench/sizes.mjs FILE` prints one line,
// `node bench/sizes.mjs --row LABEL FILE` a Markdown table row (bytes, KiB, gzip KiB, brotli KiB).
import { readFileSync } from 'node:fs';
import { compress } from '../web/server.mjs';

const args = process.argv.slice(2);
const row = args[0] === '--row';
const [label, file] = row ? [args[1], args[2]] : ['', args[0]];
const body = readFileSync(file);
const [gz, br] = [(await compress(body, 'gzip')).length, (await compress(body, 'br')).length];
const kib = (/** @type {number} */ n) => (n / 1024).toFixed(1);
console.log(row
  ? `| ${label} | ${body.length} | ${kib(body.length)} KiB | ${kib(gz)} KiB | ${kib(br)} KiB |`
  : `${body.length} bytes (${kib(body.length)} KiB), gzip -9: ${gz} bytes (${kib(gz)} KiB), brotli: ${br} bytes (${kib(br)} KiB)`);
