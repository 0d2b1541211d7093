// @ts-check
// The state diagram: QEMU's 11 job statuses and the 20 transitions of its table (from the
// module), where each job is, and the transitions it took.
//
// The layout keeps every edge clear of the statuses it does not join, and writes the IDs of
// the jobs in a status inside that status's box, where no edge or arrowhead reaches (the e2e
// test checks both by geometry). Rows: paused and standby above running and ready; the work
// path created → running → ready across the middle; waiting, pending and aborting below; the
// ends (null, concluded) at the bottom.

/** @typedef {import('../js/web.mjs').JobStatus} JobStatus */

/** Half the width and height of a status box. */
export const BOX = { w: 46, h: 20 };

/** @type {Record<JobStatus, [number, number]>} the centre of each status */
export const POS = {
  paused: [330, 45], standby: [500, 45],
  undefined: [60, 145], created: [185, 145], running: [330, 145], ready: [500, 145],
  aborting: [185, 255], waiting: [330, 255], pending: [500, 255],
  null: [60, 355], concluded: [500, 355],
};

/**
 * How an edge is drawn when a straight line will not do: `bend` curves it (the control point
 * that far to the left of its direction), `shift` moves it sideways (the two edges of a pair
 * of opposite transitions), `loop` draws a transition to itself.
 * @type {Record<string, {bend?: number, shift?: number, loop?: boolean}>}
 */
const ROUTE = {
  'created>null': { bend: 40 },
  'pending>aborting': { bend: -90 },
  'aborting>concluded': { bend: 30 },
  'aborting>aborting': { loop: true },
  'running>paused': { shift: 9 }, 'paused>running': { shift: 9 },
  'ready>standby': { shift: 9 }, 'standby>ready': { shift: 9 },
};

const NS = 'http://www.w3.org/2000/svg';
/** @param {string} tag @param {Record<string, string | number>} attrs @param {string} [text] */
function svgEl(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

/** Where the segment from (x1,y1) towards (x2,y2) leaves the box centred on (x1,y1). */
function clip(/** @type {number} */ x1, /** @type {number} */ y1, /** @type {number} */ x2, /** @type {number} */ y2) {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const t = Math.min(dx ? BOX.w / Math.abs(dx) : Infinity, dy ? BOX.h / Math.abs(dy) : Infinity);
  return [x1 + dx * t, y1 + dy * t];
}

/** The SVG path of the transition `from` → `to`. @param {JobStatus} from @param {JobStatus} to */
export function edgePath(from, to) {
  const route = ROUTE[`${from}>${to}`] ?? {};
  const [x1, y1] = POS[from];
  const [x2, y2] = POS[to];
  if (route.loop) {
    const y = y1 + BOX.h;
    return `M${x1 - 18},${y} C${x1 - 34},${y + 42} ${x1 + 34},${y + 42} ${x1 + 18},${y}`;
  }
  const len = Math.hypot(x2 - x1, y2 - y1);
  const [nx, ny] = [-(y2 - y1) / len, (x2 - x1) / len]; // left of the direction
  if (route.shift) {
    const [ox, oy] = [nx * route.shift, ny * route.shift];
    const [sx, sy] = clip(x1 + ox, y1 + oy, x2 + ox, y2 + oy);
    const [ex, ey] = clip(x2 + ox, y2 + oy, x1 + ox, y1 + oy);
    return `M${sx},${sy} L${ex},${ey}`;
  }
  const bend = route.bend ?? 0;
  const [cx, cy] = [(x1 + x2) / 2 + nx * bend, (y1 + y2) / 2 + ny * bend];
  const [sx, sy] = bend ? clip(x1, y1, cx, cy) : clip(x1, y1, x2, y2);
  const [ex, ey] = bend ? clip(x2, y2, cx, cy) : clip(x2, y2, x1, y1);
  return bend ? `M${sx},${sy} Q${cx},${cy} ${ex},${ey}` : `M${sx},${sy} L${ex},${ey}`;
}

/**
 * Draws the diagram into `box`.
 * @param {HTMLElement} box
 * @param {{statuses: JobStatus[], transitions: [JobStatus, JobStatus][],
 *   jobs: [string, {status: JobStatus, path: JobStatus[]}][]}} model
 *   the jobs shown: their current status and the statuses they went through
 */
export function renderDiagram(box, { statuses, transitions, jobs }) {
  const taken = new Set();
  /** @type {Map<JobStatus, string[]>} */
  const here = new Map();
  for (const [id, j] of jobs) {
    for (let i = 1; i < j.path.length; i++) taken.add(`${j.path[i - 1]}>${j.path[i]}`);
    here.set(j.status, [...(here.get(j.status) ?? []), id]);
  }
  const where = [...here].map(([st, ids]) => `${ids.join(', ')} in ${st}`).join('; ');
  const svg = svgEl('svg', { viewBox: '0 0 560 390', role: 'img',
    'aria-label': `State diagram of QEMU's ${statuses.length} job statuses.${where ? ` ${where}.` : ''}` });
  const defs = svgEl('defs', {});
  for (const [name, color] of [['a', '#8a94a6'], ['t', '#d9480f']]) {
    const mk = svgEl('marker', { id: `arrow-${name}`, viewBox: '0 0 10 10', refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    mk.append(svgEl('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }));
    defs.append(mk);
  }
  svg.append(defs);
  for (const [from, to] of transitions) {
    const key = `${from}>${to}`;
    const isTaken = taken.has(key);
    svg.append(svgEl('path', { d: edgePath(from, to), class: `edge${isTaken ? ' taken' : ''}`, 'data-edge': key,
      'marker-end': `url(#arrow-${isTaken ? 't' : 'a'})` }));
  }
  for (const st of statuses) {
    const [x, y] = POS[st];
    const ids = here.get(st) ?? [];
    const g = svgEl('g', { class: `node${ids.length ? ' cur' : ''}`, 'data-status': st });
    g.append(svgEl('rect', { x: x - BOX.w, y: y - BOX.h, width: BOX.w * 2, height: BOX.h * 2, rx: 8 }));
    g.append(svgEl('text', { x, y: ids.length ? y - 3 : y + 4, 'text-anchor': 'middle' }, st));
    if (ids.length) {
      const all = ids.join(', ');
      const label = all.length > 13 ? `${all.slice(0, 12)}…` : all;
      const who = svgEl('text', { x, y: y + 12, 'text-anchor': 'middle', class: 'who' }, label);
      who.append(svgEl('title', {}, all));
      g.append(who);
    }
    svg.append(g);
  }
  box.replaceChildren(svg);
}
