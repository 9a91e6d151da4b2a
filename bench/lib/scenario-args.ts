/**
 * Command line of the agent benchmarks (relay, backlog, restart): `--name=value` flags over
 * defaults, and `BENCH_SCALE` (env, e.g. `0.1`) scaling every sample count for quick runs.
 */
import { parseArgs } from 'node:util';
import { type AgentKind, vmagentPath } from './agents.js';

/** Parses `--key=value` flags named in `defaults`; numbers stay numbers. Unknown flags throw. */
export function scenarioArgs<T extends Record<string, string | number | boolean>>(defaults: T): T {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [k, v] of Object.entries(defaults)) options[k] = { type: typeof v === 'boolean' ? 'boolean' : 'string' };
  const { values } = parseArgs({ args: process.argv.slice(2), options, strict: true, allowPositionals: false });
  const out: Record<string, string | number | boolean> = { ...defaults };
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    if (typeof defaults[k] === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`--${k} must be a number, got ${String(v)}`);
      out[k] = n;
    } else out[k] = v as string | boolean;
  }
  return out as T;
}

/** `BENCH_SCALE` from the environment (default 1). */
export function benchScale(): number {
  const s = Number(process.env.BENCH_SCALE ?? 1);
  return Number.isFinite(s) && s > 0 ? s : 1;
}

/** The agents named in a comma list, without vmagent when it is not installed (printed). */
export function agentList(list: string): AgentKind[] {
  const kinds = list.split(',').map((s) => s.trim()) as AgentKind[];
  for (const k of kinds) if (k !== 'promspool' && k !== 'vmagent') throw new Error(`unknown agent ${k}`);
  if (kinds.includes('vmagent') && !vmagentPath()) {
    console.log('vmagent is not installed: running promspool only');
    return kinds.filter((k) => k !== 'vmagent');
  }
  return kinds;
}
