// @ts-check
// The simulator's state, in one place, and the actions that change it: a driver around the
// module's JobManager (as quinn drives quinn-proto). Everything QEMU decides — the QEMU version
// reproduced, its greeting, statuses, which verbs are allowed, refusals, events, the nodes,
// machine mode, transcripts, snapshots — is asked of the manager; what is kept here is what the
// page adds: the jobs as the events drew them (a job that lived and died within one command is in
// no query), the event log, the console, the snapshot history and the scenario being played. No
// DOM here.

/** @typedef {import('../js/web.mjs').JobManager} JobManager */
/** @typedef {import('../js/web.mjs').JobStatus} JobStatus */
/** @typedef {import('../js/web.mjs').JobType} JobType */
/** @typedef {import('../js/web.mjs').JobInfo} JobInfo */
/** @typedef {import('../js/web.mjs').BlockJobInfo} BlockJobInfo */
/** @typedef {import('../js/web.mjs').QmpEvent} QmpEvent */
/** @typedef {import('../js/web.mjs').QmpReply} QmpReply */
/** @typedef {import('../js/web.mjs').QemuVersion} QemuVersion */

/**
 * A job as the page knows it.
 * @typedef {object} JobView
 * @property {JobType | undefined} type  from queries or its BLOCK_JOB_* events
 * @property {JobStatus} status
 * @property {JobStatus[]} path  the statuses it went through, `undefined` first
 * @property {boolean} gone  reached `null`
 * @property {JobInfo | null} info  its last query-jobs entry (kept once it is gone)
 * @property {BlockJobInfo | null} block  its query-block-jobs entry while it has one
 */

/**
 * A line of the QMP console: a command, a reply (or the greeting a monitor sends first), a
 * directive.
 * @typedef {{kind: '>' | '<' | '~', text: string, error?: boolean, greeting?: boolean}} ConsoleLine
 */

/**
 * One entry of the history: a snapshot of the manager and of the page's own state.
 * @typedef {object} HistoryEntry
 * @property {string} label
 * @property {number} t  virtual time
 * @property {Uint8Array} bytes  the manager's snapshot
 * @property {number} transcriptLen
 * @property {number} logLen
 * @property {number} consoleLen
 * @property {[string, JobView][]} jobs
 * @property {number} scnAt
 */

/** The module's classes and functions the simulator uses. */
/** @typedef {typeof import('../js/web.mjs')} Module */

export class Simulator {
  /** @param {Module} q @param {QemuVersion} [qemu] the QEMU to reproduce (default: the module's default) */
  constructor(q, qemu) {
    this.q = q;
    /** The QEMU the next new world reproduces (the manager's own is `m.qemu()`). @type {QemuVersion} */
    this.qemu = qemu ?? q.qemuVersions()[0];
    /** @type {JobManager} */
    this.m = new q.JobManager({ transcript: true, qemu: this.qemu });
    /** @type {Map<string, JobView>} */
    this.jobs = new Map();
    /** @type {QmpEvent[]} */
    this.log = [];
    /** @type {ConsoleLine[]} */
    this.console = [];
    /** @type {HistoryEntry[]} */
    this.history = [];
    this.historyAt = 0;
    /** The scenario being played: its lines and the next one. */
    this.scenario = { name: '', lines: /** @type {string[]} */ ([]), at: 0 };
    /** Run the work due now after each command, as QEMU's main loop does between two commands. */
    this.autosettle = true;
    this.blockTypes = new Set(q.blockJobTypes());
    this.newWorld(false);
  }

  /** A fresh default world of QEMU `this.qemu`, in machine mode or not; the history starts again. */
  newWorld(/** @type {boolean} */ machine, label = 'start') {
    this.m.free();
    this.m = new this.q.JobManager({ transcript: true, qemu: this.qemu });
    this.m.setMachine(machine);
    this.startHistory(label);
  }

  /**
   * Forgets the page's view of the old manager and starts the history at the current one's state:
   * the console starts with the greeting its QEMU's monitor sends.
   */
  startHistory(/** @type {string} */ label) {
    this.jobs = new Map();
    this.log = [];
    this.console = [{ kind: '<', text: JSON.stringify(this.m.greeting()), greeting: true }];
    this.history = [];
    this.historyAt = 0;
    this.after(label);
  }

  /**
   * Another QEMU: a new default world reproducing `qemu`. A loaded scenario stays, back at its
   * first line.
   */
  setQemu(/** @type {QemuVersion} */ qemu) {
    this.qemu = qemu;
    this.scenario.at = 0;
    this.newWorld(false, this.scenario.name ? `start of ${this.scenario.name} (QEMU ${qemu})` : `start (QEMU ${qemu})`);
  }

  /**
   * Replaces the session with a saved snapshot (`JobManager.snapshot()` bytes): its QEMU, jobs,
   * nodes and clock. Throws, changing nothing, when the module refuses the bytes.
   */
  loadSnapshot(/** @type {Uint8Array} */ bytes, /** @type {string} */ name) {
    const m = new this.q.JobManager({ transcript: true, world: 'empty' });
    try {
      m.restore(bytes);
    } catch (e) {
      m.free();
      throw e;
    }
    this.m.free();
    this.m = m;
    this.qemu = m.qemu();
    this.clearScenario();
    this.startHistory(`snapshot ${name}`);
  }

  /** Whether the session holds anything a new world would discard. */
  hasSession() {
    return this.history.length > 1 || this.scenario.at > 0;
  }

  /** Whether jobs of this type are block jobs (`block-job-*` commands see them). */
  isBlockJob(/** @type {JobType | undefined} */ type) {
    return type !== undefined && this.blockTypes.has(type);
  }

  /**
   * Sends one QMP command: an object, or text (sent as text when it is not a JSON object, so that
   * QEMU's framing errors show). Returns the reply.
   * @param {object | string} cmd @param {string} [label] the history entry's label
   * @returns {QmpReply}
   */
  command(cmd, label) {
    this.branchIfScrubbed();
    /** @type {any} */
    let command = cmd;
    /** @type {QmpReply} */
    let reply;
    if (typeof cmd === 'string') {
      try {
        command = JSON.parse(cmd);
      } catch {
        command = undefined;
      }
    }
    if (command && typeof command === 'object' && !Array.isArray(command)) {
      this.console.push({ kind: '>', text: JSON.stringify(command) });
      reply = this.m.execute(command);
    } else {
      const text = String(cmd);
      this.console.push({ kind: '>', text });
      reply = JSON.parse(this.m.executeJson(text));
      command = {};
    }
    this.console.push({ kind: '<', text: JSON.stringify(reply), error: !!reply.error });
    if (this.autosettle) this.m.settle();
    this.after(label ?? command.execute ?? 'send');
    return reply;
  }

  /**
   * Runs one scenario line through the core replayer; the refusal of a malformed line.
   * @param {string} line @returns {string | undefined}
   */
  scenarioLine(line) {
    this.branchIfScrubbed();
    let out;
    try {
      out = this.m.runScenarioLine(line);
    } catch (e) {
      const error = `scenario line refused: ${e instanceof Error ? e.message : e}`;
      this.console.push({ kind: '<', text: error, error: true });
      this.after('scenario error');
      return error;
    }
    for (const l of out) {
      const kind = l.slice(0, 1);
      if (kind === '>' || kind === '<' || kind === '~') {
        this.console.push({ kind, text: l.slice(2), error: kind === '<' && l.includes('"error": ') });
      }
    }
    const first = line.trim();
    this.after(first.length > 40 ? `${first.slice(0, 40)}…` : first);
    return undefined;
  }

  /** Runs one unit of ready work, or moves to the next timer; says so when there is neither. */
  step() {
    this.branchIfScrubbed();
    if (this.m.hasReadyWork()) this.m.step();
    else {
      const d = this.m.nextDeadline();
      if (d === undefined) return 'Nothing to run: no ready work and no timer armed';
      this.m.tick(d);
    }
    this.after('step');
    return undefined;
  }

  /** Moves virtual time on (playing); a history entry only when something happened. */
  advance(/** @type {number} */ ns) {
    this.m.advance(ns);
    this.after('play', { quiet: true });
  }

  /** Machine mode on or off (the VM-only snapshot-* commands). */
  setMachine(/** @type {boolean} */ on) {
    this.branchIfScrubbed();
    this.m.setMachine(on);
    this.after(on ? 'machine mode on' : 'machine mode off');
  }

  /**
   * Takes the new events, updates the jobs, and records a history entry (`quiet`: only when
   * events came).
   * @param {string} label @param {{quiet?: boolean}} [opts]
   */
  after(label, { quiet = false } = {}) {
    const events = this.m.drainEvents();
    for (const e of events) {
      this.log.push(e);
      if (e.event === 'JOB_STATUS_CHANGE') {
        const { id, status } = e.data;
        let j = this.jobs.get(id);
        if (!j || (j.gone && status === 'created')) {
          j = { type: undefined, status: 'undefined', path: ['undefined'], gone: false, info: null, block: null };
          this.jobs.set(id, j);
        }
        j.status = status;
        j.path.push(status);
        if (status === 'null') j.gone = true;
      } else if ('type' in e.data) {
        // A job that lived and died within one command is in no query: its type is in its events.
        const j = this.jobs.get('id' in e.data ? e.data.id : e.data.device);
        if (j) j.type = e.data.type;
      }
    }
    const blocks = new Map(this.m.queryBlockJobs().map((b) => [b.device, b]));
    for (const info of this.m.queryJobs()) {
      let j = this.jobs.get(info.id);
      if (!j) {
        j = { type: info.type, status: info.status, path: ['undefined', info.status], gone: false, info, block: null };
        this.jobs.set(info.id, j);
      }
      Object.assign(j, { type: info.type, status: info.status, info, block: blocks.get(info.id) ?? null });
    }
    for (const j of this.jobs.values()) if (j.gone) j.block = null;
    if (!quiet || events.length) this.record(label);
  }

  /** Forgets the jobs that reached null. */
  clearGone() {
    for (const [id, j] of this.jobs) if (j.gone) this.jobs.delete(id);
  }

  // --- history: snapshots to scrub back to and branch from ------------------------------

  record(/** @type {string} */ label) {
    this.history.push({
      label, t: this.m.now(), bytes: this.m.snapshot(), transcriptLen: this.m.transcriptLength(),
      logLen: this.log.length, consoleLen: this.console.length, jobs: structuredClone([...this.jobs]),
      scnAt: this.scenario.at,
    });
    if (this.history.length > 2000) this.history.splice(1, 1);
    this.historyAt = this.history.length - 1;
  }

  /** Back (or forward) to history entry `i`. */
  scrubTo(/** @type {number} */ i) {
    const h = this.history[i];
    if (!h) return;
    this.m.restore(h.bytes);
    this.m.truncateTranscript(h.transcriptLen);
    this.log = this.log.slice(0, h.logLen);
    this.console = this.console.slice(0, h.consoleLen);
    this.jobs = new Map(structuredClone(h.jobs));
    this.scenario.at = Math.min(h.scnAt, this.scenario.lines.length);
    this.historyAt = i;
  }

  /** A new action after scrubbing back drops the entries after the current one. */
  branchIfScrubbed() {
    if (this.historyAt < this.history.length - 1) {
      this.history = this.history.slice(0, this.historyAt + 1);
      this.history[this.historyAt].label += ' (branch)';
    }
  }

  // --- scenarios ---------------------------------------------------------------------------

  /** Starts a new world for a scenario (its lines without comments); nothing run yet. */
  loadScenario(/** @type {string} */ name, /** @type {string} */ text) {
    this.scenario = { name, lines: text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')), at: 0 };
    this.newWorld(false, `start of ${name}`);
  }

  /** Runs the next scenario line; whether more are left, and the refusal of a malformed one. */
  scenarioNext() {
    if (this.scenario.at >= this.scenario.lines.length) return { more: false, error: undefined };
    const line = this.scenario.lines[this.scenario.at];
    this.scenario.at += 1;
    const error = this.scenarioLine(line);
    return { more: this.scenario.at < this.scenario.lines.length, error };
  }

  /** Forgets the scenario. */
  clearScenario() {
    this.scenario = { name: '', lines: [], at: 0 };
  }
}
