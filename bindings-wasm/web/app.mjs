// The lifecycle simulator: a driver around qjob's JobManager (WebAssembly), like the
// quinn driver around quinn-proto. It owns real time and the DOM; every behaviour —
// statuses, which verbs are allowed, refusal texts, events, transcripts, snapshots —
// comes from the module.
import init, {
  JobManager, statuses, statusTransitions, toSortedJson,
} from '../pkg-web/qjob_wasm.js';

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else if (v !== false && v != null) e.setAttribute(k, v);
  }
  for (const kid of kids) if (kid != null) e.append(kid);
  return e;
};

// Buttons of a job card: [label, verb the table decides, QMP command builder].
const VERB_BUTTONS = [
  ['pause', 'pause', (id) => ({ execute: 'job-pause', arguments: { id } })],
  ['resume', 'resume', (id) => ({ execute: 'job-resume', arguments: { id } })],
  ['complete', 'complete', (id) => ({ execute: 'job-complete', arguments: { id } })],
  ['cancel', 'cancel', (id) => ({ execute: 'job-cancel', arguments: { id } })],
  ['soft cancel', 'cancel', (id) => ({ execute: 'block-job-cancel', arguments: { device: id, force: false } })],
  ['finalize', 'finalize', (id) => ({ execute: 'job-finalize', arguments: { id } })],
  ['dismiss', 'dismiss', (id) => ({ execute: 'job-dismiss', arguments: { id } })],
];

const ON_ERROR = ['report', 'ignore', 'enospc', 'stop', 'auto'];
const common = [
  { name: 'speed', label: 'speed (B/s)', type: 'number', value: '', placeholder: '0 = unlimited' },
  { name: 'auto-finalize', type: 'checkbox', value: true },
  { name: 'auto-dismiss', type: 'checkbox', value: true },
];
// One form per job type: the fields are QMP argument names.
const FORMS = [
  { key: 'backup', title: 'Backup', command: 'blockdev-backup', open: true, fields: [
    { name: 'job-id', value: 'b1' }, { name: 'device', value: 'src', list: true },
    { name: 'target', value: 'dst', list: true },
    { name: 'sync', type: 'select', options: ['full', 'top', 'none'] }, ...common,
    { name: 'on-source-error', type: 'select', options: ON_ERROR },
    { name: 'on-target-error', type: 'select', options: ON_ERROR }] },
  { key: 'mirror', title: 'Mirror', command: 'blockdev-mirror', fields: [
    { name: 'job-id', value: 'm1' }, { name: 'device', value: 'src', list: true },
    { name: 'target', value: 'dst', list: true },
    { name: 'sync', type: 'select', options: ['full', 'top', 'none'] }, ...common,
    { name: 'on-source-error', type: 'select', options: ON_ERROR },
    { name: 'on-target-error', type: 'select', options: ON_ERROR }] },
  { key: 'txn', title: 'Transaction (two backups)', command: 'transaction', fields: [
    { name: 'id1', label: 'job 1 id', value: 't1' }, { name: 'dev1', label: 'job 1 device', value: 'src', list: true },
    { name: 'tgt1', label: 'job 1 target', value: 'dst', list: true },
    { name: 'speed1', label: 'job 1 speed', type: 'number', value: '' },
    { name: 'id2', label: 'job 2 id', value: 't2' }, { name: 'dev2', label: 'job 2 device', value: 'src2', list: true },
    { name: 'tgt2', label: 'job 2 target', value: 'dst2', list: true },
    { name: 'speed2', label: 'job 2 speed', type: 'number', value: '1' },
    { name: 'completion-mode', type: 'select', options: ['grouped', 'individual'] },
    { name: 'auto-finalize', type: 'checkbox', value: true }, { name: 'auto-dismiss', type: 'checkbox', value: true }] },
  { key: 'commit', title: 'Commit (needs the backing chain)', command: 'block-commit', fields: [
    { name: 'job-id', value: 'c1' }, { name: 'device', value: 'top', list: true },
    { name: 'top-node', value: '', list: true, placeholder: 'empty: active commit' },
    { name: 'base-node', value: '', list: true }, ...common,
    { name: 'on-error', type: 'select', options: ON_ERROR }] },
  { key: 'stream', title: 'Stream (needs the backing chain)', command: 'block-stream', fields: [
    { name: 'job-id', value: 's1' }, { name: 'device', value: 'top', list: true },
    { name: 'base-node', value: '', list: true }, ...common,
    { name: 'on-error', type: 'select', options: ON_ERROR }] },
  { key: 'create', title: 'Create (image file)', command: 'blockdev-create', fields: [
    { name: 'job-id', value: 'cr1' }, { name: 'filename', value: 'new.img' },
    { name: 'size', type: 'number', value: '4194304' }] },
  { key: 'amend', title: 'Amend (qcow2 node)', command: 'x-blockdev-amend', fields: [
    { name: 'job-id', value: 'a1' }, { name: 'node-name', value: 'base', list: true }] },
  { key: 'snapshot', title: 'Snapshot save/load/delete (machine mode)', command: 'snapshot', fields: [
    { name: 'op', label: 'command', type: 'select', options: ['snapshot-save', 'snapshot-load', 'snapshot-delete'] },
    { name: 'job-id', value: 'ss1' }, { name: 'tag', value: 'snap0' },
    { name: 'vmstate', value: 'base', list: true }, { name: 'devices', value: 'base', placeholder: 'comma-separated' }] },
];

const POS = {
  undefined: [60, 40], created: [180, 40], running: [330, 40], ready: [490, 40],
  paused: [330, 135], standby: [490, 135], waiting: [330, 230], pending: [490, 230],
  aborting: [180, 230], concluded: [490, 320], null: [180, 320],
};
// Curvature of the edges that would cross a node if drawn straight.
const BEND = { 'created>null': 70, 'running>waiting': 55, 'ready>waiting': 0, 'running>aborting': 0,
  'paused>running': 14, 'running>paused': 14, 'ready>standby': 14, 'standby>ready': 14, 'pending>aborting': -20 };

// ---------------------------------------------------------------------------
// State of the driver
// ---------------------------------------------------------------------------
let m;                       // the JobManager
let jobs = new Map();        // id -> {type, status, path: [statuses], gone, last query info}
let log = [];                // QMP events, oldest first
let consoleLines = [];       // {kind: '>'|'<'|'!', text}
let nodes = new Set(['src', 'dst', 'src2', 'dst2']);
let history = [];            // {label, bytes, transcriptLen, log, consoleLen, jobs, nodes, scn}
let historyAt = 0;
let playing = false;
let lastFrame = 0;
let scenario = { name: '', lines: [], at: 0, timer: 0 };

const clone = (x) => structuredClone(x);

function newWorld() {
  if (m) m.free();
  m = new JobManager({ transcript: true });
  m.setMachine($('#machine').checked);
  jobs = new Map();
  log = [];
  consoleLines = [];
  nodes = new Set(['src', 'dst', 'src2', 'dst2']);
  history = [];
  historyAt = 0;
  record('start');
}

// ---------------------------------------------------------------------------
// Actions: everything goes through here, then the view is refreshed
// ---------------------------------------------------------------------------

/** Sends one QMP command (object, or raw text when it is not JSON). */
function command(cmd, label) {
  branchIfScrubbed();
  let reply;
  if (typeof cmd === 'string') {
    let parsed;
    try { parsed = JSON.parse(cmd); } catch { parsed = undefined; }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) cmd = parsed;
    else {
      consoleLines.push({ kind: '>', text: cmd });
      reply = JSON.parse(m.executeJson(cmd));
    }
  }
  if (reply === undefined) {
    consoleLines.push({ kind: '>', text: JSON.stringify(cmd) });
    reply = m.execute(cmd);
  }
  consoleLines.push({ kind: '<', text: JSON.stringify(reply), error: !!reply.error });
  if (reply.return !== undefined && cmd.execute === 'blockdev-add' && cmd.arguments?.['node-name']) {
    nodes.add(cmd.arguments['node-name']);
  }
  if (reply.return !== undefined && cmd.execute === 'blockdev-del') nodes.delete(cmd.arguments?.['node-name']);
  if ($('#autosettle').checked) m.settle();
  after(label || (cmd.execute ?? 'send'));
  say(reply.error ? `Error: ${reply.error.desc}` : `${cmd.execute ?? 'command'}: ok`);
  return reply;
}

/** Runs one scenario line through the core replayer. */
function scenarioLine(line) {
  branchIfScrubbed();
  let out;
  try {
    out = m.runScenarioLine(line);
  } catch (e) {
    consoleLines.push({ kind: '<', text: `scenario error: ${e.message}`, error: true });
    after('scenario error');
    return;
  }
  for (const l of out) {
    if (l.startsWith('> ')) consoleLines.push({ kind: '>', text: l.slice(2) });
    else if (l.startsWith('< ')) consoleLines.push({ kind: '<', text: l.slice(2), error: l.includes('"error": ') });
    else if (l.startsWith('~ ')) consoleLines.push({ kind: '~', text: l.slice(2) });
    const add = l.match(/^> (.*)$/);
    if (add) {
      try {
        const c = JSON.parse(add[1]);
        if (c.execute === 'blockdev-add' && c.arguments?.['node-name']) nodes.add(c.arguments['node-name']);
      } catch { /* a `send` line */ }
    }
  }
  const first = line.trim();
  after(first.length > 40 ? first.slice(0, 40) + '…' : first);
}

function stepOnce() {
  branchIfScrubbed();
  if (m.hasReadyWork()) m.step();
  else {
    const d = m.nextDeadline();
    if (d === undefined) { say('Nothing to run: no ready work and no timer armed'); return; }
    m.tick(d);
  }
  after('step');
}

/** Takes the new events, updates the job table, records a history entry. */
function after(label, { recordHistory = true } = {}) {
  const events = m.drainEvents();
  for (const e of events) {
    log.push(e);
    if (e.event === 'JOB_STATUS_CHANGE') {
      const { id, status } = e.data;
      let j = jobs.get(id);
      if (!j || (j.gone && status === 'created')) {
        j = { type: '?', status: 'undefined', path: ['undefined'], gone: false, info: null, block: null };
        jobs.set(id, j);
      }
      j.status = status;
      j.path.push(status);
      if (status === 'null') j.gone = true;
    } else if (e.data.type && jobs.has(e.data.id ?? e.data.device)) {
      // A job that lived and died within one command is never in query-jobs: its type is in its events.
      jobs.get(e.data.id ?? e.data.device).type = e.data.type;
    }
  }
  const infos = m.queryJobs();
  const blocks = new Map(m.queryBlockJobs().map((b) => [b.device, b]));
  for (const info of infos) {
    let j = jobs.get(info.id);
    if (!j) { j = { type: info.type, status: info.status, path: ['undefined', info.status], gone: false }; jobs.set(info.id, j); }
    j.type = info.type;
    j.status = info.status;
    j.info = info;
    j.block = blocks.get(info.id) ?? null;
  }
  if (recordHistory && (events.length || label !== 'play')) record(label);
  render();
}

// ---------------------------------------------------------------------------
// History: snapshots to scrub back and branch from
// ---------------------------------------------------------------------------

function record(label) {
  history.push({
    label, t: m.now(), bytes: m.snapshot(), transcriptLen: m.transcriptLength(),
    logLen: log.length, consoleLen: consoleLines.length, jobs: clone([...jobs]), nodes: [...nodes],
    scnAt: scenario.at,
  });
  if (history.length > 2000) history.splice(1, 1);
  historyAt = history.length - 1;
}

function scrubTo(i) {
  const h = history[i];
  if (!h) return;
  stopPlay();
  m.restore(h.bytes);
  m.truncateTranscript(h.transcriptLen);
  log = log.slice(0, h.logLen);
  consoleLines = consoleLines.slice(0, h.consoleLen);
  jobs = new Map(clone(h.jobs));
  nodes = new Set(h.nodes);
  scenario.at = Math.min(h.scnAt, scenario.lines.length);
  historyAt = i;
  render();
  say(`Back at snapshot #${i}: ${h.label}`);
}

/** A new action after scrubbing back drops the snapshots after the current one. */
function branchIfScrubbed() {
  if (historyAt < history.length - 1) {
    history = history.slice(0, historyAt + 1);
    history[historyAt].label += ' (branch)';
  }
}

// ---------------------------------------------------------------------------
// Virtual time
// ---------------------------------------------------------------------------

function frame(ts) {
  if (!playing) return;
  const dt = Math.min(ts - lastFrame, 250);
  lastFrame = ts;
  const factor = Number($('#factor').value);
  const ns = Math.round(dt * 1e6 * factor);
  if (ns > 0) {
    m.advance(ns);
    after('play');
  }
  requestAnimationFrame(frame);
}

function startPlay() {
  if (playing) return;
  branchIfScrubbed();
  playing = true;
  lastFrame = performance.now();
  $('#play').textContent = '⏸ Pause';
  $('#play').setAttribute('aria-pressed', 'true');
  requestAnimationFrame(frame);
}

function stopPlay() {
  if (!playing) return;
  playing = false;
  $('#play').textContent = '▶ Play';
  $('#play').setAttribute('aria-pressed', 'false');
  record('pause time');
  renderHistory();
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

function fmtBytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} KiB`;
  return `${n} B`;
}
const fmtTime = (ns) => (ns / 1e9).toFixed(6);

function render() {
  $('#clock').textContent = fmtTime(m.now());
  const d = m.nextDeadline();
  $('#deadline').textContent = d === undefined ? 'no timer armed' : `next timer at ${fmtTime(d)} s`;
  renderJobs();
  renderDiagram();
  renderEvents();
  renderConsole();
  renderNodes();
  renderScenario();
  renderHistory();
}

function renderJobs() {
  const box = $('#jobs');
  $('#no-jobs').hidden = jobs.size > 0;
  const seen = new Set();
  for (const [id, j] of jobs) {
    seen.add(id);
    let card = box.querySelector(`[data-job="${CSS.escape(id)}"]`);
    if (!card) { card = buildCard(id); box.append(card); }
    updateCard(card, id, j);
  }
  for (const card of box.querySelectorAll('[data-job]')) if (!seen.has(card.dataset.job)) card.remove();
}

function buildCard(id) {
  const card = el('article', { class: 'card', 'data-job': id, 'aria-label': `job ${id}` });
  card.append(
    el('header', { class: 'card-head' },
      el('h3', { text: id }), el('span', { class: 'type' }),
      el('span', { class: 'status', 'data-role': 'status' })),
    el('div', { class: 'progress', role: 'progressbar', 'aria-label': `progress of ${id}`, 'aria-valuemin': '0' },
      el('div', { class: 'bar' })),
    el('p', { class: 'facts' }),
    el('p', { class: 'error', hidden: true }),
  );
  const verbs = el('div', { class: 'verbs', role: 'group', 'aria-label': `verbs for ${id}` });
  for (const [label, verb, build] of VERB_BUTTONS) {
    verbs.append(el('button', { type: 'button', 'data-verb': verb, 'data-label': label, text: label,
      onclick: () => command(build(id), `${label} ${id}`) }));
  }
  const speedForm = el('form', { class: 'speed-form', onsubmit: (ev) => {
    ev.preventDefault();
    const v = Number(speedForm.elements.speed.value || 0);
    command({ execute: 'block-job-set-speed', arguments: { device: id, speed: v } }, `set-speed ${id}`);
  } });
  speedForm.append(
    el('label', { text: 'speed ' }, el('input', { name: 'speed', type: 'number', min: '0', value: '0', size: '10',
      'aria-label': `new speed of ${id} in bytes per second` })),
    el('button', { type: 'submit', 'data-verb': 'set-speed', 'data-label': 'set speed', text: 'set speed' }));
  card.append(verbs, speedForm);
  return card;
}

function updateCard(card, id, j) {
  card.dataset.status = j.status;
  card.classList.toggle('gone', j.gone);
  card.querySelector('.type').textContent = j.type;
  card.querySelector('[data-role=status]').textContent = j.status;
  const info = j.info; // the last query-jobs entry seen, kept once the job is gone
  const cur = info ? info['current-progress'] : 0;
  const tot = info ? info['total-progress'] : 0;
  const pct = tot ? Math.round((cur / tot) * 1000) / 10 : (j.status === 'concluded' ? 100 : 0);
  const bar = card.querySelector('.progress');
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-valuenow', String(pct));
  bar.setAttribute('aria-valuetext', info ? `${fmtBytes(cur)} of ${fmtBytes(tot)}` : j.status);
  bar.querySelector('.bar').style.width = `${pct}%`;
  const b = j.gone ? null : j.block;
  const facts = [];
  if (info) facts.push(`${fmtBytes(cur)} / ${fmtBytes(tot)} (${pct}%)`);
  if (b) {
    facts.push(`speed ${b.speed ? fmtBytes(b.speed) + '/s' : 'unlimited'}`);
    if (b.paused) facts.push('pause requested');
    if (b['io-status'] !== 'ok') facts.push(`io-status ${b['io-status']}`);
    facts.push(`auto-finalize ${b['auto-finalize']}, auto-dismiss ${b['auto-dismiss']}`);
  }
  if (j.gone) facts.unshift('torn down (null): gone from every query; last seen');
  card.querySelector('.facts').textContent = facts.join(' · ');
  const err = card.querySelector('.error');
  err.hidden = !info?.error;
  err.textContent = info?.error ? `error: ${info.error}` : '';
  for (const btn of card.querySelectorAll('button[data-verb]')) {
    const verb = btn.dataset.verb;
    const label = btn.dataset.label;
    let allowed = m.verbAllowed(id, verb);
    let why;
    if (allowed === undefined) { allowed = false; why = `Job '${id}' no longer exists`; }
    else if (!allowed) why = m.verbRefusal(id, verb);
    if (allowed && (label === 'soft cancel' || label === 'set speed') && !b) {
      allowed = false;
      why = `'${id}' is not a block job: block-job-* commands do not see it`;
    }
    btn.disabled = !allowed;
    btn.title = allowed ? `${label} ${id}` : why;
  }
}

function renderDiagram() {
  const sel = $('#diagram-job');
  const want = sel.value;
  const ids = [...jobs.keys()];
  const have = [...sel.options].map((o) => o.value).slice(1);
  if (have.join() !== ids.join()) {
    sel.replaceChildren(el('option', { value: '', text: 'all jobs' }), ...ids.map((id) => el('option', { value: id, text: id })));
    sel.value = ids.includes(want) ? want : '';
  }
  const shown = sel.value ? [[sel.value, jobs.get(sel.value)]] : [...jobs];
  const taken = new Set();
  const here = new Map();
  for (const [id, j] of shown) {
    for (let i = 1; i < j.path.length; i++) taken.add(`${j.path[i - 1]}>${j.path[i]}`);
    if (!here.has(j.status)) here.set(j.status, []);
    here.get(j.status).push(id);
  }
  const NS = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  };
  const svg = s('svg', { viewBox: '0 0 580 360', role: 'img',
    'aria-label': `State diagram of QEMU's 11 job statuses. ${[...here].map(([st, ids]) => `${ids.join(', ')} in ${st}`).join('; ')}` });
  const defs = s('defs', {});
  for (const [name, color] of [['a', '#8a94a6'], ['t', '#d9480f']]) {
    const mk = s('marker', { id: `arrow-${name}`, viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' });
    mk.append(s('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }));
    defs.append(mk);
  }
  svg.append(defs);
  const R = { w: 44, h: 15 };
  for (const [from, to] of TRANSITIONS) {
    const key = `${from}>${to}`;
    const isTaken = taken.has(key);
    const [x1, y1] = POS[from];
    const [x2, y2] = POS[to];
    let d;
    if (from === to) {
      d = `M${x1 - 20},${y1 + R.h} C${x1 - 40},${y1 + 55} ${x1 + 40},${y1 + 55} ${x1 + 20},${y1 + R.h}`;
    } else {
      const [sx, sy] = clip(x1, y1, x2, y2, R);
      const [ex, ey] = clip(x2, y2, x1, y1, R);
      const bend = BEND[key] ?? 0;
      const mx = (sx + ex) / 2;
      const my = (sy + ey) / 2;
      const len = Math.hypot(ex - sx, ey - sy) || 1;
      const cx = mx + (-(ey - sy) / len) * bend;
      const cy = my + ((ex - sx) / len) * bend;
      d = `M${sx},${sy} Q${cx},${cy} ${ex},${ey}`;
    }
    svg.append(s('path', { d, class: `edge${isTaken ? ' taken' : ''}`, 'data-edge': key,
      'marker-end': `url(#arrow-${isTaken ? 't' : 'a'})` }));
  }
  for (const st of STATUSES) {
    const [x, y] = POS[st];
    const ids = here.get(st) ?? [];
    const g = s('g', { class: `node${ids.length ? ' cur' : ''}`, 'data-status': st });
    g.append(s('rect', { x: x - R.w, y: y - R.h, width: R.w * 2, height: R.h * 2, rx: '8' }));
    g.append(s('text', { x, y: y + 4, 'text-anchor': 'middle' }, st));
    if (ids.length) {
      const label = ids.length > 3 ? `${ids.slice(0, 3).join(', ')} +${ids.length - 3}` : ids.join(', ');
      g.append(s('text', { x, y: y + R.h + 13, 'text-anchor': 'middle', class: 'who' }, label));
    }
    svg.append(g);
  }
  $('#diagram').replaceChildren(svg);
}

/** Where the segment from (x1,y1) to (x2,y2) leaves the box around (x1,y1). */
function clip(x1, y1, x2, y2, R) {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const t = Math.min(dx ? R.w / Math.abs(dx) : Infinity, dy ? R.h / Math.abs(dy) : Infinity);
  return [x1 + dx * t, y1 + dy * t];
}

let renderedEvents = 0;
let renderedFilter = null;
function renderEvents() {
  const sel = $('#event-filter');
  const ids = [...new Set(log.map((e) => e.data.id ?? e.data.device ?? '(VM)'))];
  const have = [...sel.options].map((o) => o.value).slice(1);
  if (have.join() !== ids.join()) {
    const want = sel.value;
    sel.replaceChildren(el('option', { value: '', text: 'all' }), ...ids.map((id) => el('option', { value: id, text: id })));
    sel.value = ids.includes(want) ? want : '';
  }
  const f = sel.value;
  const list = $('#events');
  if (renderedFilter !== f || renderedEvents > log.length) {
    list.replaceChildren();
    renderedEvents = 0;
    renderedFilter = f;
  }
  const frag = document.createDocumentFragment();
  for (let i = renderedEvents; i < log.length; i++) {
    const e = log[i];
    const who = e.data.id ?? e.data.device ?? '(VM)';
    if (f && who !== f) continue;
    frag.append(el('li', { class: `ev ev-${e.event.toLowerCase()}`, 'data-event': e.event, 'data-job': who },
      el('code', { text: qmpText(e) })));
  }
  renderedEvents = log.length;
  list.append(frag);
  while (list.children.length > 400) list.firstChild.remove();
  list.scrollTop = list.scrollHeight;
}

/** JSON with QMP's spacing (`", "` and `": "`), key order kept, so long lines wrap at spaces. */
function qmpText(v) {
  if (Array.isArray(v)) return `[${v.map(qmpText).join(', ')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${qmpText(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}

function renderConsole() {
  const out = $('#console-out');
  while (out.children.length > consoleLines.length) out.lastChild.remove();
  for (let i = out.children.length; i < consoleLines.length; i++) {
    const l = consoleLines[i];
    out.append(el('li', { class: `c-${{ '>': 'cmd', '<': 'reply', '~': 'dir' }[l.kind]}${l.error ? ' err' : ''}` },
      el('span', { class: 'mark', 'aria-hidden': 'true', text: l.kind }), el('code', { text: l.text })));
  }
  out.scrollTop = out.scrollHeight;
}

function renderNodes() {
  $('#nodes').textContent = [...nodes].join(', ');
  const dl = $('#node-list');
  dl.replaceChildren(...[...nodes].map((n) => el('option', { value: n })));
}

function renderScenario() {
  const list = $('#scenario-lines');
  const items = list.children;
  for (let i = 0; i < items.length; i++) {
    items[i].classList.toggle('done', i < scenario.at);
    items[i].classList.toggle('next', i === scenario.at);
    if (i === scenario.at) items[i].setAttribute('aria-current', 'step'); else items[i].removeAttribute('aria-current');
  }
  const left = scenario.at < scenario.lines.length;
  $('#scn-next').disabled = !left;
  $('#scn-play').disabled = !left;
  $('#scn-all').disabled = !left;
  if (items[scenario.at]) items[scenario.at].scrollIntoView({ block: 'nearest' });
}

function renderHistory() {
  const r = $('#history');
  r.max = String(history.length - 1);
  r.value = String(historyAt);
  const h = history[historyAt];
  $('#history-label').textContent = `#${historyAt} of ${history.length - 1}: ${h.label} (t = ${fmtTime(h.t)} s)`;
}

function say(text) { $('#status').textContent = text; }

// ---------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------

function buildForms() {
  const box = $('#forms');
  box.append(el('datalist', { id: 'node-list' }));
  for (const spec of FORMS) {
    const form = el('form', { class: 'job-form', 'data-form': spec.key });
    const grid = el('div', { class: 'fields' });
    for (const f of spec.fields) {
      const id = `f-${spec.key}-${f.name}`;
      let input;
      if (f.type === 'select') {
        input = el('select', { id, name: f.name }, ...f.options.map((o) => el('option', { value: o, text: o })));
      } else if (f.type === 'checkbox') {
        input = el('input', { id, name: f.name, type: 'checkbox', checked: f.value });
      } else {
        input = el('input', { id, name: f.name, type: f.type || 'text', value: f.value,
          placeholder: f.placeholder, list: f.list ? 'node-list' : null, min: f.type === 'number' ? '0' : null });
      }
      grid.append(el('label', { for: id, text: f.label ?? f.name }), input);
    }
    form.append(grid, el('button', { type: 'submit', text: `Create ${spec.title.split(' ')[0].toLowerCase()}` }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      command(formCommand(spec, form), `create ${spec.key}`);
    });
    box.append(el('details', { open: spec.open ?? false, 'data-details': spec.key }, el('summary', { text: spec.title }), form));
  }
}

/** The QMP command of a creation form: empty fields and defaults are left out. */
function formCommand(spec, form) {
  const v = (name) => form.elements[name];
  const text = (name) => v(name).value.trim();
  const num = (name) => (text(name) === '' ? undefined : Number(text(name)));
  const jobOpts = (a) => {
    const speed = num('speed');
    if (speed) a.speed = speed;
    if (!v('auto-finalize').checked) a['auto-finalize'] = false;
    if (!v('auto-dismiss').checked) a['auto-dismiss'] = false;
    return a;
  };
  const policy = (a, name) => { if (text(name) !== 'report') a[name] = text(name); };
  const opt = (a, name) => { if (text(name)) a[name] = text(name); };
  switch (spec.key) {
    case 'backup':
    case 'mirror': {
      const a = { 'job-id': text('job-id'), device: text('device'), target: text('target'), sync: text('sync') };
      jobOpts(a);
      policy(a, 'on-source-error');
      policy(a, 'on-target-error');
      return { execute: spec.command, arguments: a };
    }
    case 'txn': {
      const member = (n) => {
        const d = { 'job-id': text(`id${n}`), device: text(`dev${n}`), target: text(`tgt${n}`), sync: 'full' };
        const speed = num(`speed${n}`);
        if (speed) d.speed = speed;
        if (!v('auto-finalize').checked) d['auto-finalize'] = false;
        if (!v('auto-dismiss').checked) d['auto-dismiss'] = false;
        return { type: 'blockdev-backup', data: d };
      };
      return { execute: 'transaction', arguments: { actions: [member(1), member(2)],
        properties: { 'completion-mode': text('completion-mode') } } };
    }
    case 'commit': {
      const a = { 'job-id': text('job-id'), device: text('device') };
      opt(a, 'top-node');
      opt(a, 'base-node');
      jobOpts(a);
      policy(a, 'on-error');
      return { execute: 'block-commit', arguments: a };
    }
    case 'stream': {
      const a = { 'job-id': text('job-id'), device: text('device') };
      opt(a, 'base-node');
      jobOpts(a);
      policy(a, 'on-error');
      return { execute: 'block-stream', arguments: a };
    }
    case 'create':
      return { execute: 'blockdev-create', arguments: { 'job-id': text('job-id'),
        options: { driver: 'file', filename: text('filename'), size: num('size') ?? 0 } } };
    case 'amend':
      return { execute: 'x-blockdev-amend', arguments: { 'job-id': text('job-id'), 'node-name': text('node-name'),
        options: { driver: 'qcow2' } } };
    case 'snapshot': {
      const op = text('op');
      const a = { 'job-id': text('job-id'), tag: text('tag') };
      if (op !== 'snapshot-delete') a.vmstate = text('vmstate');
      a.devices = text('devices').split(',').map((x) => x.trim()).filter(Boolean);
      return { execute: op, arguments: a };
    }
    default:
      throw new Error(spec.key);
  }
}

const CHAIN = [
  '{"image": {"file": "base.qcow2", "format": "qcow2", "size": 4194304, "data": [[0, 1048576], [2097152, 524288]]}}',
  '{"image": {"file": "mid.qcow2", "format": "qcow2", "size": 4194304, "backing": "base.qcow2", "data": [[1048576, 1048576]]}}',
  '{"image": {"file": "top.qcow2", "format": "qcow2", "size": 4194304, "backing": "mid.qcow2", "data": [[3145728, 65536]]}}',
  '{"execute": "blockdev-add", "arguments": {"driver": "qcow2", "node-name": "base", "file": {"driver": "file", "filename": "base.qcow2"}}}',
  '{"execute": "blockdev-add", "arguments": {"driver": "qcow2", "node-name": "mid", "file": {"driver": "file", "filename": "mid.qcow2"}, "backing": "base"}}',
  '{"execute": "blockdev-add", "arguments": {"driver": "qcow2", "node-name": "top", "file": {"driver": "file", "filename": "top.qcow2"}, "backing": "mid"}}',
];

// ---------------------------------------------------------------------------
// Scenarios and export
// ---------------------------------------------------------------------------

function loadScenario(name, text) {
  stopScenarioPlay();
  newWorld();
  scenario = { name, lines: text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')), at: 0, timer: 0 };
  const machine = scenario.lines[0]?.replace(/\s/g, '') === '{"machine":"none"}';
  $('#machine').checked = machine;
  $('#scenario-lines').replaceChildren(...scenario.lines.map((l) => el('li', {}, el('code', { text: l }))));
  history[0].label = `start of ${name}`;
  render();
  say(`Loaded scenario ${name}: ${scenario.lines.length} lines`);
}

function scenarioNext() {
  if (scenario.at >= scenario.lines.length) return false;
  const line = scenario.lines[scenario.at];
  scenario.at += 1;
  scenarioLine(line);
  return scenario.at < scenario.lines.length;
}

function stopScenarioPlay() {
  clearInterval(scenario.timer);
  scenario.timer = 0;
  $('#scn-play').textContent = 'Play';
}

function exportTranscript() {
  const blob = new Blob([m.transcript()], { type: 'text/plain' });
  const a = el('a', { href: URL.createObjectURL(blob), download: `${scenario.name || 'qjob-session'}.transcript.txt` });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------

let STATUSES;
let TRANSITIONS;

async function main() {
  await init();
  STATUSES = statuses();
  TRANSITIONS = statusTransitions();
  buildForms();
  newWorld();

  $('#play').addEventListener('click', () => (playing ? stopPlay() : startPlay()));
  $('#step').addEventListener('click', () => { stopPlay(); stepOnce(); });
  $('#machine').addEventListener('change', (e) => { m.setMachine(e.target.checked); after('machine mode'); });
  $('#add-chain').addEventListener('click', () => { for (const l of CHAIN) scenarioLine(l); });
  $('#errnode-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    command({ execute: 'blockdev-add', arguments: { driver: 'raw', 'node-name': f.node.value.trim(),
      file: { driver: 'blkdebug', 'inject-error': [{ event: f.event.value, errno: Number(f.errno.value), once: f.once.checked }],
        image: { driver: 'null-co', size: 67108864, 'read-zeroes': false } } } }, 'add error node');
  });
  const input = $('#console-input');
  $('#console-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    command(text, 'console');
    input.value = '';
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); $('#console-form').requestSubmit(); }
  });
  $('#q-jobs').addEventListener('click', () => command({ execute: 'query-jobs' }));
  $('#q-block-jobs').addEventListener('click', () => command({ execute: 'query-block-jobs' }));
  $('#clear-gone').addEventListener('click', () => {
    for (const [id, j] of jobs) if (j.gone) jobs.delete(id);
    render();
  });
  $('#diagram-job').addEventListener('change', renderDiagram);
  $('#event-filter').addEventListener('change', renderEvents);
  $('#history').addEventListener('input', (e) => scrubTo(Number(e.target.value)));
  $('#reset').addEventListener('click', () => {
    stopPlay(); stopScenarioPlay();
    scenario = { name: '', lines: [], at: 0, timer: 0 };
    $('#scenario-lines').replaceChildren();
    newWorld(); render(); say('New default world');
  });
  $('#export').addEventListener('click', exportTranscript);

  const sel = $('#scenario-select');
  try {
    const names = await (await fetch('/scenarios/index.json')).json();
    sel.append(...names.map((n) => el('option', { value: n, text: n.replace(/\.scn$/, '') })));
  } catch { sel.disabled = true; }
  sel.addEventListener('change', async () => {
    if (!sel.value) return;
    const text = await (await fetch(`/scenarios/${sel.value}`)).text();
    loadScenario(sel.value.replace(/\.scn$/, ''), text);
  });
  $('#scenario-file').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    if (file) loadScenario(file.name.replace(/\.(scn|txt)$/, ''), await file.text());
  });
  $('#scn-next').addEventListener('click', () => { stopScenarioPlay(); scenarioNext(); });
  $('#scn-all').addEventListener('click', () => { stopScenarioPlay(); while (scenarioNext()) { /* all lines */ } });
  $('#scn-play').addEventListener('click', () => {
    if (scenario.timer) { stopScenarioPlay(); return; }
    $('#scn-play').textContent = 'Stop';
    scenario.timer = setInterval(() => { if (!scenarioNext()) stopScenarioPlay(); }, 400);
  });

  document.addEventListener('keydown', (ev) => {
    if (ev.target.closest('input, textarea, select') || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'p') { ev.preventDefault(); playing ? stopPlay() : startPlay(); }
    if (ev.key === 's') { ev.preventDefault(); stopPlay(); stepOnce(); }
  });

  render();
  document.body.dataset.ready = '1';
  // For tests and the curious: the manager and the driver's view of the jobs.
  window.qjob = { get manager() { return m; }, get jobs() { return jobs; }, get log() { return log; }, toSortedJson };
}

main().catch((e) => {
  document.body.dataset.ready = 'error';
  document.body.prepend(el('p', { class: 'fatal', text: `The simulator could not start: ${e}` }));
  throw e;
});
