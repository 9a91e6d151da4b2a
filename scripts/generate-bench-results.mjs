#!/usr/bin/env node
// Regenerates bench/RESULTS.md from the JSON records under bench/results/<scenario>/ (one per
// benchmark run, written by bench/lib/results.ts `recordResult`): per scenario the latest
// figures against their targets and peers, the command that reproduces them, and a short history
// with the key figure's change per commit. Plain node, no dependencies:
//   node scripts/generate-bench-results.mjs [--records bench/results] [--out bench/RESULTS.md]
// The page has no generation time in it, so regenerating from the same records changes nothing.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** History lines per scenario on the page (the records keep every run). */
export const HISTORY_LINES = 10;

/** Scenarios in this order first, then the others by name. */
const SCENARIO_ORDER = [
  'relay',
  'relay-cold',
  'relay-cold-2M',
  'relay-relabel',
  'backlog',
  'restart',
  'library',
  'library-cold',
];

/**
 * Every `*.json` record under `dir/<scenario>/`, parsed. A file that is not a valid record fails
 * loudly with its path: a silently skipped run would make the page lie.
 */
export function loadRecords(dir) {
  const records = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const name of readdirSync(join(dir, entry.name)).sort()) {
      if (!name.endsWith('.json')) continue;
      const path = join(dir, entry.name, name);
      let record;
      try {
        record = JSON.parse(readFileSync(path, 'utf8'));
      } catch (err) {
        throw new Error(`${path}: not JSON (${err.message})`);
      }
      for (const field of ['scenario', 'title', 'date', 'commit', 'command', 'subject', 'keyMetric']) {
        if (typeof record[field] !== 'string') throw new Error(`${path}: field "${field}" missing or not a string`);
      }
      for (const field of ['metrics', 'agents', 'targets']) {
        if (!Array.isArray(record[field])) throw new Error(`${path}: field "${field}" missing or not an array`);
      }
      if (record.scenario !== entry.name) {
        throw new Error(`${path}: scenario "${record.scenario}" filed under "${entry.name}"`);
      }
      records.push(record);
    }
  }
  return records;
}

/** `1234567.8` with 0 digits -> `1,234,568`; the separators do not depend on the locale. */
export function formatNumber(value, digits) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const fixed = value.toFixed(digits);
  const [int, frac] = fixed.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

const ratio = (x) => `${x.toFixed(2)}x`;

/** A target's measured figure as its description reads: a ratio, or the figure with its unit. */
function formatMeasured(target, metric) {
  if (target.relativeTo !== undefined) return ratio(target.measured);
  const unit = metric?.unit && metric.unit !== 'x' ? ` ${metric.unit}` : metric?.unit === 'x' ? 'x' : '';
  return `${formatNumber(target.measured, metric?.digits ?? 2)}${unit}`;
}

function figureOf(record, agent, key) {
  const v = record.agents.find((a) => a.name === agent)?.figures[key];
  return v === undefined ? null : v;
}

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `2026-12-07T13:18:25Z` -> `2026-12-07 13:18Z`. */
const shortDate = (iso) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;

function machineLine(record) {
  const m = record.machine ?? {};
  const load =
    Array.isArray(record.loadAverage) && record.loadAverage.length > 0
      ? `load average ${record.loadAverage.map((x) => x.toFixed(2)).join(' ')}`
      : 'load average not recorded';
  return `nproc ${m.cores ?? '?'}, ${m.cpu ?? '?'}, ${formatNumber(m.memoryGiB, 1)} GiB RAM, Node ${record.node ?? '?'}, ${load}`;
}

function targetsSummary(record) {
  if (record.targets.length === 0) return 'none';
  const met = record.targets.filter((t) => t.met).length;
  return met === record.targets.length ? `all ${met} met` : `${met} of ${record.targets.length} met`;
}

/**
 * The history of one scenario: one line per commit (its latest run), oldest first, the last
 * {@link HISTORY_LINES} of them; the change is against the line before.
 */
export function historyLines(records) {
  const byCommit = new Map();
  for (const r of records) byCommit.set(r.commit, r); // records sorted by date: the last one wins
  const lines = [...byCommit.values()].sort((a, b) => a.date.localeCompare(b.date));
  const first = Math.max(0, lines.length - HISTORY_LINES);
  // The first line shown still gets its change against the commit before it, when there is one.
  return lines.slice(first).map((record, i) => ({ record, previous: lines[first + i - 1] }));
}

function changeText(now, before, better) {
  if (now === null || before === null || before === 0) return '-';
  const pct = ((now - before) / before) * 100;
  const rounded = Number(pct.toFixed(1));
  if (rounded === 0) return '0.0%';
  const improved = better === 'higher' ? pct > 0 : pct < 0;
  return `${rounded > 0 ? '+' : ''}${rounded.toFixed(1)}% (${improved ? 'better' : 'worse'})`;
}

function renderScenario(records) {
  const latest = records.at(-1);
  const metricOf = (key) => latest.metrics.find((m) => m.key === key);
  const key = metricOf(latest.keyMetric) ?? {
    key: latest.keyMetric,
    label: latest.keyMetric,
    better: 'lower',
    digits: 3,
  };
  const out = [`## ${latest.title}`, ''];
  out.push(
    `Latest run: ${latest.date}, commit \`${latest.commit}\`${latest.imported ? ` (imported: ${latest.imported})` : ''}.`,
  );
  out.push(`Machine: ${machineLine(latest)}.`);
  out.push('', `Reproduce (after \`npm run build\`): \`${latest.command}\``, '');

  const agents = latest.agents.map((a) => a.name);
  const peer = latest.peer !== undefined && agents.includes(latest.peer) ? latest.peer : undefined;
  const header = ['figure', ...agents, ...(peer ? [`${latest.subject} / ${peer}`] : [])];
  const rows = latest.metrics.map((m) => {
    const cells = [m.key === latest.keyMetric ? `**${m.label}**` : m.label];
    for (const a of agents) cells.push(formatNumber(figureOf(latest, a, m.key), m.digits));
    if (peer) {
      const own = figureOf(latest, latest.subject, m.key);
      const theirs = figureOf(latest, peer, m.key);
      cells.push(own !== null && theirs !== null && theirs !== 0 ? ratio(own / theirs) : '');
    }
    return cells;
  });
  out.push(table(header, rows), '');

  if (latest.targets.length > 0) {
    out.push(
      table(
        ['target', 'measured', 'met?'],
        latest.targets.map((t) => [
          t.description,
          formatMeasured(t, metricOf(t.metric)),
          t.met ? 'met' : '**NOT met**',
        ]),
      ),
      '',
    );
  }
  if (Array.isArray(latest.notes) && latest.notes.length > 0) {
    out.push('<details><summary>How these figures were taken</summary>', '');
    for (const n of latest.notes) out.push(`- ${n}`);
    out.push('', '</details>', '');
  }

  const history = historyLines(records);
  const peerHeader = peer ? [`vs ${peer}`] : [];
  out.push(`History: ${key.label} of ${latest.subject}, the latest run per commit.`, '');
  out.push(
    table(
      ['date', 'commit', key.label, 'change', ...peerHeader, 'targets'],
      history.map(({ record: r, previous }) => {
        const now = figureOf(r, r.subject, key.key);
        const before = previous ? figureOf(previous, previous.subject, key.key) : null;
        const theirs = peer ? figureOf(r, peer, key.key) : null;
        return [
          shortDate(r.date),
          `\`${r.commit}\`${r.imported ? ' (imported)' : ''}`,
          formatNumber(now, key.digits),
          previous ? changeText(now, before, key.better) : '-',
          ...(peer ? [now !== null && theirs !== null && theirs !== 0 ? ratio(now / theirs) : '-'] : []),
          targetsSummary(r),
        ];
      }),
    ),
    '',
  );
  return out.join('\n');
}

/** The whole page for these records (any order). */
export function renderPage(records) {
  const byScenario = new Map();
  for (const r of [...records].sort((a, b) => a.date.localeCompare(b.date))) {
    if (!byScenario.has(r.scenario)) byScenario.set(r.scenario, []);
    byScenario.get(r.scenario).push(r);
  }
  const rank = (s) => {
    const i = SCENARIO_ORDER.indexOf(s);
    return i === -1 ? SCENARIO_ORDER.length : i;
  };
  const scenarios = [...byScenario.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const out = [
    '# promspool benchmark results',
    '',
    '<!-- Generated by `npm run bench:results` (scripts/generate-bench-results.mjs) from bench/results/*/*.json. Do not edit: run a benchmark, then regenerate. -->',
    '',
    'Generated from the JSON records in [bench/results/](results/), one per benchmark run. Each',
    'scenario shows its latest run against its targets and its peer, the command that reproduces it,',
    'and the history of its key figure per commit. How to measure on these machines, and what was',
    'tried and dropped: [docs/performance.md](../docs/performance.md). The machines are shared 2-core',
    'VMs: absolute figures move with the load average, so compare a run with its peer run in the same',
    'sitting (the ratio columns) rather than absolute figures across days.',
    '',
    '## Summary',
    '',
  ];
  out.push(
    table(
      ['scenario', 'key figure', 'latest', 'vs peer', 'targets', 'commit', 'date'],
      scenarios.map((s) => {
        const r = byScenario.get(s).at(-1);
        const key = r.metrics.find((m) => m.key === r.keyMetric) ?? { label: r.keyMetric, digits: 3 };
        const own = figureOf(r, r.subject, r.keyMetric);
        const theirs = r.peer ? figureOf(r, r.peer, r.keyMetric) : null;
        return [
          `[${r.title}](#${anchor(r.title)})`,
          key.label,
          formatNumber(own, key.digits),
          own !== null && theirs !== null && theirs !== 0 ? `${ratio(own / theirs)} ${r.peer}` : '-',
          targetsSummary(r),
          `\`${r.commit}\``,
          r.date.slice(0, 10),
        ];
      }),
    ),
    '',
  );
  for (const s of scenarios) out.push(renderScenario(byScenario.get(s)));
  return `${out.join('\n').trimEnd()}\n`;
}

/** GitHub's heading anchor: lower case, punctuation but `-` dropped, spaces to `-`. */
export function anchor(title) {
  return title
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

function main(argv) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const opt = (name, fallback) => {
    const i = argv.indexOf(name);
    return i === -1 ? fallback : resolve(argv[i + 1]);
  };
  const dir = opt('--records', join(root, 'bench', 'results'));
  const out = opt('--out', join(root, 'bench', 'RESULTS.md'));
  const records = loadRecords(dir);
  writeFileSync(out, renderPage(records));
  console.log(`${out}: ${records.length} records`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
