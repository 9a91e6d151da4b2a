/**
 * Where the daemon's configuration comes from: a file, or the built-in default. Errors come back
 * formatted (`path: message (line N)`), ready to log or to answer `/-/reload` with.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_CONFIG_YAML, formatConfigError, parseConfig } from '../config/index.js';
import type { PromspoolConfig } from '../config/types.js';

/** `warnings`: keys accepted and not used, formatted like errors; the daemon logs them at warn. */
export type ConfigLoad =
  | { config: PromspoolConfig; errors: []; warnings: string[] }
  | { config?: undefined; errors: string[]; warnings: string[] };

/** What the status page and logs call the built-in configuration. */
export const BUILT_IN_SOURCE = 'built-in default';

/** Parses YAML text; `source` is the file it came from (relative paths inside resolve against its directory). */
export function parseConfigText(text: string, source: string | undefined): ConfigLoad {
  const { config, errors, warnings: found = [] } = parseConfig(text, source);
  const warnings = found.map(formatConfigError);
  if (errors.length > 0 || !config) {
    const formatted = errors.map(formatConfigError);
    return { errors: formatted.length > 0 ? formatted : ['configuration is empty'], warnings };
  }
  return { config, errors: [], warnings };
}

/** Reads and parses a configuration file; an unreadable file is one error. */
export async function loadConfigFromFile(path: string): Promise<ConfigLoad> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { errors: [`${path}: cannot read: ${(err as Error).message}`], warnings: [] };
  }
  return parseConfigText(text, path);
}

/** The configuration used when no file is given and `./promspool.yaml` does not exist. */
export function builtInConfig(): ConfigLoad {
  // No source: relative paths in it resolve against the working directory.
  return parseConfigText(DEFAULT_CONFIG_YAML, undefined);
}
