// @ts-check
// The simulator's static server: serves bindings-wasm/ (the page in web/, the entry points in
// js/, the module in pkg-web/) and the scenario corpus (scenarios/, with /scenarios/index.json)
// on 127.0.0.1.
// Usage: node web/server.mjs [PORT]   (none: $PORT, else 8080; 0: any free port)
//        node web/server.mjs --check [PORT]   (only says whether the port can be used)
// A port that is malformed, busy or not allowed is said in one line, with how to pick another
// (no stack trace), and the exit status is 2 (malformed) or 1.
// As a module: `const { server, url } = await start(0)` (what the e2e test does).
import http from 'node:http';
import { readFile, readdir } from 'node:fs/promises';
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
  try {
    const body = await readFile(file);
    send(res, 200, TYPES[path.extname(file)] || 'application/octet-stream', body);
  } catch {
    send(res, 404, 'text/plain', 'not found');
  }
}

/** @param {http.ServerResponse} res @param {number} code @param {string} type @param {string | Buffer} body */
function send(res, code, type, body) {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
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
 * PortError saying why and how to pick another.
 * @param {number} port @returns {Promise<{server: http.Server, url: string}>}
 */
export function start(port = 0) {
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
    const { server, url } = await start(parsePort(text));
    if (check) server.close();
    else console.log(`qjob simulator: ${url}  (Ctrl-C to stop)`);
  } catch (e) {
    if (!(e instanceof PortError)) throw e;
    console.error(e.message.startsWith('qjob simulator: ') ? e.message : `qjob simulator: ${e.message}`);
    process.exitCode = e.status;
  }
}
