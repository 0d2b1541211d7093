// Types of node.mjs (`qjob-wasm` in node): those of qjob.d.ts; the module is loaded on import.
export * from './qjob.js';
