// @ts-check
// The package's entry point for node (`require('qjob-wasm')` or `import … from 'qjob-wasm'`):
// the node build (pkg-node, loaded synchronously) with every call guarded (guard.mjs).
// Types: qjob.d.ts.
import { createRequire } from 'node:module';
import { guard } from './guard.mjs';

const require = createRequire(import.meta.url);
const q = guard(require('../pkg-node/qjob_wasm.js'));

export const {
  JobManager, Replayer, replay, compareTranscripts, toSortedJson, statuses, verbs, jobTypes,
  blockJobTypes, enums, optionDefaults, hostJobDefaults, statusTransitions, verbTable, qemuVersions, version,
  takePanicMessage,
} = q;
