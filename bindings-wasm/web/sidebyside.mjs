// @ts-check
// Side by side: one scenario replayed under two QEMU versions, window by window. No DOM here.
// The transcripts are the core's: each scenario line runs through the core replayer of a manager
// per version (`runScenarioLine`), and the lines it wrote there are that line's window. What this
// module adds is presentation only: which lines of a window have no equal on the other side
// (a longest common subsequence of whole lines; nothing inside a line is read).

/** @typedef {import('../js/web.mjs').QemuVersion} QemuVersion */
/** What this module uses of qjob-wasm (web or node). @typedef {Pick<typeof import('../js/web.mjs'), 'JobManager' | 'compareTranscripts'>} Module */

/**
 * One scenario line and what it wrote under each version.
 * @typedef {object} SideWindow
 * @property {number} n  1-based, among the scenario's lines
 * @property {string} source  the scenario line
 * @property {string[][]} sides  per version, the transcript lines this scenario line wrote
 * @property {boolean[][]} differ  per version, per line: true when the other side has no match for it
 * @property {string | undefined} error  the refusal of a malformed line (nothing after it runs)
 */

/**
 * A scenario replayed under every version of `versions`.
 * @typedef {object} SideBySide
 * @property {QemuVersion[]} versions
 * @property {SideWindow[]} windows
 * @property {string[]} transcripts  per version, the whole transcript, as the core wrote it
 * @property {string | undefined} firstDifference  the core's comparison (scenarios/README.md's
 *   rules) of the first two transcripts: undefined when they agree
 */

/**
 * Which lines of `a` and of `b` are outside a longest common subsequence of the two (whole
 * lines compared): the lines to highlight.
 * @param {string[]} a @param {string[]} b @returns {[boolean[], boolean[]]}
 */
export function unmatched(a, b) {
  const n = a.length;
  const m = b.length;
  // len[i][j]: the LCS length of a[i..] and b[j..].
  const len = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      len[i][j] = a[i] === b[j] ? len[i + 1][j + 1] + 1 : Math.max(len[i + 1][j], len[i][j + 1]);
    }
  }
  const da = new Array(n).fill(true);
  const db = new Array(m).fill(true);
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      da[i++] = false;
      db[j++] = false;
    } else if (len[i + 1][j] >= len[i][j + 1]) i++;
    else j++;
  }
  return [da, db];
}

/**
 * Replays the scenario `lines` (comments and blank lines already left out) on a fresh default
 * world of each QEMU in `versions` (two), line by line.
 * @param {Module} q @param {string[]} lines @param {QemuVersion[]} versions
 * @returns {SideBySide}
 */
export function sideBySide(q, lines, versions) {
  if (versions.length !== 2) throw new TypeError('side by side takes two QEMU versions');
  const managers = versions.map((qemu) => new q.JobManager({ qemu, transcript: true }));
  try {
    /** @type {SideWindow[]} */
    const windows = [];
    for (const [i, source] of lines.entries()) {
      /** @type {string | undefined} */
      let error;
      const sides = managers.map((m) => {
        if (error !== undefined) return [];
        try {
          return m.runScenarioLine(source);
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
          return [];
        }
      });
      const differ = /** @type {boolean[][]} */ (unmatched(sides[0], sides[1]));
      windows.push({ n: i + 1, source, sides, differ, error });
      if (error !== undefined) break;
    }
    const transcripts = managers.map((m) => m.transcript());
    return { versions, windows, transcripts, firstDifference: q.compareTranscripts(transcripts[0], transcripts[1]) };
  } finally {
    for (const m of managers) m.free();
  }
}

/** Whether any line of the window differs between the two sides. @param {SideWindow} w */
export const windowDiffers = (w) => w.differ.some((d) => d.includes(true));
