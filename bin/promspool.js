#!/usr/bin/env node
import { main } from '../dist/src/daemon/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`promspool: ${err?.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
