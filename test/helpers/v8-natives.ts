import { execFileSync } from 'node:child_process';

/**
 * Runs an ES module `script` in a child node with V8's natives syntax (`%HasFastProperties` and
 * the like, which the test process cannot parse) and returns what it printed with one
 * `console.log(JSON.stringify(...))`. For tests that pin down object shapes the hot paths rely on.
 */
export function runWithV8Natives(script: string): unknown {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

/** `import(...)` URL of a compiled module, given relative to the calling test's `import.meta.url`. */
export function moduleUrl(relative: string, from: string): string {
  return JSON.stringify(new URL(relative, from).href);
}
