// @ts-check
// The job creation forms: one per job type, their fields (QMP argument names), the QMP command
// each builds, and defaults that work one after another: a job ID not used yet and nodes no job
// holds (asked of the module), and a speed at which a job visibly progresses at 1×. The options'
// own defaults are the module's (`optionDefaults()`); a command leaves out what equals them.

/** @typedef {import('../js/web.mjs').JobManager} JobManager */
/** @typedef {import('../js/web.mjs').QapiEnums} QapiEnums */
/** @typedef {import('../js/web.mjs').OptionDefaults} OptionDefaults */
/** @typedef {import('../js/web.mjs').JsonValue} JsonValue */
/** @typedef {import('../js/web.mjs').NodeInfo} NodeInfo */
/** @typedef {import('../js/web.mjs').QmpCommand} QmpCommand */
/** @typedef {import('../js/web.mjs').TransactionArgs} TransactionArgs */

/**
 * A field: a text input unless `type` says otherwise; `list` offers the node names.
 * @typedef {object} Field
 * @property {string} name  the QMP argument (or the form's own name)
 * @property {string} [label]
 * @property {'text' | 'number' | 'select' | 'checkbox'} [type]
 * @property {string | boolean} [value]  the fixed default
 * @property {readonly string[]} [options]
 * @property {boolean} [list]
 * @property {string} [placeholder]
 */

/**
 * @typedef {object} FormSpec
 * @property {string} key
 * @property {string} title
 * @property {string} idPrefix  default job IDs are this and a number
 * @property {boolean} [open]
 * @property {Field[]} fields
 * @property {Record<string, JsonValue>} defaults  the module's defaults of its command's options
 */

/** A speed at which a 64 MiB job takes 16 s at 1×, progressing 1 MiB at a time. */
export const DEFAULT_SPEED = String(4 << 20);

/** `transaction`'s completion modes. */
/** @type {NonNullable<NonNullable<TransactionArgs['properties']>['completion-mode']>[]} */
const COMPLETION_MODES = ['grouped', 'individual'];
/** The snapshot commands, which one form sends. */
const SNAPSHOT_COMMANDS = /** @type {const} */ (['snapshot-save', 'snapshot-load', 'snapshot-delete']);

/**
 * The forms, with the enum values and the options' defaults the module lists.
 * @param {QapiEnums} enums @param {OptionDefaults} defaults @returns {FormSpec[]}
 */
export function formSpecs(enums, defaults) {
  const onError = enums.BlockdevOnError;
  const sync = enums.MirrorSyncMode;
  const backup = defaults['blockdev-backup'];
  /** A checkbox or select showing the default of the option `name` in `d`. @param {Record<string, JsonValue>} d */
  const field = (d, /** @type {string} */ name, /** @type {readonly string[]} */ options = []) => (
    typeof d[name] === 'boolean'
      ? /** @type {Field} */ ({ name, type: 'checkbox', value: d[name] })
      : /** @type {Field} */ ({ name, type: 'select', options, value: String(d[name]) }));
  /** @param {Record<string, JsonValue>} d @returns {Field[]} */
  const common = (d) => [
    { name: 'speed', label: 'speed (B/s)', type: 'number', value: DEFAULT_SPEED, placeholder: '0 = unlimited' },
    field(d, 'auto-finalize'), field(d, 'auto-dismiss'),
  ];
  const mirror = defaults['blockdev-mirror'];
  return [
    { key: 'backup', title: 'Backup', idPrefix: 'b', open: true, defaults: backup, fields: [
      { name: 'job-id' }, { name: 'device', list: true }, { name: 'target', list: true },
      field(backup, 'sync', sync),
      { name: 'bitmap', placeholder: 'for incremental and bitmap sync' }, ...common(backup),
      field(backup, 'on-source-error', onError), field(backup, 'on-target-error', onError)] },
    { key: 'mirror', title: 'Mirror', idPrefix: 'm', defaults: mirror, fields: [
      { name: 'job-id' }, { name: 'device', list: true }, { name: 'target', list: true },
      field(mirror, 'sync', sync), ...common(mirror),
      field(mirror, 'on-source-error', onError), field(mirror, 'on-target-error', onError)] },
    { key: 'txn', title: 'Transaction (two backups)', idPrefix: 't', defaults: backup, fields: [
      { name: 'id1', label: 'job 1 id' }, { name: 'dev1', label: 'job 1 device', list: true },
      { name: 'tgt1', label: 'job 1 target', list: true },
      { name: 'speed1', label: 'job 1 speed', type: 'number', value: '', placeholder: '0 = unlimited' },
      { name: 'id2', label: 'job 2 id' }, { name: 'dev2', label: 'job 2 device', list: true },
      { name: 'tgt2', label: 'job 2 target', list: true },
      { name: 'speed2', label: 'job 2 speed', type: 'number', value: DEFAULT_SPEED, placeholder: '0 = unlimited' },
      { name: 'completion-mode', type: 'select', options: COMPLETION_MODES },
      field(backup, 'auto-finalize'), field(backup, 'auto-dismiss')] },
    { key: 'commit', title: 'Commit (needs the backing chain)', idPrefix: 'c', defaults: defaults['block-commit'], fields: [
      { name: 'job-id' }, { name: 'device', list: true },
      { name: 'top-node', list: true, placeholder: 'empty: active commit' },
      { name: 'base-node', list: true }, ...common(defaults['block-commit']),
      field(defaults['block-commit'], 'on-error', onError)] },
    { key: 'stream', title: 'Stream (needs the backing chain)', idPrefix: 's', defaults: defaults['block-stream'], fields: [
      { name: 'job-id' }, { name: 'device', list: true },
      { name: 'base-node', list: true }, ...common(defaults['block-stream']),
      field(defaults['block-stream'], 'on-error', onError)] },
    { key: 'create', title: 'Create (image file)', idPrefix: 'cr', defaults: {}, fields: [
      { name: 'job-id' }, { name: 'filename' },
      { name: 'size', type: 'number', value: '4194304' }] },
    { key: 'amend', title: 'Amend (qcow2 node)', idPrefix: 'a', defaults: {}, fields: [
      { name: 'job-id' }, { name: 'node-name', list: true }] },
    { key: 'snapshot', title: 'Snapshot save/load/delete (machine mode)', idPrefix: 'ss', defaults: {}, fields: [
      { name: 'op', label: 'command', type: 'select', options: SNAPSHOT_COMMANDS },
      { name: 'job-id' }, { name: 'tag', value: 'snap0' },
      { name: 'vmstate', list: true }, { name: 'devices', placeholder: 'comma-separated' }] },
  ];
}

/**
 * The defaults of the fields that depend on the world: job IDs nobody uses (`taken`: IDs the
 * page shows, gone ones too, so that a card is never reused) and nodes no job holds.
 * @param {FormSpec} spec @param {NodeInfo[]} nodes @param {(id: string) => boolean} taken
 * @returns {Record<string, string>}
 */
export function worldDefaults(spec, nodes, taken) {
  /** @param {number} skip */
  const freeId = (skip = 0) => {
    let n = 1;
    for (let found = -1; ; n++) if (!taken(`${spec.idPrefix}${n}`) && ++found === skip) break;
    return `${spec.idPrefix}${n}`;
  };
  // Nodes a new job can use: its own root (nothing above it) and held by no job.
  const free = nodes.filter((n) => n.root && !n.busy && n.driver !== 'filter').map((n) => n.name);
  const pick = (/** @type {number} */ i) => free[i] ?? free[free.length - 1] ?? '';
  const chain = nodes.filter((n) => n.backing !== undefined && n.root).map((n) => n.name);
  const qcow2 = nodes.filter((n) => n.driver === 'qcow2' && !n.busy).map((n) => n.name);
  switch (spec.key) {
    case 'txn':
      return { id1: freeId(0), id2: freeId(1), dev1: pick(0), tgt1: pick(1), dev2: pick(2), tgt2: pick(3) };
    case 'commit':
    case 'stream':
      return { 'job-id': freeId(), device: chain[0] ?? 'top' };
    case 'create':
      return { 'job-id': freeId(), filename: `${freeId()}.img` };
    case 'amend':
      return { 'job-id': freeId(), 'node-name': qcow2[0] ?? 'base' };
    case 'snapshot':
      return { 'job-id': freeId(), vmstate: qcow2[0] ?? 'base', devices: qcow2[0] ?? 'base' };
    default:
      return { 'job-id': freeId(), device: pick(0), target: pick(1) };
  }
}

/**
 * The QMP command of a creation form: empty fields and the options' defaults are left out.
 * @param {FormSpec} spec @param {HTMLFormElement} form @returns {QmpCommand}
 */
export function formCommand(spec, form) {
  const input = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
  const text = (/** @type {string} */ name) => input(name).value.trim();
  const num = (/** @type {string} */ name) => (text(name) === '' ? undefined : Number(text(name)));
  /** @type {Record<string, unknown>} */
  const a = {};
  const opt = (/** @type {string} */ name) => { if (text(name)) a[name] = text(name); };
  const d = spec.defaults;
  const jobOpts = (/** @type {Record<string, unknown>} */ o, speedField = 'speed') => {
    const speed = num(speedField);
    if (speed !== undefined && speed !== d.speed) o.speed = speed;
    for (const name of ['auto-finalize', 'auto-dismiss']) {
      if (input(name).checked !== d[name]) o[name] = input(name).checked;
    }
    return o;
  };
  const policy = (/** @type {string} */ name) => { if (text(name) !== d[name]) a[name] = text(name); };
  /** @type {any} the command, whose shape the form's QMP command name decides */
  let cmd;
  switch (spec.key) {
    case 'backup':
    case 'mirror':
      Object.assign(a, { 'job-id': text('job-id'), device: text('device'), target: text('target'), sync: text('sync') });
      if (spec.key === 'backup') opt('bitmap');
      jobOpts(a);
      policy('on-source-error');
      policy('on-target-error');
      cmd = { execute: spec.key === 'backup' ? 'blockdev-backup' : 'blockdev-mirror', arguments: a };
      break;
    case 'txn': {
      const member = (/** @type {number} */ n) => ({ type: 'blockdev-backup', data: jobOpts({
        'job-id': text(`id${n}`), device: text(`dev${n}`), target: text(`tgt${n}`), sync: d.sync }, `speed${n}`) });
      cmd = { execute: 'transaction', arguments: { actions: [member(1), member(2)],
        properties: { 'completion-mode': text('completion-mode') } } };
      break;
    }
    case 'commit':
    case 'stream':
      Object.assign(a, { 'job-id': text('job-id'), device: text('device') });
      if (spec.key === 'commit') opt('top-node');
      opt('base-node');
      jobOpts(a);
      policy('on-error');
      cmd = { execute: spec.key === 'commit' ? 'block-commit' : 'block-stream', arguments: a };
      break;
    case 'create':
      cmd = { execute: 'blockdev-create', arguments: { 'job-id': text('job-id'),
        options: { driver: 'file', filename: text('filename'), size: num('size') ?? 0 } } };
      break;
    case 'amend':
      cmd = { execute: 'x-blockdev-amend', arguments: { 'job-id': text('job-id'), 'node-name': text('node-name'),
        options: { driver: 'qcow2' } } };
      break;
    case 'snapshot': {
      const op = /** @type {typeof SNAPSHOT_COMMANDS[number]} */ (text('op'));
      Object.assign(a, { 'job-id': text('job-id'), tag: text('tag') });
      if (op !== 'snapshot-delete') a.vmstate = text('vmstate');
      a.devices = text('devices').split(',').map((x) => x.trim()).filter(Boolean);
      cmd = { execute: op, arguments: a };
      break;
    }
    default:
      throw new Error(`no form ${spec.key}`);
  }
  return cmd;
}

/** The job IDs a creation command names (to find their cards). @param {QmpCommand} cmd */
export function createdIds(cmd) {
  if (cmd.execute === 'transaction') {
    return cmd.arguments.actions.flatMap((a) => (a.type === 'blockdev-backup' && a.data['job-id'] ? [a.data['job-id']] : []));
  }
  const id = /** @type {{'job-id'?: string}} */ (cmd.arguments ?? {})['job-id'];
  return id ? [id] : [];
}
