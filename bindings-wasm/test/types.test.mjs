// @ts-check
// The hand-written types (js/qjob.d.ts) against what the module really does: the TypeScript
// compiler reads the declarations, and every value the module hands out — the return value of
// every JobManager method and every function, every event and every reply of the whole scenario
// corpus — is checked against the declared type (required members present, no member the type
// does not declare, literal unions respected). Names too: every method and function the module
// has is declared, and every declared one exists. (The other direction, that the types refuse
// what the module refuses, is args.test.mjs under tsc.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import * as q from '../js/node.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dts = path.join(here, '..', 'js', 'qjob.d.ts');
// A virtual file beside the declarations names the generic types with their defaults applied.
const virtual = path.join(here, '..', 'js', '__types_test__.ts');
const VIRTUAL = "import type * as Q from './qjob.js';\nexport type Reply = Q.QmpReply;\n";
const options = { strict: true, noEmit: true, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'] };
const host = ts.createCompilerHost(options);
const { getSourceFile, fileExists, readFile } = host;
host.getSourceFile = (/** @type {string} */ f, /** @type {ts.ScriptTarget} */ lang) => (f === virtual
  ? ts.createSourceFile(f, VIRTUAL, ts.ScriptTarget.ES2022) : getSourceFile.call(host, f, lang));
host.fileExists = (/** @type {string} */ f) => f === virtual || fileExists.call(host, f);
host.readFile = (/** @type {string} */ f) => (f === virtual ? VIRTUAL : readFile.call(host, f));
const program = ts.createProgram([dts, virtual], options, host);
const checker = program.getTypeChecker();
const aliases = /** @type {ts.SourceFile} */ (program.getSourceFile(virtual));
const alias = new Map(checker.getExportsOfModule(/** @type {ts.Symbol} */ (checker.getSymbolAtLocation(aliases)))
  .map((s) => [s.name, checker.getDeclaredTypeOfSymbol(s)]));
const replyType = /** @type {ts.Type} */ (alias.get('Reply'));
const source = /** @type {ts.SourceFile} */ (program.getSourceFile(dts));
const moduleSymbol = /** @type {ts.Symbol} */ (checker.getSymbolAtLocation(source));
const exported = new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));

/** The declared type of an exported interface, class instance or type alias. */
function declared(/** @type {string} */ name) {
  const s = exported.get(name);
  assert.ok(s, `qjob.d.ts declares ${name}`);
  return checker.getDeclaredTypeOfSymbol(s);
}

/**
 * Why `value` does not conform to `type` (undefined when it does).
 * @param {unknown} value @param {ts.Type} type @param {string} at
 * @returns {string | undefined}
 */
function mismatch(value, type, at) {
  const f = type.flags;
  const show = () => `${at}: ${JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))} is not ${checker.typeToString(type)}`;
  if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return undefined;
  if (type.isUnion()) {
    const why = type.types.map((t) => mismatch(value, t, at));
    return why.includes(undefined) ? undefined : why.sort((a, b) => (b ?? '').length - (a ?? '').length)[0];
  }
  if (type.isIntersection()) return type.types.map((t) => mismatch(value, t, at)).find((w) => w !== undefined);
  if (type.isStringLiteral() || type.isNumberLiteral()) return value === type.value ? undefined : show();
  if (f & ts.TypeFlags.BooleanLiteral) {
    return value === (/** @type {{intrinsicName?: string}} */ (type).intrinsicName === 'true') ? undefined : show();
  }
  if (f & ts.TypeFlags.String) return typeof value === 'string' ? undefined : show();
  if (f & ts.TypeFlags.Number) return typeof value === 'number' ? undefined : show();
  if (f & ts.TypeFlags.Boolean) return typeof value === 'boolean' ? undefined : show();
  if (f & ts.TypeFlags.BigInt) return typeof value === 'bigint' ? undefined : show();
  if (f & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) return value === undefined ? undefined : show();
  if (f & ts.TypeFlags.Null) return value === null ? undefined : show();
  if (f & ts.TypeFlags.Never) return show();
  if (!(f & ts.TypeFlags.Object)) return `${at}: cannot check ${checker.typeToString(type)}`;
  if (checker.isTupleType(type)) {
    const elems = checker.getTypeArguments(/** @type {ts.TypeReference} */ (type));
    if (!Array.isArray(value) || value.length !== elems.length) return show();
    return elems.map((t, i) => mismatch(value[i], t, `${at}[${i}]`)).find((w) => w !== undefined);
  }
  if (checker.isArrayType(type)) {
    if (!Array.isArray(value)) return show();
    const [elem] = checker.getTypeArguments(/** @type {ts.TypeReference} */ (type));
    return value.map((v, i) => mismatch(v, elem, `${at}[${i}]`)).find((w) => w !== undefined);
  }
  if (type.getSymbol()?.name === 'Uint8Array') return value instanceof Uint8Array ? undefined : show();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return show();
  const obj = /** @type {Record<string, unknown>} */ (value);
  const props = checker.getPropertiesOfType(type);
  for (const p of props) {
    const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
    if (!(p.name in obj)) {
      if (!optional) return `${at}: no member '${p.name}' (${checker.typeToString(type)})`;
      continue;
    }
    const why = mismatch(obj[p.name], checker.getTypeOfSymbol(p), `${at}.${p.name}`);
    if (why) return why;
  }
  const [index] = checker.getIndexInfosOfType(type);
  for (const k of Object.keys(obj)) {
    if (props.some((p) => p.name === k)) continue;
    if (!index) return `${at}: member '${k}' is not in ${checker.typeToString(type)}`;
    const why = mismatch(obj[k], index.type, `${at}.${k}`);
    if (why) return why;
  }
  return undefined;
}

/** Checks `value` against `type`. */
function conforms(/** @type {unknown} */ value, /** @type {ts.Type} */ type, /** @type {string} */ at) {
  const why = mismatch(value, type, at);
  assert.equal(why, undefined, why);
}

/** The declared return type of a method of `JobManager`/`Replayer`, or of a function. */
function returnType(/** @type {ts.Type} */ owner, /** @type {string} */ name) {
  const sym = owner.getProperty(name);
  assert.ok(sym, `${checker.typeToString(owner)}.${name} is declared in qjob.d.ts`);
  const [sig] = checker.getSignaturesOfType(checker.getTypeOfSymbol(sym), ts.SignatureKind.Call);
  return sig.getReturnType();
}
function functionReturnType(/** @type {string} */ name) {
  const sym = /** @type {ts.Symbol} */ (exported.get(name));
  const [sig] = checker.getSignaturesOfType(checker.getTypeOfSymbolAtLocation(sym, source), ts.SignatureKind.Call);
  return sig.getReturnType();
}

/** Method and function names at run time (the glue's internals and `free` left out). */
function runtimeMethods(/** @type {Function} */ C) {
  const names = new Set();
  for (let p = C.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) if (k !== 'constructor' && !k.startsWith('__')) names.add(k);
  }
  return [...names].sort();
}
const declaredMethods = (/** @type {ts.Type} */ t) => checker.getPropertiesOfType(t).map((p) => p.name).sort();

test('every method and function the module has is declared, and nothing else', () => {
  assert.deepEqual(runtimeMethods(q.JobManager), declaredMethods(declared('JobManager')));
  assert.deepEqual(runtimeMethods(q.Replayer), declaredMethods(declared('Replayer')));
  const functions = Object.keys(q).filter((k) => /^[a-z]/.test(k)).sort();
  const declaredFunctions = [...exported.values()].filter((s) => s.flags & ts.SymbolFlags.Function).map((s) => s.name).sort();
  assert.deepEqual(functions, declaredFunctions);
});

test('every JobManager method returns what its type says', () => {
  const jm = declared('JobManager');
  const m = new q.JobManager({ transcript: true });
  const h = m.createHostJob({ id: 'h', completable: true });
  let t = 0n;
  /** @type {[string, () => unknown][]} one or more calls per method, in order */
  const calls = [
    ['setMachine', () => m.setMachine(true)],
    ['machine', () => m.machine()],
    ['qemu', () => m.qemu()],
    ['greeting', () => m.greeting()],
    ['execute', () => m.execute({ execute: 'blockdev-backup', arguments: { 'job-id': 'b0', device: 'src', target: 'dst', sync: 'full', speed: 1 } })],
    // @ts-expect-error: a command the types do not know, answered CommandNotFound
    ['execute', () => m.execute({ execute: 'nope', id: 7 })],
    ['executeJson', () => m.executeJson('{"execute": "query-jobs"}')],
    ['queryJobs', () => m.queryJobs()],
    ['queryBlockJobs', () => m.queryBlockJobs()],
    ['namedNodes', () => m.namedNodes()],
    ['verbAllowed', () => m.verbAllowed('b0', 'pause')],
    ['verbAllowed', () => m.verbAllowed('zz', 'pause')],
    ['verbRefusal', () => m.verbRefusal('b0', 'finalize')],
    ['verbRefusal', () => m.verbRefusal('b0', 'pause')],
    ['verbRefusal', () => m.verbRefusal('zz', 'pause')],
    ['jobCount', () => m.jobCount()],
    ['internalErrors', () => m.internalErrors()],
    ['jobPause', () => m.jobPause('b0')],
    ['jobResume', () => m.jobResume('b0')],
    ['blockJobPause', () => m.blockJobPause('b0')],
    ['blockJobResume', () => m.blockJobResume('b0')],
    ['blockJobSetSpeed', () => m.blockJobSetSpeed('b0', 2)],
    ['now', () => m.now()],
    ['nextDeadline', () => m.nextDeadline()],
    ['hasReadyWork', () => m.hasReadyWork()],
    ['step', () => m.step()],
    ['settle', () => m.settle()],
    ['tick', () => m.tick(m.now() + 1)],
    ['advance', () => m.advance(1000)],
    ['pollEvent', () => m.pollEvent()],
    ['drainEvents', () => m.drainEvents()],
    ['pollEvent', () => m.pollEvent()],
    ['drainEventsJson', () => m.drainEventsJson()],
    ['blockdevMirror', () => m.blockdevMirror({ 'job-id': 'm0', device: 'src2', target: 'dst2', sync: 'full' })],
    ['settle', () => m.settle()],
    ['blockJobComplete', () => m.blockJobComplete('m0')],
    ['hostReady', () => m.hostReady(h)],
    ['jobComplete', () => m.jobComplete('h')],
    ['blockJobCancel', () => m.blockJobCancel('b0', true)],
    ['jobCancel', () => m.jobCancel('h')],
    ['blockdevAdd', () => m.blockdevAdd({ driver: 'null-co', 'node-name': 'n0', size: 1 << 20 })],
    ['blockDirtyBitmapAdd', () => m.blockDirtyBitmapAdd({ node: 'n0', name: 'bm' })],
    ['blockDirtyBitmapAdd', () => m.blockDirtyBitmapAdd({ node: 'n0', name: 'bm2', disabled: true })],
    ['blockDirtyBitmapClear', () => m.blockDirtyBitmapClear({ node: 'n0', name: 'bm' })],
    ['blockDirtyBitmapEnable', () => m.blockDirtyBitmapEnable({ node: 'n0', name: 'bm2' })],
    ['blockDirtyBitmapDisable', () => m.blockDirtyBitmapDisable({ node: 'n0', name: 'bm2' })],
    ['blockDirtyBitmapMerge', () => m.blockDirtyBitmapMerge({ node: 'n0', target: 'bm', bitmaps: ['bm2', { node: 'n0', name: 'bm2' }] })],
    ['blockDirtyBitmapRemove', () => m.blockDirtyBitmapRemove({ node: 'n0', name: 'bm2' })],
    ['blockDirtyBitmapRemove', () => m.blockDirtyBitmapRemove({ node: 'n0', name: 'bm' })],
    ['blockdevDel', () => m.blockdevDel({ 'node-name': 'n0' })],
    ['addImage', () => m.addImage('new.qcow2', { format: 'qcow2', size: 1 << 20 })],
    ['blockdevCreate', () => m.blockdevCreate({ 'job-id': 'cr', options: { driver: 'file', filename: 'f.img', size: 1 << 20 } })],
    ['blockdevAdd', () => m.blockdevAdd({ driver: 'qcow2', 'node-name': 'qc', file: { driver: 'file', filename: 'new.qcow2' } })],
    ['xBlockdevAmend', () => m.xBlockdevAmend({ 'job-id': 'am', 'node-name': 'qc', options: { driver: 'qcow2' } })],
    ['snapshotSave', () => m.snapshotSave({ 'job-id': 'ss', tag: 't', vmstate: 'qc', devices: ['qc'] })],
    ['settle', () => m.settle()],
    ['snapshotLoad', () => m.snapshotLoad({ 'job-id': 'sl', tag: 't', vmstate: 'qc', devices: ['qc'] })],
    ['settle', () => m.settle()],
    ['snapshotDelete', () => m.snapshotDelete({ 'job-id': 'sd', tag: 't', devices: ['qc'] })],
    ['settle', () => m.settle()],
    ['transaction', () => m.transaction({ actions: [{ type: 'blockdev-backup', data: { 'job-id': 't1', device: 'src', target: 'dst', sync: 'full', 'auto-finalize': false, 'auto-dismiss': false } }] })],
    ['settle', () => m.settle()],
    ['blockJobFinalize', () => m.blockJobFinalize('t1')],
    ['blockJobDismiss', () => m.blockJobDismiss('t1')],
    ['blockdevBackup', () => m.blockdevBackup({ 'job-id': 'b2', device: 'src', target: 'dst', sync: 'full', 'auto-finalize': false, 'auto-dismiss': false })],
    ['settle', () => m.settle()],
    ['jobFinalize', () => m.jobFinalize('b2')],
    ['jobDismiss', () => m.jobDismiss('b2')],
    ['addImage', () => m.addImage('top.qcow2', { format: 'qcow2', size: 1 << 20, backing: 'new.qcow2', data: [[0, 65536]] })],
    ['blockdevAdd', () => m.blockdevAdd({ driver: 'qcow2', 'node-name': 'top', file: { driver: 'file', filename: 'top.qcow2' }, backing: 'qc' })],
    ['blockCommit', () => m.blockCommit({ 'job-id': 'c', device: 'top' })],
    ['settle', () => m.settle()],
    ['jobCancel', () => m.jobCancel('c')],
    ['settle', () => m.settle()],
    ['blockStream', () => m.blockStream({ 'job-id': 's', device: 'top' })],
    ['settle', () => m.settle()],
    ['runScenarioLine', () => m.runScenarioLine('{"settle": 0.1}')],
    ['setTranscript', () => m.setTranscript(true)],
    ['transcript', () => m.transcript()],
    ['transcriptLength', () => m.transcriptLength()],
    ['truncateTranscript', () => m.truncateTranscript(m.transcriptLength())],
    ['snapshot', () => m.snapshot()],
    ['restore', () => m.restore(m.snapshot())],
    ['drainEvents', () => m.drainEvents()],
    ['jobHandle', () => m.jobHandle('h')],
    ['jobHandle', () => m.jobHandle('zz')],
    ['pendingActions', () => m.pendingActions()],
    ['pollAction', () => m.pollAction()],
    ['drainActions', () => m.drainActions()],
    ['pollAction', () => m.pollAction()],
    ['newTransaction', () => (t = m.newTransaction())],
    ['createHostJob', () => m.createHostJob({ id: 'g', transaction: t, prepare: true, speed: 1 << 20 })],
    ['transactionIn', () => m.transactionIn(t, [{ type: 'blockdev-backup', data: { 'job-id': 'tb', device: 'src2', target: 'dst2', sync: 'full' } }])],
    ['hostProgress', () => m.hostProgress(m.jobHandle('g') ?? 0n, 0, 1 << 20)],
    ['hostRateDelay', () => m.hostRateDelay(m.jobHandle('g') ?? 0n, 1 << 20)],
    ['hostPausePoint', () => m.hostPausePoint(m.jobHandle('g') ?? 0n)],
    ['hostSleep', () => m.hostSleep(m.jobHandle('g') ?? 0n, m.now() + 10)],
    ['advance', () => m.advance(100)],
    ['drainActions', () => m.drainActions()],
    ['hostIoError', () => m.hostIoError(m.jobHandle('g') ?? 0n, 'read', 5)],
    ['hostShouldComplete', () => m.hostShouldComplete(m.jobHandle('g') ?? 0n)],
    ['hostRunFinished', () => m.hostRunFinished(m.jobHandle('g') ?? 0n)],
    ['settle', () => m.settle()],
    ['hostPrepareDone', () => m.hostPrepareDone(m.jobHandle('g') ?? 0n, 0)],
    ['drainActions', () => m.drainActions()],
    ['drainEvents', () => m.drainEvents()],
    ['free', () => m.free()],
  ];
  const seen = new Set();
  /** @type {string[]} */
  const refused = [];
  for (const [name, call] of calls) {
    let value;
    try {
      value = call();
    } catch (e) {
      // A refusal is not what this test checks (its value is a QmpError, typed in d.ts).
      assert.equal(/** @type {Error} */ (e).name, 'QmpError', `${name}: ${e}`);
      refused.push(`${name}: ${/** @type {Error} */ (e).message}`);
      continue;
    }
    const type = name === 'execute' ? replyType : returnType(jm, name);
    conforms(value, type, `${name}()`);
    seen.add(name);
  }
  const missing = runtimeMethods(q.JobManager).filter((k) => !seen.has(k));
  assert.deepEqual(missing, [], `methods whose value no call checked; refused: ${refused.join('; ')}`);
});

test('every function and the Replayer return what their types say', () => {
  /** @type {[string, () => unknown][]} */
  const calls = [
    ['replay', () => q.replay('{"execute": "query-jobs"}')],
    ['compareTranscripts', () => q.compareTranscripts('> a\n', '> a\n')],
    ['compareTranscripts', () => q.compareTranscripts('> a\n', '> b\n')],
    ['toSortedJson', () => q.toSortedJson({ b: 1, a: [null] })],
    ['statuses', () => q.statuses()],
    ['verbs', () => q.verbs()],
    ['jobTypes', () => q.jobTypes()],
    ['blockJobTypes', () => q.blockJobTypes()],
    ['enums', () => q.enums()],
    ['optionDefaults', () => q.optionDefaults()],
    ['hostJobDefaults', () => q.hostJobDefaults()],
    ['statusTransitions', () => q.statusTransitions()],
    ['verbTable', () => q.verbTable()],
    ['qemuVersions', () => q.qemuVersions()],
    ['version', () => q.version()],
    ['takePanicMessage', () => q.takePanicMessage()],
  ];
  for (const [name, call] of calls) conforms(call(), functionReturnType(name), `${name}()`);
  const functions = Object.keys(q).filter((k) => /^[a-z]/.test(k));
  assert.deepEqual(functions.filter((f) => !calls.some(([n]) => n === f)), []);
  const rp = declared('Replayer');
  const r = new q.Replayer();
  conforms(r.run('{"execute": "query-jobs"}'), returnType(rp, 'run'), 'run()');
  conforms(r.runLine('{"settle": 0.1}'), returnType(rp, 'runLine'), 'runLine()');
  conforms(r.transcript(), returnType(rp, 'transcript'), 'transcript()');
  conforms(r.lines(), returnType(rp, 'lines'), 'lines()');
});

test('every event and reply of the scenario corpus has its declared type', () => {
  const dir = path.join(here, '..', '..', 'scenarios');
  const event = declared('QmpEvent');
  const reply = replyType;
  const names = new Set();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.scn')).sort()) {
    const scenario = new q.JobManager();
    const direct = new q.JobManager();
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line.trim() || line.trim().startsWith('#')) continue;
      scenario.runScenarioLine(line);
      const cmd = JSON.parse(line);
      if (cmd.machine !== undefined) direct.setMachine(true);
      if (cmd.image) direct.addImage(cmd.image.file, (({ file, ...rest }) => rest)(cmd.image));
      if (cmd.execute) conforms(direct.execute(cmd), reply, `${f}: reply to ${line}`);
      direct.settle();
    }
    for (const e of [...scenario.drainEvents(), ...direct.drainEvents()]) {
      conforms(e, event, `${f}: ${e.event}`);
      names.add(e.event);
    }
  }
  // The corpus covers every event the types declare.
  assert.deepEqual([...names].sort(), declared('QmpEvent').isUnion()
    ? /** @type {ts.UnionType} */ (event).types.map((t) => /** @type {ts.StringLiteralType} */ (checker.getTypeOfSymbol(/** @type {ts.Symbol} */ (t.getProperty('event')))).value).sort()
    : []);
});

test('the defaults the docs state are the core\'s', () => {
  /** The `Default `X`.` notes of a type's members (inherited ones too), as values. */
  const documented = (/** @type {string} */ name) => {
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const p of checker.getPropertiesOfType(declared(name))) {
      const doc = ts.displayPartsToString(p.getDocumentationComment(checker));
      const m = /Default `([^`]+)`\./.exec(doc);
      if (m) out[p.name] = JSON.parse(m[1]);
    }
    return out;
  };
  /** @type {Record<string, unknown>} */
  const core = q.optionDefaults();
  const types = {
    'blockdev-backup': 'BlockdevBackupArgs',
    'blockdev-mirror': 'BlockdevMirrorArgs',
    'block-commit': 'BlockCommitArgs',
    'block-stream': 'BlockStreamArgs',
  };
  assert.deepEqual(Object.keys(core).sort(), Object.keys(types).sort());
  for (const [command, type] of Object.entries(types)) {
    assert.deepEqual(documented(type), core[command], `${type}'s documented defaults`);
  }
  /** @type {Record<string, unknown>} */
  const host = q.hostJobDefaults();
  const stated = Object.fromEntries(Object.entries(host).filter(([, v]) => v !== null));
  assert.deepEqual(documented('HostJobOptions'), stated, "HostJobOptions' documented defaults");
  assert.deepEqual(Object.keys(host).sort(), checker.getPropertiesOfType(declared('HostJobOptions')).map((p) => p.name).sort());
});
