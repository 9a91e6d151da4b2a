/**
 * A hand-written reader of prom-client's text exposition (format 0.0.4), so bridge tests compare
 * what the bridge appends with what a scrape of the same registry would read.
 */
import type { Labels } from '../../src/serialization/types.js';

export interface ExposedSample {
  labels: Labels;
  value: number;
}

export interface Exposition {
  samples: ExposedSample[];
  /** Family name -> [type, help], from `# TYPE` / `# HELP`. */
  metadata: Map<string, [string, string]>;
}

export function parseExposition(text: string): Exposition {
  const samples: ExposedSample[] = [];
  const metadata = new Map<string, [string, string]>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) {
      help.set(
        m[1]!,
        m[2]!.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')),
      );
      continue;
    }
    m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) {
      metadata.set(m[1]!, [m[2]!, help.get(m[1]!) ?? '']);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsed exposition line: ${line}`);
    const labels: Labels = { __name__: m[1]! };
    const body = m[2] ?? '';
    const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    let p: RegExpExecArray | null;
    let consumed = 0;
    while ((p = pair.exec(body)) !== null) {
      const value = p[2]!.replace(/\\(\\|n|")/g, (_, c: string) => (c === 'n' ? '\n' : c));
      // As Prometheus: an empty value is no label.
      if (value !== '') labels[p[1]!] = value;
      consumed = pair.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`unparsed labels: ${body}`);
    const v = m[3]!;
    samples.push({ labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return { samples, metadata };
}
