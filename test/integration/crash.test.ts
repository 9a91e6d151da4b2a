// The crash proof: the real daemon (`node bin/promspool.js`, storage.fsync: always) is SIGKILLed at
// random moments while a pusher sends remote-write 1.0 to it, restarted on the same data dir, and
// must deliver every sample it acknowledged to a real VictoriaMetrics (read back with
// /api/v1/export, which returns every stored sample, duplicates included: measured on 1.79, an
// identical (timestamp, value) pair written twice is exported twice) and to a fake receiver in
// this process, whose arrival order per series shows reordering. In some rounds both receivers are
// also down across the kill and the restart.
//
// PROMSPOOL_CRASH_ROUNDS (default 20) and PROMSPOOL_CRASH_SEED replay or extend a run.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type FakeReceiver, startFakeReceiver } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1, postRemoteWrite } from '../helpers/remote-write-client.js';
import {
  allAckedPresent,
  compareDelivery,
  type DaemonProcess,
  daemonConfigYaml,
  delay,
  exportView,
  fakeReceiverView,
  formatReport,
  intFromEnv,
  METRIC,
  Pusher,
  type ReceiverGate,
  SeededRandom,
  seedFromEnv,
  startDaemonProcess,
  startReceiverGate,
} from './crash-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { freePort } from './harness/ports.js';
import { startVictoriaMetrics, type VictoriaMetricsInstance } from './harness/victoria-metrics.js';
import { waitUntil } from './harness/wait.js';

/** Files under `<data>/<endpoint>/`, per endpoint. */
async function filesLeft(dataDir: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const ep of await readdir(dataDir)) out[ep] = (await readdir(join(dataDir, ep))).sort();
  return out;
}

const skip = receiversSkipReason('victoria-metrics');
const ROUNDS = intFromEnv('PROMSPOOL_CRASH_ROUNDS', 20);
const SEED = seedFromEnv('PROMSPOOL_CRASH_SEED');

describe('kill -9 rounds: the daemon loses no acknowledged sample', { skip }, () => {
  let vm: VictoriaMetricsInstance | undefined;
  let fake: FakeReceiver | undefined;
  let gate: ReceiverGate | undefined;
  let daemon: DaemonProcess | undefined;
  let pusher: Pusher | undefined;
  let dir: string | undefined;

  before(async () => {
    vm = await startVictoriaMetrics();
  });

  after(async () => {
    await pusher?.stop();
    await daemon?.kill9();
    await gate?.close();
    await fake?.close();
    await vm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // The duplicate counts below rely on this: VM 1.79 (without -dedup.minScrapeInterval) stores a
  // sample written twice twice, and /api/v1/export returns both copies.
  it('VictoriaMetrics keeps identical (timestamp, value) duplicates, so its export counts them', async () => {
    const ts = Date.now() - 60_000;
    const body = buildWriteRequestV1([{ labels: { __name__: 'promspool_dup_probe' }, samples: [[ts, 7]] }]);
    assert.equal((await postRemoteWrite(vm!.writeUrl, body)).status, 204);
    assert.equal((await postRemoteWrite(vm!.writeUrl, body)).status, 204);
    const rows = await vm!.exportSeries('{__name__="promspool_dup_probe"}');
    assert.deepEqual(
      rows.map((r) => [r.timestamps, r.values]),
      [
        [
          [ts, ts],
          [7, 7],
        ],
      ],
    );
  });

  it(`${ROUNDS} rounds of SIGKILL + restart, receivers sometimes down: zero missing, order kept`, {
    timeout: 170_000,
  }, async () => {
    console.log(`# crash: seed=${SEED} rounds=${ROUNDS} (replay with PROMSPOOL_CRASH_SEED=${SEED})`);
    const rng = new SeededRandom(SEED);
    const started = Date.now();
    if (!vm) throw new Error('VictoriaMetrics did not start');
    gate = await startReceiverGate(vm.port);
    fake = await startFakeReceiver();
    let fakeDown: 'reset' | 503 | undefined;
    fake.script(() => (fakeDown === 'reset' ? { reset: true } : fakeDown === 503 ? { status: 503 } : { status: 204 }));
    const setReceiversDown = (mode: 'reset' | 503 | undefined) => {
      fakeDown = mode;
      gate!.setDown(mode !== undefined);
    };

    dir = await mkdtemp(join(tmpdir(), 'promspool-crash-'));
    const port = await freePort();
    const configPath = join(dir, 'promspool.yaml');
    await writeFile(
      configPath,
      daemonConfigYaml({
        port,
        dataDir: join(dir, 'data'),
        endpoints: [
          { name: 'vm', url: gate.url },
          { name: 'fake', url: fake.url },
        ],
        batchInterval: '200ms',
        maxSignalsToBatch: 2000,
        remoteTimeout: '2s',
        queueConfig: {
          max_samples_per_send: 500,
          batch_send_deadline: '100ms',
          min_backoff: '20ms',
          max_backoff: '300ms',
        },
      }),
    );

    daemon = await startDaemonProcess(configPath, port);
    pusher = new Pusher({
      url: `${daemon.url}/api/v1/write`,
      workers: 2,
      seriesPerWorker: 50,
      samplesPerSeries: 4,
      intervalMs: 10,
      retryMs: 20,
      baseTimestampMs: Math.floor((Date.now() - 20 * 60_000) / 1000) * 1000,
      stepMs: 10,
    });
    pusher.start();

    const readyMs: number[] = [daemon.readyAfterMs];
    let outageRounds = 0;
    let sigtermRounds = 0;
    /** The receivers' outage being played: its mode and how many more restarts it lasts. */
    let outage: { mode: 'reset' | 503; restartsLeft: number } | undefined;
    let upTimer: NodeJS.Timeout | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      const runMs = rng.range(300, 1500);
      let began = '';
      if (!outage && rng.chance(0.3)) {
        // Down at a random moment of this round, up again 0.1-1 s after one of the next 1-3 restarts.
        const mode = rng.chance(0.5) ? 'reset' : 503;
        outage = { mode, restartsLeft: rng.range(0, 2) };
        outageRounds++;
        const downAtMs = rng.range(0, runMs);
        began = `, receivers down (${mode}) from ${downAtMs} ms`;
        clearTimeout(upTimer);
        setTimeout(() => setReceiversDown(mode), downAtMs);
      }
      // Sometimes the kill lands during a graceful stop (SIGTERM, then SIGKILL 0-300 ms later).
      const graceMs = rng.chance(0.2) ? rng.range(0, 300) : undefined;
      await delay(runMs);
      if (graceMs !== undefined) {
        sigtermRounds++;
        daemon.terminate();
        await delay(graceMs);
      }
      await daemon.kill9();
      daemon = await startDaemonProcess(configPath, port);
      readyMs.push(daemon.readyAfterMs);
      let ended = '';
      if (outage && outage.restartsLeft-- === 0) {
        const upMs = rng.range(100, 1000);
        ended = `, receivers up ${upMs} ms after the restart`;
        upTimer = setTimeout(() => setReceiversDown(undefined), upMs);
        outage = undefined;
      }
      console.log(
        `# round ${round}: ran ${runMs} ms${began}, ${graceMs === undefined ? 'SIGKILL' : `SIGTERM then SIGKILL after ${graceMs} ms`}` +
          `${ended}; restart ready in ${daemon.readyAfterMs} ms, acked so far ${pusher.stats.samplesAcked}`,
      );
    }
    // Last daemon keeps running: a little more load, then receivers up for good and drain.
    await delay(500);
    await pusher.stop();
    clearTimeout(upTimer);
    setReceiversDown(undefined);
    const ledger = pusher.ledger;
    assert.deepEqual(pusher.stats.rejected, [], 'the daemon refused a valid request');

    const drainStarted = Date.now();
    await fake
      .waitFor(() => allAckedPresent(ledger, fakeReceiverView(fake!.received)), 60_000)
      .catch((err) => {
        throw new Error(
          `${err.message}\n${formatReport('fake', compareDelivery(ledger, fakeReceiverView(fake!.received), true))}\n${daemon!.logTail()}`,
        );
      });
    await waitUntil(async () => allAckedPresent(ledger, exportView(await vm!.exportSeries(`{__name__="${METRIC}"}`))), {
      timeoutMs: 60_000,
      intervalMs: 500,
      description: 'every acknowledged sample in VictoriaMetrics',
    }).catch(async (err) => {
      const report = compareDelivery(ledger, exportView(await vm!.exportSeries(`{__name__="${METRIC}"}`)), false);
      throw new Error(`${err.message}\n${formatReport('vm', report)} ${report.examplesMissing}\n${daemon!.logTail()}`);
    });
    const drainMs = Date.now() - drainStarted;
    // A clean stop after the drain; afterwards nothing more can arrive, so the counts are final.
    const code = await daemon.stop();
    assert.equal(code, 0, `daemon exit code after SIGTERM\n${daemon.logTail()}`);
    const leftOnDisk = await filesLeft(join(dir, 'data'));
    // Every segment was delivered in full, so none may be left behind (a leak across restarts would show here).
    assert.deepEqual(leftOnDisk, { fake: [], vm: [] }, 'files left in the data dir after the drain');

    const fakeReport = compareDelivery(ledger, fakeReceiverView(fake.received), true);
    const vmReport = compareDelivery(ledger, exportView(await vm.exportSeries(`{__name__="${METRIC}"}`)), false);
    console.log(`# ${formatReport('victoria-metrics', vmReport)}`);
    console.log(`# ${formatReport('fake receiver', fakeReport)}`);
    const sortedReady = [...readyMs].sort((a, b) => a - b);
    console.log(
      `# crash summary: seed=${SEED} rounds=${ROUNDS} outage_rounds=${outageRounds} sigterm_then_kill_rounds=${sigtermRounds} ` +
        `samples_acknowledged=${vmReport.acked} missing=${vmReport.missing + fakeReport.missing} ` +
        `duplicates_vm=${vmReport.duplicates} duplicates_fake=${fakeReport.duplicates} ` +
        `order_violations=${fakeReport.orderViolations} unacked_but_delivered_vm=${vmReport.unackedDelivered} ` +
        `sender_resent_after_no_answer=${pusher.stats.samplesResentAfterNoAnswer} ` +
        `pusher_failed_attempts=${JSON.stringify({ ...pusher.stats.failedByStatus, no_answer: pusher.stats.failedNoAnswer })} ` +
        `restart_ready_ms_median=${sortedReady[Math.floor(sortedReady.length / 2)]} max=${sortedReady.at(-1)} ` +
        `drain_ms=${drainMs} total_s=${((Date.now() - started) / 1000).toFixed(1)}`,
    );

    assert.ok(
      ledger.acked.every((n) => n > 0),
      'every series got acknowledged samples',
    );
    for (const [name, r] of [
      ['victoria-metrics', vmReport],
      ['fake receiver', fakeReport],
    ] as const) {
      assert.equal(r.missing, 0, `${name}: acknowledged samples missing: ${r.examplesMissing.join(', ')}`);
      assert.equal(r.unexpected, 0, `${name}: samples never sent: ${r.examplesUnexpected.join(', ')}`);
    }
    assert.equal(fakeReport.orderViolations, 0, 'order violations per series at the fake receiver');
    assert.equal(fake.decodeErrors, 0);
  });
});
