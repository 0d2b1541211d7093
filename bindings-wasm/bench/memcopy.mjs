// What a copy of a length known only at run time costs in this engine: WebAssembly's
// `memory.copy` (what Rust's copies of such lengths compile to with bulk memory) against three
// inline 8-byte moves, each in a loop of 10^7 (fastest of 7 runs). The reason the event writer
// (core/src/event.rs) copies its fixed text at one fixed length and writes short names in
// pieces in WebAssembly.
//   node bench/memcopy.mjs
import binaryen from 'binaryen';

const text = `(module
 (memory $m 1)
 (func (export "copy") (param $n i32) (param $len i32)
  (loop $l
   (memory.copy (i32.add (i32.const 1000) (i32.and (local.get $n) (i32.const 255))) (i32.const 0) (local.get $len))
   (local.set $n (i32.sub (local.get $n) (i32.const 1)))
   (br_if $l (local.get $n))))
 (func (export "moves") (param $n i32) (param $len i32)
  (local $p i32)
  (loop $l
   (local.set $p (i32.add (i32.const 1000) (i32.and (local.get $n) (i32.const 255))))
   (i64.store (local.get $p) (i64.load (i32.const 0)))
   (i64.store offset=8 (local.get $p) (i64.load (i32.const 8)))
   (i64.store offset=16 (local.get $p) (i64.load (i32.const 16)))
   (local.set $n (i32.sub (local.get $n) (i32.const 1)))
   (br_if $l (local.get $n)))))`;
const mod = binaryen.parseText(text);
mod.setFeatures(binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt);
if (!mod.validate()) throw new Error('invalid module');
const { exports: m } = new WebAssembly.Instance(new WebAssembly.Module(mod.emitBinary()));
const N = 1e7;
console.log(`node ${process.version}, ns per copy (fastest of 7 loops of ${N})`);
for (const [name, f, len] of [['memory.copy, 10 bytes', m.copy, 10], ['memory.copy, 24 bytes', m.copy, 24],
  ['three 8-byte moves, 24 bytes', m.moves, 24]]) {
  f(N, len); // warm-up (and tier-up)
  let best = Infinity;
  for (let i = 0; i < 7; i++) {
    const t = process.hrtime.bigint();
    f(N, len);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / N);
  }
  console.log(`${name}: ${best.toFixed(2)}`);
}
