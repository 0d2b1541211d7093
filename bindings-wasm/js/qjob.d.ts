// Hand-written TypeScript types of qjob-wasm: QEMU 7.2's job lifecycle as WebAssembly.
// Commands, replies and events are discriminated unions (on `execute` and `event`),
// with QAPI's member names (`"job-id"`, `"auto-finalize"`, …).
//
// The same declarations describe both entry points: `qjob-wasm` in node (js/node.mjs over the
// node build, loaded synchronously) and `qjob-wasm/web` (js/web.mjs over the web build: call
// the default export `init()` once, and await it, before using anything else).
//
// Every argument is checked at run time as these types say: a value of another kind is a
// `TypeError` naming the argument, and an options object with an unknown key is refused.
// A panic inside the module (a bug in qjob) is thrown as an `Error` named `QjobPanic`
// carrying the panic's message; the object that panicked cannot be used afterwards.

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

/** QAPI `JobStatus`, in declaration order (the order of `statuses()`). */
export type JobStatus =
  | 'undefined' | 'created' | 'running' | 'paused' | 'ready' | 'standby'
  | 'waiting' | 'pending' | 'aborting' | 'concluded' | 'null';

/** QAPI `JobVerb`. */
export type JobVerb = 'cancel' | 'pause' | 'resume' | 'set-speed' | 'complete' | 'dismiss' | 'finalize' | 'change';

/** QAPI `JobType`. */
export type JobType =
  | 'commit' | 'stream' | 'mirror' | 'backup' | 'create' | 'amend'
  | 'snapshot-load' | 'snapshot-save' | 'snapshot-delete';

/** QAPI `BlockdevOnError`. */
export type OnError = 'report' | 'ignore' | 'enospc' | 'stop' | 'auto';
/** QAPI `BlockErrorAction`. */
export type ErrorAction = 'report' | 'ignore' | 'stop';
/** QAPI `BlockDeviceIoStatus`. */
export type IoStatus = 'ok' | 'failed' | 'nospace';
/** QAPI `MirrorSyncMode`. */
export type SyncMode = 'top' | 'full' | 'none' | 'incremental' | 'bitmap';
/** The QAPI enums a front end offers (`enums()`), by QAPI name. */
export interface QapiEnums {
  JobStatus: JobStatus[];
  JobVerb: JobVerb[];
  JobType: JobType[];
  BlockdevOnError: OnError[];
  MirrorSyncMode: SyncMode[];
}
/** `optionDefaults()`: the defaults of each job-creating command's members, by QMP name. */
export type OptionDefaults = Record<
  'blockdev-backup' | 'blockdev-mirror' | 'block-commit' | 'block-stream', Record<string, JsonValue>>;
/** QMP error classes qjob reports. */
export type ErrorClass = 'GenericError' | 'CommandNotFound' | 'DeviceNotActive' | 'DeviceNotFound';

// ---------------------------------------------------------------------------
// Command arguments
// ---------------------------------------------------------------------------

/** Members every block-job creation command has. */
export interface JobCreationArgs {
  'job-id'?: string;
  /** Speed limit, bytes per second (0: unlimited). Default `0`. */
  speed?: number;
  /** Finalize without `job-finalize`. Default `true`. */
  'auto-finalize'?: boolean;
  /** Dismiss without `job-dismiss`. Default `true`. */
  'auto-dismiss'?: boolean;
}

export interface BlockdevBackupArgs extends JobCreationArgs {
  device: string;
  target: string;
  /** Required by QMP (the typed APIs default to `"full"`). Default `"full"`. */
  sync: SyncMode;
  bitmap?: string;
  'bitmap-mode'?: 'on-success' | 'never' | 'always';
  /** Default `false`. */
  compress?: boolean;
  /** Policy for read errors. Default `"report"`. */
  'on-source-error'?: OnError;
  /** Policy for write errors. Default `"report"`. */
  'on-target-error'?: OnError;
  'x-perf'?: { 'use-copy-range'?: boolean; 'max-workers'?: number; 'max-chunk'?: number };
  'filter-node-name'?: string;
}

export interface BlockdevMirrorArgs extends JobCreationArgs {
  device: string;
  target: string;
  /** Required by QMP (the typed APIs default to `"full"`). Default `"full"`. */
  sync: SyncMode;
  replaces?: string;
  /** Dirty-bitmap granularity in bytes (0: the node's). Default `0`. */
  granularity?: number;
  /** Buffer size in bytes (0: 16 MiB). Default `0`. */
  'buf-size'?: number;
  /** Policy for read errors. Default `"report"`. */
  'on-source-error'?: OnError;
  /** Policy for write errors. Default `"report"`. */
  'on-target-error'?: OnError;
  'filter-node-name'?: string;
  'copy-mode'?: 'background' | 'write-blocking';
}

export interface BlockCommitArgs extends JobCreationArgs {
  device: string;
  'base-node'?: string;
  base?: string;
  'top-node'?: string;
  top?: string;
  'backing-file'?: string;
  /** Default `"report"`. */
  'on-error'?: OnError;
  'filter-node-name'?: string;
}

export interface BlockStreamArgs extends JobCreationArgs {
  device: string;
  'base-node'?: string;
  base?: string;
  bottom?: string;
  'backing-file'?: string;
  /** Default `"report"`. */
  'on-error'?: OnError;
  'filter-node-name'?: string;
}

/** `blockdev-create` options: a file, or a qcow2 image onto a file node (QEMU 7.2's other
 * drivers, `raw` among them, cannot create). */
export type BlockdevCreateOptions =
  | {
      driver: 'file'; filename: string; size: number;
      preallocation?: 'off' | 'metadata' | 'falloc' | 'full'; nocow?: boolean; 'extent-size-hint'?: number;
    }
  | { driver: 'qcow2'; file: string; size: number; 'backing-file'?: string; [k: string]: JsonValue | undefined };

export interface BlockdevCreateArgs { 'job-id': string; options: BlockdevCreateOptions }
export interface BlockdevAmendArgs {
  'job-id': string;
  'node-name': string;
  options: { driver: 'qcow2'; [k: string]: JsonValue | undefined };
  force?: boolean;
}
export interface SnapshotSaveArgs { 'job-id': string; tag: string; vmstate: string; devices: string[] }
export interface SnapshotLoadArgs { 'job-id': string; tag: string; vmstate: string; devices: string[] }
export interface SnapshotDeleteArgs { 'job-id': string; tag: string; devices: string[] }

/** `block-dirty-bitmap-add` (a command, and a transaction action). */
export interface BlockDirtyBitmapAddArgs {
  node: string;
  name: string;
  /** A power of 2, at least 512. */
  granularity?: number;
  /** Only qcow2 nodes can store a persistent bitmap. */
  persistent?: boolean;
  disabled?: boolean;
}

/** A bitmap by node and name (`block-dirty-bitmap-remove`, `-clear`, `-enable`, `-disable`). */
export interface BlockDirtyBitmapArgs { node: string; name: string }

/** `block-dirty-bitmap-merge`: into `target` of `node`, each of `bitmaps` (a name on `node`, or any node's). */
export interface BlockDirtyBitmapMergeArgs {
  node: string;
  target: string;
  bitmaps: Array<string | BlockDirtyBitmapArgs>;
}

/** One `transaction` action (`type` + `data`). */
export type TransactionAction =
  | { type: 'blockdev-backup'; data: BlockdevBackupArgs }
  | { type: 'block-dirty-bitmap-add'; data: BlockDirtyBitmapAddArgs }
  | { type: 'block-dirty-bitmap-remove'; data: BlockDirtyBitmapArgs }
  | { type: 'block-dirty-bitmap-clear'; data: BlockDirtyBitmapArgs }
  | { type: 'block-dirty-bitmap-enable'; data: BlockDirtyBitmapArgs }
  | { type: 'block-dirty-bitmap-disable'; data: BlockDirtyBitmapArgs }
  | { type: 'block-dirty-bitmap-merge'; data: BlockDirtyBitmapMergeArgs }
  | { type: 'abort'; data?: Record<string, never> };

export interface TransactionArgs {
  actions: TransactionAction[];
  properties?: { 'completion-mode'?: 'individual' | 'grouped' };
}

/** `blockdev-add` options (a node tree: `null-co`, `raw`, `qcow2`, `file`, `blkdebug`, and the filters `throttle`, `copy-on-read`, `preallocate`, `compress`). */
export interface BlockdevAddArgs {
  driver: 'null-co' | 'null-aio' | 'raw' | 'qcow2' | 'file' | 'blkdebug' | 'throttle' | 'copy-on-read' | 'preallocate' | 'compress';
  'node-name'?: string;
  [member: string]: JsonValue | undefined;
}

/** The scenario `image` directive's file (see `JobManager.addImage`). */
export interface ImageFile {
  format: 'qcow2' | 'raw';
  size: number;
  backing?: string;
  /** Allocated extents, `[offset, length]`. */
  data?: Array<[number, number]>;
}

// ---------------------------------------------------------------------------
// Commands: one member per QMP command, discriminated on `execute`
// ---------------------------------------------------------------------------

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
/** A QMP `id` (any JSON value, echoed in the reply). */
export type QmpId = JsonValue;

interface Cmd<N extends string, A> { execute: N; arguments: A; id?: QmpId }
interface CmdNoArgs<N extends string> { execute: N; arguments?: Record<string, never>; id?: QmpId }

export type QmpCommand =
  | CmdNoArgs<'qmp_capabilities'>
  | CmdNoArgs<'query-jobs'>
  | CmdNoArgs<'query-block-jobs'>
  | Cmd<'job-pause', { id: string }>
  | Cmd<'job-resume', { id: string }>
  | Cmd<'job-cancel', { id: string }>
  | Cmd<'job-complete', { id: string }>
  | Cmd<'job-finalize', { id: string }>
  | Cmd<'job-dismiss', { id: string }>
  | Cmd<'block-job-pause', { device: string }>
  | Cmd<'block-job-resume', { device: string }>
  | Cmd<'block-job-cancel', { device: string; force?: boolean }>
  | Cmd<'block-job-complete', { device: string }>
  | Cmd<'block-job-finalize', { id: string }>
  | Cmd<'block-job-dismiss', { id: string }>
  | Cmd<'block-job-set-speed', { device: string; speed: number }>
  | Cmd<'block-job-change', { id: string; type: JobType; 'copy-mode'?: 'background' | 'write-blocking' }>
  | Cmd<'blockdev-backup', BlockdevBackupArgs>
  | Cmd<'blockdev-mirror', BlockdevMirrorArgs>
  | Cmd<'block-commit', BlockCommitArgs>
  | Cmd<'block-stream', BlockStreamArgs>
  | Cmd<'blockdev-create', BlockdevCreateArgs>
  | Cmd<'x-blockdev-amend', BlockdevAmendArgs>
  | Cmd<'snapshot-save', SnapshotSaveArgs>
  | Cmd<'snapshot-load', SnapshotLoadArgs>
  | Cmd<'snapshot-delete', SnapshotDeleteArgs>
  | Cmd<'transaction', TransactionArgs>
  | Cmd<'blockdev-add', BlockdevAddArgs>
  | Cmd<'blockdev-del', { 'node-name': string }>
  | Cmd<'block-dirty-bitmap-add', BlockDirtyBitmapAddArgs>
  | Cmd<'block-dirty-bitmap-remove', { node: string; name: string }>
  | Cmd<'block-dirty-bitmap-clear', BlockDirtyBitmapArgs>
  | Cmd<'block-dirty-bitmap-enable', BlockDirtyBitmapArgs>
  | Cmd<'block-dirty-bitmap-disable', BlockDirtyBitmapArgs>
  | Cmd<'block-dirty-bitmap-merge', BlockDirtyBitmapMergeArgs>
  | CmdNoArgs<'query-block'>
  | Cmd<'query-named-block-nodes', { flat?: boolean }>
  | Cmd<'query-blockstats', { 'query-nodes'?: boolean }>
  | CmdNoArgs<'query-version'>
  | CmdNoArgs<'query-commands'>
  | CmdNoArgs<'query-status'>
  | CmdNoArgs<'stop'>
  | CmdNoArgs<'cont'>
  | Cmd<'human-monitor-command', { 'command-line': string; 'cpu-index'?: number }>
  | Cmd<'object-add', ThrottleGroupArgs>
  | Cmd<'object-del', { id: string }>
  | Cmd<'nbd-server-start', NbdServerStartArgs>
  | CmdNoArgs<'nbd-server-stop'>
  | Cmd<'block-export-add', BlockExportAddArgs>
  | Cmd<'block-export-del', { id: string; mode?: 'safe' | 'hard' }>
  | CmdNoArgs<'query-block-exports'>;

/** `object-add` of a throttle group (the only object type qjob has): `limits`, or the
 * `x-`-prefixed aliases of its members. */
export interface ThrottleGroupArgs {
  'qom-type': 'throttle-group';
  id: string;
  limits?: { [limit: string]: number };
  [legacy: `x-${string}`]: number | undefined;
}

/** `nbd-server-start`: QMP's legacy address form (`{type, data}`). */
export interface NbdServerStartArgs {
  addr:
    | { type: 'unix'; data: { path: string; abstract?: boolean; tight?: boolean } }
    | { type: 'inet'; data: { host: string; port: string; [k: string]: JsonValue | undefined } }
    | { type: 'vsock'; data: { cid: string; port: string } }
    | { type: 'fd'; data: { str: string } };
  'tls-creds'?: string;
  'tls-authz'?: string;
  'max-connections'?: number;
}

/** `block-export-add` of an `nbd` export (an export does no I/O). */
export interface BlockExportAddArgs {
  type: 'nbd';
  id: string;
  'node-name': string;
  writable?: boolean;
  writethrough?: boolean;
  iothread?: string;
  'fixed-iothread'?: boolean;
  name?: string;
  description?: string;
  bitmaps?: Array<string | { node: string; name: string }>;
  'allocation-depth'?: boolean;
}

/** The name of every command `execute` knows. */
export type CommandName = QmpCommand['execute'];

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

/** QMP `JobInfo` (an element of `query-jobs`). */
export interface JobInfo {
  id: string;
  type: JobType;
  status: JobStatus;
  'current-progress': number;
  'total-progress': number;
  error?: string;
}

/** QMP `BlockJobInfo` (an element of `query-block-jobs`). */
export interface BlockJobInfo {
  type: JobType;
  device: string;
  len: number;
  offset: number;
  busy: boolean;
  paused: boolean;
  speed: number;
  'io-status': IoStatus;
  ready: boolean;
  status: JobStatus;
  'auto-finalize': boolean;
  'auto-dismiss': boolean;
  error?: string;
  /** QEMU 10.0, mirror jobs only: whether every guest write is copied to the target now. */
  'actively-synced'?: boolean;
}

/**
 * QMP `BlockDeviceInfo` (an element of `query-named-block-nodes`, `inserted` in
 * `query-block`): the members every node has; the others QEMU gives for some
 * nodes (`backing_file`, `dirty-bitmaps`, …) as they come.
 */
export interface BlockDeviceInfo {
  file: string;
  'node-name'?: string;
  ro: boolean;
  drv: string;
  backing_file_depth: number;
  encrypted: boolean;
  detect_zeroes: string;
  bps: number;
  bps_rd: number;
  bps_wr: number;
  iops: number;
  iops_rd: number;
  iops_wr: number;
  image: { filename: string; format: string; 'virtual-size': number; [member: string]: unknown };
  cache: { writeback: boolean; direct: boolean; 'no-flush': boolean };
  write_threshold: number;
  [member: string]: unknown;
}

/** QMP `BlockInfo` (an element of `query-block`): a BlockBackend; the node in `inserted`. */
export interface BlockInfo {
  device: string;
  locked: boolean;
  removable: boolean;
  type: string;
  inserted?: BlockDeviceInfo;
  [member: string]: unknown;
}

/**
 * QMP `BlockStats` (an element of `query-blockstats`): a drive or device (`device`, `qdev`) or,
 * with `query-nodes: true`, a node, with its counters and those of the nodes below it. qjob
 * tracks `wr_highest_offset` per node; the BlockBackend's request counters and times read 0.
 */
export interface BlockStats {
  device?: string;
  qdev?: string;
  'node-name'?: string;
  stats: { wr_highest_offset: number; timed_stats: unknown[]; [counter: string]: unknown };
  parent?: BlockStats;
  backing?: BlockStats;
  'driver-specific'?: { driver: string; [counter: string]: unknown };
}

/** What each command returns on success. */
export interface ReturnOf {
  'query-jobs': JobInfo[];
  'query-block-jobs': BlockJobInfo[];
  'query-version': { qemu: { major: number; minor: number; micro: number }; package: string };
  'query-commands': Array<{ name: string }>;
  'query-status': { running: boolean; singlestep: boolean; status: 'prelaunch' | 'paused' | 'restore-vm' | 'running' | 'save-vm' };
  'query-block-exports': Array<{ id: string; type: 'nbd'; 'node-name': string; 'shutting-down': boolean }>;
  'human-monitor-command': string;
  'query-named-block-nodes': BlockDeviceInfo[];
  'query-block': BlockInfo[];
  'query-blockstats': BlockStats[];
}
export type ReturnValue<N extends CommandName> = N extends keyof ReturnOf ? ReturnOf[N] : Record<string, never>;

export interface QmpErrorBody { class: ErrorClass; desc: string }

/** A reply: `return` or `error`, discriminated by which member is present. */
export type QmpReply<N extends CommandName = CommandName> =
  | { return: ReturnValue<N>; error?: never; id?: QmpId }
  | { error: QmpErrorBody; return?: never; id?: QmpId };

// ---------------------------------------------------------------------------
// Events, discriminated on `event`
// ---------------------------------------------------------------------------

export interface QmpTimestamp { seconds: number; microseconds: number }
interface Ev<N extends string, D> { timestamp: QmpTimestamp; event: N; data: D }

export type QmpEvent =
  | Ev<'JOB_STATUS_CHANGE', { id: string; status: JobStatus }>
  | Ev<'BLOCK_JOB_READY', { type: JobType; device: string; len: number; offset: number; speed: number }>
  | Ev<'BLOCK_JOB_PENDING', { type: JobType; id: string }>
  | Ev<'BLOCK_JOB_COMPLETED', { type: JobType; device: string; len: number; offset: number; speed: number; error?: string }>
  | Ev<'BLOCK_JOB_CANCELLED', { type: JobType; device: string; len: number; offset: number; speed: number }>
  | Ev<'BLOCK_JOB_ERROR', { device: string; operation: 'read' | 'write'; action: ErrorAction }>
  | Ev<'STOP', Record<string, never>>
  | Ev<'RESUME', Record<string, never>>
  | Ev<'SHUTDOWN', { guest: boolean; reason: 'host-qmp-quit' }>
  | Ev<'BLOCK_EXPORT_DELETED', { id: string }>;

export type EventName = QmpEvent['event'];

/** What typed methods throw: QEMU's error class and text. */
export interface QmpError extends Error {
  name: 'QmpError';
  class: ErrorClass;
  desc: string;
}

// ---------------------------------------------------------------------------
// Host-driven jobs
// ---------------------------------------------------------------------------

/**
 * A job as the host names it (from `createHostJob` or `jobHandle`): the core's 64-bit handle,
 * always a BigInt (its value can exceed 2^53). A handle of a job that is gone is refused with
 * a QmpError, never confused with a newer job.
 */
export type JobHandle = bigint;
/** A job transaction from `newTransaction()`: a BigInt, like `JobHandle`. */
export type TxnHandle = bigint;

/** `createHostJob`'s options, every one optional; an unknown key is a TypeError. */
export interface HostJobOptions {
  /** Job ID; absent or null: an internal job (no events, unreachable by QMP). */
  id?: string | null;
  /** The type queries and events report. Default `"backup"`. */
  jobType?: JobType;
  /** Default `true`. */
  autoFinalize?: boolean;
  /** Default `true`. */
  autoDismiss?: boolean;
  /** Initial speed limit, bytes/s (block job types only; 0: unlimited). Default `0`. */
  speed?: number;
  /** Policy for read errors. Default `"report"`. */
  onSourceError?: OnError;
  /** Policy for write errors. Default `"report"`. */
  onTargetError?: OnError;
  /** Join this transaction (from `newTransaction()`); absent or null: a transaction of its own. */
  transaction?: TxnHandle | null;
  /**
   * Mirror-like: can become ready (`hostReady`) and be completed; a soft cancel while ready
   * completes it. Default `false`.
   */
  completable?: boolean;
  /** The host has a prepare step: a `prepare` request, answered with `hostPrepareDone`. Default `false`. */
  prepare?: boolean;
}

/** A request from the core to the host (`pollAction`), discriminated on `kind`. */
export type HostAction =
  /** Begin the run. */
  | { kind: 'start'; job: JobHandle }
  /** Go on after being paused at a pause point. */
  | { kind: 'resume'; job: JobHandle }
  /** Go on after a sleep (the deadline passed, or the job was kicked). */
  | { kind: 'wake'; job: JobHandle }
  /** Reach a pause point soon: a pause was requested. */
  | { kind: 'pause'; job: JobHandle }
  /** Cancelled: `force` is a hard cancel (stop now); else a soft cancel of a ready completable job (finish without switching over). */
  | { kind: 'cancel'; job: JobHandle; force: boolean }
  /** The user completed the ready completable job: finish and switch over. */
  | { kind: 'complete'; job: JobHandle }
  /** The speed limit changed (bytes/s; 0: unlimited). */
  | { kind: 'set-speed'; job: JobHandle; speed: number }
  /** Run the prepare step, then report with `hostPrepareDone`. */
  | { kind: 'prepare'; job: JobHandle }
  /** Make the job's changes permanent. */
  | { kind: 'commit'; job: JobHandle }
  /** Undo the job's changes. */
  | { kind: 'abort'; job: JobHandle }
  /** Release what the job holds (after commit or abort). */
  | { kind: 'clean'; job: JobHandle };
export type HostActionKind = HostAction['kind'];

/**
 * What the host's job does after a pause point or a sleep: go on, wait for `resume`, wait for
 * `wake`, or end its run (`hostRunFinished`) after a hard cancel.
 */
export type HostDirective = 'continue' | 'paused' | 'sleeping' | 'cancelled';
/** The error policy's answer to `hostIoError`: retry later, end the run with the error, or pause. */
export type HostErrorAction = 'retry' | 'fail' | 'pause';
/** The side of an I/O error: `read` (source, `onSourceError`) or `write` (target, `onTargetError`). */
export type IoOperation = 'read' | 'write';

// ---------------------------------------------------------------------------
// Classes and functions
// ---------------------------------------------------------------------------

/** A named block node (`namedNodes()`). */
export interface NodeInfo {
  name: string;
  /** The block driver; `filter` for a job's filter named with `filter-node-name`. */
  driver: 'null-co' | 'raw' | 'blkdebug' | 'file' | 'qcow2' | 'throttle' | 'copy-on-read' | 'preallocate' | 'compress' | 'filter';
  /** Virtual size in bytes. */
  size: number;
  /** Nothing but the monitor uses the node (QEMU's root node: a mirror's source must be one). */
  root: boolean;
  /** A job's op blocker holds the node: QEMU refuses it as `Node 'X' is busy: …`. */
  busy: boolean;
  /** The name of its backing node, if it has a named one. */
  backing?: string;
}

/** An `Error` thrown for a panic inside the module (a bug in qjob); `cause` is the trap. */
export interface QjobPanic extends Error {
  name: 'QjobPanic';
}

export interface JobManagerOptions {
  /** `"default"`: `src`, `dst`, `src2`, `dst2`, 64 MiB `null-co` nodes (the scenario world). */
  world?: 'default' | 'empty';
  /** Keep the transcript (scenario format) of commands and events; default false. */
  transcript?: boolean;
  /** The QEMU reproduced: `"7.2"` (the default) or `"10.0"` (`block-job-change`, `actively-synced`, …). */
  qemu?: QemuVersion;
}

/** A QEMU version a manager reproduces (`qemuVersions()` lists them). */
export type QemuVersion = '7.2' | '10.0';

/** The QMP greeting: what a monitor sends when a client connects. */
export interface QmpGreeting {
  QMP: { version: ReturnOf['query-version']; capabilities: 'oob'[] };
}

/**
 * One simulated QEMU (7.2 unless `qemu` says otherwise): jobs, block nodes and a virtual clock in nanoseconds that
 * only moves when you call `tick`/`advance`. Commands do what QEMU does before it
 * replies; what QEMU does later happens in `step`/`settle`/`tick`.
 */
export class JobManager {
  constructor(options?: JobManagerOptions);
  /** Releases the WebAssembly memory (also done by a FinalizationRegistry). */
  free(): void;

  /** QMP: never throws for QMP errors; they come back as `{error}`. A `TypeError` when `command` is not an object. */
  execute<C extends QmpCommand>(command: C): QmpReply<C['execute']>;
  /** QMP as JSON text (framing and JSON errors answered as QEMU answers them). */
  executeJson(text: string): string;

  // Verbs: throw a QmpError when refused.
  jobPause(id: string): void;
  jobResume(id: string): void;
  jobCancel(id: string): void;
  jobComplete(id: string): void;
  jobFinalize(id: string): void;
  jobDismiss(id: string): void;
  blockJobPause(device: string): void;
  blockJobResume(device: string): void;
  /** `force` defaults to false: a soft cancel, which completes a ready mirror. */
  blockJobCancel(device: string, force?: boolean): void;
  blockJobComplete(device: string): void;
  blockJobFinalize(id: string): void;
  blockJobDismiss(id: string): void;
  blockJobSetSpeed(device: string, speed: number): void;

  // Creation and nodes: throw a QmpError when refused.
  blockdevBackup(args: BlockdevBackupArgs): void;
  blockdevMirror(args: BlockdevMirrorArgs): void;
  blockCommit(args: BlockCommitArgs): void;
  blockStream(args: BlockStreamArgs): void;
  blockdevCreate(args: BlockdevCreateArgs): void;
  xBlockdevAmend(args: BlockdevAmendArgs): void;
  snapshotSave(args: SnapshotSaveArgs): void;
  snapshotLoad(args: SnapshotLoadArgs): void;
  snapshotDelete(args: SnapshotDeleteArgs): void;
  transaction(args: TransactionArgs): void;
  blockdevAdd(args: BlockdevAddArgs): void;
  blockdevDel(args: { 'node-name': string }): void;
  blockDirtyBitmapAdd(args: BlockDirtyBitmapAddArgs): void;
  blockDirtyBitmapRemove(args: { node: string; name: string }): void;
  blockDirtyBitmapClear(args: BlockDirtyBitmapArgs): void;
  blockDirtyBitmapEnable(args: BlockDirtyBitmapArgs): void;
  blockDirtyBitmapDisable(args: BlockDirtyBitmapArgs): void;
  blockDirtyBitmapMerge(args: BlockDirtyBitmapMergeArgs): void;
  /** An image file in the simulated working directory (the scenario `image` directive). */
  addImage(file: string, image: ImageFile): void;
  /** Machine mode: `snapshot-*` exist (qemu-system), as the scenario `machine` directive. */
  setMachine(machine: boolean): void;
  /** Whether machine mode is on. */
  machine(): boolean;
  /** The QEMU reproduced: the `qemu` option it was made with, or the one a restored snapshot kept. */
  qemu(): QemuVersion;
  /** The QMP greeting a monitor of this QEMU sends first (its version is `query-version`'s). */
  greeting(): QmpGreeting;

  // Getters.
  queryJobs(): JobInfo[];
  queryBlockJobs(): BlockJobInfo[];
  /** Whether QEMU's verb table allows `verb` on job `id` now; undefined: no such job. */
  verbAllowed(id: string, verb: JobVerb): boolean | undefined;
  /** QEMU's refusal text; null when allowed; undefined when there is no such job. */
  verbRefusal(id: string, verb: JobVerb): string | null | undefined;
  jobCount(): number;
  internalErrors(): string[];
  /** Every named block node, oldest first. */
  namedNodes(): NodeInfo[];

  // Time and work.
  /** The virtual clock (ns). */
  now(): number;
  nextDeadline(): number | undefined;
  hasReadyWork(): boolean;
  /** One unit of ready work; returns whether more is ready now. */
  step(): boolean;
  /** Work ready now (what QEMU does between two commands), at most 65536 units; returns the units run. */
  settle(): number;
  /** Moves the clock to `nowNs` (a non-negative safe integer; never backwards) and runs what falls due. */
  tick(nowNs: number): void;
  /** Moves the clock forward by `ns` (a non-negative safe integer) and runs what falls due. */
  advance(ns: number): void;

  // Output.
  pollEvent(): QmpEvent | undefined;
  drainEvents(): QmpEvent[];
  /**
   * The same events as `drainEvents`, as the text of one JSON array (compact, QAPI key order):
   * for forwarding events without reading them, it skips building JS objects.
   */
  drainEventsJson(): string;
  /**
   * Runs one scenario line (commands and directives) through the core replayer; returns its
   * transcript lines. The events it took from the manager are queued for `pollEvent` /
   * `drainEvents` as the core emitted them (their own timestamps, `data` in QAPI order).
   */
  runScenarioLine(line: string): string[];
  /** Starts or stops keeping the transcript. */
  setTranscript(on: boolean): void;
  /**
   * The transcript (scenario format) of everything sent through execute, executeJson and
   * runScenarioLine while it was kept. Commands sent with execute and followed by settle()
   * give the core replayer's lines. A `wait` line only sees events since the last command
   * that runScenarioLine ran.
   */
  transcript(): string;
  transcriptLength(): number;
  truncateTranscript(n: number): void;

  // Host-driven jobs: the host (the caller) does a job's work and reports it; the core runs
  // QEMU's lifecycle around it and queues requests (`pollAction`). Refusals by the core throw
  // a QmpError; malformed arguments (a handle that is not a BigInt, a negative or fractional
  // count, an unknown string) a TypeError; neither changes anything. Counts are non-negative
  // safe integers; `errno` and `ret` 32-bit integers.
  /** A new job transaction for host jobs (`createHostJob({transaction})`) and simulated backups (`transactionIn`). */
  newTransaction(): TxnHandle;
  /** Creates and starts a host job; its first request is `{kind: 'start'}`. */
  createHostJob(options?: HostJobOptions): JobHandle;
  /** The handle of the job with this ID (host or simulated), or undefined. */
  jobHandle(id: string): JobHandle | undefined;
  /** A `transaction` whose jobs join `txn` (as `completion-mode: grouped` does). */
  transactionIn(txn: TxnHandle, actions: TransactionAction[]): void;
  /** Takes the oldest request for the host. */
  pollAction(): HostAction | undefined;
  /** Takes every queued request, oldest first. */
  drainActions(): HostAction[];
  pendingActions(): number;
  /** Progress: `current` of `total` (bytes for block jobs); never backwards. */
  hostProgress(job: JobHandle, current: number, total: number): void;
  /** A pause point (`job_pause_point`). */
  hostPausePoint(job: JobHandle): Exclude<HostDirective, 'sleeping'>;
  /** Sleeps until virtual time `untilNs` (`job_sleep_ns`); a pending pause or hard cancel comes first. */
  hostSleep(job: JobHandle, untilNs: number): HostDirective;
  /** An I/O error (positive `errno`): the job's policy decides; emits BLOCK_JOB_ERROR. */
  hostIoError(job: JobHandle, operation: IoOperation, errno: number): HostErrorAction;
  /** The completable job is in sync: running → ready, BLOCK_JOB_READY. */
  hostReady(job: JobHandle): void;
  /** The run ended: `ret` 0 (default) or a negative errno, and maybe an error text. The completion follows on `settle`. */
  hostRunFinished(job: JobHandle, ret?: number, error?: string | null): void;
  /** The result of the prepare step: 0 (default) or a negative errno. */
  hostPrepareDone(job: JobHandle, ret?: number): void;
  /** Virtual ns to wait after `bytes` of work (QEMU's rate limiter at the job's speed). */
  hostRateDelay(job: JobHandle, bytes: number): number;
  /** Whether the completable job was asked to complete. */
  hostShouldComplete(job: JobHandle): boolean;

  // Snapshots (the core's versioned formats).
  snapshot(): Uint8Array;
  restore(bytes: Uint8Array): void;
}

/** The options of `Replayer` and `replay`. */
export interface ReplayOptions {
  /** The QEMU reproduced: `"7.2"` (the default) or `"10.0"`. */
  qemu?: '7.2' | '10.0';
}

/** The core scenario replayer (what `cargo run -p qjob --example replay` runs). */
export class Replayer {
  constructor(options?: ReplayOptions);
  free(): void;
  run(text: string): void;
  runLine(line: string): void;
  transcript(): string;
  lines(): string[];
}

/** Replays a scenario on a fresh default world (QEMU 7.2, or `options.qemu`); returns its transcript. */
export function replay(text: string, options?: ReplayOptions): string;
/** The comparison of scenarios/README.md: undefined when the transcripts agree, else the first difference. */
export function compareTranscripts(expected: string, actual: string): string | undefined;
/** JSON as transcripts write it (sorted keys, Python's separators). */
export function toSortedJson(value: JsonValue): string;
export function statuses(): JobStatus[];
export function verbs(): JobVerb[];
export function jobTypes(): JobType[];
/** The job types of block jobs (in `query-block-jobs`, answering `block-job-*`, emitting `BLOCK_JOB_*`). */
export function blockJobTypes(): JobType[];
/** The QAPI enums a front end offers, by QAPI name, each in QAPI order. */
export function enums(): QapiEnums;
/**
 * The defaults of the job-creating commands' optional members, by command and QMP member name
 * (the core's options' defaults, QEMU's; `sync`, which QMP requires, with the typed API's
 * default). The `Default` notes of the argument types below are tested against it.
 */
export function optionDefaults(): OptionDefaults;
/** `createHostJob`'s defaults: every option, as the core's `HostJobOptions::default()` sets it. */
export function hostJobDefaults(): { [K in keyof HostJobOptions]-?: Exclude<HostJobOptions[K], undefined> };
/** QEMU's status transition table as `[from, to]` pairs. */
export function statusTransitions(): Array<[JobStatus, JobStatus]>;
/** QEMU's verb table: the statuses where each verb is allowed. */
export function verbTable(): Record<JobVerb, JobStatus[]>;
/** The QEMU versions a manager can reproduce (`new JobManager({qemu})`), the default first. */
export function qemuVersions(): QemuVersion[];
export function version(): string;
/**
 * The message of the last panic inside the module, once (`undefined` when nothing panicked):
 * what the entry points put in the `QjobPanic` they throw.
 */
export function takePanicMessage(): string | undefined;
