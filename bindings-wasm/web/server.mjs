// @ts-check
// The simulator's static server: serves bindings-wasm/ (the page in web/, the entry points in
// js/, the module in pkg-web/) and the scenario corpus (scenarios/, with /scenarios/index.json)
// on 127.0.0.1. Files go out compressed as the browser's Accept-Encoding allows: brotli
// (quality 11) when it takes `br`, else gzip (-9), else as they are; each file is compressed
// once per server run (the module's compression starts as the server does).
// Usage: node web/server.mjs [PORT]   (none: $PORT, else 8080; 0: any free port)
//        node web/server.mjs --check [PORT]   (only says whether the port can be used)
// A port that is malformed, busy or not allowed is said in one line, with how to pick another
// (no stack trace), and the exit status is 2 (malformed) or 1.
// As a module: `const { server, url } = await start(0)` (what the e2e test does).
import http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgRoot = path.resolve(here, '..');
const scenarioDir = path.resolve(pkgRoot, '..', 'scenarios');
/** @type {Record<string, string>} */
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.scn': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.ts': 'text/plain; charset=utf-8',
};
const SERVED = ['web', 'pkg-web', 'js'];
const HOW = 'pick another with PORT=8081 make run (or bash bindings-wasm/serve.sh 8081; 0 picks any free port)';

/** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
async function handle(req, res) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  let p = decodeURIComponent(url.pathname);
  if (p === '/' || p === '/index.html' || p === '/web') {
    res.writeHead(302, { location: '/web/' });
    return res.end();
  }
  if (p.endsWith('/')) p += 'index.html';
  if (p === '/scenarios/index.json') {
    const names = (await readdir(scenarioDir)).filter((f) => f.endsWith('.scn')).sort();
    return send(res, 200, TYPES['.json'], JSON.stringify(names));
  }
  let file;
  if (p.startsWith('/scenarios/')) file = path.join(scenarioDir, path.basename(p));
  else {
    const rel = path.normalize(p).replace(/^[/\\]+/, '');
    if (!SERVED.some((d) => rel.startsWith(d + path.sep))) return send(res, 404, 'text/plain', 'not found');
    file = path.join(pkgRoot, rel);
  }
  const encoding = negotiate(req.headers['accept-encoding']);
  let body;
  try {
    body = encoding === 'identity' ? await readFile(file) : await compressedFile(file, encoding);
  } catch {
    return send(res, 404, 'text/plain', 'not found');
  }
  send(res, 200, TYPES[path.extname(file)] || 'application/octet-stream', body, encoding);
}

/**
 * @param {http.ServerResponse} res @param {number} code @param {string} type
 * @param {string | Buffer} body @param {Encoding} [encoding]
 */
function send(res, code, type, body, encoding = 'identity') {
  /** @type {http.OutgoingHttpHeaders} */
  const headers = { 'content-type': type, 'cache-control': 'no-store', vary: 'Accept-Encoding' };
  if (encoding !== 'identity') headers['content-encoding'] = encoding;
  res.writeHead(code, headers);
  res.end(body);
}

/** @typedef {'br' | 'gzip' | 'identity'} Encoding */

/**
 * The encoding to answer an Accept-Encoding header with: `br` when accepted, else `gzip`,
 * else `identity` (a coding with `q=0` is refused; `*` accepts both).
 * @param {string | undefined} header @returns {Encoding}
 */
export function negotiate(header) {
  /** @type {Map<string, number>} */
  const q = new Map();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    q.set(name, qp === undefined ? 1 : Number(qp.slice(2)) || 0);
  }
  /** @param {string} coding */
  const accepted = (coding) => (q.get(coding) ?? q.get('*') ?? 0) > 0;
  if (accepted('br')) return 'br';
  if (accepted('gzip')) return 'gzip';
  return 'identity';
}

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/**
 * `body` compressed as the server sends it (brotli at quality 11, gzip at level 9).
 * @param {Buffer} body @param {'br' | 'gzip'} encoding @returns {Promise<Buffer>}
 */
export function compress(body, encoding) {
  return encoding === 'br'
    ? brotli(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : gzip(body, { level: 9 });
}

/** Compressed files by encoding, path, size and time (a rebuilt file is compressed again). */
/** @type {Map<string, Promise<Buffer>>} */
const cache = new Map();

/** @param {string} file @param {'br' | 'gzip'} encoding @returns {Promise<Buffer>} */
async function compressedFile(file, encoding) {
  const st = await stat(file);
  const key = `${encoding} ${file} ${st.size} ${st.mtimeMs}`;
  let body = cache.get(key);
  if (body === undefined) {
    body = readFile(file).then((b) => compress(b, encoding));
    cache.set(key, body);
    body.catch(() => cache.delete(key));
  }
  return body;
}

/** The module, compressed both ways ahead of the first request (in zlib's thread pool). */
function warm() {
  const wasm = path.join(pkgRoot, 'pkg-web', 'qjob_wasm_bg.wasm');
  for (const encoding of /** @type {const} */ (['br', 'gzip'])) compressedFile(wasm, encoding).catch(() => {});
}

/**
 * The port a command-line or environment text names: an integer from 0 to 65535.
 * @param {string} text @returns {number}
 */
export function parsePort(text) {
  if (!/^\d{1,5}$/.test(text.trim()) || Number(text) > 65535) {
    throw new PortError(`PORT must be a number from 0 to 65535, not '${text}': ${HOW}`, 2);
  }
  return Number(text);
}

/** A port that cannot be used, said in one line. */
export class PortError extends Error {
  /** @param {string} message @param {number} status the exit status */
  constructor(message, status) {
    super(message);
    this.name = 'PortError';
    this.status = status;
  }
}

/**
 * Starts the server on 127.0.0.1:`port` (0: any free port). A port that cannot be used is a
 * PortError saying why and how to pick another. With `compressAhead` (the default), the module
 * starts being compressed at once, so that the page's first request for it does not wait long.
 * @param {number} port @param {{compressAhead?: boolean}} [options] @returns {Promise<{server: http.Server, url: string}>}
 */
export function start(port = 0, { compressAhead = true } = {}) {
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, 'text/plain', 'error'));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (/** @type {NodeJS.ErrnoException} */ e) => {
      const where = `port ${port} of 127.0.0.1`;
      const why = {
        EADDRINUSE: `${where} is in use (another server, or another make run?)`,
        EACCES: `${where} is not allowed to this user (ports below 1024 need privileges)`,
      }[e.code ?? ''] ?? `cannot listen on ${where}: ${e.message}`;
      reject(new PortError(`qjob simulator: ${why}; ${HOW}`, 1));
    });
    server.listen(port, '127.0.0.1', () => {
      if (compressAhead) warm();
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      resolve({ server, url: `http://127.0.0.1:${actual}/` });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const check = args[0] === '--check';
  const text = (check ? args[1] : args[0]) || process.env.PORT || '8080';
  try {
    const { server, url } = await start(parsePort(text), { compressAhead: !check });
    if (check) server.close();
    else console.log(`qjob simulator: ${url}  (Ctrl-C to stop)`);
  } catch (e) {
    if (!(e instanceof PortError)) throw e;
    console.error(e.message.startsWith('qjob simulator: ') ? e.message : `qjob simulator: ${e.message}`);
    process.exitCode = e.status;
  }
}
