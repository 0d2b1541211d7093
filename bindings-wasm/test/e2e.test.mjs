// @ts-check
// End-to-end tests of the simulator in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; no browser download). Drives jobs through their whole lives by
// clicking, checks the DOM at each step — refusals beside the control, reasons reachable by
// keyboard and touch, the state diagram's geometry, default forms, the QEMU version control and
// its snapshots, the side-by-side view of a scenario under QEMU 7.2 and 10.0, the phone-width
// layout by geometry — and saves screenshots at 1280×800 and at phone width under test-output/
// (git-ignored).
// $QJOB_CHROMIUM overrides the browser path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as q from '../js/node.mjs';
import { start } from '../web/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.join(here, '..', 'test-output', 'screenshots');
const executablePath = process.env.QJOB_CHROMIUM || '/usr/bin/chromium';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** @type {import('node:http').Server | undefined} */
let server;
let url = '';
/** @type {import('playwright-core').BrowserContext | undefined} */
let context;
/** @type {import('playwright-core').Page} */
let page;
let profile = '';
/** @type {string[]} */
const pageErrors = [];

before(async () => {
  mkdirSync(shots, { recursive: true });
  ({ server, url } = await start(0));
  profile = mkdtempSync(path.join(tmpdir(), 'qjob-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, viewport: DESKTOP, acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (msg) => { if (msg.type() === 'error') pageErrors.push(msg.text()); });
});

after(async () => {
  await context?.close();
  server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const shot = (/** @type {string} */ name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });
const card = (/** @type {string} */ id) => page.locator(`[data-job="${id}"]`);
const status = (/** @type {string} */ id) => card(id).locator('[data-role=status]').textContent();
const button = (/** @type {string} */ id, /** @type {string} */ label) => card(id).locator(`button[data-label="${label}"]`);
const text = async (/** @type {import('playwright-core').Locator} */ l) => (await l.textContent()) ?? '';

/** The verb buttons of a card: `true` for the ones QEMU's table allows, else the reason shown. */
async function buttons(/** @type {string} */ id) {
  return card(id).locator('button[data-verb]:visible').evaluateAll((bs) => Object.fromEntries(bs.map((b) => [
    /** @type {HTMLElement} */ (b).dataset.label,
    b.getAttribute('aria-disabled') === 'true' ? /** @type {HTMLElement} */ (b).dataset.why : true])));
}
const enabled = async (/** @type {string} */ id) => Object.entries(await buttons(id)).filter(([, v]) => v === true).map(([k]) => k).sort();
const eventsOf = (/** @type {string} */ id) => page.locator(`#events li[data-job="${id}"]`)
  .evaluateAll((ls) => ls.map((l) => JSON.parse(l.textContent ?? '')));
const statusEvents = async (/** @type {string} */ id) => (await eventsOf(id))
  .filter((e) => e.event === 'JOB_STATUS_CHANGE').map((e) => e.data.status);
const lastConsole = () => text(page.locator('#console-out li').last());

async function fresh(viewport = DESKTOP) {
  await page.setViewportSize(viewport);
  await page.goto(url);
  await page.waitForSelector('body[data-ready]', { state: 'attached', timeout: 10000 })
    .catch((e) => { throw new Error(`page did not start: ${pageErrors.join('; ')} ${e}`); });
  assert.equal(await page.locator('body').getAttribute('data-ready'), '1', pageErrors.join('; '));
}

/** Fills a creation form's fields (checkboxes with booleans). @param {string} form @param {Record<string, string | boolean>} values */
async function fill(form, values) {
  for (const [name, value] of Object.entries(values)) {
    const field = page.locator(`[data-form="${form}"] [name="${name}"]`);
    if (typeof value === 'boolean') await field.setChecked(value);
    else if (await field.evaluate((e) => e.tagName === 'SELECT')) await field.selectOption(value);
    else await field.fill(value);
  }
}
/** Adds empty null-co nodes through the World form. */
async function addNodes(/** @type {string[]} */ ...names) {
  for (const n of names) {
    await page.locator('#nullnode-form [name=node]').fill(n);
    await page.click('#nullnode-form button[type=submit]');
    assert.equal(await text(page.locator('#nullnode-form .result')), `added ${n}`);
  }
}
/** Clicks a verb the table refuses (aria-disabled, which a person can still click). */
const forceClick = (/** @type {import('playwright-core').Locator} */ l) => l.click({ force: true });
/**
 * The visible elements that stick out of the viewport sideways (beyond a clipping or scrolling
 * box, the box is what counts), as `tag#id.class` strings: none, at any width.
 */
const overflowing = () => page.evaluate(() => {
  const width = document.documentElement.clientWidth;
  /** @type {string[]} */
  const out = [];
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height || e.closest('.sr-only')) continue;
    let clipped = false;
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') { clipped = true; break; }
    }
    if (!clipped && (r.right > width + 0.5 || r.left < -0.5)) {
      out.push(`${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className && typeof e.className === 'string' ? `.${e.className.split(' ').join('.')}` : ''} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  return out;
});
const submit = (/** @type {string} */ form) => page.click(`[data-form="${form}"] button[type=submit]`);
const formResult = (/** @type {string} */ form) => text(page.locator(`[data-form="${form}"] .result`));

test('the page loads with no errors and shows the 11 statuses', async () => {
  const module = page.waitForResponse((r) => r.url().endsWith('/qjob_wasm_bg.wasm'));
  await fresh();
  // Chromium takes the module brotli-compressed (web/server.mjs; test/server.test.mjs checks the bytes).
  assert.equal(await (await module).headerValue('content-encoding'), 'br');
  assert.equal(await page.locator('#diagram [data-status]').count(), 11);
  assert.equal(await page.locator('#diagram [data-edge]').count(), 20);
  assert.equal(await text(page.locator('#clock')), '0.000 s');
  await shot('00-start');
  assert.deepEqual(pageErrors, []);
});

test('a backup through its whole life by clicking; refusals beside the card', async () => {
  await fresh();
  await fill('backup', { 'job-id': 'b1', speed: '1', 'auto-finalize': false, 'auto-dismiss': false });
  await submit('backup');
  assert.match(await formResult('backup'), /^Created b1\./);
  // Speed 1 B/s: the backup copies its first 1 MiB chunk and sleeps on the rate limiter.
  assert.equal(await status('b1'), 'running');
  assert.deepEqual(await enabled('b1'), ['cancel', 'pause', 'resume', 'soft cancel']);
  const b = await buttons('b1');
  assert.equal(b.finalize, "Job 'b1' in state 'running' cannot accept command verb 'finalize'");
  assert.equal(b.dismiss, "Job 'b1' in state 'running' cannot accept command verb 'dismiss'");
  assert.equal(b.complete, "Job 'b1' in state 'running' cannot accept command verb 'complete'");
  assert.match(await text(card('b1').locator('.facts')), /1 MiB \/ 64 MiB .*speed 1 B\/s/);
  // The card's speed box shows the job's speed.
  assert.equal(await card('b1').locator('input[name=speed]').inputValue(), '1');
  assert.deepEqual(await statusEvents('b1'), ['created', 'running', 'paused', 'running']);
  await shot('01-backup-running');

  await button('b1', 'pause').click();
  assert.equal(await status('b1'), 'paused');
  assert.match(await lastConsole(), /"return":\{\}/);
  assert.equal(await card('b1').locator('.refusal').isHidden(), true);
  await button('b1', 'pause').click(); // QEMU refuses a second pause: beside the card, and in the console
  assert.equal(await text(card('b1').locator('.refusal')), 'Refused: Job is already paused');
  assert.match(await lastConsole(), /Job is already paused/);
  await shot('02-backup-paused-refused');

  await button('b1', 'resume').click();
  assert.equal(await card('b1').locator('.refusal').isHidden(), true, 'the next command clears the refusal');
  assert.equal(await status('b1'), 'running');
  await card('b1').locator('input[name=speed]').fill('0');
  await button('b1', 'set speed').click();
  // Unlimited now: it copies the rest, waits, and stops in pending (auto-finalize off).
  assert.equal(await status('b1'), 'pending');
  assert.deepEqual(await enabled('b1'), ['cancel', 'finalize', 'soft cancel']);
  assert.equal((await buttons('b1')).pause, "Job 'b1' in state 'pending' cannot accept command verb 'pause'");
  assert.match(await text(card('b1').locator('.facts')), /64 MiB \/ 64 MiB \(100%\)/);
  assert.ok((await eventsOf('b1')).some((e) => e.event === 'BLOCK_JOB_PENDING'));
  await shot('03-backup-pending');

  // A verb the table refuses still sends when clicked: QEMU's own refusal shows on the card.
  await forceClick(button('b1', 'dismiss'));
  assert.equal(await text(card('b1').locator('.refusal')),
    "Refused: Job 'b1' in state 'pending' cannot accept command verb 'dismiss'");
  await button('b1', 'finalize').click();
  assert.equal(await status('b1'), 'concluded');
  assert.deepEqual(await enabled('b1'), ['dismiss']);
  const done = (await eventsOf('b1')).find((e) => e.event === 'BLOCK_JOB_COMPLETED');
  assert.deepEqual(done.data, { type: 'backup', device: 'b1', len: 67108864, offset: 67108864, speed: 0 });
  await shot('04-backup-concluded');

  await button('b1', 'dismiss').click();
  assert.equal(await status('b1'), 'null');
  assert.deepEqual(await enabled('b1'), []);
  assert.match(await text(card('b1').locator('.facts')), /gone from every query; last seen · 64 MiB/);
  // Creation's drained section, then the user's pause and resume.
  assert.deepEqual(await statusEvents('b1'), ['created', 'running', 'paused', 'running', 'paused', 'running',
    'waiting', 'pending', 'concluded', 'null']);
  for (const edge of ['created>running', 'running>paused', 'paused>running', 'running>waiting', 'waiting>pending',
    'pending>concluded', 'concluded>null']) {
    assert.equal(await page.locator(`#diagram [data-edge="${edge}"]`).getAttribute('class'), 'edge taken', edge);
  }
  assert.equal(await page.locator('#diagram [data-edge="running>ready"]').getAttribute('class'), 'edge');
  assert.equal(await page.locator('#diagram [data-status="null"]').getAttribute('class'), 'node cur');
  await shot('05-backup-null');
  assert.deepEqual(pageErrors, []);
});

test('refusals show beside the form and the console, in QEMU\'s words', async () => {
  await fresh();
  await submit('backup');
  await fill('backup', { 'job-id': 'b1', device: 'src2', target: 'dst' });
  await submit('backup');
  assert.equal(await formResult('backup'), "Refused: Node 'dst' is busy: block device is in use by block job: backup");
  assert.equal(await page.locator('[data-form="backup"] .result').getAttribute('role'), 'alert');
  assert.match(await lastConsole(), /Node 'dst' is busy/);
  await page.locator('#console-input').fill('{"execute": "job-finalize", "arguments": {"id": "b1"}}');
  await page.keyboard.press('Enter');
  assert.equal(await text(page.locator('#console-result')),
    "Refused: Job 'b1' in state 'running' cannot accept command verb 'finalize'");
  await page.locator('#console-input').fill('{"execute"');
  await page.keyboard.press('Enter');
  assert.match(await text(page.locator('#console-result')), /^Refused: JSON parse error/);
  await page.click('[data-details="snapshot"] summary');
  await submit('snapshot');
  assert.equal(await formResult('snapshot'), "Refused: The command snapshot-save has not been found");
  await shot('06-refusals');
  assert.deepEqual(pageErrors, []);
});

test('a refused verb\'s reason is reachable by keyboard focus and by touch', async () => {
  await fresh();
  await fill('backup', { speed: '1' });
  await submit('backup');
  const why = card('b1').locator('.why');
  assert.equal(await why.isHidden(), true);
  // Keyboard: Tab from the allowed "resume" to the refused "complete".
  await button('b1', 'resume').focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement).dataset.label), 'complete');
  assert.equal(await why.isVisible(), true);
  assert.equal(await text(why), "complete: Job 'b1' in state 'running' cannot accept command verb 'complete'");
  assert.equal(await button('b1', 'complete').getAttribute('aria-describedby'), await why.getAttribute('id'));
  await shot('07-reason-on-focus');
  await page.keyboard.press('Tab'); // cancel: allowed, no reason
  assert.equal(await why.isHidden(), true);
  // Touch: a tap shows the reason (and sends the verb, whose refusal shows too).
  await button('b1', 'finalize').dispatchEvent('pointerdown');
  assert.equal(await text(why), "finalize: Job 'b1' in state 'running' cannot accept command verb 'finalize'");
  assert.deepEqual(pageErrors, []);
});

test('the state diagram: no edge passes behind a status it does not join, no label is covered', async () => {
  await fresh();
  // Jobs in several statuses, so that labels are drawn: running, paused, ready, waiting.
  await addNodes('n1', 'n2');
  await fill('backup', { speed: '1' });
  await submit('backup');
  await submit('backup');
  await button('b2', 'pause').click();
  await page.click('[data-details="mirror"] summary');
  await page.locator('[data-form="mirror"] [name=speed]').fill('');
  await page.click('[data-form="mirror"] button[type=submit]');
  assert.equal(await status('m1'), 'ready');
  await shot('08-diagram');
  const problems = await page.evaluate(() => {
    const svg = /** @type {SVGSVGElement} */ (document.querySelector('#diagram svg'));
    /** @type {Record<string, DOMRect>} */
    const boxes = {};
    for (const g of svg.querySelectorAll('g.node')) {
      boxes[/** @type {SVGGElement} */ (g).dataset.status ?? ''] = /** @type {SVGRectElement} */ (g.querySelector('rect')).getBBox();
    }
    const inside = (/** @type {DOMRect} */ r, /** @type {number} */ x, /** @type {number} */ y, m = 0) =>
      x > r.x - m && x < r.x + r.width + m && y > r.y - m && y < r.y + r.height + m;
    const out = new Set();
    /** @type {[string, number, number][]} every edge's points, every 1 unit, and its arrowhead's */
    const samples = [];
    for (const p of svg.querySelectorAll('path.edge')) {
      const path = /** @type {SVGPathElement} */ (p);
      const [from, to] = (path.dataset.edge ?? '').split('>');
      const len = path.getTotalLength();
      // The arrowhead: a triangle of side 7 stroke widths whose tip is the path's end.
      const size = 7 * parseFloat(getComputedStyle(path).strokeWidth);
      const tip = path.getPointAtLength(len);
      const back = path.getPointAtLength(len - 1);
      const [dx, dy] = [tip.x - back.x, tip.y - back.y];
      const [ux, uy] = [dx / Math.hypot(dx, dy), dy / Math.hypot(dx, dy)];
      for (let a = 0; a <= 1; a += 0.05) {
        for (let b = -a / 2; b <= a / 2; b += 0.05) {
          samples.push([`${path.dataset.edge} (arrowhead)`, tip.x - ux * size * a - uy * size * b, tip.y - uy * size * a + ux * size * b]);
        }
      }
      for (let s = 0; s <= len; s += 1) {
        const { x, y } = path.getPointAtLength(s);
        samples.push([path.dataset.edge ?? '', x, y]);
        for (const [st, r] of Object.entries(boxes)) {
          // Clear of every other status by 6 units; never inside its own ends either.
          if (st !== from && st !== to && inside(r, x, y, 6)) out.add(`${path.dataset.edge} passes by ${st}`);
          if ((st === from || st === to) && inside(r, x, y, -0.5)) out.add(`${path.dataset.edge} enters ${st}`);
        }
      }
    }
    const labels = [...svg.querySelectorAll('text.who')];
    for (const t of labels) {
      const st = /** @type {SVGGElement} */ (t.parentNode).dataset.status ?? '';
      const b = /** @type {SVGTextElement} */ (t).getBBox();
      const r = boxes[st];
      if (b.x < r.x || b.y < r.y || b.x + b.width > r.x + r.width || b.y + b.height > r.y + r.height) {
        out.add(`the label of ${st} leaves its box`);
      }
      for (const [edge, x, y] of samples) if (inside(b, x, y, 2)) out.add(`${edge} covers the label of ${st}`);
    }
    const names = Object.keys(boxes);
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) {
        const [a, c] = [boxes[names[i]], boxes[names[j]]];
        if (a.x < c.x + c.width && c.x < a.x + a.width && a.y < c.y + c.height && c.y < a.y + a.height) out.add(`${names[i]} overlaps ${names[j]}`);
      }
    }
    return { out: [...out], labels: labels.map((t) => /** @type {SVGGElement} */ (t.parentNode).dataset.status).sort(), edges: samples.length };
  });
  assert.deepEqual(problems.out, []);
  assert.deepEqual(problems.labels, ['paused', 'ready', 'running']);
  assert.ok(problems.edges > 1000);
  assert.deepEqual(pageErrors, []);
});

test('default forms succeed one after another, and jobs visibly progress at 1×', async () => {
  await fresh();
  for (const id of ['b1', 'b2']) {
    await submit('backup');
    assert.match(await formResult('backup'), new RegExp(`^Created ${id}\\.`));
    assert.equal(await status(id), 'running');
  }
  assert.equal(await page.locator('[data-form="backup"] [name=job-id]').inputValue(), 'b3');
  // New nodes make the next default succeed too.
  await addNodes('n1', 'n2');
  await submit('backup');
  assert.match(await formResult('backup'), /^Created b3\./);
  const progress = async () => Number(await card('b1').locator('.progress').getAttribute('aria-valuenow'));
  const p0 = await progress();
  await page.click('#play');
  await page.waitForFunction(() => document.querySelector('[data-job="b1"] .progress')?.getAttribute('aria-valuenow') !== '1.6',
    null, { timeout: 5000 });
  await page.click('#play');
  assert.ok(await progress() > p0);
  assert.match(await text(page.locator('#clock')), /^\d+\.\d{3} s$/);

  await fresh();
  await page.click('[data-details="txn"] summary');
  await submit('txn');
  assert.match(await formResult('txn'), /^Created t1 and t2\./);
  assert.equal(await status('t1'), 'waiting');
  assert.equal(await status('t2'), 'running');
  assert.match(await text(card('t2').locator('.facts')), /speed 4 MiB\/s/);
  await addNodes('n1', 'n2', 'n3', 'n4');
  await page.click('[data-details="mirror"] summary');
  await page.click('[data-form="mirror"] button[type=submit]');
  assert.match(await formResult('mirror'), /^Created m1\./);
  // The clock as a readable duration: a 1 B/s backup's next timer is 12 days away.
  await fill('backup', { speed: '1' });
  await submit('backup');
  assert.match(await formResult('backup'), /^Created b1\./);
  for (let i = 0; i < 4; i++) await page.click('#step');
  assert.match(await text(page.locator('#clock')), /^(\d+ d \d+ h \d+ min |\d+ h \d+ min |\d+ min )?\d+\.\d{3} s$/);
  assert.match(await page.locator('#clock').getAttribute('title') ?? '', /^\d+\.\d{9} s \(\d+ ns\)$/);
  await shot('09-defaults');
  assert.deepEqual(pageErrors, []);
});

test('a mirror through its whole life by clicking', async () => {
  await fresh();
  await page.click('[data-details="mirror"] summary');
  await fill('mirror', { 'job-id': 'm1', speed: '' });
  await page.click('[data-form="mirror"] button[type=submit]');
  // null-co reads zeroes: the mirror is ready at once.
  assert.equal(await status('m1'), 'ready');
  assert.deepEqual(await enabled('m1'), ['cancel', 'complete', 'pause', 'resume', 'soft cancel']);
  assert.ok((await eventsOf('m1')).some((e) => e.event === 'BLOCK_JOB_READY'));
  await shot('10-mirror-ready');

  await button('m1', 'pause').click();
  assert.equal(await status('m1'), 'standby');
  await button('m1', 'soft cancel').click(); // refused while paused
  assert.equal(await text(card('m1').locator('.refusal')), "Refused: The block job for device 'm1' is currently paused");
  await shot('11-mirror-standby');

  await button('m1', 'resume').click();
  assert.equal(await status('m1'), 'ready');
  // Virtual time: a ready mirror wakes every 100 ms.
  await page.click('#step');
  assert.equal(await text(page.locator('#clock')), '0.100 s');
  assert.equal(await status('m1'), 'ready');
  await button('m1', 'complete').click();
  assert.equal(await status('m1'), 'null');
  assert.deepEqual(await statusEvents('m1'), ['created', 'running', 'ready', 'standby', 'ready', 'waiting',
    'pending', 'concluded', 'null']);
  assert.equal(await page.locator('#diagram [data-edge="standby>ready"]').getAttribute('class'), 'edge taken');
  await shot('13-mirror-null');
  assert.deepEqual(pageErrors, []);
});

test('play, grouped transaction, event filter, history scrub and branch', async () => {
  await fresh();
  await page.click('[data-details="txn"] summary');
  await fill('txn', { speed1: '', speed2: '8388608' });
  await submit('txn');
  // t1 is done at once and waits for t2, which copies 8 MiB/s.
  assert.equal(await status('t1'), 'waiting');
  assert.equal(await status('t2'), 'running');
  assert.deepEqual(await enabled('t1'), ['cancel', 'soft cancel']);
  await page.selectOption('#factor', '10');
  await page.click('#play');
  await page.waitForFunction(() => document.querySelector('[data-job="t2"] [data-role=status]')?.textContent === 'null', null, { timeout: 20000 });
  await page.click('#play');
  assert.equal(await status('t1'), 'null');
  const clock = Number((await text(page.locator('#clock'))).replace(' s', ''));
  assert.ok(clock > 7 && clock < 60, String(clock));
  await page.selectOption('#event-filter', 't2');
  const shown = await page.locator('#events li').evaluateAll((ls) => ls.map((l) => /** @type {HTMLElement} */ (l).dataset.job));
  assert.ok(shown.length > 0 && shown.every((j) => j === 't2'));
  await shot('20-transaction-done');

  // Back to the snapshot taken right after the transaction command.
  await page.locator('#history').fill('1');
  assert.equal(await status('t2'), 'running');
  assert.equal(await status('t1'), 'waiting');
  assert.match(await text(page.locator('#history-label')), /^#1 of \d+: create txn/);
  // Branch: cancel t2 instead; the grouped transaction cancels t1 too.
  await button('t2', 'cancel').click();
  assert.equal(await status('t2'), 'null');
  assert.equal(await status('t1'), 'null');
  await page.selectOption('#event-filter', 't1');
  assert.ok((await eventsOf('t1')).some((e) => e.event === 'BLOCK_JOB_CANCELLED'));
  assert.match(await text(page.locator('#history-label')), /^#2 of 2: cancel t2/);
  await shot('21-history-branch');
  assert.deepEqual(pageErrors, []);
});

test('a scenario played in the page gives the node replayer\'s transcript', async () => {
  await fresh();
  const name = 'txn-grouped-read-error';
  await page.selectOption('#scenario-select', `${name}.scn`);
  await page.waitForSelector('#scenario-lines li');
  await page.click('#scn-next');
  assert.equal(await page.locator('#scenario-lines li.done').count(), 1);
  await page.click('#scn-all');
  assert.equal(await page.locator('#scenario-lines li.next').count(), 0);
  const download = page.waitForEvent('download');
  await page.click('#export');
  const file = await (await download).path();
  const scenarioText = readFileSync(path.join(here, '..', '..', 'scenarios', `${name}.scn`), 'utf8');
  assert.equal(readFileSync(file, 'utf8'), q.replay(scenarioText));
  await shot('30-scenario');
  assert.deepEqual(pageErrors, []);
});

test('loading a scenario asks before it discards the session', async () => {
  await fresh();
  await submit('backup');
  /** @type {string[]} */
  const asked = [];
  const dismiss = (/** @type {import('playwright-core').Dialog} */ d) => { asked.push(d.message()); d.dismiss(); };
  page.once('dialog', dismiss);
  await page.selectOption('#scenario-select', 'backup-basic.scn');
  await page.waitForFunction(() => /** @type {HTMLSelectElement} */ (document.querySelector('#scenario-select')).value === '');
  assert.match(asked[0], /starts a new world: this session's 1 actions are discarded/);
  assert.equal(await status('b1'), 'running', 'dismissed: the session stays');
  page.once('dialog', (d) => d.accept());
  await page.selectOption('#scenario-select', 'backup-basic.scn');
  await page.waitForSelector('#scenario-lines li');
  assert.equal(await card('b1').count(), 0);
  assert.deepEqual(pageErrors, []);
});

test('the QMP console, keyboard use, and a jump from a form to the new job', async () => {
  await fresh();
  await page.click('#console-input');
  await page.keyboard.type('{"execute": "blockdev-mirror", "arguments": {"job-id": "k1", "device": "src", "target": "dst", "sync": "full", "speed": 1}}');
  await page.keyboard.press('Enter');
  assert.equal(await status('k1'), 'running');
  await page.locator('#console-input').fill('{"execute": "job-finalize", "arguments": {"id": "k1"}, "id": 42}');
  await page.keyboard.press('Enter');
  assert.match(await lastConsole(),
    /"error":\{"class":"GenericError","desc":"Job 'k1' in state 'running' cannot accept command verb 'finalize'"\},"id":42/);
  await button('k1', 'pause').focus();
  await page.keyboard.press('Enter');
  assert.equal(await status('k1'), 'paused');
  await page.locator('body').press('p');
  assert.equal(await page.locator('#play').getAttribute('aria-pressed'), 'true');
  await page.waitForFunction(() => document.querySelector('#clock')?.textContent !== '0.000 s');
  await page.locator('body').press('p');
  assert.equal(await page.locator('#play').getAttribute('aria-pressed'), 'false');
  // From "Create backup": one Tab to "Go to b1", Enter, and the focus is on b1's first verb.
  await page.locator('[data-form="backup"] button[type=submit]').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Go to b1');
  await page.keyboard.press('Enter');
  assert.deepEqual(await page.evaluate(() => [
    /** @type {HTMLElement} */ (document.activeElement?.closest('[data-job]')).dataset.job,
    /** @type {HTMLElement} */ (document.activeElement).dataset.label]), ['b1', 'pause']);
  assert.deepEqual(pageErrors, []);
});

test('phone width: layout, wording, empty panels, file input, short-lived jobs', async () => {
  await fresh(PHONE);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page wider than the phone by ${overflow}px`);
  // The forms are below the jobs here: the hint says where they are, without "left".
  const hint = await text(page.locator('#no-jobs'));
  assert.doesNotMatch(hint, /left/);
  const jobsTop = await page.locator('#jobs-h').evaluate((e) => e.getBoundingClientRect().top);
  const formsTop = await page.locator('#create').evaluate((e) => e.getBoundingClientRect().top);
  assert.ok(formsTop > jobsTop, 'forms below the jobs');
  // No empty black boxes: the event list shows nothing until there is something; the console
  // starts with the monitor's greeting, as a QMP connection does.
  assert.equal(await page.locator('#events').isHidden(), true);
  assert.equal(await page.locator('#no-events').isVisible(), true);
  assert.equal(await page.locator('#console-out li').count(), 1);
  assert.match(await text(page.locator('#console-out li')), /^<\{"QMP":\{"version":\{"qemu":\{"major":7,"minor":2,"micro":22\}/);
  assert.deepEqual(await overflowing(), []);
  // The file controls' texts are whole (a scenario file, a snapshot).
  const cuts = await page.locator('.file-button').evaluateAll((es) => es.map((e) => e.scrollWidth - e.clientWidth));
  assert.equal(cuts.length, 2);
  assert.ok(cuts.every((cut) => cut <= 0), `file button text cut by ${cuts}px`);
  // Two play controls, two different names.
  assert.notEqual(await text(page.locator('#play')), await text(page.locator('#scn-play')));
  await shot('40-phone-empty');
  // A job that lived and died within one command: no dangling "last seen".
  await page.locator('#console-input').fill('{"execute": "blockdev-backup", "arguments": {"job-id": "f1", "device": "src", "target": "dst", "sync": "full"}}');
  await page.keyboard.press('Enter');
  assert.equal(await status('f1'), 'null');
  const facts = await text(card('f1').locator('.facts'));
  assert.doesNotMatch(facts, /last seen$/);
  assert.match(facts, /within one command/);
  await page.locator('#create').scrollIntoViewIfNeeded();
  await submit('backup');
  assert.equal(await card('b1').locator('input[name=speed]').inputValue(), String(4 << 20));
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 0);
  assert.deepEqual(await overflowing(), []);
  await page.locator('#jobs-h').scrollIntoViewIfNeeded();
  await shot('41-phone');
  await page.screenshot({ path: path.join(shots, '42-phone-full.png'), fullPage: true });
  await page.locator('#history-h').scrollIntoViewIfNeeded();
  await shot('43-phone-history');
  assert.deepEqual(pageErrors, []);
});

test('QEMU 10.0: the version control makes a new manager; greeting, query-version, actively-synced, snapshots', async () => {
  await fresh();
  assert.equal(await page.locator('#qemu').inputValue(), '7.2');
  assert.deepEqual(await page.locator('#qemu option').evaluateAll((os) => os.map((o) => /** @type {HTMLOptionElement} */ (o).value)),
    q.qemuVersions());
  assert.equal(await page.locator('label.qemu-pick').filter({ has: page.locator('#qemu') }).count(), 1, 'the control is labelled');
  assert.equal(await page.title(), 'qjob — QEMU 7.2 job lifecycle simulator');
  // 7.2: no actively-synced.
  await page.click('[data-details="mirror"] summary');
  await fill('mirror', { speed: '' });
  await page.click('[data-form="mirror"] button[type=submit]');
  assert.equal(await status('m1'), 'ready');
  await page.click('#q-block-jobs');
  assert.match(await lastConsole(), /"device":"m1"/);
  assert.doesNotMatch(await lastConsole(), /actively-synced/);

  // Switching asks before it discards the session; dismissed, nothing changes.
  /** @type {string[]} */
  const asked = [];
  page.once('dialog', (d) => { asked.push(d.message()); d.dismiss(); });
  await page.selectOption('#qemu', '10.0');
  assert.match(asked[0], /^Switch to QEMU 10\.0\? It starts a new world: this session's 2 actions are discarded/);
  assert.equal(await page.locator('#qemu').inputValue(), '7.2');
  assert.equal(await status('m1'), 'ready');
  page.once('dialog', (d) => d.accept());
  await page.selectOption('#qemu', '10.0');
  assert.equal(await page.locator('#qemu').inputValue(), '10.0');
  assert.equal(await card('m1').count(), 0, 'a new world');
  assert.equal(await page.title(), 'qjob — QEMU 10.0 job lifecycle simulator');
  assert.match(await text(page.locator('#status')), /^Now QEMU 10\.0: a new world/);
  // The console starts with QEMU 10.0's greeting; query-version agrees.
  assert.equal(await page.locator('#console-out li').count(), 1);
  assert.match(await text(page.locator('#console-out li')),
    /^<\{"QMP":\{"version":\{"qemu":\{"major":10,"minor":0,"micro":2\},"package":"Debian 1:10\.0\.2[^"]*"\},"capabilities":\["oob"\]\}\}$/);
  await page.locator('#console-input').fill('{"execute": "query-version"}');
  await page.keyboard.press('Enter');
  assert.match(await lastConsole(), /^<\{"return":\{"qemu":\{"major":10,"minor":0,"micro":2\}/);
  // A mirror's query-block-jobs has actively-synced under 10.0.
  await fill('mirror', { speed: '' });
  await page.click('[data-form="mirror"] button[type=submit]');
  assert.equal(await status('m1'), 'ready');
  await page.click('#q-block-jobs');
  assert.match(await lastConsole(), /"device":"m1"/);
  assert.match(await lastConsole(), /"actively-synced":(true|false)/);
  await shot('50-qemu10');

  // Saved transcripts and snapshots say their QEMU; loading a snapshot restores the control.
  let download = page.waitForEvent('download');
  await page.click('#export');
  assert.equal((await download).suggestedFilename(), 'qjob-session.qemu-10.0.transcript.txt');
  download = page.waitForEvent('download');
  await page.click('#snap-save');
  const saved = await download;
  assert.equal(saved.suggestedFilename(), 'qjob-session.qemu-10.0.qjobsnap');
  const snapFile = path.join(profile, saved.suggestedFilename());
  await saved.saveAs(snapFile);
  assert.match(await text(page.locator('#snapshot-result')), /^Saved qjob-session\.qemu-10\.0\.qjobsnap \(QEMU 10\.0, t = /);
  page.once('dialog', (d) => d.accept());
  await page.selectOption('#qemu', '7.2');
  assert.equal(await page.locator('#qemu').inputValue(), '7.2');
  assert.equal(await card('m1').count(), 0);
  // A file that is no snapshot: refused beside the control, nothing changes.
  const junk = path.join(profile, 'junk.qjobsnap');
  writeFileSync(junk, 'not a snapshot');
  await page.setInputFiles('#snap-file', junk);
  await page.waitForSelector('#snapshot-result.refused');
  assert.match(await text(page.locator('#snapshot-result')), /^Refused: /);
  assert.equal(await page.locator('#qemu').inputValue(), '7.2');
  await page.setInputFiles('#snap-file', snapFile);
  await page.waitForFunction(() => /** @type {HTMLSelectElement} */ (document.querySelector('#qemu')).value === '10.0');
  assert.match(await text(page.locator('#snapshot-result')), /^Loaded qjob-session\.qemu-10\.0\.qjobsnap: QEMU 10\.0/);
  assert.equal(await status('m1'), 'ready');
  assert.match(await text(page.locator('#console-out li').first()), /"major":10,"minor":0,"micro":2/);
  await page.click('#q-block-jobs');
  assert.match(await lastConsole(), /"actively-synced":(true|false)/);
  // Reset keeps the version.
  await page.click('#reset');
  assert.equal(await page.locator('#qemu').inputValue(), '10.0');
  assert.deepEqual(pageErrors, []);
});

/** The lines of each column of the side-by-side view, in order. */
const columns = () => page.locator('#compare-table').evaluate((t) => ['7.2', '10.0'].map((v) =>
  [...t.querySelectorAll(`td[data-qemu="${v}"] li:not(.none) code`)].map((c) => c.textContent ?? '')));

/** A scenario's transcript from the node module, under QEMU `qemu`, line by line. */
function transcriptOf(/** @type {string} */ scenarioText, /** @type {'7.2' | '10.0'} */ qemu) {
  const m = new q.JobManager({ qemu, transcript: true });
  for (const l of scenarioText.split('\n')) m.runScenarioLine(l);
  return m.transcript().split('\n').slice(0, -1);
}

test('side by side: a built-in scenario and a user file under QEMU 7.2 and 10.0', async () => {
  await fresh();
  assert.equal(await page.locator('#scn-compare').isDisabled(), true, 'nothing to compare before a scenario');
  assert.match(await text(page.locator('#scn-compare-why')), /^Load a scenario/, 'and the reason shows');
  const name = 'demo-lifecycle';
  await page.selectOption('#scenario-select', `${name}.scn`);
  await page.waitForSelector('#scenario-lines li');
  assert.equal(await page.locator('#scn-compare-why').isHidden(), true);
  await page.click('#scn-compare');
  const dialog = page.locator('#compare');
  assert.equal(await dialog.isVisible(), true);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'compare-close');
  // Two columns, one per version, side by side, with the core's transcripts in them.
  assert.deepEqual(await page.locator('#compare-table thead th').allTextContents(), ['QEMU 7.2', 'QEMU 10.0']);
  const [h72, h10] = await Promise.all(['7.2', '10.0'].map((v) => page.locator(`#compare-table thead th[data-qemu="${v}"]`).boundingBox()));
  assert.ok(h72 && h10 && h10.x >= h72.x + h72.width - 1 && Math.abs(h10.y - h72.y) < 1, 'columns side by side');
  const scn = readFileSync(path.join(here, '..', '..', 'scenarios', `${name}.scn`), 'utf8');
  const [c72, c10] = await columns();
  assert.deepEqual(c72, q.replay(scn).split('\n').slice(0, -1));
  assert.deepEqual(c10, transcriptOf(scn, '10.0'));
  assert.notDeepEqual(c72, c10);
  // A known difference: the ready mirror's query-block-jobs has actively-synced under 10.0 only,
  // highlighted in both columns of its row; the same command's line is not.
  const row = page.locator('#compare-table tr.win', { has: page.locator('td[data-qemu="10.0"] li.diff', { hasText: '"actively-synced": ' }) });
  assert.equal(await row.count(), 1);
  assert.equal(await row.evaluate((r) => r.classList.contains('differs')), true);
  assert.equal(await row.locator('td[data-qemu="7.2"] li.diff').count(), 1);
  assert.doesNotMatch(await text(row.locator('td[data-qemu="7.2"] li.diff')), /actively-synced/);
  assert.match(await text(row.locator('td[data-qemu="7.2"] li.diff')), /"device": "mirror0"/);
  assert.equal(await row.locator('li:not(.diff)', { hasText: '> {"execute": "query-block-jobs"}' }).count(), 2);
  const bg = await row.locator('td[data-qemu="10.0"] li.diff').evaluate((l) => getComputedStyle(l).backgroundColor);
  assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'highlighted');
  const count = scn.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')).length;
  assert.match(await text(page.locator('#compare-summary')), new RegExp(`^\\d+ of ${count} scenario lines give different transcript lines`));
  assert.match(await text(page.locator('#compare-first')), /^The first difference, by the rules/);
  // The differences one by one, by keyboard; "only lines that differ" hides the rest.
  await page.click('#compare-next');
  assert.equal(await page.evaluate(() => document.activeElement?.matches('tr.win.differs')), true);
  // Scrolled to: its scenario line shows below the sticky column heads.
  const clear = await page.evaluate(() => /** @type {Element} */ (document.activeElement?.previousElementSibling)
    .getBoundingClientRect().top - /** @type {Element} */ (document.querySelector('#compare-table thead th')).getBoundingClientRect().bottom);
  assert.ok(clear >= -0.5, `the difference's scenario line is under the column heads by ${-clear}px`);
  await shot('51-side-by-side-all');
  await page.check('#compare-only');
  assert.equal(await page.locator('#compare-table tr.win:not(.differs)').first().isHidden(), true);
  assert.equal(await row.isVisible(), true);
  await shot('51-side-by-side-only');
  await page.setViewportSize(PHONE);
  const fit = await page.evaluate(() => {
    const d = /** @type {HTMLElement} */ (document.querySelector('#compare'));
    return { inner: d.scrollWidth - d.clientWidth, page: document.documentElement.scrollWidth - window.innerWidth,
      right: d.getBoundingClientRect().right - window.innerWidth };
  });
  assert.ok(fit.inner <= 0 && fit.page <= 0 && fit.right <= 0, JSON.stringify(fit));
  assert.deepEqual(await overflowing(), []);
  const [p72, p10] = await Promise.all(['7.2', '10.0'].map((v) => page.locator(`#compare-table thead th[data-qemu="${v}"]`).boundingBox()));
  assert.ok(p72 && p10 && p10.x >= p72.x + p72.width - 1, 'still two columns at phone width');
  await row.scrollIntoViewIfNeeded();
  await shot('52-side-by-side-phone');
  await page.keyboard.press('Escape');
  assert.equal(await dialog.isVisible(), false);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'scn-compare', 'focus back where it was');
  await page.setViewportSize(DESKTOP);

  // A user's file: the same view.
  const mine = [
    '{"execute": "blockdev-mirror", "arguments": {"job-id": "mm", "device": "src", "target": "dst", "sync": "full"}}',
    '{"wait-event": "BLOCK_JOB_READY", "id": "mm"}',
    '{"execute": "query-block-jobs"}',
    '{"execute": "job-complete", "arguments": {"id": "mm"}}',
    '{"wait": {"id": "mm", "status": "null"}}',
  ].join('\n');
  await page.setInputFiles('#scenario-file', { name: 'mine.scn', mimeType: 'text/plain', buffer: Buffer.from(mine) });
  await page.waitForFunction(() => document.querySelector('#scenario-file-name')?.textContent === 'mine.scn');
  await page.click('#scn-compare');
  assert.match(await text(page.locator('#compare-h')), /^mine: QEMU 7\.2 and QEMU 10\.0 side by side$/);
  const [m72, m10] = await columns();
  assert.deepEqual(m72, transcriptOf(mine, '7.2'));
  assert.deepEqual(m10, transcriptOf(mine, '10.0'));
  assert.equal(await page.locator('#compare-table tr.win[data-window="3"].differs td[data-qemu="10.0"] li.diff', { hasText: 'actively-synced' }).count(), 1);
  await page.click('#compare-close');
  assert.equal(await dialog.isVisible(), false);
  // The view replays on fresh managers: the session has not moved.
  assert.equal(await page.locator('#scenario-lines li.done').count(), 0);
  assert.deepEqual(pageErrors, []);
});
