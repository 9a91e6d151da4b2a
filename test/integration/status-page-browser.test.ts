/**
 * The status page in a real headless browser (Debian's chromium driven by playwright-core) against
 * the real daemon: one endpoint delivering to a fake receiver, one whose receiver refuses
 * connections. The page must load without console errors, its script must rewrite the table from
 * `/api/v1/status` with the numbers `/metrics` shows, and a chart must have points. A screenshot
 * is written (path printed) for a human to look at. Without JavaScript, `/` is the same table.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { ENDPOINT_COLUMNS } from '../../src/daemon/status-format.js';
import type { StatusResponse } from '../../src/daemon/status-types.js';
import { type FakeReceiver, startFakeReceiver } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1, type SeriesInput } from '../helpers/remote-write-client.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  labeledMetricValue,
  makeTempDir,
  postWrite,
  startDaemonProcess,
} from './daemon-helpers.js';
import { findBinary, isCI } from './harness/binaries.js';
import { httpRequest } from './harness/http.js';
import { waitUntil } from './harness/wait.js';

const REQUESTS = 5;
const SERIES = 20;
const SAMPLES_PER_SERIES = 3;
const TOTAL = REQUESTS * SERIES * SAMPLES_PER_SERIES;
/** The machine has no way out: nothing chromium would fetch or update on its own. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where the screenshot goes: `PROMSPOOL_STATUS_SCREENSHOT`, else `$TMPDIR/promspool-status.png`. */
const SCREENSHOT = process.env.PROMSPOOL_STATUS_SCREENSHOT || join(tmpdir(), 'promspool-status.png');

/** Debian's chromium, like the receivers in harness/binaries.ts: a failure under CI, a loud skip locally. */
function requireChromium(t: { skip(message: string): void }): string | undefined {
  const path = findBinary('chromium');
  if (path !== undefined) return path;
  const message =
    'chromium not found: install it with `sudo apt-get install -y --no-install-recommends chromium` ' +
    '(or point PROMSPOOL_CHROMIUM_BIN at it)';
  if (isCI()) throw new Error(`${message} [CI is set, so this is a failure, not a skip]`);
  const line = '!'.repeat(message.length + 30);
  console.error(`\n${line}\n!!! SKIPPING BROWSER TEST: ${message}\n${line}\n`);
  t.skip(message);
  return undefined;
}

const RELAY_WAYS = ['stored-bytes', 'stored-labels', 'transcoded', 'decoded'] as const;

/**
 * The relayed-records cell as `/metrics` counts it: the ways used, with their counts. Every request
 * was stored as received, so each endpoint read exactly `REQUESTS` relayed records.
 */
function relayedCell(metrics: string, name: string): string {
  const counts = RELAY_WAYS.map(
    (way) => [way, labeledMetricValue(metrics, 'promspool_relay_records_total', { remote_name: name, way })] as const,
  );
  assert.equal(
    counts.reduce((n, [, v]) => n + (v ?? Number.NaN), 0),
    REQUESTS,
    `${name}: relayed records by way ${JSON.stringify(counts)}`,
  );
  return counts
    .filter(([, v]) => v! > 0)
    .map(([way, v]) => `${way}: ${v}`)
    .join(', ');
}

function request(i: number, nowMs: number): SeriesInput[] {
  const series: SeriesInput[] = [];
  for (let s = 0; s < SERIES; s++) {
    const samples: [number, number][] = [];
    for (let j = 0; j < SAMPLES_PER_SERIES; j++) samples.push([nowMs - 60_000 + i * 1000 + j, i * 100 + j]);
    series.push({ labels: { __name__: 'status_page_test', series: String(s) }, samples });
  }
  return series;
}

const dir = makeTempDir('status-page');
let daemon: DaemonProcess | undefined;
let receiver: FakeReceiver | undefined;
after(async () => {
  await daemon?.kill9();
  await receiver?.close();
  dir.remove();
});

test('status page in chromium: no console errors, the table equals /metrics, charts have points; the same table without JavaScript', async (t) => {
  const executablePath = requireChromium(t);
  if (executablePath === undefined) return;
  const fake = await startFakeReceiver();
  receiver = fake;
  daemon = await startDaemonProcess({
    dir: dir.path,
    configYaml: (port) =>
      daemonConfigYaml(port, {
        dataDir: join(dir.path, 'data'),
        endpoints: [
          { name: 'ok', url: fake.url },
          // Port 1 on loopback: connection refused, so this endpoint keeps failing and holds its backlog.
          { name: 'down', url: 'http://127.0.0.1:1/api/v1/write' },
        ],
      }),
  });
  const now = Date.now();
  for (let i = 0; i < REQUESTS; i++) {
    const res = await postWrite(daemon.writeUrl, buildWriteRequestV1(request(i, now)));
    assert.equal(res.status, 204, res.body.toString());
  }
  await fake.waitFor((r) => r.totalSamples >= TOTAL, 20_000);

  // Settled: everything delivered to `ok`, everything read and waiting in `down`.
  const metrics = () => httpRequest(`${daemon!.url}/metrics`).then((r) => r.body.toString());
  await waitUntil(
    async () => {
      const [text, status] = await Promise.all([
        metrics(),
        httpRequest(`${daemon!.url}/api/v1/status`).then((r) => JSON.parse(r.body.toString()) as StatusResponse),
      ]);
      return { text, status };
    },
    {
      until: ({ text, status }) =>
        labeledMetricValue(text, 'prometheus_remote_storage_samples_total', { remote_name: 'ok' }) === TOTAL &&
        labeledMetricValue(text, 'prometheus_remote_storage_samples_pending', { remote_name: 'ok' }) === 0 &&
        labeledMetricValue(text, 'prometheus_remote_storage_samples_pending', { remote_name: 'down' }) === TOTAL &&
        status.endpoints.every((e) => e.backlog.samples === (e.name === 'down' ? TOTAL : 0)) &&
        status.endpoints.some((e) => e.name === 'down' && e.lastError !== null),
      timeoutMs: 20_000,
      description: `${TOTAL} samples delivered to ok and waiting in down`,
    },
  );

  const userDataDir = mkdtempSync(join(tmpdir(), 'promspool-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });

    /** Waits for a condition in the page; a timeout says what the page showed and what went wrong. */
    const waitInPage = async (expression: string, timeoutMs: number) => {
      try {
        await page.waitForFunction(expression, undefined, { timeout: timeoutMs });
      } catch (err) {
        const shown = await page.textContent('#updated').catch(() => '?');
        throw new Error(
          `${(err as Error).message}\nwaiting for: ${expression}\n#updated: ${shown}\n${problems.join('\n')}`,
        );
      }
    };

    await page.goto(`${daemon.url}/`, { waitUntil: 'load' });
    // The script has run once it says when it updated; then both charts exist and hold points.
    await waitInPage("document.querySelector('#updated').textContent.startsWith('updated ')", 10_000);
    await waitInPage(
      "['ok', 'down'].every((n) => window.promspoolCharts?.[n]?.data[0].length > 0) && document.querySelectorAll('.chart canvas').length === 2",
      10_000,
    );
    const points = (await page.evaluate(
      'Object.fromEntries(Object.entries(window.promspoolCharts).map(([n, c]) => [n, c.data.map((s) => s.length)]))',
    )) as Record<string, number[]>;
    for (const name of ['ok', 'down']) {
      assert.ok(points[name][0] >= 2, `chart ${name}: history points and now, got ${points[name]}`);
      assert.ok(
        points[name].every((n) => n === points[name][0]),
        `chart ${name}: aligned series ${points[name]}`,
      );
    }
    // A second refresh goes through setData on the existing charts.
    const first = await page.textContent('#updated');
    await waitInPage(`document.querySelector('#updated').textContent !== ${JSON.stringify(first)}`, 15_000);

    const rows = (await page.evaluate(
      "[...document.querySelectorAll('#endpoints tr[data-endpoint]')].map((r) => [r.dataset.endpoint, [...r.cells].map((c) => c.textContent)])",
    )) as [string, string[]][];
    const text = await metrics();
    const column = (cells: string[], name: (typeof ENDPOINT_COLUMNS)[number]) => cells[ENDPOINT_COLUMNS.indexOf(name)];
    assert.deepEqual(
      rows.map(([name]) => name),
      ['ok', 'down'],
    );
    for (const [name, cells] of rows) {
      assert.equal(
        column(cells, 'sent'),
        String(labeledMetricValue(text, 'prometheus_remote_storage_samples_total', { remote_name: name })),
        `${name} sent`,
      );
      assert.equal(
        column(cells, 'pending samples'),
        String(labeledMetricValue(text, 'prometheus_remote_storage_samples_pending', { remote_name: name })),
        `${name} pending`,
      );
      assert.equal(
        column(cells, 'shards'),
        String(labeledMetricValue(text, 'prometheus_remote_storage_shards', { remote_name: name })),
        `${name} shards`,
      );
      assert.match(column(cells, 'send rate'), /^\d+\.\d\/s$/, `${name} send rate`);
      assert.equal(column(cells, 'relayed records'), relayedCell(text, name), `${name} relayed records`);
    }
    const down = rows.find(([name]) => name === 'down')![1];
    assert.match(column(down, 'last error'), /ECONNREFUSED.*failing for/);
    const ok = rows.find(([name]) => name === 'ok')![1];
    assert.equal(column(ok, 'sent'), String(TOTAL));
    assert.notEqual(column(ok, 'send rate'), '0.0/s', 'samples went out within the rate window');

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(statSync(SCREENSHOT).size > 10_000, 'screenshot written');
    t.diagnostic(`status page screenshot: ${SCREENSHOT}`);
    console.log(`status page screenshot: ${SCREENSHOT}`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }

  // Without JavaScript: the server-rendered table carries the same numbers.
  const html = (await httpRequest(`${daemon.url}/`)).body.toString();
  const text = await metrics();
  for (const name of ['ok', 'down']) {
    const row = new RegExp(`<tr data-endpoint="${name}">(.*?)</tr>`).exec(html);
    assert.ok(row, `row ${name} in:\n${html}`);
    const cells = [...row[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]);
    assert.equal(cells.length, ENDPOINT_COLUMNS.length);
    const at = (c: (typeof ENDPOINT_COLUMNS)[number]) => cells[ENDPOINT_COLUMNS.indexOf(c)];
    assert.equal(
      at('sent'),
      String(labeledMetricValue(text, 'prometheus_remote_storage_samples_total', { remote_name: name })),
    );
    assert.equal(
      at('pending samples'),
      String(labeledMetricValue(text, 'prometheus_remote_storage_samples_pending', { remote_name: name })),
    );
    assert.match(at('send rate'), /^\d+\.\d\/s$/);
    assert.equal(at('relayed records'), relayedCell(text, name));
  }
  assert.match(html, /<tbody id="receiver-requests"><tr><td>204<\/td><td>5<\/td>/);
});
