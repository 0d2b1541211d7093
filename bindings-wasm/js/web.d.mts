// Types of web.mjs (`qjob-wasm/web`): those of qjob.d.ts, and the web build's loaders.
export * from './qjob.js';

/** Loads the module (default: `qjob_wasm_bg.wasm` of pkg-web); await it once before anything else. */
export default function init(
  module_or_path?: { module_or_path: RequestInfo | URL | Response | BufferSource | WebAssembly.Module } | RequestInfo | URL,
): Promise<unknown>;
/** Loads the module from its bytes or a compiled module, synchronously. */
export function initSync(module: { module: BufferSource | WebAssembly.Module } | BufferSource | WebAssembly.Module): unknown;
