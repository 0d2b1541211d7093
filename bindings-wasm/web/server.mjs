// The simulator's static server: serves bindings-wasm/ (the page in web/, the module in
// pkg-web/) and the scenario corpus (scenarios/, with /scenarios/index.json) on 127.0.0.1.
// Usage: node web/server.mjs [PORT]   (PORT 0 or none: $PORT, else 8080)
// As a module: `const { server, url } = await start(0)` (what the e2e test does).
import http from 'node:http';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgRoot = path.resolve(here, '..');
const scenarioDir = path.resolve(pkgRoot, '..', 'scenarios');
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.scn': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.ts': 'text/plain; charset=utf-8',
};
const SERVED = ['web', 'pkg-web', 'js'];

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
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

function send(res, code, type, body) {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** Starts the server on 127.0.0.1:`port` (0: any free port). */
export function start(port = 0) {
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, 'text/plain', 'error'));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${server.address().port}/` });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
  const { url } = await start(port);
  console.log(`qjob simulator: ${url}  (Ctrl-C to stop)`);
}
