// @ts-check
// The package's entry point for browsers (`import init, { JobManager } from 'qjob-wasm/web'`):
// the web build (pkg-web, an ES module: `await init()` once before anything else) with every
// call guarded (guard.mjs). Types: qjob.d.ts.
import * as glue from '../pkg-web/qjob_wasm.js';
import { guard } from './guard.mjs';

const q = guard(glue);

export default q.default;
export const {
  initSync, JobManager, Replayer, replay, compareTranscripts, toSortedJson, statuses, verbs, jobTypes,
  blockJobTypes, enums, optionDefaults, hostJobDefaults, statusTransitions, verbTable, qemuVersions, version,
  takePanicMessage,
} = q;
