/**
 * The `GET /` page: a table per subject rendered on the server, complete without JavaScript, plus
 * a script (status-client.ts) that refreshes it from `/api/v1/status` and draws the charts.
 * Everything shown goes through HTML escaping; URLs are already redacted by the status collector
 * (error messages can quote URLs with credentials in them).
 */
import type { PromspoolConfig } from '../config/types.js';
import { STATUS_ASSET_PATHS } from './status-assets.js';
import {
  ENDPOINT_COLUMNS,
  endpointCells,
  formatBytes,
  formatDuration,
  formatRate,
  LAST_ERROR_COLUMN,
  receiverRows,
} from './status-format.js';
import type { EndpointStatus, StatusResponse } from './status-types.js';

export { formatBytes, formatDuration } from './status-format.js';

export interface StatusPageInput {
  status: StatusResponse;
  /** The configuration running now: the receiver's limits and authentication. */
  config: PromspoolConfig;
}

export function renderStatusPage({ status, config }: StatusPageInput): string {
  const rows = status.endpoints.map((e) => renderEndpoint(e, status.nowMs)).join('\n');
  const receiver = config.receiver.enabled
    ? `${esc(config.receiver.path)} (max body ${formatBytes(config.receiver.maxBodyBytes)}${
        config.receiver.authorization || config.receiver.basicAuth ? ', authentication required' : ''
      })`
    : 'disabled';
  const receiverTable = receiverRows(status.receiver)
    .map((cells) => `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('\n');
  const charts = status.endpoints.map((e) => `<div class="chart" data-endpoint="${esc(e.name)}"></div>`).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>promspool</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${STATUS_ASSET_PATHS.uplotStyle}">
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f4f4f4}.err{color:#a00}
.chart{margin-bottom:1.5em}.note{color:#666}</style>
</head><body>
<h1>promspool ${esc(status.version)}</h1>
<p>Status: <span id="state">${status.ready ? 'ready' : 'starting'}</span> &middot; up <span id="uptime">${formatDuration(
    status.nowMs - status.startedAtMs,
  )}</span> &middot;
config ${esc(status.configSource)} &middot; data in <code>${esc(status.storage.path)}</code> &middot;
receiver ${receiver} &middot; <a href="/targets">targets</a> &middot; <a href="/metrics">/metrics</a> &middot; <a href="/api/v1/status">/api/v1/status</a></p>
<p class="note" id="updated">as of this page load; reload for new numbers</p>
<h2>Endpoints</h2>
<table id="endpoints">
<tr>${ENDPOINT_COLUMNS.map((h) => `<th>${h}</th>`).join('')}</tr>
${rows || `<tr><td colspan="${ENDPOINT_COLUMNS.length}">no endpoints configured</td></tr>`}
</table>
<h2>Receiver</h2>
<p>Signals received: <span id="receiver-signals">${formatRate(status.receiver.signalsPerSecond)}</span></p>
<table>
<thead><tr><th>status code</th><th>requests</th><th>rate</th></tr></thead>
<tbody id="receiver-requests">${receiverTable}</tbody>
</table>
<h2>Last hour</h2>
<noscript><p class="note">The charts need JavaScript.</p></noscript>
${charts}
<script src="${STATUS_ASSET_PATHS.uplotScript}"></script>
<script src="${STATUS_ASSET_PATHS.script}"></script>
</body></html>
`;
}

function renderEndpoint(e: EndpointStatus, nowMs: number): string {
  const cells = endpointCells(e, nowMs).map((text, i) =>
    i === LAST_ERROR_COLUMN && e.lastError?.failing ? `<td class="err">${esc(text)}</td>` : `<td>${esc(text)}</td>`,
  );
  return `<tr data-endpoint="${esc(e.name)}">${cells.join('')}</tr>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/\u2264/g, '&le;');
}
