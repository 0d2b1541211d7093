#!/usr/bin/env node
// @ts-check
// The node scenario replayer: `node bin/replay.js [--qemu 7.2|10.0] SCENARIO...` replays
// each scenario (scenarios/README.md) on a fresh default world (reproducing QEMU 7.2, or the
// version --qemu names) and prints its transcript, byte for byte what `cargo run --release -p
// qjob --example replay -- [--qemu 7.2|10.0] SCENARIO...` prints: both are the core's
// `qjob::scenario::Replayer`. With several files, each transcript is preceded by a `# FILE`
// line.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { replay } = require(path.join(__dirname, '..', 'js', 'node.mjs'));

const USAGE =
  'usage: replay [--qemu 7.2|10.0] SCENARIO...\n\nReplays each scenario (format: scenarios/README.md) ' +
  'through qjob, reproducing QEMU 7.2 or the version given, and prints its transcript.\n';

/** Replays each file; returns the exit status. @param {string[]} args */
function main(args) {
  const files = [...args];
  if (files.some((f) => f === '-h' || f === '--help')) {
    process.stderr.write(USAGE);
    return 0;
  }
  /** @type {'7.2' | '10.0'} */
  let qemu = '7.2';
  const at = files.indexOf('--qemu');
  if (at >= 0) {
    const v = files[at + 1];
    if (v !== '7.2' && v !== '10.0') {
      process.stderr.write(`replay: --qemu takes 7.2 or 10.0\n${USAGE}`);
      return 2;
    }
    qemu = v;
    files.splice(at, 2);
  }
  if (files.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  let status = 0;
  for (const f of files) {
    let text;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (e) {
      process.stderr.write(`replay: ${f}: ${e instanceof Error ? e.message : e}\n`);
      status = 1;
      continue;
    }
    if (files.length > 1) process.stdout.write(`# ${f}\n`);
    try {
      process.stdout.write(replay(text, { qemu }));
    } catch (e) {
      process.stderr.write(`replay: ${f}: ${e instanceof Error ? e.message : e}\n`);
      status = 1;
    }
  }
  return status;
}

process.exitCode = main(process.argv.slice(2));
