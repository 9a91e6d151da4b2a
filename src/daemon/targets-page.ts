/**
 * The `GET /targets` page: every scrape job with its targets (endpoint, health, labels, last
 * scrape, duration, error), rendered on the server and complete without JavaScript, like the
 * status page. Everything shown goes through HTML escaping (labels and errors come from targets).
 */
import type { JobTargets } from '../scrape/scrape-manager.js';
import type { Labels } from '../serialization/types.js';
import { formatDuration } from './status-format.js';

export interface TargetsPageInput {
  jobs: readonly JobTargets[];
  nowMs: number;
  version: string;
}

export function renderTargetsPage({ jobs, nowMs, version }: TargetsPageInput): string {
  const sections = jobs.map((job) => renderJob(job, nowMs)).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>promspool targets</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f4f4f4}
.up{color:#070}.down{color:#a00}.unknown{color:#666}.err{color:#a00}.note{color:#666}
.label{display:inline-block;background:#eef;border-radius:3px;padding:0 .3em;margin:.1em;font-size:90%}</style>
</head><body>
<h1>promspool ${esc(version)}: targets</h1>
<p><a href="/">status</a> &middot; <a href="/api/v1/targets">/api/v1/targets</a></p>
<p class="note">as of this page load; reload for new numbers</p>
${sections || '<p>No scrape jobs configured (<code>scrape_configs</code>).</p>'}
</body></html>
`;
}

function renderJob(job: JobTargets, nowMs: number): string {
  const up = job.active.filter((t) => t.status.health === 'up').length;
  const rows = job.active
    .map(({ target, status }) => {
      const last = status.lastScrapeMs > 0 ? `${formatDuration(nowMs - status.lastScrapeMs)} ago` : 'never';
      const duration = status.lastScrapeMs > 0 ? `${status.lastScrapeDurationMs} ms` : '-';
      return `<tr><td><a href="${esc(target.url)}">${esc(target.url)}</a></td><td class="${status.health}">${
        status.health
      }</td><td>${renderLabels(target.labels)}</td><td>${last}</td><td>${duration}</td><td class="err">${esc(
        status.lastError,
      )}</td></tr>`;
    })
    .join('\n');
  const dropped =
    job.dropped.count > 0
      ? `<p class="note">${job.dropped.count} target${job.dropped.count === 1 ? '' : 's'} dropped by relabeling (see <a href="/api/v1/targets?state=dropped&amp;scrapePool=${encodeURIComponent(
          job.jobName,
        )}">the API</a>)</p>`
      : '';
  return `<h2 id="job-${esc(job.jobName)}">${esc(job.jobName)} (${up}/${job.active.length} up)</h2>
<table>
<tr><th>endpoint</th><th>state</th><th>labels</th><th>last scrape</th><th>scrape duration</th><th>error</th></tr>
${rows || '<tr><td colspan="6">no targets</td></tr>'}
</table>
${dropped}`;
}

function renderLabels(labels: Readonly<Labels>): string {
  return Object.entries(labels)
    .map(([k, v]) => `<span class="label">${esc(k)}="${esc(v)}"</span>`)
    .join(' ');
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
