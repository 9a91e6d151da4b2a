/**
 * The status page's script, served as `/static/status.js`: every few seconds it reads
 * `/api/v1/status`, rewrites the tables' cells (with status-format.ts' functions, so they read as
 * the server renders them) and draws one uPlot chart per endpoint of the last hour: backlog, send
 * and receive rates. It is written here as a function so the compiler and linter check it, and is
 * sent as that function's source: it must not refer to anything of this module but the
 * status-format.ts functions bundled with it. The project compiles without the DOM's types, so the
 * few browser objects it touches are declared below.
 */
import {
  endpointCells,
  formatBytes,
  formatDuration,
  formatRate,
  LAST_ERROR_COLUMN,
  receiverRows,
} from './status-format.js';
import type { StatusResponse } from './status-types.js';

/** How often the page polls `/api/v1/status`. */
export const STATUS_POLL_MS = 5_000;

interface El {
  textContent: string | null;
  className: string;
  readonly clientWidth: number;
  readonly dataset: Record<string, string | undefined>;
  readonly cells: ArrayLike<El>;
  querySelectorAll(selector: string): ArrayLike<El>;
  querySelector(selector: string): El | null;
  appendChild(child: El): El;
  replaceChildren(...children: El[]): void;
}

interface UPlotLike {
  readonly data: ArrayLike<unknown>[];
  setData(data: (number | null)[][]): void;
  setSize(size: { width: number; height: number }): void;
}

interface ClientGlobals {
  document: {
    querySelector(selector: string): El | null;
    querySelectorAll(selector: string): ArrayLike<El>;
    createElement(tag: string): El;
  };
  location: { reload(): void };
  fetch(
    url: string,
    init: { headers: Record<string, string> },
  ): Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;
  setInterval(fn: () => void, ms: number): unknown;
  uPlot?: new (opts: unknown, data: (number | null)[][], target: El) => UPlotLike;
  /** The charts by endpoint name, for a look from the browser's console (and the browser test). */
  promspoolCharts?: Record<string, UPlotLike>;
}

/** The page's script (runs in the browser). */
export function statusClient(pollMs: number): void {
  const CHART_HEIGHT = 180;
  const g = globalThis as unknown as ClientGlobals;
  const doc = g.document;
  const charts: Record<string, UPlotLike> = {};
  g.promspoolCharts = charts;
  let busy = false;

  function setText(selector: string, text: string): void {
    const el = doc.querySelector(selector);
    if (el !== null) el.textContent = text;
  }

  function renderEndpoints(s: StatusResponse): boolean {
    const rows = doc.querySelector('#endpoints')?.querySelectorAll('tr[data-endpoint]') ?? [];
    if (rows.length !== s.endpoints.length) return false;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const e = s.endpoints[i];
      if (row.dataset.endpoint !== e.name) return false;
      const cells = endpointCells(e, s.nowMs);
      for (let c = 0; c < cells.length && c < row.cells.length; c++) row.cells[c].textContent = cells[c];
      row.cells[LAST_ERROR_COLUMN].className = e.lastError?.failing ? 'err' : '';
    }
    return true;
  }

  function renderReceiver(s: StatusResponse): void {
    const body = doc.querySelector('#receiver-requests');
    if (body === null) return;
    const rows = receiverRows(s.receiver).map((cells) => {
      const tr = doc.createElement('tr');
      for (const text of cells) {
        const td = doc.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      }
      return tr;
    });
    body.replaceChildren(...rows);
    setText('#receiver-signals', formatRate(s.receiver.signalsPerSecond));
  }

  function renderCharts(s: StatusResponse): void {
    const Plot = g.uPlot;
    if (Plot === undefined) return;
    // The history's points and the numbers of this very answer as the newest one.
    const xs = s.history.timestampsMs.map((t) => t / 1000);
    xs.push(s.nowMs / 1000);
    for (const e of s.endpoints) {
      const data: (number | null)[][] = [
        xs,
        [...e.history.backlogSamples, e.backlog.samples],
        [...e.history.sentSamplesPerSecond, e.rates.sentSamplesPerSecond],
        [...e.history.receivedSignalsPerSecond, e.rates.receivedSignalsPerSecond],
      ];
      const existing = charts[e.name];
      if (existing !== undefined) {
        existing.setData(data);
        continue;
      }
      const boxes = doc.querySelectorAll('.chart[data-endpoint]');
      let box: El | undefined;
      for (let i = 0; i < boxes.length; i++) if (boxes[i].dataset.endpoint === e.name) box = boxes[i];
      if (box === undefined) continue;
      const opts = {
        title: `${e.name}: backlog and rates, last hour`,
        width: Math.max(320, box.clientWidth),
        height: CHART_HEIGHT,
        scales: { x: { time: true }, samples: {}, rate: {} },
        series: [
          {},
          { label: 'backlog (samples)', scale: 'samples', stroke: '#1f6fb4', width: 2 },
          { label: 'sent/s', scale: 'rate', stroke: '#2ca02c', width: 2 },
          { label: 'received/s', scale: 'rate', stroke: '#e07b00', width: 1, dash: [4, 4] },
        ],
        axes: [
          {},
          { scale: 'samples', label: 'samples' },
          { scale: 'rate', label: 'per second', side: 1, grid: { show: false } },
        ],
      };
      charts[e.name] = new Plot(opts, data, box);
    }
  }

  async function refresh(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      const res = await g.fetch('/api/v1/status', { headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const s = (await res.json()) as StatusResponse;
      // An endpoint added or removed by a reload: the server renders the new table.
      if (!renderEndpoints(s)) {
        g.location.reload();
        return;
      }
      renderReceiver(s);
      renderCharts(s);
      setText('#uptime', formatDuration(s.nowMs - s.startedAtMs));
      setText('#state', s.ready ? 'ready' : 'starting');
      setText('#updated', `updated ${new Date(s.nowMs).toLocaleTimeString()}, every ${pollMs / 1000}s`);
    } catch (err) {
      setText('#updated', `update failed (${(err as Error).message}); retrying`);
    } finally {
      busy = false;
    }
  }

  void refresh();
  g.setInterval(() => void refresh(), pollMs);
}

/** `/static/status.js`: the functions the script uses, then the call, in a scope of their own. */
export function statusClientScript(pollMs = STATUS_POLL_MS): string {
  const parts = [formatBytes, formatDuration, formatRate, endpointCells, receiverRows, statusClient].map(String);
  return `'use strict';\n(() => {\nconst LAST_ERROR_COLUMN = ${LAST_ERROR_COLUMN};\n${parts.join('\n')}\nstatusClient(${JSON.stringify(pollMs)});\n})();\n`;
}
