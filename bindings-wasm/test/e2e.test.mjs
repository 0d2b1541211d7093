// End-to-end tests of the simulator in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; no browser download). Drives a backup and a mirror through
// their whole lives by clicking, checks the DOM at each step, and saves screenshots under
// test-output/ (git-ignored). $QJOB_CHROMIUM overrides the browser path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { start } from '../web/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.join(here, '..', 'test-output', 'screenshots');
const executablePath = process.env.QJOB_CHROMIUM || '/usr/bin/chromium';
const require = createRequire(import.meta.url);
const q = require('../pkg-node/qjob_wasm.js');

let server, url, context, page, profile;
const pageErrors = [];

before(async () => {
  mkdirSync(shots, { recursive: true });
  ({ server, url } = await start(0));
  profile = mkdtempSync(path.join(tmpdir(), 'qjob-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, viewport: { width: 1280, height: 800 },
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

const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });
const card = (id) => page.locator(`[data-job="${id}"]`);
const status = (id) => card(id).locator('[data-role=status]').textContent();
const button = (id, label) => card(id).locator(`button[data-label="${label}"]`);

/** Which verb buttons of a card are enabled, and the titles of the disabled ones. */
async function buttons(id) {
  return card(id).locator('button[data-label]').evaluateAll((bs) =>
    Object.fromEntries(bs.map((b) => [b.dataset.label, b.disabled ? b.title : true])));
}
const enabled = async (id) => Object.entries(await buttons(id)).filter(([, v]) => v === true).map(([k]) => k).sort();
const eventsOf = (id) => page.locator(`#events li[data-job="${id}"]`).evaluateAll((ls) => ls.map((l) => JSON.parse(l.textContent)));
const statusEvents = async (id) => (await eventsOf(id)).filter((e) => e.event === 'JOB_STATUS_CHANGE').map((e) => e.data.status);

async function fresh() {
  await page.goto(url);
  await page.waitForSelector('body[data-ready]', { state: 'attached', timeout: 10000 })
    .catch((e) => { throw new Error(`page did not start: ${pageErrors.join('; ')} ${e}`); });
  assert.equal(await page.locator('body').getAttribute('data-ready'), '1', pageErrors.join('; '));
}

async function fill(form, values) {
  for (const [name, value] of Object.entries(values)) {
    const input = page.locator(`[data-form="${form}"] [name="${name}"]`);
    if (typeof value === 'boolean') await input.setChecked(value);
    else if (await input.evaluate((e) => e.tagName === 'SELECT')) await input.selectOption(String(value));
    else await input.fill(String(value));
  }
}

test('the page loads with no errors and shows the 11 statuses', async () => {
  await fresh();
  assert.equal(await page.locator('#diagram [data-status]').count(), 11);
  assert.equal(await page.locator('#diagram [data-edge]').count(), 20);
  assert.equal(await page.locator('#clock').textContent(), '0.000000');
  await shot('00-start');
  assert.deepEqual(pageErrors, []);
});

test('a backup through its whole life by clicking', async () => {
  await fresh();
  await fill('backup', { 'job-id': 'b1', speed: '1', 'auto-finalize': false, 'auto-dismiss': false });
  await page.click('[data-form="backup"] button[type=submit]');
  // Speed 1 B/s: the backup copies its first 1 MiB chunk and sleeps on the rate limiter.
  assert.equal(await status('b1'), 'running');
  assert.deepEqual(await enabled('b1'), ['cancel', 'pause', 'resume', 'set speed', 'soft cancel']);
  const b = await buttons('b1');
  assert.equal(b.finalize, "Job 'b1' in state 'running' cannot accept command verb 'finalize'");
  assert.equal(b.dismiss, "Job 'b1' in state 'running' cannot accept command verb 'dismiss'");
  assert.equal(b.complete, "Job 'b1' in state 'running' cannot accept command verb 'complete'");
  assert.match(await card('b1').locator('.facts').textContent(), /1 MiB \/ 64 MiB/);
  assert.deepEqual(await statusEvents('b1'), ['created', 'running', 'paused', 'running']);
  await shot('01-backup-running');

  await button('b1', 'pause').click();
  assert.equal(await status('b1'), 'paused');
  assert.deepEqual(await enabled('b1'), ['cancel', 'pause', 'resume', 'set speed', 'soft cancel']);
  assert.match(await page.locator('#console-out li').last().textContent(), /"return":\{\}/);
  await button('b1', 'pause').click(); // QEMU refuses a second pause
  assert.match(await page.locator('#console-out li').last().textContent(), /Job is already paused/);
  await shot('02-backup-paused');

  await button('b1', 'resume').click();
  assert.equal(await status('b1'), 'running');
  await card('b1').locator('input[name=speed]').fill('0');
  await button('b1', 'set speed').click();
  // Unlimited now: it copies the rest, waits, and stops in pending (auto-finalize off).
  assert.equal(await status('b1'), 'pending');
  assert.deepEqual(await enabled('b1'), ['cancel', 'finalize', 'soft cancel']);
  assert.equal((await buttons('b1')).pause, "Job 'b1' in state 'pending' cannot accept command verb 'pause'");
  assert.match(await card('b1').locator('.facts').textContent(), /64 MiB \/ 64 MiB \(100%\)/);
  assert.ok((await eventsOf('b1')).some((e) => e.event === 'BLOCK_JOB_PENDING'));
  await shot('03-backup-pending');

  await button('b1', 'finalize').click();
  assert.equal(await status('b1'), 'concluded');
  assert.deepEqual(await enabled('b1'), ['dismiss']);
  const done = (await eventsOf('b1')).find((e) => e.event === 'BLOCK_JOB_COMPLETED');
  assert.deepEqual(done.data, { type: 'backup', device: 'b1', len: 67108864, offset: 67108864, speed: 0 });
  await shot('04-backup-concluded');

  await button('b1', 'dismiss').click();
  assert.equal(await status('b1'), 'null');
  assert.deepEqual(await enabled('b1'), []);
  // Creation's drained section, then the user's pause and resume.
  assert.deepEqual(await statusEvents('b1'), ['created', 'running', 'paused', 'running', 'paused', 'running',
    'waiting', 'pending', 'concluded', 'null']);
  // The diagram shows the path taken.
  for (const edge of ['created>running', 'running>paused', 'paused>running', 'running>waiting', 'waiting>pending',
    'pending>concluded', 'concluded>null']) {
    assert.equal(await page.locator(`#diagram [data-edge="${edge}"]`).getAttribute('class'), 'edge taken', edge);
  }
  assert.equal(await page.locator('#diagram [data-edge="running>ready"]').getAttribute('class'), 'edge');
  assert.equal(await page.locator('#diagram [data-status="null"]').getAttribute('class'), 'node cur');
  await shot('05-backup-null');
  assert.deepEqual(pageErrors, []);
});

test('a mirror through its whole life by clicking', async () => {
  await fresh();
  await page.click('[data-details="mirror"] summary');
  await fill('mirror', { 'job-id': 'm1' });
  await page.click('[data-form="mirror"] button[type=submit]');
  // null-co reads zeroes: the mirror is ready at once.
  assert.equal(await status('m1'), 'ready');
  assert.deepEqual(await enabled('m1'), ['cancel', 'complete', 'pause', 'resume', 'set speed', 'soft cancel']);
  assert.ok((await eventsOf('m1')).some((e) => e.event === 'BLOCK_JOB_READY'));
  await shot('10-mirror-ready');

  await button('m1', 'pause').click();
  assert.equal(await status('m1'), 'standby');
  assert.deepEqual(await enabled('m1'), ['cancel', 'complete', 'pause', 'resume', 'set speed', 'soft cancel']);
  await button('m1', 'soft cancel').click(); // refused while paused
  assert.match(await page.locator('#console-out li').last().textContent(), /The block job for device 'm1' is currently paused/);
  await shot('11-mirror-standby');

  await button('m1', 'resume').click();
  assert.equal(await status('m1'), 'ready');
  // Virtual time: a ready mirror wakes every 100 ms.
  await page.click('#step');
  assert.equal(await page.locator('#clock').textContent(), '0.100000');
  assert.equal(await status('m1'), 'ready');
  await shot('12-mirror-ready-again');

  await button('m1', 'complete').click();
  assert.equal(await status('m1'), 'null');
  assert.deepEqual(await statusEvents('m1'), ['created', 'running', 'ready', 'standby', 'ready', 'waiting',
    'pending', 'concluded', 'null']);
  const done = (await eventsOf('m1')).find((e) => e.event === 'BLOCK_JOB_COMPLETED');
  assert.equal(done.data.device, 'm1');
  assert.equal(await page.locator('#diagram [data-edge="standby>ready"]').getAttribute('class'), 'edge taken');
  await shot('13-mirror-null');
  assert.deepEqual(pageErrors, []);
});

test('play, grouped transaction, event filter, history scrub and branch', async () => {
  await fresh();
  await page.click('[data-details="txn"] summary');
  await fill('txn', { speed1: '', speed2: '8388608' });
  await page.click('[data-form="txn"] button[type=submit]');
  // t1 is done at once and waits for t2, which copies 8 MiB/s.
  assert.equal(await status('t1'), 'waiting');
  assert.equal(await status('t2'), 'running');
  assert.deepEqual(await enabled('t1'), ['cancel', 'soft cancel']);
  await page.selectOption('#factor', '10');
  await page.click('#play');
  await page.waitForFunction(() => document.querySelector('[data-job="t2"] [data-role=status]').textContent === 'null', null, { timeout: 20000 });
  await page.click('#play');
  assert.equal(await status('t1'), 'null');
  const clock = Number(await page.locator('#clock').textContent());
  assert.ok(clock > 7 && clock < 60, String(clock));
  await page.selectOption('#event-filter', 't2');
  const shown = await page.locator('#events li').evaluateAll((ls) => ls.map((l) => l.dataset.job));
  assert.ok(shown.length > 0 && shown.every((j) => j === 't2'));
  await shot('20-transaction-done');

  // Back to the snapshot taken right after the transaction command.
  await page.locator('#history').fill('1');
  assert.equal(await status('t2'), 'running');
  assert.equal(await status('t1'), 'waiting');
  assert.match(await page.locator('#history-label').textContent(), /^#1 of \d+: create txn/);
  // Branch: cancel t2 instead; the grouped transaction cancels t1 too.
  await button('t2', 'cancel').click();
  assert.equal(await status('t2'), 'null');
  assert.equal(await status('t1'), 'null');
  await page.selectOption('#event-filter', 't1');
  assert.ok((await eventsOf('t1')).some((e) => e.event === 'BLOCK_JOB_CANCELLED'));
  assert.match(await page.locator('#history-label').textContent(), /^#2 of 2: cancel t2/);
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
  const text = readFileSync(path.join(here, '..', '..', 'scenarios', `${name}.scn`), 'utf8');
  assert.equal(readFileSync(file, 'utf8'), q.replay(text));
  await shot('30-scenario');
  assert.deepEqual(pageErrors, []);
});

test('the QMP console, keyboard use, and phone width', async () => {
  await fresh();
  await page.click('#console-input');
  await page.keyboard.type('{"execute": "blockdev-mirror", "arguments": {"job-id": "k1", "device": "src", "target": "dst", "sync": "full", "speed": 1}}');
  await page.keyboard.press('Enter');
  assert.equal(await status('k1'), 'running');
  await page.locator('#console-input').fill('{"execute": "job-finalize", "arguments": {"id": "k1"}, "id": 42}');
  await page.keyboard.press('Enter');
  assert.match(await page.locator('#console-out li').last().textContent(),
    /"error":\{"class":"GenericError","desc":"Job 'k1' in state 'running' cannot accept command verb 'finalize'"\},"id":42/);
  // Keyboard: focus a verb button and press Enter; "p" plays and pauses time.
  await button('k1', 'pause').focus();
  await page.keyboard.press('Enter');
  assert.equal(await status('k1'), 'paused');
  await page.locator('body').press('p');
  assert.equal(await page.locator('#play').getAttribute('aria-pressed'), 'true');
  await page.waitForFunction(() => document.querySelector('#clock').textContent !== '0.000000');
  await page.locator('body').press('p');
  assert.equal(await page.locator('#play').getAttribute('aria-pressed'), 'false');
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page wider than the phone by ${overflow}px`);
  await shot('40-phone');
  await page.screenshot({ path: path.join(shots, '41-phone-full.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  assert.deepEqual(pageErrors, []);
  assert.ok(existsSync(path.join(shots, '40-phone.png')));
});
