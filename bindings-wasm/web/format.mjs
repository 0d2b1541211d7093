// @ts-check
// How the simulator writes numbers and JSON for people.

/** Bytes as B, KiB or MiB. @param {number} n */
export function fmtBytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} KiB`;
  return `${n} B`;
}

/** A speed limit: bytes per second, 0 unlimited. @param {number} n */
export const fmtSpeed = (n) => (n ? `${fmtBytes(n)}/s` : 'unlimited');

/**
 * Virtual nanoseconds as a duration people read: `0.100 s`, `3 min 29.870 s`,
 * `2 d 10 h 17 min 49.460 s` (milliseconds shown; the exact value is `fmtExact`).
 * @param {number} ns
 */
export function fmtDuration(ns) {
  const ms = Math.floor(ns / 1e6);
  const s = (ms % 60000) / 1000;
  const min = Math.floor(ms / 60000) % 60;
  const h = Math.floor(ms / 3600000) % 24;
  const d = Math.floor(ms / 86400000);
  const parts = [];
  if (d) parts.push(`${d} d`);
  if (d || h) parts.push(`${h} h`);
  if (d || h || min) parts.push(`${min} min`);
  parts.push(`${parts.length ? s.toFixed(3).padStart(6, '0') : s.toFixed(3)} s`);
  return parts.join(' ');
}

/** The exact virtual time, for a title: `209869.460000000 s (209869460000000 ns)`. @param {number} ns */
export const fmtExact = (ns) => `${(ns / 1e9).toFixed(9)} s (${ns} ns)`;

/**
 * JSON with QMP's spacing (`", "` and `": "`), key order kept, so that long lines wrap at spaces.
 * @param {unknown} v @returns {string}
 */
export function qmpText(v) {
  if (Array.isArray(v)) return `[${v.map(qmpText).join(', ')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${qmpText(x)}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}
