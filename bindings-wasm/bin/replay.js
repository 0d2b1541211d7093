#!/usr/bin/env node
// @ts-check
// The node scenario replayer: `node bin/replay.js SCENARIO...` replays each scenario
// (scenarios/README.md) on a fresh default world and prints its transcript, byte for
// byte what `cargo run --release -p qjob --example replay -- SCENARIO...` prints: both
// are the core's `qjob::scenario::Replayer`. With several files, each transcript is
// preceded by a `# FILE` line.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { replay } = require(path.join(__dirname, '..', 'js', 'node.mjs'));

/** Replays each file; returns the exit status. @param {string[]} files */
function main(files) {
  if (files.length === 0 || files.some((f) => f === '-h' || f === '--help')) {
    process.stderr.write(
      'usage: replay SCENARIO...\n\nReplays each scenario (format: scenarios/README.md) through qjob and prints its transcript.\n',
    );
    return files.length === 0 ? 2 : 0;
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
      process.stdout.write(replay(text));
    } catch (e) {
      process.stderr.write(`replay: ${f}: ${e instanceof Error ? e.message : e}\n`);
      status = 1;
    }
  }
  return status;
}

process.exitCode = main(process.argv.slice(2));
