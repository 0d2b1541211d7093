// @ts-check
// The lifecycle simulator's page: the view of the simulator's state (sim.mjs) and the wiring of
// the controls. It owns real time and the DOM; every behaviour comes from the module through
// the simulator. Refusals are shown where the user acted (beside the card, the form, the
// console, the scenario) in QEMU's words, and kept in the console.
import init, * as q from '../js/web.mjs';
import { Simulator } from './sim.mjs';
import { renderDiagram } from './diagram.mjs';
import { formSpecs, worldDefaults, formCommand, createdIds } from './forms.mjs';
import { fmtBytes, fmtSpeed, fmtDuration, fmtExact, qmpText } from './format.mjs';
import { sideBySide, windowDiffers } from './sidebyside.mjs';

/** @typedef {import('./sim.mjs').JobView} JobView */
/** @typedef {import('./forms.mjs').FormSpec} FormSpec */
/** @typedef {import('../js/web.mjs').JobVerb} JobVerb */
/** @typedef {import('../js/web.mjs').QmpCommand} QmpCommand */
/** @typedef {import('../js/web.mjs').QmpReply} QmpReply */
/** @typedef {import('../js/web.mjs').QemuVersion} QemuVersion */

/**
 * The element `sel` finds, of class `type`.
 * @template {Element} T @param {string} sel @param {new () => T} type @param {ParentNode} [root]
 * @returns {T}
 */
function find(sel, type, root = document) {
  const e = root.querySelector(sel);
  if (!(e instanceof type)) throw new Error(`the page has no ${type.name} ${sel}`);
  return e;
}
const $ = (/** @type {string} */ sel) => find(sel, HTMLElement);
const input = (/** @type {string} */ sel) => find(sel, HTMLInputElement);
const select = (/** @type {string} */ sel) => find(sel, HTMLSelectElement);
const button = (/** @type {string} */ sel) => find(sel, HTMLButtonElement);
const form = (/** @type {string} */ sel) => find(sel, HTMLFormElement);

/**
 * A new element: `text`, `class`, `on…` listeners, boolean and string attributes.
 * @param {string} tag @param {Record<string, unknown>} [attrs] @param {(Node | string | null)[]} kids
 */
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = String(v);
    else if (k === 'text') e.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (v === true) e.setAttribute(k, '');
    else if (v !== false && v != null) e.setAttribute(k, String(v));
  }
  for (const kid of kids) if (kid != null) e.append(kid);
  return e;
}

/**
 * Shows an outcome in a result line beside a control: a refusal (QEMU's words) or a success.
 * @param {HTMLElement} line @param {string | null} text @param {{error?: boolean, extra?: Node}} [opts]
 */
function show(line, text, { error = false, extra } = {}) {
  line.hidden = text === null;
  line.classList.toggle('refused', error);
  line.setAttribute('role', error ? 'alert' : 'status');
  line.replaceChildren(...(text === null ? [] : [text]), ...(extra ? [' ', extra] : []));
}
/** The result line of a refusal reply, as QEMU worded it. @param {QmpReply} reply */
const refusal = (reply) => (reply.error ? `Refused: ${reply.error.desc}` : null);

// Verb buttons of a job card: label, the verb the table decides, the command, block jobs only.
/** @type {[string, JobVerb, (id: string) => QmpCommand, boolean][]} */
const VERB_BUTTONS = [
  ['pause', 'pause', (id) => ({ execute: 'job-pause', arguments: { id } }), false],
  ['resume', 'resume', (id) => ({ execute: 'job-resume', arguments: { id } }), false],
  ['complete', 'complete', (id) => ({ execute: 'job-complete', arguments: { id } }), false],
  ['cancel', 'cancel', (id) => ({ execute: 'job-cancel', arguments: { id } }), false],
  ['soft cancel', 'cancel', (id) => ({ execute: 'block-job-cancel', arguments: { device: id, force: false } }), true],
  ['finalize', 'finalize', (id) => ({ execute: 'job-finalize', arguments: { id } }), false],
  ['dismiss', 'dismiss', (id) => ({ execute: 'job-dismiss', arguments: { id } }), false],
];

const CHAIN = [
  '{"image": {"file": "base.qcow2", "format": "qcow2", "size": 4194304, "data": [[0, 1048576], [2097152, 524288]]}}',
  '{"image": {"file": "mid.qcow2", "format": "qcow2", "size": 4194304, "backing": "base.qcow2", "data": [[1048576, 1048576]]}}',
  '{"image": {"file": "top.qcow2", "format": "qcow2", "size": 4194304, "backing": "mid.qcow2", "data": [[3145728, 65536]]}}',
  '{"execute": "blockdev-add", "arguments": {"driver": "qcow2", "node-name": "base", "file": {"driver": "file", "filename": "base.qcow2"}}}',
  '{"execute": "blockdev-add", "arguments": {"driver": "qcow2", "node-name": "mid", "file": {"driver": "file", "filename": "mid.qcow2"}, "backing": "base"}}',
  '{"execute": "blockdev-add", "arguments": {"driver": "qcow2", "node-name": "top", "file": {"driver": "file", "filename": "top.qcow2"}, "backing": "mid"}}',
];

/** What the page adds to the simulator's state: real time and what is on screen. */
const ui = {
  playing: false,
  lastFrame: 0,
  /** @type {ReturnType<typeof setInterval> | 0} */
  scenarioTimer: 0,
  renderedEvents: 0,
  /** @type {string | null} */
  renderedFilter: null,
  /** Refusals beside each card, until the card's next command. @type {Map<string, string>} */
  cardRefusals: new Map(),
  /** Fields the user changed, which keep their value. @type {Set<HTMLInputElement | HTMLSelectElement>} */
  edited: new Set(),
  /** The side-by-side view's current difference (index among the windows that differ). */
  compareAt: -1,
};

/** Shows what stopped the page (a panic inside the module is a bug in qjob). @param {unknown} e */
function fatal(e) {
  if (document.body.dataset.ready !== '1') document.body.dataset.ready = 'error';
  const text = e instanceof Error && e.name === 'QjobPanic'
    ? `${e.message} — a bug in qjob; the simulator cannot go on (reload the page).`
    : `The simulator stopped: ${e instanceof Error ? e.message : String(e)}`;
  document.querySelector('.fatal')?.remove();
  document.body.prepend(el('p', { class: 'fatal', role: 'alert', text }));
}
window.addEventListener('error', (ev) => fatal(ev.error ?? ev.message));
window.addEventListener('unhandledrejection', (ev) => fatal(ev.reason));

await init();
const sim = new Simulator(q);
const STATUSES = q.statuses();
const TRANSITIONS = q.statusTransitions();
const SPECS = formSpecs(q.enums(), q.optionDefaults());
const QEMUS = q.qemuVersions();

// ---------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------

/** A command from a job card: its refusal shows on the card (and in the console). */
function cardCommand(/** @type {string} */ id, /** @type {QmpCommand} */ cmd, /** @type {string} */ label) {
  const reply = sim.command(cmd, label);
  const text = refusal(reply);
  if (text) ui.cardRefusals.set(id, text);
  else ui.cardRefusals.delete(id);
  render();
  say(text ?? `${label}: ok`);
}

/** A command from a form or a control: its outcome shows in `line`. @returns {QmpReply} */
function formCommandAt(/** @type {HTMLElement} */ line, /** @type {QmpCommand | string} */ cmd, /** @type {string} */ label, ok = 'done') {
  const reply = sim.command(cmd, label);
  show(line, refusal(reply) ?? ok, { error: !!reply.error });
  render();
  say(refusal(reply) ?? `${label}: ${ok}`);
  return reply;
}

function stepOnce() {
  stopPlay();
  const nothing = sim.step();
  render();
  say(nothing ?? `step: t = ${fmtDuration(sim.m.now())}`);
}

/** @param {number} ts */
function frame(ts) {
  if (!ui.playing) return;
  const dt = Math.min(ts - ui.lastFrame, 250);
  ui.lastFrame = ts;
  const ns = Math.round(dt * 1e6 * Number(select('#factor').value));
  if (ns > 0) {
    sim.advance(ns);
    render();
  }
  requestAnimationFrame(frame);
}

function startPlay() {
  if (ui.playing) return;
  sim.branchIfScrubbed();
  ui.playing = true;
  ui.lastFrame = performance.now();
  button('#play').textContent = '⏸ Pause time';
  button('#play').setAttribute('aria-pressed', 'true');
  requestAnimationFrame(frame);
}

function stopPlay() {
  if (!ui.playing) return;
  ui.playing = false;
  button('#play').textContent = '▶ Run time';
  button('#play').setAttribute('aria-pressed', 'false');
  sim.record('pause time');
  renderHistory();
}

function stopScenarioPlay() {
  clearInterval(ui.scenarioTimer);
  ui.scenarioTimer = 0;
  button('#scn-play').textContent = 'Play lines';
}

/** Runs the next scenario line; whether more are left. */
function scenarioNext() {
  const { more, error } = sim.scenarioNext();
  show($('#scenario-result'), error ?? null, { error: true });
  render();
  return more && !error;
}

/**
 * Whether the session may be discarded for `what`: asks first when it holds anything.
 * @param {string} what the question's start ("Load the scenario x?")
 */
function mayDiscard(what) {
  return !sim.hasSession() || window.confirm(
    `${what} It starts a new world: this session's ${sim.history.length - 1} actions are `
    + 'discarded (Export transcript and Save snapshot keep them).');
}

/** Stops what runs by itself before the world changes under it. */
function stopAll() {
  stopPlay();
  stopScenarioPlay();
  ui.cardRefusals.clear();
}

/** Shows the scenario's lines (none when no scenario is loaded, and no scenario chosen). */
function showScenarioLines() {
  $('#scenario-lines').replaceChildren(...sim.scenario.lines.map((l) => el('li', {}, el('code', { text: l }))));
  show($('#scenario-result'), null);
  if (!sim.scenario.name) {
    select('#scenario-select').value = '';
    $('#scenario-file-name').textContent = '';
  }
}

/** Loads a scenario into a new world, after asking when that discards a session. */
function loadScenario(/** @type {string} */ name, /** @type {string} */ text) {
  if (!mayDiscard(`Load the scenario ${name}?`)) return false;
  stopAll();
  sim.loadScenario(name, text);
  showScenarioLines();
  render();
  say(`Loaded scenario ${name}: ${sim.scenario.lines.length} lines`);
  return true;
}

/** Another QEMU version: a new world (after asking when that discards a session). */
function switchQemu(/** @type {QemuVersion} */ qemu) {
  if (qemu === sim.m.qemu()) return;
  if (!mayDiscard(`Switch to QEMU ${qemu}?`)) {
    select('#qemu').value = sim.m.qemu();
    return;
  }
  stopAll();
  sim.setQemu(qemu);
  showScenarioLines();
  render();
  say(`Now QEMU ${qemu}: a new world${sim.scenario.name ? `, ${sim.scenario.name} back at its first line` : ''}`);
}

/** A file name for what this session saves: the scenario (or `qjob-session`) and its QEMU. */
const saveName = (/** @type {string} */ ext) => `${sim.scenario.name || 'qjob-session'}.qemu-${sim.m.qemu()}.${ext}`;

/** Offers `data` as a download called `name`. @param {BlobPart} data @param {string} name */
function download(data, name) {
  const blob = new Blob([data], { type: typeof data === 'string' ? 'text/plain' : 'application/octet-stream' });
  const a = el('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(/** @type {HTMLAnchorElement} */ (a).href); a.remove(); }, 0);
}

const exportTranscript = () => download(sim.m.transcript(), saveName('transcript.txt'));

function saveSnapshot() {
  stopPlay();
  const name = saveName('qjobsnap');
  download(new Uint8Array(sim.m.snapshot()), name);
  show($('#snapshot-result'), `Saved ${name} (QEMU ${sim.m.qemu()}, t = ${fmtDuration(sim.m.now())}).`);
}

/** Loads a saved snapshot as a new session; its QEMU version sets the control. */
async function loadSnapshot(/** @type {File} */ file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!mayDiscard(`Load the snapshot ${file.name}?`)) return;
  stopAll();
  try {
    sim.loadSnapshot(bytes, file.name);
  } catch (e) {
    show($('#snapshot-result'), `Refused: ${e instanceof Error ? e.message : String(e)}`, { error: true });
    say(`Snapshot ${file.name} refused`);
    return;
  }
  showScenarioLines();
  render();
  show($('#snapshot-result'), `Loaded ${file.name}: QEMU ${sim.m.qemu()}, t = ${fmtDuration(sim.m.now())}.`);
  say(`Loaded snapshot ${file.name}: QEMU ${sim.m.qemu()}`);
}

/** Moves the keyboard focus to job `id`'s card: its first verb the table allows. */
function focusCard(/** @type {string} */ id) {
  const card = document.querySelector(`[data-job="${CSS.escape(id)}"]`);
  if (!(card instanceof HTMLElement)) return;
  const first = card.querySelector('button[data-verb]:not([aria-disabled="true"]):not([hidden])');
  (first instanceof HTMLElement ? first : card).focus();
  card.scrollIntoView({ block: 'nearest' });
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

function render() {
  const qemu = sim.m.qemu();
  select('#qemu').value = qemu;
  document.title = `qjob — QEMU ${qemu} job lifecycle simulator`;
  $('#brand').title = `QEMU ${qemu}'s background-job lifecycle, simulated in WebAssembly`;
  const now = sim.m.now();
  $('#clock').textContent = fmtDuration(now);
  $('#clock').title = fmtExact(now);
  const d = sim.m.nextDeadline();
  $('#deadline').textContent = d === undefined ? 'no timer armed' : `next timer in ${fmtDuration(d - now)}`;
  input('#machine').checked = sim.m.machine();
  renderJobs();
  renderDiagramView();
  renderEvents();
  renderConsole();
  renderNodes();
  renderScenario();
  renderHistory();
}

function renderJobs() {
  const box = $('#jobs');
  $('#no-jobs').hidden = sim.jobs.size > 0;
  for (const [id, j] of sim.jobs) {
    let card = box.querySelector(`[data-job="${CSS.escape(id)}"]`);
    if (!(card instanceof HTMLElement)) {
      card = buildCard(id);
      box.append(card);
    }
    updateCard(/** @type {HTMLElement} */ (card), id, j);
  }
  for (const card of box.querySelectorAll('[data-job]')) {
    if (card instanceof HTMLElement && !sim.jobs.has(card.dataset.job ?? '')) card.remove();
  }
}

/** Shows why a verb is refused, for the button under the pointer, the finger or the focus. */
function explain(/** @type {HTMLElement} */ card, /** @type {HTMLButtonElement | null} */ btn) {
  const why = find('.why', HTMLElement, card);
  const text = btn?.dataset.why;
  why.hidden = !text;
  why.textContent = text ? `${btn?.dataset.label}: ${text}` : '';
}

function buildCard(/** @type {string} */ id) {
  const why = `why-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const card = el('article', { class: 'card', 'data-job': id, 'aria-label': `job ${id}`, tabindex: '-1' },
    el('header', { class: 'card-head' },
      el('h3', { text: id }), el('span', { class: 'type' }), el('span', { class: 'status', 'data-role': 'status' })),
    el('div', { class: 'progress', role: 'progressbar', 'aria-label': `progress of ${id}`, 'aria-valuemin': '0' },
      el('div', { class: 'bar' })),
    el('p', { class: 'facts' }),
    el('p', { class: 'error', hidden: true }),
    el('p', { class: 'refusal', role: 'alert', hidden: true }),
  );
  const verbs = el('div', { class: 'verbs', role: 'group', 'aria-label': `verbs for ${id}` });
  for (const [label, verb, build] of VERB_BUTTONS) {
    const btn = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', 'data-verb': verb, 'data-label': label,
      text: label, 'aria-describedby': why,
      onclick: () => cardCommand(id, build(id), `${label} ${id}`) }));
    for (const ev of ['focus', 'mouseenter', 'pointerdown']) btn.addEventListener(ev, () => explain(card, btn));
    btn.addEventListener('blur', () => explain(card, null));
    verbs.append(btn);
  }
  verbs.addEventListener('mouseleave', () => {
    if (!verbs.contains(document.activeElement)) explain(card, null);
  });
  const speedForm = /** @type {HTMLFormElement} */ (el('form', { class: 'speed-form' }));
  const speed = /** @type {HTMLInputElement} */ (el('input', { name: 'speed', type: 'number', min: '0', size: '10',
    'aria-label': `new speed of ${id} in bytes per second` }));
  speed.addEventListener('input', () => ui.edited.add(speed));
  speedForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ui.edited.delete(speed);
    cardCommand(id, { execute: 'block-job-set-speed', arguments: { device: id, speed: Number(speed.value || 0) } },
      `set-speed ${id}`);
  });
  speedForm.append(el('label', { text: 'speed (B/s) ' }, speed),
    el('button', { type: 'submit', 'data-label': 'set speed', text: 'set speed' }));
  card.append(verbs, el('p', { class: 'why', id: why, 'aria-live': 'polite', hidden: true }), speedForm);
  return card;
}

function updateCard(/** @type {HTMLElement} */ card, /** @type {string} */ id, /** @type {JobView} */ j) {
  card.dataset.status = j.status;
  card.classList.toggle('gone', j.gone);
  find('.type', HTMLElement, card).textContent = j.type ?? '';
  find('[data-role=status]', HTMLElement, card).textContent = j.status;
  const info = j.info;
  const cur = info ? info['current-progress'] : 0;
  const tot = info ? info['total-progress'] : 0;
  const pct = tot ? Math.round((cur / tot) * 1000) / 10 : (j.status === 'concluded' ? 100 : 0);
  const bar = find('.progress', HTMLElement, card);
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-valuenow', String(pct));
  bar.setAttribute('aria-valuetext', info ? `${fmtBytes(cur)} of ${fmtBytes(tot)}` : j.status);
  find('.bar', HTMLElement, bar).style.width = `${pct}%`;
  const b = j.block;
  const facts = [];
  if (j.gone) facts.push(info ? 'torn down (null): gone from every query; last seen' : 'torn down (null) within one command: it was never in a query');
  if (info) facts.push(`${fmtBytes(cur)} / ${fmtBytes(tot)} (${pct}%)`);
  if (b) {
    facts.push(`speed ${fmtSpeed(b.speed)}`);
    if (b.paused) facts.push('pause requested');
    if (b['io-status'] !== 'ok') facts.push(`io-status ${b['io-status']}`);
    facts.push(`auto-finalize ${b['auto-finalize']}, auto-dismiss ${b['auto-dismiss']}`);
  }
  find('.facts', HTMLElement, card).textContent = facts.join(' · ');
  const err = find('.error', HTMLElement, card);
  err.hidden = !info?.error;
  err.textContent = info?.error ? `error: ${info.error}` : '';
  const refused = ui.cardRefusals.get(id);
  show(find('.refusal', HTMLElement, card), refused ?? null, { error: true });
  const block = sim.isBlockJob(j.type);
  for (const btn of card.querySelectorAll('button[data-verb]')) {
    if (!(btn instanceof HTMLButtonElement)) continue;
    const label = btn.dataset.label ?? '';
    const blockOnly = VERB_BUTTONS.find(([l]) => l === label)?.[3] ?? false;
    btn.hidden = blockOnly && !block;
    const verb = /** @type {JobVerb} */ (btn.dataset.verb);
    const allowed = sim.m.verbAllowed(id, verb);
    const why = allowed === undefined ? `'${id}' no longer exists: QEMU does not know it`
      : allowed ? '' : sim.m.verbRefusal(id, verb) ?? '';
    // Still focusable and clickable: the reason shows on focus, hover or touch, and a click
    // sends the command anyway, so QEMU's own refusal shows beside the card.
    btn.setAttribute('aria-disabled', String(!!why));
    btn.dataset.why = why;
    btn.title = why || `${label} ${id}`;
    if (document.activeElement === btn) explain(card, btn);
  }
  const speedForm = find('.speed-form', HTMLFormElement, card);
  speedForm.hidden = !block || j.gone;
  const speed = find('input[name=speed]', HTMLInputElement, speedForm);
  if (b && !ui.edited.has(speed) && document.activeElement !== speed) speed.value = String(b.speed);
}

function renderDiagramView() {
  const sel = select('#diagram-job');
  const want = sel.value;
  const ids = [...sim.jobs.keys()];
  if ([...sel.options].map((o) => o.value).slice(1).join() !== ids.join()) {
    sel.replaceChildren(el('option', { value: '', text: 'all jobs' }), ...ids.map((id) => el('option', { value: id, text: id })));
    sel.value = ids.includes(want) ? want : '';
  }
  const shown = sel.value ? [...sim.jobs].filter(([id]) => id === sel.value) : [...sim.jobs];
  renderDiagram($('#diagram'), { statuses: STATUSES, transitions: TRANSITIONS, jobs: shown });
}

/** The job an event is about, `(VM)` for STOP and RESUME. @param {import('../js/web.mjs').QmpEvent} e */
const whose = (e) => ('id' in e.data ? e.data.id : 'device' in e.data ? e.data.device : '(VM)');

function renderEvents() {
  const sel = select('#event-filter');
  const ids = [...new Set(sim.log.map(whose))];
  if ([...sel.options].map((o) => o.value).slice(1).join() !== ids.join()) {
    const want = sel.value;
    sel.replaceChildren(el('option', { value: '', text: 'all' }), ...ids.map((id) => el('option', { value: id, text: id })));
    sel.value = ids.includes(want) ? want : '';
  }
  const f = sel.value;
  const list = $('#events');
  if (ui.renderedFilter !== f || ui.renderedEvents > sim.log.length) {
    list.replaceChildren();
    ui.renderedEvents = 0;
    ui.renderedFilter = f;
  }
  const frag = document.createDocumentFragment();
  for (const e of sim.log.slice(ui.renderedEvents)) {
    const who = whose(e);
    if (f && who !== f) continue;
    frag.append(el('li', { class: `ev ev-${e.event.toLowerCase()}`, 'data-event': e.event, 'data-job': who },
      el('code', { text: qmpText(e) })));
  }
  ui.renderedEvents = sim.log.length;
  list.append(frag);
  while (list.children.length > 400) list.firstChild?.remove();
  list.scrollTop = list.scrollHeight;
  list.hidden = list.children.length === 0;
  $('#no-events').hidden = list.children.length > 0;
}

function renderConsole() {
  const out = $('#console-out');
  // A new world's console starts with another greeting: redraw it all.
  if (out.firstElementChild?.textContent !== `${sim.console[0]?.kind}${sim.console[0]?.text}`) out.replaceChildren();
  while (out.children.length > sim.console.length) out.lastChild?.remove();
  for (const l of sim.console.slice(out.children.length)) {
    out.append(el('li', { class: `c-${{ '>': 'cmd', '<': 'reply', '~': 'dir' }[l.kind]}${l.error ? ' err' : ''}${l.greeting ? ' c-greeting' : ''}`,
      title: l.greeting ? 'The greeting QEMU\'s monitor sends when a client connects' : null },
    el('span', { class: 'mark', 'aria-hidden': 'true', text: l.kind }), el('code', { text: l.text })));
  }
  out.hidden = out.children.length === 0;
  out.scrollTop = out.scrollHeight;
}

function renderNodes() {
  const nodes = sim.m.namedNodes();
  $('#nodes').textContent = nodes.map((n) => `${n.name} (${n.driver}, ${fmtBytes(n.size)}${n.busy ? ', held by a job' : ''})`)
    .join(', ') || 'none';
  $('#node-list').replaceChildren(...nodes.map((n) => el('option', { value: n.name })));
  const nodeName = input('#nullnode-form [name=node]');
  if (!ui.edited.has(nodeName) && document.activeElement !== nodeName) {
    let n = 1;
    while (nodes.some((x) => x.name === `n${n}`)) n++;
    nodeName.value = `n${n}`;
  }
  const taken = (/** @type {string} */ id) => sim.jobs.has(id) || sim.m.jobHandle(id) !== undefined;
  for (const spec of SPECS) {
    const f = form(`[data-form="${spec.key}"]`);
    for (const [name, value] of Object.entries(worldDefaults(spec, nodes, taken))) {
      const field = /** @type {HTMLInputElement} */ (f.elements.namedItem(name));
      if (ui.edited.has(field) || document.activeElement === field) continue;
      field.value = value;
      if (field.list) field.placeholder = value ? '' : 'none free: add one (World)';
    }
  }
}

function renderScenario() {
  const items = $('#scenario-lines').children;
  const at = sim.scenario.at;
  for (let i = 0; i < items.length; i++) {
    items[i].classList.toggle('done', i < at);
    items[i].classList.toggle('next', i === at);
    if (i === at) items[i].setAttribute('aria-current', 'step'); else items[i].removeAttribute('aria-current');
  }
  const left = at < sim.scenario.lines.length;
  for (const id of ['#scn-next', '#scn-play', '#scn-all']) button(id).disabled = !left;
  button('#scn-compare').disabled = sim.scenario.lines.length === 0;
  $('#scn-compare-why').hidden = sim.scenario.lines.length > 0;
  items[at]?.scrollIntoView({ block: 'nearest' });
}

function renderHistory() {
  const r = input('#history');
  r.max = String(sim.history.length - 1);
  r.value = String(sim.historyAt);
  const h = sim.history[sim.historyAt];
  $('#history-label').textContent = `#${sim.historyAt} of ${sim.history.length - 1}: ${h.label} (t = ${fmtDuration(h.t)})`;
}

function say(/** @type {string} */ text) { $('#status').textContent = text; }

// ---------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------

function buildForms() {
  const box = $('#forms');
  box.append(el('datalist', { id: 'node-list' }));
  for (const spec of SPECS) box.append(buildForm(spec));
}

function buildForm(/** @type {FormSpec} */ spec) {
  const f = /** @type {HTMLFormElement} */ (el('form', { class: 'job-form', 'data-form': spec.key }));
  const grid = el('div', { class: 'fields' });
  for (const field of spec.fields) {
    const id = `f-${spec.key}-${field.name}`;
    let control;
    if (field.type === 'select') {
      control = el('select', { id, name: field.name }, ...(field.options ?? []).map((o) => el('option', { value: o, text: o })));
      if (typeof field.value === 'string') /** @type {HTMLSelectElement} */ (control).value = field.value;
    } else if (field.type === 'checkbox') {
      control = el('input', { id, name: field.name, type: 'checkbox', checked: field.value === true });
    } else {
      control = el('input', { id, name: field.name, type: field.type ?? 'text', value: field.value ?? '',
        placeholder: field.placeholder, list: field.list ? 'node-list' : null, min: field.type === 'number' ? '0' : null });
    }
    const c = /** @type {HTMLInputElement | HTMLSelectElement} */ (control);
    c.addEventListener('input', () => ui.edited.add(c));
    grid.append(el('label', { for: id, text: field.label ?? field.name }), control);
  }
  const result = el('p', { class: 'result', role: 'status', hidden: true });
  f.append(grid, el('button', { type: 'submit', text: `Create ${spec.title.split(' ')[0].toLowerCase()}` }), result);
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const cmd = formCommand(spec, f);
    const reply = sim.command(cmd, `create ${spec.key}`);
    if (reply.error) show(result, refusal(reply), { error: true });
    else {
      // Fresh defaults for the next one, and a way to jump to the new job's card.
      for (const c of f.querySelectorAll('input, select')) ui.edited.delete(/** @type {HTMLInputElement} */ (c));
      const ids = createdIds(cmd);
      show(result, `Created ${ids.join(' and ') || 'the job'}.`, { extra: ids.length
        ? el('button', { type: 'button', class: 'jump', text: `Go to ${ids[0]}`, onclick: () => focusCard(ids[0]) })
        : undefined });
    }
    render();
    say(refusal(reply) ?? `created ${createdIds(cmd).join(', ')}`);
  });
  return el('details', { open: spec.open ?? false, 'data-details': spec.key }, el('summary', { text: spec.title }), f);
}

// ---------------------------------------------------------------------------
// Side by side: the loaded scenario under each QEMU version
// ---------------------------------------------------------------------------

/** Replays the loaded scenario under both versions and shows the two transcripts. */
function openSideBySide() {
  stopPlay();
  stopScenarioPlay();
  const r = sideBySide(q, sim.scenario.lines, /** @type {QemuVersion[]} */ (QEMUS.slice(0, 2)));
  const dialog = find('#compare', HTMLDialogElement);
  $('#compare-h').textContent = `${sim.scenario.name}: QEMU ${r.versions.join(' and QEMU ')} side by side`;
  const head = find('#compare-table thead tr', HTMLElement);
  head.replaceChildren(...r.versions.map((v) => el('th', { scope: 'col', 'data-qemu': v, text: `QEMU ${v}` })));
  const body = find('#compare-table tbody', HTMLElement);
  body.replaceChildren();
  let differing = 0;
  const lines = [0, 0];
  for (const w of r.windows) {
    const differs = windowDiffers(w) || w.error !== undefined;
    if (differs) differing++;
    const row = el('tr', { class: `win${differs ? ' differs' : ''}`, 'data-window': w.n, tabindex: '-1' });
    const source = el('tr', { class: `win-line${differs ? ' differs' : ''}`, 'data-window': w.n },
      el('th', { colspan: '2', scope: 'colgroup' },
        el('span', { class: 'n', text: `${w.n}` }), ' ',
        differs ? el('span', { class: 'flag', text: 'differs' }) : null, ' ',
        el('code', { text: w.source })));
    w.sides.forEach((side, k) => {
      lines[k] += side.length;
      const cell = el('td', { 'data-qemu': r.versions[k] });
      const list = el('ol', { class: 'tx', start: String(lines[k] - side.length + 1) });
      side.forEach((line, i) => {
        const diff = w.differ[k][i];
        list.append(el('li', { class: diff ? 'diff' : null },
          diff ? el('span', { class: 'sr-only', text: `only under QEMU ${r.versions[k]}: ` }) : null,
          el('code', { text: line })));
      });
      if (!side.length) list.append(el('li', { class: 'none', text: w.error ?? '(no lines)' }));
      cell.append(list);
      row.append(cell);
    });
    body.append(source, row);
  }
  const total = r.windows.length;
  $('#compare-summary').textContent = r.windows.some((w) => w.error !== undefined)
    ? `Line ${r.windows[total - 1].n} was refused (${r.windows[total - 1].error}); ${differing} of ${total} lines differ up to there.`
    : `${differing} of ${total} scenario lines give different transcript lines (highlighted); `
      + `${lines[0]} lines under QEMU ${r.versions[0]}, ${lines[1]} under QEMU ${r.versions[1]}.`;
  $('#compare-first').textContent = r.firstDifference === undefined
    ? 'The two transcripts agree by the rules QEMU recordings are compared with (scenarios/README.md).'
    : `The first difference, by the rules QEMU recordings are compared with (scenarios/README.md), `
      + `QEMU ${r.versions[0]} as expected:\n${r.firstDifference}`;
  ui.compareAt = -1;
  applyOnlyDiffering();
  if (!dialog.open) dialog.showModal();
  button('#compare-close').focus();
  say(`${sim.scenario.name} side by side: ${$('#compare-summary').textContent}`);
}

/** Hides the windows that agree when "only lines that differ" is ticked. */
function applyOnlyDiffering() {
  const only = input('#compare-only').checked;
  for (const tr of find('#compare-table tbody', HTMLElement).children) {
    /** @type {HTMLElement} */ (tr).hidden = only && !tr.classList.contains('differs');
  }
}

/** Moves to the next (`+1`) or previous (`-1`) window that differs: scrolled to and focused. */
function goToDifference(/** @type {number} */ dir) {
  const rows = [...find('#compare-table tbody', HTMLElement).querySelectorAll('tr.win.differs')];
  if (!rows.length) {
    say('No line differs');
    return;
  }
  ui.compareAt = (ui.compareAt + dir + rows.length) % rows.length;
  const row = /** @type {HTMLElement} */ (rows[ui.compareAt]);
  const head = row.previousElementSibling;
  (head instanceof HTMLElement ? head : row).scrollIntoView({ block: 'start' });
  row.focus({ preventScroll: true });
  say(`Difference ${ui.compareAt + 1} of ${rows.length}: scenario line ${row.dataset.window}`);
}

function wireSideBySide() {
  const dialog = find('#compare', HTMLDialogElement);
  button('#compare-close').addEventListener('click', () => dialog.close());
  button('#compare-next').addEventListener('click', () => goToDifference(1));
  button('#compare-prev').addEventListener('click', () => goToDifference(-1));
  input('#compare-only').addEventListener('change', applyOnlyDiffering);
  dialog.addEventListener('close', () => button('#scn-compare').focus());
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------

buildForms();
button('#play').addEventListener('click', () => (ui.playing ? stopPlay() : startPlay()));
button('#step').addEventListener('click', stepOnce);
input('#autosettle').addEventListener('change', (e) => { sim.autosettle = /** @type {HTMLInputElement} */ (e.target).checked; });
input('#machine').addEventListener('change', (e) => {
  sim.setMachine(/** @type {HTMLInputElement} */ (e.target).checked);
  render();
});
button('#add-chain').addEventListener('click', () => {
  const error = CHAIN.map((l) => sim.scenarioLine(l)).find((x) => x !== undefined);
  const refused = sim.console.slice(-2).find((l) => l.error);
  show($('#chain-result'), error ?? (refused ? `Refused: ${refused.text}` : 'Added base ← mid ← top.'),
    { error: !!(error || refused) });
  render();
});
form('#errnode-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = /** @type {HTMLFormElement} */ (ev.target);
  const v = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (f.elements.namedItem(name));
  formCommandAt(find('.result', HTMLElement, f), { execute: 'blockdev-add', arguments: { driver: 'raw',
    'node-name': v('node').value.trim(), file: { driver: 'blkdebug',
      'inject-error': [{ event: v('event').value, errno: Number(v('errno').value), once: v('once').checked }],
      image: { driver: 'null-co', size: 67108864, 'read-zeroes': false } } } }, 'add error node', `added ${v('node').value.trim()}`);
});
input('#nullnode-form [name=node]').addEventListener('input', (e) => ui.edited.add(/** @type {HTMLInputElement} */ (e.target)));
form('#nullnode-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = /** @type {HTMLFormElement} */ (ev.target);
  const v = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (f.elements.namedItem(name));
  const name = v('node').value.trim();
  const reply = formCommandAt(find('.result', HTMLElement, f), { execute: 'blockdev-add', arguments: { driver: 'null-co',
    'node-name': name, size: Number(v('size').value) } }, 'add node', `added ${name}`);
  if (!reply.error) {
    ui.edited.delete(v('node'));
    render();
  }
});
const consoleInput = find('#console-input', HTMLTextAreaElement);
form('#console-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = consoleInput.value.trim();
  if (!text) return;
  const reply = formCommandAt($('#console-result'), text, 'console', 'ok');
  if (!reply.error) consoleInput.value = '';
});
consoleInput.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); form('#console-form').requestSubmit(); }
});
button('#q-jobs').addEventListener('click', () => formCommandAt($('#console-result'), { execute: 'query-jobs' }, 'query-jobs', 'ok'));
button('#q-block-jobs').addEventListener('click',
  () => formCommandAt($('#console-result'), { execute: 'query-block-jobs' }, 'query-block-jobs', 'ok'));
button('#clear-gone').addEventListener('click', () => { sim.clearGone(); render(); });
select('#diagram-job').addEventListener('change', renderDiagramView);
select('#event-filter').addEventListener('change', renderEvents);
input('#history').addEventListener('input', (e) => {
  stopPlay();
  stopScenarioPlay();
  const i = Number(/** @type {HTMLInputElement} */ (e.target).value);
  sim.scrubTo(i);
  render();
  say(`Back at snapshot #${i}: ${sim.history[i].label}`);
});
button('#reset').addEventListener('click', () => {
  stopAll();
  sim.clearScenario();
  showScenarioLines();
  sim.newWorld(false);
  render();
  say(`New default world (QEMU ${sim.m.qemu()})`);
});
button('#export').addEventListener('click', exportTranscript);
button('#snap-save').addEventListener('click', saveSnapshot);
input('#snap-file').addEventListener('change', async (e) => {
  const f = /** @type {HTMLInputElement} */ (e.target);
  const file = f.files?.[0];
  if (file) await loadSnapshot(file);
  f.value = '';
});
const qemuSelect = select('#qemu');
qemuSelect.append(...QEMUS.map((v) => el('option', { value: v, text: v })));
qemuSelect.addEventListener('change', () => switchQemu(/** @type {QemuVersion} */ (qemuSelect.value)));
button('#scn-compare').textContent = `Side by side: QEMU ${QEMUS.join(' | ')}`;
button('#scn-compare').addEventListener('click', openSideBySide);
wireSideBySide();

const scenarioSelect = select('#scenario-select');
try {
  const names = /** @type {string[]} */ (await (await fetch('/scenarios/index.json')).json());
  scenarioSelect.append(...names.map((n) => el('option', { value: n, text: n.replace(/\.scn$/, '') })));
} catch {
  scenarioSelect.disabled = true;
}
scenarioSelect.addEventListener('change', async () => {
  const name = scenarioSelect.value;
  if (!name) return;
  const text = await (await fetch(`/scenarios/${name}`)).text();
  if (!loadScenario(name.replace(/\.scn$/, ''), text)) scenarioSelect.value = '';
});
input('#scenario-file').addEventListener('change', async (e) => {
  const file = /** @type {HTMLInputElement} */ (e.target).files?.[0];
  if (!file) return;
  if (loadScenario(file.name.replace(/\.(scn|txt)$/, ''), await file.text())) $('#scenario-file-name').textContent = file.name;
});
button('#scn-next').addEventListener('click', () => { stopScenarioPlay(); scenarioNext(); });
button('#scn-all').addEventListener('click', () => { stopScenarioPlay(); while (scenarioNext()) { /* every line */ } });
button('#scn-play').addEventListener('click', () => {
  if (ui.scenarioTimer) { stopScenarioPlay(); return; }
  button('#scn-play').textContent = 'Stop lines';
  ui.scenarioTimer = setInterval(() => { if (!scenarioNext()) stopScenarioPlay(); }, 400);
});

document.addEventListener('keydown', (ev) => {
  const t = ev.target;
  if ((t instanceof Element && t.closest('input, textarea, select, dialog')) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === 'p') { ev.preventDefault(); if (ui.playing) stopPlay(); else startPlay(); }
  if (ev.key === 's') { ev.preventDefault(); stepOnce(); }
});

render();
document.body.dataset.ready = '1';
// For tests and the curious: the simulator (its manager, jobs, log).
Object.assign(window, { qjob: sim });
