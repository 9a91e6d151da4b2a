/** promspool's version, from package.json (read once at start-up). */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  // Compiled to dist/src/daemon/version.js: package.json is three levels up.
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'promspool' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

export const PROMSPOOL_VERSION = readVersion();
